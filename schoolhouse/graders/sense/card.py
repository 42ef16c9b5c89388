"""The dataset card of a `schoolhouse judge` folder: what the sense score means, its distribution."""

from __future__ import annotations

from pathlib import Path

from ...datasets.card import run_totals, write_card

BINS = 10


def histogram(values: list[float], bins: int = BINS) -> list[int]:
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, max(0, int(v * bins)))] += 1
    return counts


def distribution_table(kinds: list[str], senses: list[float], threshold: float) -> str:
    """A sense histogram per kind, as a Markdown table (bins of 0.1)."""
    present = sorted(set(kinds))
    if not present:
        return "No row was judged."
    per = {
        k: histogram([s for kk, s in zip(kinds, senses, strict=True) if kk == k]) for k in present
    }
    lines = ["| sense | " + " | ".join(present) + " |", "|---" * (len(present) + 1) + "|"]
    for b in range(BINS):
        low, high = b / BINS, (b + 1) / BINS
        mark = " (threshold)" if low <= threshold < high else ""
        lines.append(
            f"| {low:.1f}-{high:.1f}{mark} | " + " | ".join(str(per[k][b]) for k in present) + " |"
        )
    return "\n".join(lines)


def method_text(summary) -> str:
    if summary.method.startswith("fitted"):
        return (
            "`sense` is the probability that the text makes sense from start to end under a "
            "random forest over the judge's readings (below), fitted on the labelled rows "
            "of `bench/data/sense/` for this judge model (`bench/judge.py --fit`): 0 is "
            "nonsense, 1 sense. Generators drop a row as `nonsense` below the threshold "
            f"{summary.threshold:.3f}, chosen to keep 90 % of the labelled rows that make sense."
        )
    return (
        "`sense` is the rubric's P(Yes) alone: no fitted weights exist for this judge model "
        "(`bench/judge.py --judge SPEC --fit` fits them on the labelled rows), so the readings "
        "below are stored but not combined. 0.5 is the threshold."
    )


def write_judge_card(job, summary) -> Path:
    config, folder = job.config, job.folder
    table = folder.read("data", ["kind", "sense"])
    kinds, senses = table.column("kind").to_pylist(), table.column("sense").to_pylist()
    totals = run_totals(folder.state)
    by_kind = "\n".join(
        f"| {k} | {v['rows']} | {v['mean']:.3f} | {v['below_threshold']} |"
        for k, v in summary.by_kind.items()
    )
    body = f"""
# Sense judgements

{summary.judged} texts judged for sense (does it make sense from start to end: real words,
names and facts that stay the same, events that follow, no chat or talk about itself) by
`{job.teacher_spec.name}`. Made with `schoolhouse judge`.

```python
from datasets import load_dataset
rows = load_dataset("path/or/repo")      # id, text, kind, sense, the judge's readings
```

## The score
{method_text(summary)}

| kind | rows | mean sense | below the threshold |
|---|---|---|---|
{by_kind}

{distribution_table(kinds, senses, summary.threshold or 0.5)}

## How it was judged
- **Input**: {", ".join(f"`{p}`" for p in config.inputs)}{" (rejected rows included)" if config.rejected else ""}: {summary.rows} rows{f", {summary.duplicate_ids} later rows with an id already seen skipped" if summary.duplicate_ids else ""}.
- **Judge**: `{job.teacher_spec.name}`, prompt template `sense_rubric`, greedy, one answer token.
  Each text costs three prefills: the text, its shuffled copy and its second half alone.
- Judge tokens: {totals.get("prompt_tokens", 0):,} prompt tokens over {totals.get("runs", 0)} run(s)
  and {totals.get("wall_s", 0.0):,.0f} s.

## Columns
`id` (the input row's), `index` (its position), `text`, `kind`, `source`, `sense` (0-1, higher
makes more sense), `sense_method` (`fitted` or `rubric`), and the readings: `p_yes` (the
rubric's P(Yes)), `lp_mean` (mean token log-probability), `lp_low` (mean of the least likely
10 % of tokens), `shuffle_gap` (log-probability per token lost when the sentences are shuffled),
`context_gain` (log-probability per token the first half adds to the second), `p_yes_gap`
(P(Yes) minus that of the shuffled copy), `chat` (1 when the text opens or ends like a chat
reply or a prompt); `tokens`, `cut` (judged on its first
~6,000 characters), `judge`, `template_sha`, `prompt_tokens`. Rejected rows (`no_reading`) are
texts the judge reported nothing for.

## Limitations
A small judge reads sense, not truth: it catches shuffled, spliced and garbled text and
contradictions it notices, not every wrong fact. The scale is calibrated on the labelled rows of
`bench/data/sense/`, stories and textbook sections; web text is scored on the same scale
without labels of its own.

## Config
```json
{config.model_dump_json(indent=2)}
```
"""
    tags = ["judgements", "sense", "schoolhouse"]
    return write_card(folder.root, config.license, summary.judged, tags, body)
