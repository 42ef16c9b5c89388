"""What several job configs share, each declared once: the seed, where and how the teacher runs,
the output folder, the inputs and the sandbox.

A job config is built from these parts and its own fields; a part's field is overridden only
where that job needs another default or type (say, `teacher` defaulting to 'embedded-coder'
for exercises), and `tests/unit/test_config.py` holds the list of such overrides. Fields, and
so a command's --help, come in the order of the parts from the last listed to the first, then
the config's own: a config lists its parts so that its output and inputs come first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

RUNNER_HELP = (
    "where the work runs: 'local' (this machine) or 'ray' (the Ray cluster that RAY_ADDRESS names)"
)
TEACHER_HELP = (
    "the model: 'embedded', 'embedded-coder', 'embedded-large', a model folder, or http(s) URL(s)"
)


class Part(BaseModel):
    """Every config and config part: an unknown field is an error, never ignored."""

    model_config = ConfigDict(extra="forbid")


class Seeded(Part):
    """A job whose random choices all follow one seed."""

    # numpy's generators, which draw samples and splits, refuse a negative seed
    seed: int = Field(
        0,
        ge=0,
        description="seeds every random choice (samples, sampling, splits): the same seed "
        "makes the same ones",
    )


class Runner(Part):
    """Where a job's work runs."""

    runner: Literal["local", "ray"] = Field("local", description=RUNNER_HELP)


class TeacherRunner(Runner):
    """Where a teacher-driven job's requests run (`cluster/teacher.py` for Ray)."""

    actors: int = Field(
        1,
        ge=1,
        description="with --runner ray: teacher engines, one per Ray actor, each started once",
    )


class EngineSettings(Part):
    """The in-process vLLM engine's memory."""

    kv_cache_gib: float = Field(
        4, gt=0, description="vLLM CPU KV cache (GiB) for an in-process engine"
    )


class HttpSettings(Part):
    """The HTTP client's load on vLLM servers."""

    concurrency: int = Field(64, gt=0, description="requests in flight per HTTP teacher run")


class TeacherChoice(Part):
    """Which model a job runs as its teacher."""

    teacher: str = Field("embedded", description=TEACHER_HELP)


class TeacherSettings(TeacherRunner, HttpSettings, EngineSettings, TeacherChoice):
    """A job that runs a teacher: which model, where (runner, actors), and how its engine and
    HTTP client are set."""


class Sharded(Part):
    """A job that writes rows in Parquet shards."""

    shard_size: int = Field(1000, gt=0, description="rows per Parquet shard")


class DatasetOutput(Part):
    """A job that writes a dataset folder (`datasets/folder.py`) and its card."""

    out: Path = Field(description="dataset folder to write (resumed if it holds this job)")
    license: str = Field("other", description="license of the dataset, for its card")


class Documents(Part):
    """A job that reads documents (`datasets/readers.py`)."""

    inputs: list[Path] = Field(
        min_length=1, description="dataset folder, Parquet, JSONL, WARC or folder of text files"
    )
    max_bytes: int = Field(1_000_000, gt=0, description="skip input documents larger than this")


class Sandboxed(Part):
    """A job that runs model-written code in the sandbox (`sandbox/`)."""

    timeout_s: float = Field(
        10.0,
        gt=0,
        description="sandbox CPU seconds per program (an exercise with its tests, an answer)",
    )
    workers: int = Field(2, gt=0, description="sandboxes run at a time")
    unsafe_no_sandbox: bool = Field(
        False,
        description="where bubblewrap cannot run, run model code guarded only by an audit hook "
        "(unsafe; a dataset's card records it) instead of refusing",
    )


class AnswersRun(Sandboxed, TeacherSettings, Seeded, Sharded):
    """What a job that runs a teacher's answers in the sandbox shares (HumanEval, selftrain)."""
