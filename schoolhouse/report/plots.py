"""The report's plots: matplotlib figures turned into inline SVG, so the page is one file."""

from __future__ import annotations

import base64
import html
import io
from collections import Counter
from pathlib import Path

KEPT, REJECTED, ASKED, GREY = "#2a7ab9", "#d1495b", "#8fb8de", "#555"


def svg(fig) -> str:
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def figure(width: float = 7, height: float = 3.2):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, height))
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


def png(path: Path, alt: str) -> str:
    """An image file already made (a classifier's PR curve) inlined as a data URI."""
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def funnel(start: str, total: int, drops: list[tuple[str, int]], title: str, unit: str) -> str:
    """Rows still in after each step, top to bottom; the last bar is what was kept."""
    labels, left = [start], [total]
    for reason, count in drops:
        left.append(left[-1] - count)
        labels.append(f"{reason} (−{count})")
    fig, ax = figure(height=0.45 * len(labels) + 0.8)
    colors = [KEPT] + [REJECTED] * (len(labels) - 2) + [GREY] if drops else [KEPT]
    bars = ax.barh(labels[::-1], left[::-1], color=colors)
    ax.bar_label(bars, padding=3)
    ax.set_xlabel(f"{unit} still in after each check")
    ax.set_title(title)
    return svg(fig)


def ordered_drops(reasons: Counter, order: list[str]) -> list[tuple[str, int]]:
    keys = [r for r in order if r in reasons] + sorted(set(reasons) - set(order))
    return [(r, reasons[r]) for r in keys]


def lengths(kept: list[str], rejected: list[str], title: str, unit: str, units: str) -> str:
    fig, ax = figure()
    counts = [[len(t.split()) for t in texts] for texts in (kept, rejected)]
    top = max((max(x) for x in counts if x), default=1)
    step = max(5, top // 30)
    ax.hist(
        counts,
        bins=list(range(0, top + 2 * step, step)),
        stacked=True,
        color=[KEPT, REJECTED],
        label=[f"kept ({len(kept)})", f"rejected ({len(rejected)})"],
    )
    ax.set_xlabel(f"words per {unit}")
    ax.set_ylabel(units)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(frameon=False)
    ax.set_title(title)
    return svg(fig)


def shares(counts: Counter, title: str, xlabel: str, top: int = 10) -> str:
    """The most common values of a categorical column, as a share of all rows."""
    total = sum(counts.values()) or 1
    common = counts.most_common(top)[::-1]
    fig, ax = figure(height=0.35 * len(common) + 0.9)
    bars = ax.barh([str(k)[:60] for k, _ in common], [100 * c / total for _, c in common],
                   color=KEPT)  # fmt: skip
    ax.bar_label(bars, fmt="%.0f%%", padding=3)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    return svg(fig)


def kept_by(asked: Counter, kept: Counter, title: str, xlabel: str) -> str:
    """Per category: prompts that asked for it and rows kept from them."""
    keys = sorted(asked, key=lambda k: (-asked[k], str(k)))
    fig, ax = figure(height=0.4 * len(keys) + 1.0)
    y = range(len(keys))
    ax.barh([i + 0.2 for i in y], [asked[k] for k in keys], height=0.4, color=ASKED,
            label="prompts")  # fmt: skip
    ax.barh([i - 0.2 for i in y], [kept.get(k, 0) for k in keys], height=0.4, color=KEPT,
            label="kept")  # fmt: skip
    ax.set_yticks(list(y), [str(k)[:40] for k in keys])
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.legend(frameon=False)
    ax.set_title(title)
    return svg(fig)


def scores(
    histogram: Counter, title: str, threshold: int | None = None, unit: str = "documents"
) -> str:
    """A 0-5 score histogram; bars at or above the threshold in the kept colour."""
    fig, ax = figure()
    values = [histogram.get(s, 0) for s in range(6)]
    colors = [KEPT if threshold is None or s >= threshold else ASKED for s in range(6)]
    bars = ax.bar(range(6), values, color=colors)
    ax.bar_label(bars, padding=2)
    ax.set_xticks(range(6))
    ax.set_xlabel("educational score" + (f" (kept: {threshold} and up)" if threshold else ""))
    ax.set_ylabel(unit)
    ax.set_title(title)
    return svg(fig)


def confusion(matrix: list[list[int]], title: str) -> str:
    fig, ax = figure(width=4.2, height=3.6)
    ax.imshow(matrix, cmap="Blues")
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            if count:
                ax.text(j, i, str(count), ha="center", va="center", fontsize=8)
    ax.set_xticks(range(len(matrix)))
    ax.set_yticks(range(len(matrix)))
    ax.set_xlabel("predicted score")
    ax.set_ylabel("label")
    ax.set_title(title)
    return svg(fig)


def loss_curve(log: list[dict], title: str) -> str:
    fig, ax = figure()
    train = [(r["step"], r["loss"]) for r in log if "loss" in r]
    val = [(r["step"], r["val_loss"]) for r in log if "val_loss" in r]
    if train:
        ax.plot(*zip(*train, strict=True), lw=0.8, alpha=0.6, color=ASKED, label="train")
    if val:
        ax.plot(*zip(*val, strict=True), "o-", ms=3, color=KEPT, label="validation")
    decay = [r["step"] for r in log if r.get("decay")]
    if decay:
        ax.axvspan(min(decay) - 1, max(decay), color="tab:orange", alpha=0.12, label="decay")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (nats/token)")
    ax.legend(frameon=False)
    ax.set_title(title)
    return svg(fig)


def grades(values: dict[str, float], title: str) -> str:
    fig, ax = figure(height=2.2)
    names = list(values)
    bars = ax.barh(names, [values[n] for n in names], color=KEPT)
    ax.bar_label(bars, fmt="%.1f", padding=3)
    ax.set_xlim(0, 10)
    ax.invert_yaxis()
    ax.set_xlabel("mean grade (1-10)")
    ax.set_title(title)
    return svg(fig)


def stacked_sources(parts: dict[str, int], title: str, unit: str) -> str:
    fig, ax = figure(height=0.4 * len(parts) + 1.0)
    names = list(parts)
    bars = ax.barh(names, [parts[n] for n in names], color=KEPT)
    ax.bar_label(bars, fmt="{:,.0f}", padding=3)
    ax.invert_yaxis()
    ax.set_xlabel(unit)
    ax.set_title(title)
    return svg(fig)
