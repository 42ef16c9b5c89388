"""Hub-ready dataset folders, written crash-safely.

    out/stories/
      data/part-00000.parquet     kept rows            (what `load_dataset(folder)` reads)
      rejected/part-00000.parquet dropped rows, with a `reason` column
      README.md                   the dataset card
      config.json                 the resolved config of the job
      .schoolhouse/               private resume state, never published

Every finished row is appended to a journal segment (`.schoolhouse/journal-K.jsonl`) and flushed
at once, so a SIGKILL loses at most the requests in flight. A segment is sealed by writing its
Parquet shards (temp file + atomic rename) and only then deleting it; a journal that survives a
crash is sealed again on the next open, which rewrites the same shard names: nothing is
duplicated and no shard is ever half-written.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .outdir import check_run, locked

STATE = ".schoolhouse"


class FolderError(ValueError):
    """The output folder cannot take this job; nothing in it was changed."""


# the command that makes a dataset folder of each job kind (`job["kind"]`), for its errors
COMMANDS = {
    "stories": "generate stories", "textbooks": "generate textbooks",
    "exercises": "generate exercises", "annotations": "annotate", "judgements": "judge",
    "humaneval": "teacher humaneval",
}  # fmt: skip


def command_of(job: dict) -> str:
    kind = job.get("kind")
    return COMMANDS.get(kind, f"{kind} job" if kind else "dataset job")


def write_atomic(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_table_atomic(path: Path, table: pa.Table) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp, compression="zstd")
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def table_of(rows: list[dict], schema: pa.Schema) -> pa.Table:
    """Rows as a table of `schema`: its columns only, in its order."""
    return pa.Table.from_pylist([{k: r.get(k) for k in schema.names} for r in rows], schema)


class ShardWriter:
    """Rows into numbered Parquet shards of at most `size` rows, each written atomically: the
    writer for outputs made in one pass (web filtering, merges), where `DatasetFolder`'s journal
    is for outputs made row by row by a teacher."""

    def __init__(self, folder: Path, schema: pa.Schema, size: int):
        self.folder, self.schema, self.size = folder, schema, size
        self.rows: list[dict] = []
        self.written = 0  # shards

    def add(self, row: dict) -> None:
        self.rows.append({k: row.get(k) for k in self.schema.names})  # only what is written
        if len(self.rows) >= self.size:
            self.flush()

    def flush(self) -> None:
        if self.rows:  # `datasets` cannot read a Parquet file without rows
            path = self.folder / f"part-{self.written:05d}.parquet"
            write_table_atomic(path, pa.Table.from_pylist(self.rows, self.schema))
            self.written += 1
            self.rows = []


class DatasetFolder:
    def __init__(
        self,
        root: Path | str,
        schema: pa.Schema,
        rejected_schema: pa.Schema,
        shard_size: int = 1000,
        fsync_every: float = 5.0,
    ):
        self.root = Path(root)
        self.state = self.root / STATE
        self.schema, self.rejected_schema = schema, rejected_schema
        self.shard_size, self.fsync_every = shard_size, fsync_every
        self._journal = None
        self._segment = -1
        self._rows_in_segment = 0
        self._last_sync = time.monotonic()
        self._lock: contextlib.ExitStack | None = None

    # -- opening -----------------------------------------------------------------------------
    def check(self, job: dict[str, Any]) -> None:
        """Fail, touching nothing, unless the folder is new, empty, or holds this same job."""
        job_file = self.state / "job.json"
        saved = None
        if job_file.is_file():
            try:
                saved = json.loads(job_file.read_text())
            except ValueError as e:
                raise FolderError(f"{job_file} is corrupt ({e}): choose a new --out") from None
        check_run(self.root, command_of(job), job, saved, error=FolderError)

    def open(self, job: dict[str, Any]) -> bool:
        """Claim the folder for `job` and seal what an interrupted run left in its journal.

        Returns whether any journal was sealed (the set of finished prompts then grew). A
        second run on the same folder is refused (outdir.locked) until `close`."""
        if self._lock is None:
            lock = contextlib.ExitStack()
            lock.enter_context(locked(self.root))
            self._lock = lock
        self.check(job)
        self.state.mkdir(parents=True, exist_ok=True)
        if not (self.state / "job.json").exists():
            write_atomic(self.state / "job.json", json.dumps(job, indent=2, sort_keys=True))
        journals = sorted(self.state.glob("journal-*.jsonl"))
        for journal in journals:
            self._seal(journal)
        for tmp in self.root.glob("*/.*.tmp"):
            tmp.unlink()  # a shard write that a crash interrupted; its journal was just resealed
        self._segment = max((self._segment_of(p) for p in self.shards("all")), default=-1)
        return bool(journals)

    @staticmethod
    def _segment_of(path: Path) -> int:
        return int(path.stem.split("-")[-1])

    def shards(self, which: str = "data") -> list[Path]:
        folders = ["data", "rejected"] if which == "all" else [which]
        return sorted(p for f in folders for p in (self.root / f).glob("part-*.parquet"))

    def done_indices(self) -> set[int]:
        done: set[int] = set()
        for shard in self.shards("all"):
            done.update(pq.read_table(shard, columns=["index"]).column("index").to_pylist())
        return done

    def done_ids(self) -> set[str]:
        done: set[str] = set()
        for shard in self.shards("all"):
            done.update(pq.read_table(shard, columns=["id"]).column("id").to_pylist())
        return done

    # -- writing -----------------------------------------------------------------------------
    def append(self, row: dict[str, Any]) -> None:
        if self._journal is None:
            self._segment += 1
            self._rows_in_segment = 0
            path = self.state / f"journal-{self._segment:05d}.jsonl"
            self._journal = open(path, "a", encoding="utf-8")  # noqa: SIM115 (closed on seal)
        self._journal.write(json.dumps(row, ensure_ascii=False) + "\n")
        self._journal.flush()  # in the OS after every row: a killed process loses nothing
        self._rows_in_segment += 1
        if time.monotonic() - self._last_sync > self.fsync_every:
            os.fsync(self._journal.fileno())
            self._last_sync = time.monotonic()
        if self._rows_in_segment >= self.shard_size:
            self.flush()

    def flush(self) -> None:
        """Seal the open journal segment into Parquet shards."""
        if self._journal is not None:
            path = Path(self._journal.name)
            os.fsync(self._journal.fileno())
            self._journal.close()
            self._journal = None
            self._seal(path)

    def _seal(self, journal: Path) -> None:
        rows = list(_read_journal(journal))
        if rows:
            segment = self._segment_of(journal)
            by_id = {r["id"]: r for r in rows}  # a row is written once, even if journaled twice
            kept = [r for r in by_id.values() if r.get("reason") is None]
            rejected = [r for r in by_id.values() if r.get("reason") is not None]
            name = f"part-{segment:05d}.parquet"
            if kept:  # `datasets` cannot read a Parquet file without rows
                write_table_atomic(self.root / "data" / name, self._table(kept, self.schema))
            if rejected:
                write_table_atomic(
                    self.root / "rejected" / name, self._table(rejected, self.rejected_schema)
                )
        journal.unlink()

    @staticmethod
    def _table(rows: list[dict], schema: pa.Schema) -> pa.Table:
        return table_of(sorted(rows, key=lambda r: r["index"]), schema)

    def close(self) -> None:
        try:
            self.flush()
        finally:
            if self._lock is not None:
                self._lock.close()
                self._lock = None

    def log_run(self, summary: dict[str, Any]) -> None:
        """Append one run's figures (`.schoolhouse/runs.jsonl`): a card sums them over every run
        that built the folder (`card.run_totals`)."""
        if self.state.exists():
            with open(self.state / "runs.jsonl", "a") as f:
                f.write(json.dumps({"finished_at": time.time(), **summary}) + "\n")

    # -- reading -----------------------------------------------------------------------------
    def read(self, which: str = "data", columns: list[str] | None = None) -> pa.Table:
        shards = self.shards(which)
        schema = self.schema if which == "data" else self.rejected_schema
        if not shards:
            return schema.empty_table().select(columns) if columns else schema.empty_table()
        return pa.concat_tables(pq.read_table(s, columns=columns) for s in shards)


def progress_bar(total: int, initial: int, enabled: bool, unit: str, desc: str):
    """A tqdm bar on stderr with rates, or None when disabled (flows, --no-progress)."""
    if not enabled:
        return None
    import sys

    from tqdm import tqdm

    return tqdm(
        total=total, initial=initial, unit=unit, desc=desc, file=sys.stderr,
        dynamic_ncols=True, mininterval=0.5,
    )  # fmt: skip


def _read_journal(path: Path) -> Iterator[dict]:
    """Rows of a journal; a last line cut short by a crash is dropped (its request reruns)."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.endswith("\n"):
                return
            try:
                yield json.loads(line)
            except ValueError:
                return
