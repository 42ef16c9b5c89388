"""A quality classifier: a feature recipe and a scikit-learn estimator that predicts the 0-5
score. Every recipe answers the same question the same way: `score(texts)` returns floats in
[0, 5], and a document is kept when its score, rounded half up, reaches the threshold.

    clf = Classifier.load("out/edu-clf")
    scores = clf.score(texts)        # array of floats in [0, 5]
    keep = clf.keep(scores)          # rounded score >= threshold (3: FineWeb-Edu)

Estimators: `ridge` regresses the score linearly (FineWeb-Edu: a regression head on frozen
embeddings); `forest` is a random forest (phi-1 classifies embeddings with one; here it
regresses the score so that one threshold fits every recipe); `sgd` is a logistic regression
over the classes 0-5 fitted by stochastic gradient descent, whose score is the expected class
(the linear tier for hashed n-grams, in the role of DCLM's fastText classifier).

The folder holds `model.joblib` (the fitted estimator only: features are rebuilt from their
recipe) and `classifier.json`. joblib files are pickles: load only model folders you trust.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

from .features import Features, make_features
from .metrics import to_class

ESTIMATORS = ("ridge", "forest", "sgd")
DEFAULT_ESTIMATOR = {"embedding": "ridge", "static": "ridge", "hashing": "sgd"}
MODEL_FILE, META_FILE = "model.joblib", "classifier.json"


class ModelError(ValueError):
    """A model folder that cannot be loaded."""


def make_estimator(name: str, features: Features, seed: int = 0):
    if name == "ridge":
        from sklearn.linear_model import Ridge

        # static vectors are 64 L2-normalized floats: alpha 1 shrinks them too far (binary F1
        # 0.83 against 0.88 at 0.1 on bench/filter.py's proxy labels)
        return Ridge(alpha=getattr(features, "ridge_alpha", 1.0))
    if name == "forest":
        if not features.dense:
            raise ValueError(
                "--estimator forest needs dense features: use --features embedding or static"
            )
        from sklearn.ensemble import RandomForestRegressor

        return RandomForestRegressor(
            n_estimators=200, min_samples_leaf=2, max_features="sqrt", random_state=seed
        )
    if name == "sgd":
        from sklearn.linear_model import SGDClassifier

        # logistic regression fitted by SGD: lbfgs takes ~1 s an iteration on 2^20 columns here
        return SGDClassifier(loss="log_loss", alpha=1e-5, max_iter=50, tol=1e-4, random_state=seed)
    raise ValueError(f"unknown estimator {name!r} (use {', '.join(ESTIMATORS)})")


class Classifier:
    def __init__(self, features: Features, estimator, estimator_name: str, threshold: int = 3):
        self.features, self.estimator = features, estimator
        self.estimator_name, self.threshold = estimator_name, threshold

    @property
    def recipe(self) -> str:
        return f"{self.features.name}+{self.estimator_name}"

    def fit(self, texts: list[str], scores: np.ndarray) -> Classifier:
        X = self.features.transform(texts)
        y = to_class(scores) if self.estimator_name == "sgd" else np.asarray(scores)
        self.estimator.fit(X, y)
        return self

    def score(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros(0)
        X = self.features.transform(texts)
        if self.estimator_name == "sgd":
            raw = self.estimator.predict_proba(X) @ self.estimator.classes_
        else:
            raw = self.estimator.predict(X)
        return np.clip(np.asarray(raw, dtype=np.float64), 0.0, 5.0)

    def keep(self, scores: np.ndarray) -> np.ndarray:
        return to_class(scores) >= self.threshold

    def save(self, folder: Path, meta: dict) -> None:
        import joblib

        joblib.dump(self.estimator, folder / MODEL_FILE, compress=3)
        (folder / META_FILE).write_text(json.dumps(meta, indent=2, default=str) + "\n")

    @classmethod
    def load(cls, folder: Path | str) -> Classifier:
        folder = Path(folder)
        try:
            meta = json.loads((folder / META_FILE).read_text())
        except FileNotFoundError:
            raise ModelError(
                f"{folder}: no {META_FILE}; point at a folder written by `schoolhouse classifier "
                "train`"
            ) from None
        except ValueError as e:
            raise ModelError(f"{folder / META_FILE}: not valid JSON ({e})") from None
        if not (folder / MODEL_FILE).is_file():
            raise ModelError(f"{folder}: {MODEL_FILE} is missing")
        import joblib
        import sklearn

        if meta.get("sklearn_version") != sklearn.__version__:
            warnings.warn(
                f"{folder} was trained with scikit-learn {meta.get('sklearn_version')}, this is "
                f"{sklearn.__version__}: scores may differ",
                stacklevel=2,
            )
        estimator = joblib.load(folder / MODEL_FILE)
        features = make_features(meta["features"]["name"], meta["features"])
        return cls(features, estimator, meta["estimator"]["name"], int(meta["threshold"]))

    @staticmethod
    def metadata(folder: Path | str) -> dict:
        return json.loads((Path(folder) / META_FILE).read_text())
