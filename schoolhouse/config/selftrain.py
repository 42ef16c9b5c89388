"""`schoolhouse selftrain KIND`'s config: the teacher trained on its own rewarded answers."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from .base import AnswersRun
from .lessons import StoryLength


class SelfTrainConfig(StoryLength, AnswersRun):
    """`schoolhouse selftrain KIND`: ReST-EM, the teacher fine-tuned on its own rewarded answers.
    Its `--teacher` defaults by kind; `--min-words` and `--max-words` apply to stories."""

    kind: Literal["exercises", "stories"] = Field(description="what the teacher learns to write")
    out: Path = Field(description="run folder: problems, samples/, eval/, iter-N/ models (resumed)")
    teacher: str | None = Field(
        None,
        description="the base model: 'embedded-coder' (exercises), 'embedded' (stories) or a "
        "model folder; every iteration fine-tunes it",
    )
    iterations: int = Field(2, ge=1, description="sample -> reward -> fine-tune rounds")
    samples: int = Field(4, ge=1, le=64, description="answers per problem per iteration (K)")
    problems: int = Field(
        200, gt=0, description="exercise prompts to turn into problems / story prompts to use"
    )
    cap: int = Field(2, ge=1, description="rewarded answers kept per problem (N), newest first")
    held_out: float = Field(0.2, ge=0, lt=1, description="share of problems never trained on")
    exercises: Path | None = Field(
        None,
        description="problems from this `generate exercises` folder (kept rows) instead of "
        "generating them into the run folder",
    )
    source: Literal["direct", "refined"] = Field(
        "direct",
        description="training answers written directly, or by draft -> critique -> revise",
    )
    temperature: float = Field(0.8, gt=0, description="sampling temperature of the answers")
    top_p: float = Field(0.95, gt=0, le=1, description="nucleus sampling mass")
    max_tokens: int = Field(512, gt=0, description="answer token limit")
    method: Literal["lora", "dora", "full"] = Field("lora", description="fine-tuning method")
    rank: int = Field(16, gt=0, description="LoRA/DoRA rank")
    alpha: int = Field(32, gt=0, description="LoRA/DoRA alpha")
    lr: float = Field(2e-4, gt=0, description="peak learning rate (full fine-tuning: ~1e-5)")
    epochs: float = Field(1.0, gt=0, description="passes over the kept answers")
    batch: int = Field(8, gt=0, description="answers per optimizer step")
    max_length: int = Field(1024, gt=0, description="tokens per training example")
    eval: Literal["humaneval", "none"] | None = Field(
        None,
        description="benchmark each teacher: humaneval (exercises' default) or none; held-out "
        "problems are always scored",
    )
    eval_problems: int | None = Field(None, gt=0, description="only the first N HumanEval problems")
    eval_samples: int = Field(
        1,
        ge=1,
        description="above 1: also pass@k from this many HumanEval answers at temperature 0.8",
    )

    # what makes a run's rows and models; --iterations may grow on a rerun
    JOB_FIELDS: ClassVar[tuple[str, ...]] = (
        "kind", "teacher", "samples", "problems", "cap", "held_out", "exercises", "source",
        "temperature", "top_p", "max_tokens", "method", "rank", "alpha", "lr", "epochs",
        "batch", "max_length", "eval", "eval_problems", "eval_samples", "seed", "min_words", "max_words",
    )  # fmt: skip

    @model_validator(mode="after")
    def _defaults(self) -> SelfTrainConfig:
        if self.teacher is None:
            self.teacher = "embedded-coder" if self.kind == "exercises" else "embedded"
        if self.kind == "stories" and self.eval == "humaneval":
            raise ValueError("--eval humaneval scores code: stories are scored on held-out prompts")
        if self.eval is None:
            self.eval = "humaneval" if self.kind == "exercises" else "none"
        return self

    def job_fields(self) -> dict:
        fields = {k: getattr(self, k) for k in self.JOB_FIELDS}
        return fields | {"exercises": str(self.exercises) if self.exercises else None}
