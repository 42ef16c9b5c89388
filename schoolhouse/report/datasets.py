"""Report sections for dataset folders: generated (stories, textbooks, exercises), annotated,
filtered web text and a merged training mix. Each returns (stats rows, plots)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..datasets.card import run_totals
from ..datasets.folder import STATE
from . import plots

# The order the story filters run in (filters.story_filters): the funnel drops in this order.
STORY_FILTER_ORDER = [
    "truncated",
    "too_short",
    "too_long",
    "not_english_prose",
    "degenerate_repetition",
    "run_on",
    "meta_text",
    "not_for_children",
    "missing_required_word",
]
WEB_STEP_ORDER = ["heuristics", "classifier", "dedup", "decontaminate"]
Section = tuple[list[tuple[str, str]], list[str]]


def read(folder: Path, which: str, columns: list[str]) -> list[dict]:
    """Rows of a folder's `data` or `rejected` shards, only the columns they have."""
    shards = sorted((Path(folder) / which).glob("*.parquet"))
    if not shards:
        return []
    tables = []
    for shard in shards:
        try:
            names = pq.read_schema(shard).names
            table = pq.read_table(shard, columns=[c for c in columns if c in names])
        except (OSError, pa.ArrowException) as e:  # pyarrow's own words do not name the file
            raise ValueError(f"{shard}: not a readable Parquet file ({e})") from None
        for c in columns:
            if c not in table.column_names:
                table = table.append_column(c, pa.nulls(len(table)))
        tables.append(table.select(columns))
    return pa.concat_tables(tables, promote_options="permissive").to_pylist()


def kept_and_rejected(folder: Path, columns: list[str], extra: list[str]) -> tuple[list, list]:
    return read(folder, "data", columns), read(folder, "rejected", [*columns, *extra])


def lengths(kept: list[dict], rejected: list[dict], title: str, unit: str, units: str) -> str:
    return plots.lengths([r["text"] for r in kept], [r["text"] for r in rejected], title, unit,
                         units)  # fmt: skip


def _teacher_stats(folder: Path, kept: int, unit: str) -> list[tuple[str, str]]:
    totals = run_totals(folder / STATE)
    tokens, prompt = totals.get("completion_tokens", 0), totals.get("prompt_tokens", 0)
    wall = totals.get("wall_s", 0.0)
    return [
        ("teacher tokens", f"{prompt:,} prompt + {tokens:,} completion"),
        (f"completion tokens per kept {unit}", f"{tokens / kept:,.0f}" if kept else "n/a"),
        ("teacher time", f"{wall:,.0f} s ({tokens / wall if wall else 0:,.0f} output tok/s)"),
    ]


def _counts(total: int, kept: int) -> list[tuple[str, str]]:
    return [("prompts", f"{total:,}"), ("kept", f"{kept:,} ({100 * kept / total:.1f} %)")]


def _vocabulary_sizes(folder: Path) -> dict[str, int]:
    from ..prompt_files import load_vocabulary

    path = folder / "config.json"
    config = json.loads(path.read_text()) if path.exists() else {}
    vocabulary = load_vocabulary(config.get("vocabulary"))
    return {pos: len(words) for pos, words in vocabulary.words.items()}


def coverage_plot(asked: dict[str, set], kept: dict[str, set], sizes: dict[str, int]) -> str:
    fig, ax = plots.figure()
    parts = list(sizes)
    x = range(len(parts))
    share = [[100 * len(d.get(p, ())) / sizes[p] for p in parts] for d in (asked, kept)]
    ax.bar([i - 0.2 for i in x], share[0], width=0.4, color=plots.ASKED, label="asked for")
    ax.bar([i + 0.2 for i in x], share[1], width=0.4, color=plots.KEPT,
           label="used in a kept story")  # fmt: skip
    ax.set_xticks(list(x), [f"{p}s ({sizes[p]})" for p in parts])
    ax.set_ylabel("% of the vocabulary")
    ax.legend(frameon=False)
    ax.set_title("Vocabulary coverage")
    return plots.svg(fig)


def stories(folder: Path) -> Section:
    columns = ["text", "words"]
    kept, rejected = kept_and_rejected(folder, columns, ["reason"])
    total = len(kept) + len(rejected)
    reasons = Counter(r["reason"] for r in rejected)
    asked: dict[str, set] = {}
    used: dict[str, set] = {}
    for row in kept + rejected:
        for pos, word in (row["words"] or {}).items():
            asked.setdefault(pos, set()).add(word)
    for row in kept:
        for pos, word in (row["words"] or {}).items():
            used.setdefault(pos, set()).add(word)
    openings = Counter(" ".join(r["text"].split()[:3]).strip(",.") for r in kept + rejected)
    figures = [
        plots.funnel(
            "prompts",
            total,
            plots.ordered_drops(reasons, STORY_FILTER_ORDER),
            "Verification funnel",
            "prompts",
        ),
        lengths(
            kept,
            rejected,
            "Story length",
            "story",
            "stories",
        ),
        coverage_plot(asked, used, _vocabulary_sizes(folder)),
        plots.shares(
            openings, "How stories open (first three words)", "% of all stories (kept and rejected)"
        ),
    ]
    return _counts(total, len(kept)) + _teacher_stats(folder, len(kept), "story"), figures


def lessons(folder: Path, kind: str) -> Section:
    """Textbook sections or exercises: funnel, lengths, and what was kept by topic/audience."""
    unit = "lesson" if kind == "textbooks" else "exercise"
    columns = ["text", "topic", "subject", "audience", "style"]
    kept, rejected = kept_and_rejected(folder, columns, ["reason"])
    total = len(kept) + len(rejected)
    reasons = Counter(r["reason"] for r in rejected)
    figures = [
        plots.funnel(
            "prompts",
            total,
            sorted(reasons.items(), key=lambda kv: -kv[1]),
            "Verification funnel",
            "prompts",
        ),
        lengths(
            kept,
            rejected,
            f"{unit.capitalize()} length",
            unit,
            unit + "s",
        ),
    ]
    for column, title in (("audience", "Audience"), ("style", "Style"), ("subject", "Subject")):
        asked = Counter(r[column] for r in kept + rejected if r[column])
        if asked:
            kept_count = Counter(r[column] for r in kept if r[column])
            figures.append(plots.kept_by(asked, kept_count, f"{title}: asked and kept", unit + "s"))
    topics = Counter(r["topic"] for r in kept if r["topic"])
    if topics:
        figures.append(plots.shares(topics, "Topics of kept rows", f"% of kept {unit}s"))
    return _counts(total, len(kept)) + _teacher_stats(folder, len(kept), unit), figures


def annotations(folder: Path) -> Section:
    scored = read(folder, "data", ["score"])
    rejected = read(folder, "rejected", ["reason"])
    histogram = Counter(r["score"] for r in scored)
    educational = sum(c for s, c in histogram.items() if s >= 3)
    stats = [
        ("documents", f"{len(scored) + len(rejected):,}"),
        ("scored", f"{len(scored):,}"),
        ("educational (3+)", f"{educational:,}"),
        (
            "unusable answers",
            ", ".join(f"{r} {c}" for r, c in Counter(x["reason"] for x in rejected).most_common())
            or "none",
        ),
    ] + _teacher_stats(folder, len(scored), "score")
    figures = [plots.scores(histogram, "Teacher scores (FineWeb-Edu rubric)", threshold=3)]
    if len(set(histogram)) < 2 and scored:
        stats.append(("warning", "every document got the same score: a classifier cannot learn "
                      "from these labels"))  # fmt: skip
    return stats, figures


def filtered(folder: Path) -> Section:
    columns = ["text", "edu_int_score"]
    kept, rejected = kept_and_rejected(folder, columns, ["step", "reason"])
    total = len(kept) + len(rejected)
    drops = Counter((r["step"], r["reason"]) for r in rejected)
    ordered = sorted(drops.items(), key=lambda kv: (WEB_STEP_ORDER.index(kv[0][0]), -kv[1]))
    config = json.loads((folder / "config.json").read_text())
    figures = [
        plots.funnel(
            "documents",
            total,
            [(f"{s}: {r}", c) for (s, r), c in ordered],
            "Filtering funnel",
            "documents",
        ),
        lengths(
            kept,
            rejected,
            "Document length",
            "document",
            "documents",
        ),
    ]
    scores = Counter(r["edu_int_score"] for r in kept + rejected if r["edu_int_score"] is not None)
    if scores:
        figures.append(plots.scores(scores, "Classifier scores", threshold=config.get("threshold")))
    stats = [
        ("documents", f"{total:,}"),
        ("kept", f"{len(kept):,} ({100 * len(kept) / total:.1f} %)" if total else "0"),
        ("steps", ", ".join(s for s in WEB_STEP_ORDER if config.get(s)) or "none"),  # flags by step
    ]
    return stats, figures


def merged(folder: Path) -> Section:
    meta = json.loads((folder / "merge.json").read_text())
    parts = {name: part["rows"] for name, part in meta["sources"].items()}
    words = {name: part["words"] for name, part in meta["sources"].items()}
    stats = [
        ("rows", f"{sum(parts.values()):,}"),
        ("words", f"{sum(words.values()):,}"),
        ("sources", ", ".join(f"{n} ({c:,})" for n, c in parts.items())),
    ]
    figures = [
        plots.stacked_sources(parts, "Training mix: rows per source", "rows"),
        plots.stacked_sources(words, "Training mix: words per source", "words"),
    ]
    return stats, figures
