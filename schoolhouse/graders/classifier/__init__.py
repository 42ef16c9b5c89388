"""Quality classifiers trained on labeled documents (the teacher's annotations or human labels).

    schoolhouse classifier train --annotations out/annotations --out out/edu-clf
    schoolhouse classifier eval out/edu-clf --data held-out/

`features` (frozen embeddings or hashed n-grams), `model` (the `Classifier`), `labels` (reading
and checking `text` + `score` data), `metrics` and `train`. Importing this package imports no
scikit-learn, torch or transformers: each is imported where it is used.
"""

from .labels import LabelError, read_labeled
from .model import Classifier, ModelError
from .train import evaluate_classifier, train_classifier

__all__ = [
    "Classifier",
    "LabelError",
    "ModelError",
    "evaluate_classifier",
    "read_labeled",
    "train_classifier",
]
