"""Filter web text at scale: the steps a document passes, in a fixed order.

    schoolhouse filter web/ --out out/web-edu --heuristics --classifier out/edu-clf \\
        --threshold 3 --dedup exact,minhash --decontaminate humaneval --workers 2

    1. heuristics     Gopher quality, Gopher repetition, C4 rules   (--rules: a `Rules` value)
    2. classifier     rounded educational score >= threshold         low_edu_score
                      (--annotations: the grader's own score where it scored the document)
    3. dedup          exact, then MinHash near duplicates            exact_duplicate, near_duplicate
    4. decontaminate  no 13-gram shared with a benchmark             contaminated

Only the steps named by flags run. Every dropped document lands in rejected/ with its step and
reason (a dedup drop also names the document it duplicates, a contaminated one the benchmark
item); every document that reached the classifier keeps its `edu_score` and `edu_int_score`,
and `score_by`: "grader" when the score is a grader's annotation of that very document (the
classifier is trained to imitate those; where the real label exists it is the better score),
"classifier" otherwise.

Parallel design: steps 1 and 2, and the 13-gram lookup of step 4, judge one document alone, so
worker processes run them per input shard (a Parquet shard, a JSONL or WARC file, or a batch of
text files) and write the survivors and their verdicts to a staging shard. Dedup must see every
document, so the main process alone runs it, over the staging shards in input order, as they
arrive (it overlaps with the workers); a document is kept by dedup only if no earlier kept one
duplicates it, exactly as in one process, so the output does not depend on `--workers`. The
contamination verdict computed in the worker is applied after dedup, which keeps the documented
order (a contaminated document that duplicates an earlier one is a `near_duplicate`).

Where the work runs (`--runner`): the judging of shards is `judge.py`'s, in this process, in
local worker processes, or in Ray actors (`cluster/webfilter.py`, handed over by
`schoolhouse.jobs.filter_web`). On Ray, dedup's fingerprints are computed beside the judging and
only documents that share a collision key with another reach the sequential pass, which gives
the same verdicts (`_run`'s `in_dedup`); the output is the same either way.

The heuristics are passed in (`Rules`: the named rule set's checks and its description), never
imported: `schoolhouse.jobs.filter_web` hands over the set `--rules` names from `filters`.

Everything, staging shards included, is written into a hidden sibling folder that is renamed
into place at the end: a failed or killed run leaves no half-written output folder, and what a
killed run leaves in the hidden one (its workers die with it) is never read as input: readers
skip hidden folders.
"""

from __future__ import annotations

import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..config import WebFilterConfig
from ..datasets.folder import ShardWriter, write_atomic
from ..datasets.outdir import locked, temp_sibling
from ..datasets.readers import TEXT_SUFFIXES, input_files, suffix
from ..datasets.records import Document
from .judge import STAGE_SCHEMA, Rules, ShardJudge, graded_scores, init_worker, judge_in_worker

STEPS = ("heuristics", "classifier", "dedup", "decontaminate")


TEXT_FILES_PER_SHARD = 500
KEPT_SCHEMA = pa.schema([STAGE_SCHEMA.field(n) for n in STAGE_SCHEMA.names[:7]])
REJECTED_SCHEMA = pa.schema(
    [*KEPT_SCHEMA, *(pa.field(n, pa.string()) for n in ("step", "reason", "duplicate_of"))]
    + [STAGE_SCHEMA.field("contamination")]
)


def steps_of(config: WebFilterConfig) -> list[str]:
    ran = {
        "heuristics": config.heuristics,
        "classifier": config.classifier is not None,
        "dedup": bool(config.dedup),
        "decontaminate": bool(config.decontaminate),
    }
    return [s for s in STEPS if ran[s]]


def shards_of(config: WebFilterConfig) -> list[list[Path]]:
    """Units of parallel work, in input order: one file each, text files in batches."""
    shards: list[list[Path]] = []
    for path in input_files(*config.inputs):
        small = suffix(path) in TEXT_SUFFIXES
        last = shards[-1] if shards else []
        if (
            small
            and last
            and suffix(last[-1]) in TEXT_SUFFIXES
            and len(last) < TEXT_FILES_PER_SHARD
        ):
            last.append(path)
        else:
            shards.append([path])
    return shards


# -- the whole run -----------------------------------------------------------------------------
@dataclass
class FilterSummary:
    out: str
    steps: list[str]
    documents: int = 0
    kept: int = 0
    funnel: list[tuple[str, int]] = field(default_factory=list)  # (after step, documents left)
    rejected: Counter = field(default_factory=Counter)  # (step, reason) -> documents
    unreadable: Counter = field(default_factory=Counter)
    repaired: Counter = field(default_factory=Counter)  # kept, e.g. invalid_utf8 -> U+FFFD
    scores: Counter = field(default_factory=Counter)  # edu_int_score -> documents scored
    score_by: Counter = field(default_factory=Counter)  # "grader"/"classifier" -> documents
    shards: int = 0
    workers: int = 1
    runner: str = "local"
    dedup_candidates: int | None = None  # --runner ray: documents the sequential dedup saw
    shuffle_bytes: int = 0  # --runner ray: collision keys exchanged between stages
    # --runner ray: wall seconds of its stages, and worker seconds spent fingerprinting
    stage_s: Counter = field(default_factory=Counter)
    judge_s: float = 0.0  # worker seconds in steps 1, 2 and the 13-gram lookup
    wall_s: float = 0.0

    def to_dict(self) -> dict:
        return {
            "out": self.out,
            "steps": self.steps,
            "documents": self.documents,
            "kept": self.kept,
            "funnel": dict(self.funnel),
            "rejected": {f"{s}/{r}": c for (s, r), c in self.rejected.most_common()},
            "unreadable": dict(self.unreadable),
            "repaired": dict(self.repaired),
            "scores": {str(k): self.scores[k] for k in sorted(self.scores)},
            "score_by": dict(self.score_by),
            "shards": self.shards,
            "workers": self.workers,
            "runner": self.runner,
            **(
                {
                    "dedup_candidates": self.dedup_candidates,
                    "shuffle_bytes": self.shuffle_bytes,
                    "stage_s": {k: round(v, 2) for k, v in self.stage_s.items()},
                }
                if self.runner != "local"
                else {}
            ),
            "judge_s": round(self.judge_s, 2),
            "wall_s": round(self.wall_s, 2),
        }


def check_filter(config: WebFilterConfig) -> list[list[Path]]:
    """Fail before any work: output folder, steps, classifier folder, inputs."""
    out = config.out
    if out.is_symlink() or (out.exists() and (not out.is_dir() or any(out.iterdir()))):
        raise ValueError(f"{out} already exists: choose a new --out")
    if not steps_of(config):
        raise ValueError(
            "no step to run: name at least one of --heuristics, --classifier, --dedup, "
            "--decontaminate"
        )
    if config.classifier is not None:
        from .classifier import Classifier

        Classifier.load(config.classifier)
    if config.annotations:
        if config.classifier is None:
            raise ValueError("--annotations needs --classifier: it scores the documents the "
                             "grader did not")  # fmt: skip
        for path in config.annotations:
            if not path.exists():
                raise ValueError(f"--annotations {path}: no such file or folder")
        graded_scores(config)  # a bad row is named now, not in a worker
    shards = shards_of(config)
    if not shards:
        raise ValueError(f"{', '.join(map(str, config.inputs))}: no input file")
    return shards


def filter_web(
    config: WebFilterConfig, rules: Rules | None, log=print, cluster: Callable | None = None
) -> FilterSummary:
    """Run the named steps; `rules` is required when `config.heuristics` is set, `cluster` (the
    judging and dedup candidates on a cluster: `cluster.webfilter.judged_on_cluster`) when
    `config.runner` is not local."""
    if config.heuristics and (rules is None or rules.name != config.rules):
        raise ValueError(
            f"--heuristics with rule set {config.rules!r} needs its checks passed in "
            f"(got {rules.name if rules else None!r}): run it through schoolhouse.jobs.filter_web"
        )
    # a second run on the same --out is refused; the temp folder is this run's alone
    with locked(config.out):
        return _filter_web(config, rules, log, cluster)


def _filter_web(config: WebFilterConfig, rules: Rules | None, log, cluster) -> FilterSummary:
    shards = check_filter(config)
    out = config.out
    tmp = temp_sibling(out)
    stage = tmp / ".stage"
    stage.mkdir(parents=True)
    summary = FilterSummary(str(out), steps_of(config), shards=len(shards), workers=config.workers)
    started = time.perf_counter()
    try:
        if config.runner != "local":
            if cluster is None:
                raise ValueError(
                    f"--runner {config.runner}: run it through "
                    "schoolhouse.jobs.filter_web, which hands over the runner"
                )
            results, in_dedup = cluster(config, rules, shards, summary, log)
        else:
            tasks = [(files, stage / f"shard-{i:05d}.parquet") for i, files in enumerate(shards)]
            results, in_dedup = _results(config, rules, tasks), None
        _run(config, results, len(shards), tmp, summary, log, in_dedup)
        if summary.documents == 0:  # no finished, empty dataset for empty or unreadable inputs
            skipped = ", ".join(f"{r} {c}" for r, c in summary.unreadable.most_common())
            raise ValueError(
                f"{', '.join(map(str, config.inputs))}: no document to filter"
                + (f" (skipped: {skipped})" if skipped else " (the input is empty)")
            )
        shutil.rmtree(stage)
        summary.wall_s = time.perf_counter() - started
        write_atomic(tmp / "config.json", config.model_dump_json(indent=2))
        from .cards import write_filter_card

        write_filter_card(config, summary, tmp, rules.about if rules else "")
        os.rename(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary


def _results(
    config: WebFilterConfig, rules: Rules | None, tasks
) -> Iterator[tuple[dict, pa.Table]]:
    """Judged shards (figures, staging table) in input order, from worker processes when there
    are several."""
    for stats, stage in _judged(config, rules, tasks):
        table = pq.read_table(stage)
        stage.unlink()
        yield stats, table


def _judged(config: WebFilterConfig, rules: Rules | None, tasks) -> Iterator[tuple[dict, Path]]:
    workers = min(config.workers, len(tasks))
    if workers <= 1:
        judge = ShardJudge(config, rules)
        for files, stage in tasks:
            yield judge.judge(files, stage), stage
        return
    import multiprocessing

    threads = max(1, (os.cpu_count() or 1) // workers)
    with ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),  # no forked torch or vLLM threads
        initializer=init_worker,
        initargs=(config.model_dump_json(), rules, threads, os.getpid()),  # die with us
    ) as pool:
        yield from zip(pool.map(judge_in_worker, tasks), (s for _, s in tasks), strict=True)


def _run(
    config: WebFilterConfig,
    results: Iterator[tuple[dict, pa.Table]],
    shards: int,
    tmp: Path,
    summary: FilterSummary,
    log,
    in_dedup: Callable[[int, int], bool] | None = None,
) -> None:
    """Dedup, decontamination and writing, over judged shards in input order. `in_dedup(shard,
    row)` tells which documents the sequential dedup pass must see (None: all): the others
    share no collision key with any document (`Deduplicator.collision_keys`), so they are kept
    and need no index entry."""
    dedup = None
    if config.dedup:
        from .dedup import Deduplicator

        methods = config.dedup.split(",")
        dedup = Deduplicator(exact="exact" in methods, near="minhash" in methods)
    kept = ShardWriter(tmp / "data", KEPT_SCHEMA, config.shard_size)
    rejected = ShardWriter(tmp / "rejected", REJECTED_SCHEMA, config.shard_size)
    left = Counter()  # step -> documents that passed it
    for shard, (stats, table) in enumerate(results):
        summary.judge_s += stats["seconds"]
        summary.unreadable.update(stats["unreadable"])
        summary.repaired.update(stats["repaired"])
        for position, row in enumerate(table.to_pylist()):
            summary.documents += 1
            if row["edu_int_score"] is not None:
                summary.scores[row["edu_int_score"]] += 1
                summary.score_by[row["score_by"]] += 1
            if (
                row["reason"] is None
                and dedup is not None
                and (in_dedup is None or in_dedup(shard, position))
            ):
                verdict = dedup.check(Document(row["id"], row["text"], row["source"]))
                if not verdict.kept:
                    row |= {"step": "dedup", "reason": verdict.reason}
                    row["duplicate_of"] = verdict.duplicate_of
            if row["reason"] is None and row["contamination"]:
                row |= {"step": "decontaminate", "reason": "contaminated"}
            passed = STEPS.index(row["step"]) if row["reason"] else len(STEPS)
            left.update(s for s in summary.steps if STEPS.index(s) < passed)
            if row["reason"]:
                summary.rejected[(row["step"], row["reason"])] += 1
                rejected.add(row)
            else:
                summary.kept += 1
                kept.add(row)
        log(f"shard {shard + 1}/{shards}: {summary.documents} documents, {summary.kept} kept")
    kept.flush()
    rejected.flush()
    summary.funnel = [("input", summary.documents)] + [(s, left[s]) for s in summary.steps]
