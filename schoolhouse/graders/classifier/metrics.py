"""How well predicted scores match labels: per-score and at the keep threshold.

Scores are rounded half up to an integer class (2.5 -> 3): FineWeb-Edu rounds its regression
head's output and keeps `int_score >= 3`. The macro F1 averages over the classes 0-5 that occur
in labels or predictions; the binary metrics ask "score >= threshold?"; the precision-recall
curve sweeps the continuous score.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def to_class(scores) -> np.ndarray:
    return np.clip(np.floor(np.asarray(scores, dtype=np.float64) + 0.5), 0, 5).astype(int)


def score_metrics(y_true, y_score, threshold: int) -> dict:
    from sklearn.metrics import (
        accuracy_score,
        average_precision_score,
        confusion_matrix,
        f1_score,
        precision_recall_fscore_support,
    )

    true, pred = to_class(y_true), to_class(y_score)
    labels = sorted(set(true) | set(pred))
    positive, predicted = true >= threshold, pred >= threshold
    precision, recall, f1, _ = precision_recall_fscore_support(
        positive, predicted, average="binary", zero_division=0
    )
    both = 0 < positive.sum() < len(positive)
    return {
        "documents": int(len(true)),
        "positives": int(positive.sum()),
        "threshold": threshold,
        "macro_f1": float(f1_score(true, pred, labels=labels, average="macro", zero_division=0)),
        "accuracy": float(accuracy_score(true, pred)),
        "mae": float(np.mean(np.abs(np.asarray(y_score) - np.asarray(y_true)))),
        "binary_f1": float(f1),
        "precision": float(precision),
        "recall": float(recall),
        "average_precision": float(average_precision_score(positive, y_score)) if both else None,
        "confusion_matrix": confusion_matrix(true, pred, labels=list(range(6))).tolist(),
    }


def plot_pr_curve(path: Path, y_true, y_score, threshold: int, title: str) -> None:
    """Precision against recall over the continuous score, the threshold's point marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve

    positive = to_class(y_true) >= threshold
    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    if 0 < positive.sum() < len(positive):
        precision, recall, _ = precision_recall_curve(positive, y_score)
        ax.plot(recall, precision, label="score sweep")
        predicted = to_class(y_score) >= threshold
        tp = int((predicted & positive).sum())
        p_at = tp / max(1, int(predicted.sum()))
        r_at = tp / int(positive.sum())
        ax.scatter([r_at], [p_at], color="red", zorder=3, label=f"rounded score >= {threshold}")
        ax.axhline(positive.mean(), color="grey", linestyle=":", label="share of positives")
        ax.legend(loc="lower left")
    else:
        ax.text(0.5, 0.5, "labels on one side of the threshold only", ha="center")
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1.02), ylim=(0, 1.02), title=title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def format_metrics(m: dict) -> str:
    """A plain-text report: headline numbers and the confusion matrix."""
    ap = m["average_precision"]
    lines = [
        f"documents {m['documents']}, of which {m['positives']} score >= {m['threshold']}",
        f"macro F1 (0-5)   {m['macro_f1']:.3f}   accuracy {m['accuracy']:.3f}   MAE {m['mae']:.2f}",
        f"binary at >= {m['threshold']}:  F1 {m['binary_f1']:.3f}  precision {m['precision']:.3f}"
        f"  recall {m['recall']:.3f}  average precision {'n/a' if ap is None else f'{ap:.3f}'}",
        "confusion matrix (rows: label 0-5, columns: predicted 0-5)",
    ]
    lines += ["  " + " ".join(f"{v:>5}" for v in row) for row in m["confusion_matrix"]]
    return "\n".join(lines)


def markdown_metrics(m: dict) -> str:
    ap = m["average_precision"]
    rows = "\n".join(
        f"| **{i}** | " + " | ".join(str(v) for v in row) + " |"
        for i, row in enumerate(m["confusion_matrix"])
    )
    return f"""| metric | value |
|---|---|
| documents | {m["documents"]} ({m["positives"]} score >= {m["threshold"]}) |
| macro F1 over scores 0-5 | {m["macro_f1"]:.3f} |
| accuracy (rounded score) | {m["accuracy"]:.3f} |
| mean absolute error | {m["mae"]:.2f} |
| binary F1 at >= {m["threshold"]} | {m["binary_f1"]:.3f} |
| precision at >= {m["threshold"]} | {m["precision"]:.3f} |
| recall at >= {m["threshold"]} | {m["recall"]:.3f} |
| average precision | {"n/a" if ap is None else f"{ap:.3f}"} |

Confusion matrix (rows: label, columns: predicted score):

| | 0 | 1 | 2 | 3 | 4 | 5 |
|---|---|---|---|---|---|---|
{rows}
"""
