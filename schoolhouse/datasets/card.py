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


def write_card(root: Path, license: str, rows: int, tags: list[str], body: str) -> Path:
    """Write `root`/README.md atomically: the Hub's YAML header (configs for the splits that
    hold shards), then `body`."""

    def has(split: str) -> bool:
        return any((root / split).glob("*.parquet"))

    path = root / "README.md"
    header = yaml_header(license, rows, tags, has("data"), has("rejected"), root)
    write_atomic(path, header + body.lstrip("\n"))
    return path


def yaml_header(
    license: str,
    rows: int,
    tags: list[str],
    has_kept: bool,
    has_rejected: bool,
    folder: Path | None = None,
) -> str:
    """`configs` lists only folders that hold shards: `datasets` refuses a pattern with no file.

    With nothing kept, the rejected rows are a `rejected` split, never `train`: a single config
    is the default one, and `load_dataset(folder, split="train")` must not hand out rejects.
    `dataset_info` states the shards' sizes (`folder`): `datasets` caches a local folder under
    its name and a hash of the card's configs and info, so without it two runs' folders named
    alike (runs/1/stories, runs/2/stories) shared one cache entry and the second loaded the
    first one's rows."""
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
            f"  - split: {'train' if has_kept else 'rejected'}",
            "    path: rejected/*.parquet",
        ]
    if folder is not None:
        lines += dataset_info(Path(folder), has_kept, has_rejected)
    return "\n".join(lines + ["---", ""])


def dataset_info(folder: Path, has_kept: bool, has_rejected: bool) -> list[str]:
    """Each config's download size in bytes: true, and different for different shards."""
    lines = ["dataset_info:"]
    for config, sub, present in (
        ("default", "data", has_kept),
        ("rejected", "rejected", has_rejected),
    ):
        if present:
            size = sum(p.stat().st_size for p in (folder / sub).glob("*.parquet"))
            lines += [f"- config_name: {config}", f"  download_size: {size}"]
    return lines if len(lines) > 1 else []


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


def steering_section(job, summary, unit: str = "stories") -> str:
    """What steering did, over every row of the folder: adherence before filtering, yield,
    speed, tokens per kept row, and how the required words came."""
    config, folder = job.config, job.folder
    if not hasattr(config, "steer"):
        return ""
    columns = ["words_used", "word_sources", "completion_tokens"]
    kept_rows = folder.read("data", columns).to_pylist()
    rows = kept_rows + folder.read("rejected", columns).to_pylist()
    if not rows:
        return ""
    adherent = sum(
        all(w["source"] != "missing" for w in r["word_sources"]) for r in rows if r["word_sources"]
    )
    sources = Counter(w["source"] for r in rows for w in r["word_sources"])
    words = sum(sources.values())
    forced = sum(any(w["source"] == "forced" for w in r["word_sources"]) for r in kept_rows)
    lasts = sorted(
        max(w["position"] for w in r["word_sources"])
        for r in kept_rows
        if r["word_sources"] and all(w["position"] is not None for w in r["word_sources"])
    )
    totals = run_totals(folder.state)
    tokens, wall = totals.get("completion_tokens", 0), totals.get("wall_s", 0.0)

    def share(key: str) -> str:
        return f"{100 * sources[key] / words:.1f} %" if words else "n/a"

    if config.steer:
        how = (
            f"**on** (lexically steered decoding, `teacher/steering.py`): missing words' first "
            f"tokens raised by up to {config.steer_bias:g} logits on a ramp that spreads them over "
            f"the first {config.steer_by:.0%} of the {config.max_tokens}-token budget, no stop while "
            "a word is missing, a still-missing word forced near the budget's end (an adjective "
            "only in its base form; a comparative the teacher writes freely still counts)"
            + (
                f", repeated {config.no_repeat_ngram}-token n-grams blocked"
                if config.no_repeat_ngram
                else ""
            )
            + (f", DRY penalty {config.dry:g}" if config.dry else "")
            + (
                f", the stop raised at sentence ends after {config.end_by:.0%} of the budget "
                "once every word is written"
                if config.end_by < 1
                else ""
            )
        )
    else:
        how = "**off** (plain sampling, then filtering)"
    median = f"{lasts[len(lasts) // 2]:.2f}" if lasts else "n/a"
    return f"""
## Steering
- Steering: {how}. Every row records it in `steering`.
- Adherence before filtering (rows that use every required word, kept or not):
  {adherent}/{len(rows)} = {100 * adherent / len(rows):.1f} %.
- Kept {summary.kept} of {summary.kept + sum(summary.rejected.values())} prompts;
  {60 * summary.kept / wall if wall else 0:.2f} kept {unit} per minute of generation;
  {f"{tokens / summary.kept:,.0f}" if summary.kept else "n/a"} completion tokens per kept row.
- Required words (`word_sources`, per row and word): came freely {share("free")}, steered
  {share("steered")}, forced {share("forced")}, missing {share("missing")}. Kept rows with a
  forced word: {forced}; drop them with
  `ds.filter(lambda r: all(w["source"] != "forced" for w in r["word_sources"]))`.
- Where the last required word first appears in a kept row (share of its length): median {median}.
"""


def pct(x: int, n: int) -> str:
    return f"{100 * x / n:.1f} %" if n else "n/a"


def counts_section(summary) -> str:
    """A generation card's counts: prompts, kept, rejected, and rows per drop reason."""
    rejected = summary.rejected
    total_rows = summary.kept + sum(rejected.values())
    reasons = "\n".join(
        f"| `{r}` | {c} | {pct(c, total_rows)} |" for r, c in rejected.most_common()
    )
    return f"""## Counts
| | rows | share |
|---|---|---|
| prompts | {total_rows} | |
| kept | {summary.kept} | {pct(summary.kept, total_rows)} |
| rejected | {sum(rejected.values())} | {pct(sum(rejected.values()), total_rows)} |

| drop reason | rows | share of prompts |
|---|---|---|
{reasons or "| (none) | 0 | |"}"""


def write_story_card(job, summary) -> Path:
    config, folder = job.config, job.folder
    kept = folder.read("data", ["text", "completion_tokens", "words_used", "features"])
    texts = kept.column("text").to_pylist()
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
  vocabulary (age-of-acquisition, part-of-speech and concreteness norms; `prompts/SOURCES.md`)
  and up to
  {config.max_features} story features ({", ".join(f.name for f in job.sampler.features)}).
  {openings_line}
- **Sampling**: temperature {config.temperature}, top-p {config.top_p}, repetition penalty
  {config.repetition_penalty}, frequency penalty {config.frequency_penalty}, at most
  {config.max_tokens} tokens, a fixed seed per request
  (run seed {config.seed}); best of {config.best_of} completion(s) per prompt.
- **Verification** (first failing check names the drop reason): not truncated at the token limit,
  {config.min_words}-{config.max_words} words, English prose (Gopher rules), no degenerate
  repetition (Gopher thresholds), no sentence over 50 words (`run_on`), no word said twice in a
  row (`stutter`), no story written as a list (`not_prose`), no talk about the prompt
  or the task (`meta_text`), nothing unfit for young children (`not_for_children`), all three
  required words present in some inflection.
{steering_section(job, summary)}
{counts_section(summary)}

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
`words_used`, `opening`, `steering` (on or off, and its parameters) and `word_sources` (per
required word: `free`, `steered`, `forced` or `missing`, and where it first appears). Rejected
rows add `reason`.

## Limitations
A small teacher writes simple but imperfect English; the checks above test form (length,
repetition, required words), not truth or safety. Review before training anything that matters.

## Generating config
```json
{config.model_dump_json(indent=2)}
```
"""
    return write_card(
        folder.root, config.license, summary.kept, ["synthetic", "tinystories", "schoolhouse"], body
    )


def write_lesson_card(
    job, summary, *, title: str, intro: str, prompt: str, checks: str, tags: list[str], columns: str
) -> Path:
    """The card of a textbooks or exercises folder: what was asked, what was checked, counts."""
    config, folder = job.config, job.folder
    totals = run_totals(folder.state)
    tok, wall = totals.get("completion_tokens", 0), totals.get("wall_s", 0.0)

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
{steering_section(job, summary, "rows")}
{counts_section(summary)}

- Teacher output: {tok:,} completion tokens over {totals.get("runs", 0)} run(s) and {wall:,.0f} s
  of generation ({tok / wall if wall else 0:,.0f} output tok/s).

## Columns
Every row records its provenance: `id` (stable: template sha + seed + prompt index), `index`,
`text`, `prompt`, {columns}, `template`, `template_sha`, `teacher`, `sampling` (including the
per-request seed), `seed`, `prompt_tokens`, `completion_tokens`, `finish_reason`, `candidates`,
`candidate`, `draft`, `critique`, `refine_tokens`{", `steering`, `word_sources`" if hasattr(config, "steer") else ""}.
Rejected rows add `reason`.

## Limitations
A small teacher writes imperfect text; the checks above test form and, for exercises, that the
tests pass, not that the lesson is true, complete or safe. Review before training anything that
matters.

## Generating config
```json
{config.model_dump_json(indent=2)}
```
"""
    return write_card(folder.root, config.license, summary.kept, tags, body)
