"""`schoolhouse filter --runner ray`: the local run's steps and output, with the work on Ray.

    1. judge     `--workers` actors, each loading the classifier and the benchmark index once,
                 judge the input shards (heuristics, classifier score, 13-gram lookup: the local
                 `ShardJudge`) and fingerprint every document that reaches dedup. Each shard
                 returns its staging table and, per partition, its collision keys
                 (`Deduplicator.collision_keys`: 17 64-bit keys per document, with its position).
    2. shuffle   keys are exchanged by hash: partition p's keys from every shard go to one task,
                 which returns the positions of the documents that share a key with another
                 (the candidates). No process holds every key; a partition holds 1/P of them.
    3. resolve   the driver reads the judged shards in input order and runs the ordinary
                 sequential dedup over the candidates only. A document sharing no key with any
                 other is kept by the sequential dedup whatever precedes it, and no other
                 document ever looks up its keys, so leaving it out changes no verdict: the
                 survivors and `duplicate_of` are the local run's, by construction, with an index
                 the size of the candidates rather than of the corpus.

Exact dedup is the same pass: its key is the normalized digest's first 8 bytes. Memory: an actor
holds one shard; the driver one judged shard at a time, the candidates' positions and their
index. A dead actor is restarted and its shards retried (Ray's `max_restarts` and
`max_task_retries`); nothing is written before every shard is judged, and the output appears by
rename at the end, as in the local run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import ray

from ..config import WebFilterConfig
from ..graders.dedup import Deduplicator
from ..graders.judge import STAGE_SCHEMA, Rules, ShardJudge
from ..graders.webfilter import FilterSummary
from . import absolute, absolute_paths, connect

RETRIES = 3


def position(shard: int, row: int) -> int:
    return shard << 32 | row


def dedup_of(config: WebFilterConfig) -> Deduplicator | None:
    if not config.dedup:
        return None
    methods = config.dedup.split(",")
    return Deduplicator(exact="exact" in methods, near="minhash" in methods)


@ray.remote(max_restarts=RETRIES, max_task_retries=RETRIES)
class Judge:
    """Steps 1, 2 and the 13-gram lookup of 4 for a stream of shards, plus the fingerprints."""

    def __init__(self, config_json: str, rules: Rules | None, partitions: int):
        config = WebFilterConfig.model_validate_json(config_json)
        self.judge = ShardJudge(config, rules, threads=1)
        self.dedup = dedup_of(config)
        self.partitions = partitions

    def run(self, shard: int, files: list[Path]) -> tuple:
        """(figures, staging table, keys of partition 0, ..., keys of partition P-1); each
        partition's keys are a 2 x n uint64 array: collision keys and document positions."""
        stats, rows = self.judge.judge_rows(files)
        table = pa.Table.from_pylist(rows, STAGE_SCHEMA)
        started = time.perf_counter()
        keys, positions = [], []
        if self.dedup is not None:
            for row_index, row in enumerate(rows):
                if row.get("reason") is None:
                    found = self.dedup.collision_keys(self.dedup.fingerprint(row["text"]))
                    keys.append(found)
                    positions.append(np.full(found.size, position(shard, row_index), np.uint64))
        keys = np.concatenate(keys) if keys else np.empty(0, np.uint64)
        positions = np.concatenate(positions) if positions else np.empty(0, np.uint64)
        part = keys % np.uint64(self.partitions)
        blocks = [np.stack([keys[part == p], positions[part == p]]) for p in range(self.partitions)]
        stats["shuffle_bytes"] = sum(b.nbytes for b in blocks)
        stats["fingerprint_s"] = time.perf_counter() - started
        return (stats, table, *blocks)


@ray.remote(max_retries=RETRIES)
def candidates(*blocks: np.ndarray) -> np.ndarray:
    """Positions of the documents that share a collision key with another, of one partition."""
    if not blocks:
        return np.empty(0, np.uint64)
    joined = np.concatenate(blocks, axis=1)
    order = np.argsort(joined[0], kind="stable")
    keys, positions = joined[0][order], joined[1][order]
    shared = np.zeros(keys.size, bool)
    same = keys[1:] == keys[:-1]
    shared[1:] |= same
    shared[:-1] |= same
    return np.unique(positions[shared])


def fetch(refs, files: list[Path]):
    """The shard's results; a worker's failure names the shard's files, in one line."""
    try:
        return ray.get(refs)
    except ray.exceptions.RayTaskError as e:
        cause = e.cause if e.cause is not None else e
        where = str(files[0]) + (f" (+{len(files) - 1} files)" if len(files) > 1 else "")
        raise ValueError(f"{where}: judging failed on the cluster: "
                         f"{type(cause).__name__}: {cause}") from None  # fmt: skip
    except ray.exceptions.RayError as e:  # an actor out of restarts, a lost node
        raise RuntimeError(f"{files[0]}: the cluster lost this shard's work: "
                           f"{str(e).splitlines()[0]}") from None  # fmt: skip


def judged_on_cluster(
    config: WebFilterConfig, rules: Rules | None, shards: list[list[Path]], summary: FilterSummary,
    log=print,
) -> tuple[Iterator[tuple[dict, pa.Table]], Callable[[int, int], bool] | None]:  # fmt: skip
    """Judge every shard on the cluster and find the dedup candidates; return the judged shards
    (in input order, fetched one at a time) and the test of which rows the dedup pass sees."""
    started = time.perf_counter()
    connect()
    config = absolute_paths(config)
    partitions = max(1, config.workers)
    actors = [
        Judge.remote(config.model_dump_json(), rules, partitions)
        for _ in range(min(config.workers, len(shards)))
    ]
    outputs = [
        actors[i % len(actors)]
        .run.options(num_returns=2 + partitions)
        .remote(i, [absolute(f) for f in files])
        for i, files in enumerate(shards)
    ]
    summary.runner = "ray"
    log(f"{len(shards)} shards to {len(actors)} Ray actors, {partitions} dedup partitions")
    in_dedup = None
    if config.dedup:
        parts = [candidates.remote(*(o[2 + p] for o in outputs)) for p in range(partitions)]
        try:
            found = ray.get(parts)
        except ray.exceptions.RayError:
            for refs, files in zip(outputs, shards, strict=True):
                fetch(refs[:1], files)  # name the shard whose judging failed
            raise
        chosen = set(np.concatenate(found).tolist()) if found else set()
        summary.dedup_candidates = len(chosen)
        in_dedup = lambda shard, row: position(shard, row) in chosen  # noqa: E731
    # judging and the shuffle overlap; without dedup the driver starts on the first shard
    summary.stage_s["judge_and_shuffle"] = time.perf_counter() - started

    def results() -> Iterator[tuple[dict, pa.Table]]:
        resolving = time.perf_counter()
        try:
            for i, refs in enumerate(outputs):
                stats, table = fetch(refs[:2], shards[i])
                summary.shuffle_bytes += stats.pop("shuffle_bytes")
                summary.stage_s["fingerprint_cpu"] += stats.pop("fingerprint_s")
                outputs[i] = None  # the shard's objects can be freed
                yield stats, table
        finally:
            for actor in actors:
                ray.kill(actor)
            summary.stage_s["resolve_and_write"] = time.perf_counter() - resolving

    return results(), in_dedup
