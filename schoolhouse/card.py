"""Dataset cards: a YAML header `datasets` and the Hub read, and a body a stranger can trust."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from .folder import write_atomic

SIZE_CATEGORIES = [
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
]


def size_category(n: int) -> str:
    return next((name for limit, name in SIZE_CATEGORIES if n < limit), "n>10M")


def yaml_header(
    license: str, rows: int, tags: list[str], has_kept: bool, has_rejected: bool
) -> str:
    """`configs` lists only folders that hold shards: `datasets` refuses a pattern with no file."""
    lines = [
        "---",
        f"license: {license}",
        "language:",
        "- en",
        "task_categories:",
        "- text-generation",
        "size_categories:",
        f"- {size_category(rows)}",
        "tags:",
    ]
    lines += [f"- {t}" for t in tags]
    lines += ["configs:"]
    if has_kept:
        lines += [
            "- config_name: default",
            "  data_files:",
            "  - split: train",
            "    path: data/*.parquet",
        ]
    if has_rejected:
        lines += [
            "- config_name: rejected",
            "  data_files:",
            "  - split: train",
            "    path: rejected/*.parquet",
        ]
    return "\n".join(lines + ["---", ""])


def run_totals(state: Path) -> dict:
    """Teacher tokens and wall time summed over every run that wrote this folder."""
    totals = Counter()
    runs = 0
    path = state / "runs.jsonl"
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                run = json.loads(line)
            except ValueError:
                continue
            runs += 1
            for key in ("prompt_tokens", "completion_tokens", "wall_s", "written_this_run"):
                totals[key] += run.get(key) or 0
    return {"runs": runs, **totals}


def write_story_card(job, summary) -> Path:
    config, folder = job.config, job.folder
    kept = folder.read("data", ["text", "completion_tokens", "words_used", "features"])
    texts = kept.column("text").to_pylist()
    rejected = summary.rejected
    total_rows = summary.kept + sum(rejected.values())
    openers = Counter(" ".join(t.split()[:4]) for t in texts)
    once = sum(t.lower().startswith("once upon a time") for t in texts)
    totals = run_totals(folder.state)
    tok = totals.get("completion_tokens", 0)
    wall = totals.get("wall_s", 0.0)
    features = Counter(f for fs in kept.column("features").to_pylist() for f in fs)

    openings = [f.name for f in job.sampler.openings]
    openings_line = (
        f"Beyond the paper, a prompt may also ask for one of {len(openings)} ways to open the "
        f"story ({', '.join(openings)}) or leave the opening free."
        if openings
        else "The opening of the story is left to the teacher."
    )

    def pct(x: int, n: int) -> str:
        return f"{100 * x / n:.1f} %" if n else "n/a"

    reasons = "\n".join(
        f"| `{r}` | {c} | {pct(c, total_rows)} |" for r, c in rejected.most_common()
    )
    body = f"""
# TinyStories-style synthetic stories

{summary.kept} short stories for training small language models, written by a local teacher model
under random vocabulary constraints in the manner of TinyStories (Eldan & Li 2023), then verified.
Made with `schoolhouse generate stories`.

```python
from datasets import load_dataset
stories = load_dataset("path/or/repo")               # kept stories
rejected = load_dataset("path/or/repo", "rejected")  # dropped ones, with a `reason` column
```

## How it was made
- **Teacher**: `{job.teacher_spec.name}`
- **Prompt**: template `{job.sampler.template.name}` (sha `{job.sampler.template.sha}`): each prompt
  samples one noun, one verb and one adjective from a {len(job.sampler.vocabulary)}-word child
  vocabulary (Dale-Chall easy words, WordNet parts of speech, `wordfreq` ranking) and up to
  {config.max_features} story features ({", ".join(f.name for f in job.sampler.features)}).
  {openings_line}
- **Sampling**: temperature {config.temperature}, top-p {config.top_p}, repetition penalty
  {config.repetition_penalty}, frequency penalty {config.frequency_penalty}, at most
  {config.max_tokens} tokens, a fixed seed per request
  (run seed {config.seed}); best of {config.best_of} completion(s) per prompt.
- **Verification** (first failing check names the drop reason): not truncated at the token limit,
  {config.min_words}-{config.max_words} words, English prose (Gopher rules), no degenerate
  repetition (Gopher thresholds), all three required words present in some inflection.

## Counts
| | rows | share |
|---|---|---|
| prompts | {total_rows} | |
| kept | {summary.kept} | {pct(summary.kept, total_rows)} |
| rejected | {sum(rejected.values())} | {pct(sum(rejected.values()), total_rows)} |

| drop reason | rows | share of prompts |
|---|---|---|
{reasons or "| (none) | 0 | |"}

- Teacher tokens: {totals.get("prompt_tokens", 0):,} prompt, {tok:,} completion, over
  {totals.get("runs", 0)} run(s) and {wall:,.0f} s of generation ({tok / wall if wall else 0:,.0f} output tok/s).
- Kept stories' completion tokens: {sum(kept.column("completion_tokens").to_pylist()):,}.
- Stories opening with "Once upon a time": {pct(once, len(texts))} (TinyStories: 59 %).
  Most common openings: {"; ".join(f"“{o}…” ({c})" for o, c in openers.most_common(3)) or "n/a"}.
- Story features among kept rows: {", ".join(f"{k} {v}" for k, v in features.most_common()) or "none"}.

## Columns
Every row records its provenance: `id` (stable: template sha + seed + prompt index), `index`,
`text`, `prompt`, `words` (noun / verb / adjective), `features`, `template`, `template_sha`,
`teacher`, `sampling` (including the per-request seed), `seed`, `prompt_tokens`,
`completion_tokens`, `finish_reason`, `candidates` and `candidate` (best-of sampling),
`words_used`. Rejected rows add `reason`.

## Limitations
A small teacher writes simple but imperfect English; the checks above test form (length,
repetition, required words), not truth or safety. Review before training anything that matters.

## Generating config
```json
{config.model_dump_json(indent=2)}
```
"""
    header = yaml_header(
        config.license,
        summary.kept,
        ["synthetic", "tinystories", "schoolhouse"],
        bool(folder.shards("data")),
        bool(folder.shards("rejected")),
    )
    path = config.out / "README.md"
    write_atomic(path, header + body.lstrip("\n"))
    return path


def histogram_rows(histogram: Counter, total: int, width: int = 30) -> str:
    """A markdown table of score -> rows, with a bar."""
    top = max(histogram.values(), default=0)
    lines = []
    for score in range(6):
        count = histogram.get(score, 0)
        bar = "█" * round(width * count / top) if top else ""
        share = f"{100 * count / total:.1f} %" if total else "n/a"
        lines.append(f"| {score} | {count} | {share} | {bar} |")
    return "\n".join(lines)


def write_annotation_card(job, summary) -> Path:
    from .annotation import RETRY_TEMPERATURE

    config, folder = job.config, job.folder
    totals = run_totals(folder.state)
    rejected = summary.rejected
    rows = summary.scored + sum(rejected.values())
    kept = folder.read("data", ["truncated"]).column("truncated").to_pylist()
    reasons = "\n".join(f"| `{r}` | {c} |" for r, c in rejected.most_common())
    educational = sum(c for s, c in summary.histogram.items() if s >= 3)
    wall = totals.get("wall_s", 0.0)
    picked = "the first of" if config.first else f"a random sample (seed {config.seed}) of"
    duplicates = (
        f"; {summary.duplicate_ids} later documents with an id already picked were skipped"
        if summary.duplicate_ids
        else ""
    )
    body = f"""
# Educational-value annotations

{summary.scored} documents scored 0-5 for educational value by a teacher model with the
FineWeb-Edu additive rubric (Penedo et al. 2024), for training a quality classifier
(`schoolhouse classifier train --annotations <this folder>`). Made with `schoolhouse annotate`.

```python
from datasets import load_dataset
scores = load_dataset("path/or/repo")                 # text, score, rationale, provenance
rejected = load_dataset("path/or/repo", "rejected")   # unusable answers, with a `reason`
```

## How it was made
- **Input**: {", ".join(f"`{p}`" for p in config.inputs)}: {summary.picked} documents
  ({picked} {config.n} requested){duplicates}.
- **Teacher**: `{job.teacher_spec.name}`
- **Prompt**: template `{job.template.name}` (sha `{job.template.sha}`), the FineWeb-Edu rubric
  answered as JSON (`reason`, then `score`) through guided decoding. Documents over
  {config.max_chars:,} characters are cut at a paragraph, sentence or word boundary for the prompt
  ({sum(kept)} of the scored rows); rows keep the whole text.
- **Sampling**: temperature {config.temperature}, at most {config.max_tokens} answer tokens, a
  seed per request; an answer cut off or invalid is asked once more at temperature
  {RETRY_TEMPERATURE} before it is rejected.

## Scores
| score | rows | share | |
|---|---|---|---|
{histogram_rows(summary.histogram, summary.scored)}

Educational (score 3 or more, FineWeb-Edu's threshold): {educational} of {summary.scored}.

| | rows |
|---|---|
| documents | {rows} |
| scored | {summary.scored} |
| rejected | {sum(rejected.values())} |
{reasons}

- Teacher tokens: {totals.get("prompt_tokens", 0):,} prompt, {totals.get("completion_tokens", 0):,}
  completion, over {totals.get("runs", 0)} run(s) and {wall:,.0f} s.

## Columns
`id` (the input's document id), `index` (its position in the input), `text` (whole), `source`,
`score` (0-5), `rationale` (the teacher's justification), `truncated`, `template`,
`template_sha`, `teacher`, `sampling` (with the per-request seed), `prompt_tokens`,
`completion_tokens`, `finish_reason`, `attempts`. Rejected rows add `answer` and `reason`.

## Limitations
The scores are one model's judgement under one prompt; a small teacher's scores are noisy.
The documents keep the licenses of their sources.

## Config
```json
{config.model_dump_json(indent=2)}
```
"""
    header = yaml_header(
        config.license,
        summary.scored,
        ["annotations", "educational-value", "fineweb-edu", "schoolhouse"],
        bool(folder.shards("data")),
        bool(folder.shards("rejected")),
    )
    path = config.out / "README.md"
    write_atomic(path, header + body.lstrip("\n"))
    return path


STEP_ORDER = ("heuristics", "classifier", "dedup", "decontaminate")
STEP_TEXT = {
    "heuristics": "Gopher quality and repetition rules (Rae et al. 2021) and C4's page rules "
    "(Raffel et al. 2020), as in FineWeb",
    "classifier": "the quality classifier's educational score, rounded half up, at least the "
    "threshold (FineWeb-Edu keeps 3 and up)",
    "dedup": "exact duplicates (normalized text), then MinHash near duplicates (5-word "
    "shingles, 16 bands x 8 rows); the first document of a group is kept",
    "decontaminate": "no 13-word n-gram shared with a benchmark item (GPT-3's rule)",
}


def write_filter_card(config, summary, folder: Path) -> Path:
    from .classifier import Classifier

    funnel = "\n".join(
        f"| {step} | {n} | {100 * n / summary.documents:.1f} % |" if summary.documents else
        f"| {step} | {n} | |"
        for step, n in summary.funnel
    )  # fmt: skip
    reasons = "\n".join(
        f"| {step} | `{reason}` | {count} |"
        for (step, reason), count in sorted(
            summary.rejected.items(), key=lambda kv: (STEP_ORDER.index(kv[0][0]), -kv[1])
        )
    )
    steps = "\n".join(
        f"{i}. **{step}**: {STEP_TEXT[step]}" for i, step in enumerate(summary.steps, 1)
    )
    classifier = ""
    if config.classifier is not None:
        meta = Classifier.metadata(config.classifier)
        m = meta["metrics"]
        classifier = (
            f"\nClassifier `{meta['recipe']}` from `{config.classifier}` (labels: "
            f"{meta['label_source']}; held-out binary F1 {m['binary_f1']:.3f}, macro F1 "
            f"{m['macro_f1']:.3f}), threshold {config.threshold}. Scores of the "
            f"{sum(summary.scores.values())} documents it scored:\n\n| score | documents | share | |\n"
            f"|---|---|---|---|\n{histogram_rows(summary.scores, sum(summary.scores.values()))}\n"
        )
    unreadable = ", ".join(f"{r} {c}" for r, c in summary.unreadable.most_common()) or "none"
    body = f"""
# Filtered web text

{summary.kept} of {summary.documents} documents kept from
{", ".join(f"`{p}`" for p in config.inputs)}. Made with `schoolhouse filter`.

```python
from datasets import load_dataset
kept = load_dataset("path/or/repo")
rejected = load_dataset("path/or/repo", "rejected")   # with `step` and `reason`
```

## Steps, in order
{steps}
{classifier}
## Funnel
| after step | documents | share of input |
|---|---|---|
{funnel}

| step | drop reason | documents |
|---|---|---|
{reasons or "| | (none) | 0 |"}

Input documents skipped as unreadable: {unreadable}.

## Run
{summary.shards} input shard(s), {summary.workers} worker process(es) for the per-document steps
({summary.judge_s:,.1f} s of worker time), one process for dedup; {summary.wall_s:,.1f} s in all
({summary.documents / summary.wall_s if summary.wall_s else 0:,.0f} documents/s).

## Columns
`id` (the input's), `text`, `source` (input file), `metadata` (the input's other fields as JSON),
`edu_score` and `edu_int_score` (when the classifier ran on it). Rejected rows add `step`,
`reason`, `duplicate_of` (dedup) and `contamination` (benchmark/item).

## Config
```json
{config.model_dump_json(indent=2)}
```
"""
    header = yaml_header(
        config.license,
        summary.kept,
        ["web", "filtered", "schoolhouse"],
        any((folder / "data").glob("*.parquet")),
        any((folder / "rejected").glob("*.parquet")),
    )
    path = folder / "README.md"
    write_atomic(path, header + body.lstrip("\n"))
    return path


def write_lesson_card(
    job, summary, *, title: str, intro: str, prompt: str, checks: str, tags: list[str], columns: str
) -> Path:
    """The card of a textbooks or exercises folder: what was asked, what was checked, counts."""
    config, folder = job.config, job.folder
    rejected = summary.rejected
    total_rows = summary.kept + sum(rejected.values())
    totals = run_totals(folder.state)
    tok, wall = totals.get("completion_tokens", 0), totals.get("wall_s", 0.0)

    def pct(x: int, n: int) -> str:
        return f"{100 * x / n:.1f} %" if n else "n/a"

    reasons = "\n".join(
        f"| `{r}` | {c} | {pct(c, total_rows)} |" for r, c in rejected.most_common()
    )
    refine = (
        "- **Refinement**: each answer is a revision: the teacher drafted, critiqued the draft "
        "against the prompt's constraints, then revised it (`draft` and `critique` columns).\n"
        if config.refine
        else ""
    )
    body = f"""
# {title}

{summary.kept} {intro}. Made with `schoolhouse generate {job.kind.name}`.

```python
from datasets import load_dataset
rows = load_dataset("path/or/repo")                  # kept rows
rejected = load_dataset("path/or/repo", "rejected")  # dropped ones, with a `reason` column
```

## How it was made
- **Teacher**: `{job.teacher_spec.name}`
- **Prompt**: template `{job.sampler.template.name}` (sha `{job.sampler.template.sha}`): {prompt}.
- **Sampling**: temperature {config.temperature}, top-p {config.top_p}, repetition penalty
  {config.repetition_penalty}, frequency penalty {config.frequency_penalty}, at most
  {config.max_tokens} tokens, a fixed seed per request (run seed {config.seed}); best of
  {config.best_of} completion(s) per prompt.
{refine}- **Verification** (first failing check names the drop reason): {checks}.

## Counts
| | rows | share |
|---|---|---|
| prompts | {total_rows} | |
| kept | {summary.kept} | {pct(summary.kept, total_rows)} |
| rejected | {sum(rejected.values())} | {pct(sum(rejected.values()), total_rows)} |

| drop reason | rows | share of prompts |
|---|---|---|
{reasons or "| (none) | 0 | |"}

- Teacher output: {tok:,} completion tokens over {totals.get("runs", 0)} run(s) and {wall:,.0f} s
  of generation ({tok / wall if wall else 0:,.0f} output tok/s).

## Columns
Every row records its provenance: `id` (stable: template sha + seed + prompt index), `index`,
`text`, `prompt`, {columns}, `template`, `template_sha`, `teacher`, `sampling` (including the
per-request seed), `seed`, `prompt_tokens`, `completion_tokens`, `finish_reason`, `candidates`,
`candidate`, `draft`, `critique`, `refine_tokens`. Rejected rows add `reason`.

## Limitations
A small teacher writes imperfect text; the checks above test form and, for exercises, that the
tests pass, not that the lesson is true, complete or safe. Review before training anything that
matters.

## Generating config
```json
{config.model_dump_json(indent=2)}
```
"""
    header = yaml_header(
        config.license,
        summary.kept,
        tags,
        bool(folder.shards("data")),
        bool(folder.shards("rejected")),
    )
    path = config.out / "README.md"
    write_atomic(path, header + body.lstrip("\n"))
    return path
