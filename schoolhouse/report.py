"""A self-contained HTML report over dataset folders: plots a person would rather look at.

    schoolhouse report out/stories [out/more ...] --out out/report.html

For each folder: the drop-reason funnel, story lengths (kept vs rejected), how the vocabulary
was covered, how stories open, and teacher tokens and time per kept row. Plots are inline SVG,
so the page is one file that opens anywhere.
"""

from __future__ import annotations

import html
import io
import json
from collections import Counter
from pathlib import Path

from .card import run_totals
from .folder import STATE, DatasetFolder, write_atomic

# The order the story filters run in (filters.story_filters): the funnel drops in this order.
FILTER_ORDER = [
    "truncated",
    "too_short",
    "too_long",
    "not_english_prose",
    "degenerate_repetition",
    "missing_required_word",
]
KEPT, REJECTED = "#2a7ab9", "#d1495b"


def _svg(fig) -> str:
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _figure(width: float = 7, height: float = 3.2):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, height))
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


def _read(folder: Path, which: str, columns: list[str]) -> list[dict]:
    from .records import REJECTED_STORY_SCHEMA, STORY_SCHEMA

    return (
        DatasetFolder(folder, STORY_SCHEMA, REJECTED_STORY_SCHEMA).read(which, columns).to_pylist()
    )


def funnel_plot(total: int, reasons: Counter) -> str:
    order = [r for r in FILTER_ORDER if r in reasons] + sorted(set(reasons) - set(FILTER_ORDER))
    labels, left = ["prompts"], [total]
    for reason in order:
        left.append(left[-1] - reasons[reason])
        labels.append(f"{reason} (−{reasons[reason]})")
    fig, ax = _figure(height=0.45 * len(labels) + 0.8)
    bars = ax.barh(
        labels[::-1], left[::-1], color=[KEPT] + [REJECTED] * (len(labels) - 2) + ["#555"]
    )
    ax.bar_label(bars, padding=3)
    ax.set_xlabel("prompts still in after each check")
    ax.set_title("Verification funnel")
    return _svg(fig)


def lengths_plot(kept: list[str], rejected: list[str]) -> str:
    fig, ax = _figure()
    lengths = [[len(t.split()) for t in texts] for texts in (kept, rejected)]
    top = max((max(x) for x in lengths if x), default=1)
    bins = list(range(0, top + 25, max(5, top // 30)))
    ax.hist(
        lengths,
        bins=bins,
        stacked=True,
        color=[KEPT, REJECTED],
        label=[f"kept ({len(kept)})", f"rejected ({len(rejected)})"],
    )
    ax.set_xlabel("words per story")
    ax.set_ylabel("stories")
    ax.legend(frameon=False)
    ax.set_title("Story length")
    return _svg(fig)


def coverage_plot(asked: dict[str, set], kept: dict[str, set], sizes: dict[str, int]) -> str:
    fig, ax = _figure()
    parts = list(sizes)
    x = range(len(parts))
    share = [[100 * len(d.get(p, ())) / sizes[p] for p in parts] for d in (asked, kept)]
    ax.bar([i - 0.2 for i in x], share[0], width=0.4, color="#8fb8de", label="asked for")
    ax.bar([i + 0.2 for i in x], share[1], width=0.4, color=KEPT, label="used in a kept story")
    ax.set_xticks(list(x), [f"{p}s ({sizes[p]})" for p in parts])
    ax.set_ylabel("% of the vocabulary")
    ax.legend(frameon=False)
    ax.set_title("Vocabulary coverage")
    return _svg(fig)


def openings_plot(texts: list[str]) -> str:
    openings = Counter(" ".join(t.split()[:3]).strip(",.") for t in texts if t.strip())
    top = openings.most_common(10)[::-1]
    fig, ax = _figure(height=0.35 * len(top) + 0.9)
    bars = ax.barh([o for o, _ in top], [100 * c / max(len(texts), 1) for _, c in top], color=KEPT)
    ax.bar_label(bars, fmt="%.0f%%", padding=3)
    ax.set_xlabel("% of all stories (kept and rejected)")
    ax.set_title("How stories open (first three words)")
    return _svg(fig)


def _vocabulary_sizes(folder: Path) -> dict[str, int]:
    from .curriculum import load_vocabulary

    config = (
        json.loads((folder / "config.json").read_text())
        if (folder / "config.json").exists()
        else {}
    )
    vocabulary = load_vocabulary(config.get("vocabulary"))
    return {pos: len(words) for pos, words in vocabulary.words.items()}


def folder_section(folder: Path) -> str:
    folder = Path(folder)
    if not (folder / STATE / "job.json").exists() and not (folder / "README.md").exists():
        raise ValueError(f"{folder} is not a dataset folder (no README.md, no {STATE}/job.json)")
    columns = ["text", "words", "words_used"]
    kept = _read(folder, "data", columns)
    rejected = _read(folder, "rejected", [*columns, "reason"])
    reasons = Counter(r["reason"] for r in rejected)
    total = len(kept) + len(rejected)
    if not total:
        raise ValueError(f"{folder} holds no rows yet")
    asked: dict[str, set] = {}
    used: dict[str, set] = {}
    for row in kept + rejected:
        for pos, word in (row["words"] or {}).items():
            asked.setdefault(pos, set()).add(word)
    for row in kept:
        for pos, word in (row["words"] or {}).items():
            used.setdefault(pos, set()).add(word)
    totals = run_totals(folder / STATE)
    tokens = totals.get("completion_tokens", 0)
    wall = totals.get("wall_s", 0.0)
    stats = [
        ("prompts", f"{total:,}"),
        ("kept", f"{len(kept):,} ({100 * len(kept) / total:.1f} %)"),
        ("completion tokens", f"{tokens:,}"),
        ("tokens per kept story", f"{tokens / len(kept):,.0f}" if kept else "n/a"),
        ("generation time", f"{wall:,.0f} s ({tokens / wall if wall else 0:,.0f} tok/s)"),
    ]
    table = "".join(f"<tr><th>{k}</th><td>{html.escape(v)}</td></tr>" for k, v in stats)
    plots = [
        funnel_plot(total, reasons),
        lengths_plot([r["text"] for r in kept], [r["text"] for r in rejected]),
        coverage_plot(asked, used, _vocabulary_sizes(folder)),
        openings_plot([r["text"] for r in kept + rejected]),
    ]
    figures = "".join(f"<figure>{p}</figure>" for p in plots)
    return (
        f"<section><h2>{html.escape(str(folder))}</h2><table>{table}</table>"
        f'<div class="plots">{figures}</div></section>'
    )


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>schoolhouse report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; padding: 0 2rem; max-width: 1500px; color: #222; }}
h1 {{ font-weight: 600; }} h2 {{ border-bottom: 1px solid #ddd; padding-bottom: .3rem; }}
table {{ border-collapse: collapse; margin: 1rem 0; }}
th, td {{ text-align: left; padding: .25rem 1rem .25rem 0; }} th {{ color: #555; font-weight: 500; }}
.plots {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 1rem; }}
figure {{ margin: 0; }} svg {{ width: 100%; height: auto; }}
</style></head><body><h1>schoolhouse report</h1>{sections}</body></html>
"""


def write_report(folders: list[Path], out: Path) -> Path:
    sections = "".join(folder_section(Path(f)) for f in folders)
    out = Path(out)
    write_atomic(out, PAGE.format(sections=sections))
    return out
