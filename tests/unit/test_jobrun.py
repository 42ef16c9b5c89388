"""The skeleton every teacher-driven job shares: a run that fails halfway keeps what it wrote,
unlocks its folder and logs itself; the next run seals nothing twice and starts no teacher
when nothing is pending."""

from __future__ import annotations

import json
from dataclasses import dataclass
from types import SimpleNamespace

import pyarrow as pa
import pytest
from pydantic import BaseModel

from schoolhouse.datasets.folder import DatasetFolder
from schoolhouse.jobrun import open_run, progress_run, with_teacher

SCHEMA = pa.schema([("id", pa.string()), ("index", pa.int64()), ("text", pa.string())])
REJECTED = SCHEMA.append(pa.field("reason", pa.string()))
JOB = {"kind": "test"}


class Config(BaseModel):
    n: int = 4


@dataclass
class Summary:
    written: int = 0
    wall_s: float = 0.0

    def to_dict(self) -> dict:
        return {"written_this_run": self.written, "wall_s": self.wall_s}


def row(i: int, reason: str | None = None) -> dict:
    return {"id": f"r{i}", "index": i, "text": f"row {i}", "reason": reason}


def test_a_run_that_fails_halfway_keeps_its_rows_unlocks_and_logs_itself(tmp_path):
    folder = DatasetFolder(tmp_path / "out", SCHEMA, REJECTED)
    assert open_run(folder, JOB, Config()) is False
    summary = Summary()
    with (
        pytest.raises(RuntimeError, match="teacher died"),
        progress_run(folder, summary, 4, 0, "row", "test", progress=False) as out,
    ):
        out.write(row(0))
        out.write(row(1, "too_short"))
        raise RuntimeError("teacher died")
    assert summary.written == 2 and summary.wall_s > 0
    assert folder.read("data").column("id").to_pylist() == ["r0"]
    assert folder.read("rejected").column("reason").to_pylist() == ["too_short"]
    runs = (folder.state / "runs.jsonl").read_text().splitlines()
    assert [json.loads(r)["written_this_run"] for r in runs] == [2]
    assert json.loads((folder.root / "config.json").read_text()) == {"n": 4}
    # the lock is released: the same folder opens again, and finds nothing left to seal
    assert open_run(DatasetFolder(tmp_path / "out", SCHEMA, REJECTED), JOB, Config()) is False


def test_a_killed_run_s_journal_is_sealed_by_the_next_open(tmp_path):
    folder = DatasetFolder(tmp_path / "out", SCHEMA, REJECTED)
    open_run(folder, JOB, Config())
    folder.append(row(0))  # a journal line, then the process dies: no close, no seal
    folder._lock.close()  # what the kernel does to a dead process's lock
    again = DatasetFolder(tmp_path / "out", SCHEMA, REJECTED)
    assert open_run(again, JOB, Config()) is True
    assert again.done_ids() == {"r0"}


def test_no_teacher_is_started_when_nothing_is_pending():
    opened = []
    spec = SimpleNamespace(name="spec", open=lambda **kw: opened.append(kw))
    job = SimpleNamespace(teacher_spec=spec, pending=[])
    result = with_teacher(
        lambda config, given: job, lambda job, teacher, progress: ("ran", teacher), Config()
    )
    assert result == ("ran", None) and opened == []
