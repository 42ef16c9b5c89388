"""`schoolhouse pipeline`'s config: every step, from an empty folder to a graded student."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from ..student.config import GPT_EVAL_PROMPTS, Preset  # plain data: no torch
from .base import EngineSettings, Seeded, TeacherChoice, TeacherRunner
from .graders import EducationalThreshold
from .lessons import SenseJudge


class PipelineConfig(EducationalThreshold, SenseJudge, TeacherRunner, EngineSettings,
                     TeacherChoice, Seeded):  # fmt: skip
    """`schoolhouse pipeline`: the whole job, from an empty folder to a graded student. The
    teacher writes the stories and textbooks, the grader scores web text and grades the student,
    and the judge reads the stories, the textbooks and the student's stories for sense; one seed
    seeds every step. Under `--runner ray` the teacher runs in `--actors` Ray actors and the
    filter on the cluster; the student trains where the command runs."""

    out: Path = Field(Path("out/pipeline"), description="folder for every step's output")
    grader: str | None = Field(
        None,
        description="scores web text and grades the student, as --teacher (which writes the "
        "stories and textbooks) takes (default: the teacher; FineWeb-Edu and TinyStories graded "
        "with a stronger model than wrote)",
    )
    stories: int = Field(64, ge=0, description="story prompts (0 skips stories)")
    best_of: int = Field(
        1,
        ge=1,
        description="completions per story prompt; the best is kept (steered decoding writes "
        "the required words into every story: a second sample rarely pays)",
    )
    textbooks: int = Field(16, ge=0, description="textbook prompts (0 skips textbooks)")
    web: list[Path] = Field(
        default_factory=list,
        description="web text to grade and filter: dataset folder, Parquet, JSONL, WARC or folder "
        "of text files (repeatable; none skips the web steps)",
    )
    annotate: int = Field(200, ge=0, description="web documents the teacher scores (0 skips)")
    features: Literal["embedding", "static", "hashing"] = Field(
        "static", description="classifier features (see `schoolhouse classifier train --help`)"
    )
    dedup: str = Field("exact,minhash", description="web dedup methods (empty: none)")
    decontaminate: str = Field("humaneval", description="benchmarks whose 13-grams drop rows")
    preset: Preset = Field("tiny", description="student preset: tiny, small")
    steps: int | None = Field(
        None,
        ge=1,
        description="student optimizer steps (default: the preset's, fewer for a small training "
        "mix so it is read at most 4 times, at least --min-steps)",
    )
    min_steps: int = Field(100, ge=1, description="fewest student steps when sized to the data")
    anneal: bool = Field(
        True, description="mix the kept synthetic rows into the student's decay phase (MiniCPM)"
    )
    eval_prompts: int = Field(
        GPT_EVAL_PROMPTS,
        ge=0,
        description="GPT-Eval prompts: story beginnings the student continues, for the grader "
        "and the judge (0: validation loss only)",
    )
    repo: str | None = Field(None, description="publish the training mix to this Hub repo")
    private: bool = Field(False, description="publish as a private repo")

    @field_validator("repo")
    @classmethod
    def _repo_name(cls, value: str | None) -> str | None:
        from ..datasets.publish import check_repo

        return None if value is None else check_repo(value)

    @property
    def grader_spec(self) -> str:
        return self.grader or self.teacher

    @property
    def paths(self) -> dict[str, Path]:
        o = self.out
        return {
            "stories": o / "stories", "textbooks": o / "textbooks", "annotate": o / "annotations",
            "classifier": o / "classifier", "filter": o / "web-edu", "merge": o / "train",
            "pretrain": o / "student", "report": o / "report.html",
        }  # fmt: skip
