"""Steps 1, 2 and the 13-gram lookup of step 4 of the web filter (`webfilter.py`), for one
input shard at a time: each judges a document alone, so local worker processes or Ray actors
(`cluster/webfilter.py`) run them in parallel, each loading the classifier and the benchmark
index once.

    judge = ShardJudge(config, rules)
    stats, rows = judge.judge_rows([path])      # STAGE_SCHEMA rows, in input order

A row that fails a step gets its `step` and `reason`; a row that reached the classifier keeps its
score and `score_by`; a row that shares a 13-gram with a benchmark keeps the item in
`contamination`, applied after dedup by the run.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..config import WebFilterConfig
from ..datasets.readers import DocumentReader
from ..datasets.records import Document

SCORE_BATCH = 256


@dataclass(frozen=True)
class Rules:
    """The heuristic rule set step 1 applies, as `--rules` names it. Pickled to every worker."""

    name: str  # as --rules names it
    about: str  # what the set runs, for the card
    check: Callable[[Document], str | None]  # the first drop reason, or None to keep


STAGE_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("text", pa.string()),
        ("source", pa.string()),
        ("metadata", pa.string()),  # the input's other fields (line, row, url, ...) as JSON
        ("edu_score", pa.float64()),
        ("edu_int_score", pa.int64()),
        ("score_by", pa.string()),  # "grader" (its annotation) or "classifier"
        ("step", pa.string()),
        ("reason", pa.string()),
        ("contamination", pa.string()),  # benchmark/item of a shared 13-gram, applied in step 4
    ]
)


# -- one shard, in a worker --------------------------------------------------------------------
class ShardJudge:
    """Steps 1, 2 and the lookup of 4 for one process; heavy parts are loaded once."""

    def __init__(self, config: WebFilterConfig, rules: Rules | None, threads: int | None = None):
        self.config = config
        self.check = rules.check if config.heuristics and rules else None
        self.classifier = None
        if config.classifier is not None:
            from .classifier import Classifier

            self.classifier = Classifier.load(config.classifier)
            if threads and self.classifier.features.name == "embedding":
                import torch

                torch.set_num_threads(threads)
        self.graded = graded_scores(config)
        self.index = None
        if config.decontaminate:
            from .decontaminate import NgramIndex

            self.index = NgramIndex.from_benchmarks(config.decontaminate.split(","))

    def judge(self, files: list[Path], stage: Path) -> dict:
        """Judge a shard into a staging Parquet file; return its figures."""
        stats, rows = self.judge_rows(files)
        pq.write_table(pa.Table.from_pylist(rows, STAGE_SCHEMA), stage, compression="zstd")
        return stats

    def judge_rows(self, files: list[Path]) -> tuple[dict, list[dict]]:
        """A shard's documents as staging rows (STAGE_SCHEMA), in input order, and its figures."""
        started = time.perf_counter()
        reader = DocumentReader(max_bytes=self.config.max_bytes)
        rows: list[dict] = []
        waiting: list[dict] = []  # passed the heuristics, waiting for a scoring batch
        for doc in (d for f in files for d in reader.read(f)):
            row = _row(doc)
            rows.append(row)
            reason = self.check(doc) if self.check else None
            if reason:
                row |= {"step": "heuristics", "reason": reason}
            elif row["id"] in self.graded:
                self._judge_score(row, *self.graded[row["id"]], "grader")
            elif self.classifier is not None:
                waiting.append(row)
                if len(waiting) >= SCORE_BATCH:
                    self._score(waiting)
            else:
                self._lookup(row)
        self._score(waiting)
        return {
            "documents": len(rows),
            "unreadable": dict(reader.skipped),
            "repaired": dict(reader.repaired),
            "seconds": time.perf_counter() - started,
        }, rows

    def _score(self, rows: list[dict]) -> None:
        if not rows:
            return

        from .classifier.metrics import to_class

        scores = self.classifier.score([r["text"] for r in rows])
        classes = to_class(scores).tolist()
        for row, score, rounded in zip(rows, scores.tolist(), classes, strict=True):
            self._judge_score(row, score, rounded, "classifier")
        rows.clear()

    def _judge_score(self, row: dict, score: float, rounded: int, by: str) -> None:
        row |= {"edu_score": round(score, 4), "edu_int_score": rounded, "score_by": by}
        if rounded >= self.config.threshold:
            self._lookup(row)
        else:
            row |= {"step": "classifier", "reason": "low_edu_score"}

    def _lookup(self, row: dict) -> None:
        if self.index is not None and (hit := self.index.find(row["text"])) is not None:
            row["contamination"] = f"{hit.benchmark}/{hit.item}"


def _row(doc: Document) -> dict:
    return {
        "id": doc.id,
        "text": doc.text,
        "source": doc.source,
        "metadata": json.dumps(doc.metadata, ensure_ascii=False, default=str),
    }


JUDGE: ShardJudge | None = None


def init_worker(config_json: str, rules: Rules | None, threads: int, parent: int) -> None:
    global JUDGE
    die_with_parent(parent)
    JUDGE = ShardJudge(WebFilterConfig.model_validate_json(config_json), rules, threads)


def die_with_parent(parent: int) -> None:
    """Have the kernel SIGKILL this worker when the process `parent` dies, however it dies: a
    pool's workers hold their own queue's ends, so a killed parent (the OOM killer) would
    leave them blocked on it forever. Linux only; elsewhere nothing is done.

    The kernel's parent is the thread that started the worker, here the one that runs the
    filter and outlives its pool."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1  # <linux/prctl.h>
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")
    if os.getppid() != parent:  # it died before the prctl, so no signal will come
        os.kill(os.getpid(), signal.SIGKILL)


def judge_in_worker(task: tuple[list[Path], Path]) -> dict:
    return JUDGE.judge(*task)


def graded_scores(config: WebFilterConfig) -> dict[str, tuple[float, int]]:
    """Document id -> the grader's score and its rounding, from --annotations (read as a
    classifier's labels)."""
    if not config.annotations:
        return {}
    from .classifier.labels import read_labeled
    from .classifier.metrics import to_class

    labeled = read_labeled(config.annotations, "auto")
    rounded = to_class(labeled.scores).tolist()
    return dict(zip(labeled.ids, zip(labeled.scores, rounded, strict=True), strict=True))
