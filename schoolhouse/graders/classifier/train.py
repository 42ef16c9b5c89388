"""Train and evaluate a quality classifier on labeled documents.

    schoolhouse classifier train --annotations out/annotations --out out/edu-clf
    schoolhouse classifier eval out/edu-clf --data held-out/

Training holds out `test_size` of the rows (stratified by score where every score has two rows,
else by the threshold's side), fits on the rest and reports on the held-out rows. The model
folder is written in a hidden sibling folder and renamed into place: it exists whole or not at
all.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ...config import TrainClassifierConfig
from ...datasets.outdir import holds_only, in_place
from .features import make_features
from .labels import Labeled, LabelError, read_labeled
from .metrics import format_metrics, markdown_metrics, plot_pr_curve, score_metrics, to_class
from .model import DEFAULT_ESTIMATOR, Classifier, make_estimator

MIN_DOCUMENTS = 10


def split(labeled: Labeled, test_size: float, threshold: int, seed: int):
    from sklearn.model_selection import train_test_split

    index = np.arange(len(labeled))
    classes = to_class(labeled.y)
    for strata in (classes, classes >= threshold, None):
        if strata is not None and min(Counter(strata.tolist()).values()) < 2:
            continue
        try:
            return train_test_split(index, test_size=test_size, random_state=seed, stratify=strata)
        except ValueError:  # a held-out share too small for every stratum
            continue
    raise LabelError(f"cannot hold out {test_size:.0%} of {len(labeled)} documents")


def train_classifier(config: TrainClassifierConfig, log: Callable[[str], None] = print) -> dict:
    """Train, evaluate on the held-out rows, write the model folder; return its metadata."""
    import sklearn

    out = config.out
    if out.exists():
        raise ValueError(
            f"{out} already exists: a model folder is written once, choose a new --out"
        )
    name = config.estimator or DEFAULT_ESTIMATOR[config.features]
    options = {"precision": config.precision, "max_tokens": config.max_tokens}
    features = make_features(config.features, {k: v for k, v in options.items() if v})
    estimator = make_estimator(name, features, config.seed)  # a bad pairing fails before reading
    labeled = read_labeled(config.annotations, config.scores)
    if len(labeled) < MIN_DOCUMENTS:
        raise LabelError(f"{len(labeled)} labeled documents: at least {MIN_DOCUMENTS} are needed")
    sides = Counter((to_class(labeled.y) >= config.threshold).tolist())
    if len(sides) < 2:
        raise LabelError(
            f"every labeled document scores {'at least' if True in sides else 'below'} "
            f"{config.threshold}: a classifier needs examples on both sides of the threshold"
        )
    train_index, test_index = split(labeled, config.test_size, config.threshold, config.seed)
    train, test = labeled.select(train_index), labeled.select(test_index)
    clf = Classifier(features, estimator, name, config.threshold)
    log(f"training {clf.recipe} on {len(train)} documents, holding out {len(test)}")
    started = time.perf_counter()
    clf.fit(train.texts, train.y)
    fit_s = time.perf_counter() - started
    started = time.perf_counter()
    predicted = clf.score(test.texts)
    score_s = time.perf_counter() - started
    metrics = score_metrics(test.y, predicted, config.threshold)
    meta = {
        "recipe": clf.recipe,
        "features": features.describe(),
        "estimator": {
            "name": name,
            "class": public_name(estimator),
            "params": estimator.get_params(),
        },
        "threshold": config.threshold,
        "threshold_rule": "round(score) >= threshold, rounding half up",
        "label_source": labeled.source,
        "label_scores": labeled.kind,
        "training_data": {
            "paths": labeled.paths,
            "documents": len(labeled),
            "sha256": labeled.sha,
            "scores": {str(k): v for k, v in sorted(Counter(to_class(labeled.y).tolist()).items())},
            "train": len(train),
            "held_out": len(test),
            "test_size": config.test_size,
            "seed": config.seed,
        },
        "metrics": metrics,
        "timing": {"fit_s": round(fit_s, 3), "held_out_docs_per_s": round(len(test) / score_s, 1)},
        "sklearn_version": sklearn.__version__,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }

    def write(folder: Path) -> None:
        clf.save(folder, meta)
        plot_pr_curve(folder / "pr_curve.png", test.y, predicted, config.threshold, clf.recipe)
        (folder / "report.md").write_text(model_report(meta))

    in_place(out, write, "classifier train")
    log(format_metrics(metrics))
    return meta


def public_name(estimator) -> str:
    """`sklearn.linear_model.Ridge`, not the private module that defines it."""
    parts = [p for p in type(estimator).__module__.split(".") if not p.startswith("_")]
    return ".".join([*parts, type(estimator).__name__])


def model_report(meta: dict) -> str:
    data = meta["training_data"]
    return f"""# Quality classifier `{meta["recipe"]}`

Predicts a document's educational value (0-5); keep when the score rounded half up is at least
{meta["threshold"]}. Made with `schoolhouse classifier train`; load with
`schoolhouse.graders.classifier.Classifier.load(folder)`.

- **Features**: `{json.dumps(meta["features"])}`
- **Estimator**: `{meta["estimator"]["class"]}`
- **Labels**: {meta["label_source"]}, {meta.get("label_scores", "sampled")} scores, from
  {", ".join(f"`{p}`" for p in data["paths"])} ({data["documents"]} documents, sha256 `{data["sha256"][:16]}…`; scores {data["scores"]})
- **Split**: {data["train"]} training, {data["held_out"]} held out (seed {data["seed"]})
- scikit-learn {meta["sklearn_version"]}; fitted in {meta["timing"]["fit_s"]} s; scores
  {meta["timing"]["held_out_docs_per_s"]} documents/s

## Held-out metrics
{markdown_metrics(meta["metrics"])}
![precision-recall curve](pr_curve.png)
"""


def evaluate_classifier(
    model: Path, data: list[Path], out: Path | None = None, log: Callable[[str], None] = print
) -> dict:
    """Score other labeled data with a trained model; save metrics, report and curve in `out`
    (default: `<model>/eval/<data hash>`)."""
    clf = Classifier.load(model)
    labeled = read_labeled(data)
    started = time.perf_counter()
    predicted = clf.score(labeled.texts)
    seconds = time.perf_counter() - started
    metrics = score_metrics(labeled.y, predicted, clf.threshold)
    result = {
        "model": str(model),
        "recipe": clf.recipe,
        "data": labeled.paths,
        "data_sha256": labeled.sha,
        "label_source": labeled.source,
        "docs_per_s": round(len(labeled) / seconds, 1) if seconds else None,
        "metrics": metrics,
    }
    out = out or Path(model) / "eval" / labeled.sha[:12]
    out.parent.mkdir(parents=True, exist_ok=True)

    def write(folder: Path) -> None:
        (folder / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
        plot_pr_curve(folder / "pr_curve.png", labeled.y, predicted, clf.threshold, clf.recipe)
        (folder / "report.md").write_text(
            f"# `{clf.recipe}` on {', '.join(f'`{p}`' for p in labeled.paths)}\n\n"
            f"Labels: {labeled.source}.\n\n{markdown_metrics(metrics)}\n"
            "![precision-recall curve](pr_curve.png)\n"
        )

    # its own earlier eval of the same data is redone; any other folder is refused
    in_place(
        out,
        write,
        "classifier eval",
        also_own=holds_only("metrics.json", "pr_curve.png", "report.md"),
    )
    log(format_metrics(metrics))
    log(f"saved in {out}")
    return result | {"out": str(out)}
