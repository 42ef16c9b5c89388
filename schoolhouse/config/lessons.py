"""The lesson writers' configs: `schoolhouse generate stories|textbooks|exercises`, with the
steering and sense-check options of the kinds that write prose."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field, field_validator

from ..teacher import Sampling
from .base import TEACHER_HELP, DatasetOutput, Part, Sandboxed, Seeded, Sharded, TeacherSettings


class GenerateConfig(TeacherSettings, Seeded, Sharded, DatasetOutput):
    """What every `schoolhouse generate` job shares: prompts, teacher, sampling, refinement, output."""

    n: int = Field(gt=0, description="prompts to run; each ends as one kept or one rejected row")
    best_of: int = Field(
        1, ge=1, le=32, description="completions per prompt; keep the best verified"
    )
    refine: bool = Field(
        False,
        description="draft, then the teacher critiques the draft against the prompt's "
        "constraints, then revises it (three batched rounds)",
    )
    template: str = Field("story", description="prompt template name in prompts/")
    vocabulary: Path | None = Field(
        None, description="word,pos CSV (default: prompts/vocabulary.csv)"
    )
    temperature: float = Field(Sampling.temperature, ge=0, description="sampling temperature")
    top_p: float = Field(Sampling.top_p, gt=0, le=1, description="nucleus sampling mass")
    repetition_penalty: float = Field(
        Sampling.repetition_penalty,
        gt=0,
        description="vLLM repetition penalty (>1 penalizes tokens of the prompt too)",
    )
    frequency_penalty: float = Field(
        Sampling.frequency_penalty,
        ge=-2,
        le=2,
        description="penalty per earlier use of a token in the completion only",
    )
    max_tokens: int = Field(Sampling.max_tokens, gt=0, description="completion token limit")
    license: str = Field("apache-2.0", description="license of the dataset, for its card")

    # Fields that change which rows a job makes; the others (n, out, sizes) may change on resume.
    JOB_FIELDS: ClassVar[tuple[str, ...]] = (
        "seed",
        "best_of",
        "template",
        "temperature",
        "top_p",
        "repetition_penalty",
        "frequency_penalty",
        "max_tokens",
    )

    def job_fields(self) -> dict:
        fields = {k: getattr(self, k) for k in self.JOB_FIELDS}
        if self.refine:  # only when on: folders written before --refine existed still resume
            fields["refine"] = True
        steering = getattr(self, "steering_fields", None)
        return fields | (steering() if steering else {})

    def sampling(self, seed: int | None = None) -> Sampling:
        return Sampling(
            temperature=self.temperature,
            top_p=self.top_p,
            seed=seed,
            repetition_penalty=self.repetition_penalty,
            frequency_penalty=self.frequency_penalty,
            max_tokens=self.max_tokens,
        )


class SteeringOptions(Part):
    """Lexically steered decoding (`teacher/steering.py`), for the kinds whose prompts name words."""

    steer: bool = Field(
        True,
        description="steered decoding: push the required words into the text, never stop while "
        "one is missing, block loops and stock openings (--no-steer: plain sampling, then filter)",
    )
    steer_bias: float = Field(
        5.0, ge=0, le=30, description="largest logit bias on a missing word's first token"
    )
    # 0.25, not 0.4: on 64 prompts (bench/steering.py, seed 11) the words came earlier (last
    # one at a median 57 % of the story, not 87 %), 52 kept instead of 42, 330 instead of 406
    # tokens per kept story, the same log-likelihood under the unsteered teacher
    steer_by: float = Field(
        0.25,
        gt=0,
        le=1,
        description="share of --max-tokens by which every required word should be written (the "
        "bias ramps up as the text falls behind)",
    )
    # The loop guard is DRY, not n-gram blocking: on 64 prompts at two seeds (bench/steering.py
    # --loops) DRY 0.8 kept 58 and 56 stories where blocking repeated 4-grams kept 55 (seed 11),
    # and its stories were more likely under the unsteered teacher (-1.710 against -1.757 per
    # token at seed 11; no guard: -1.597, and 53 and 51 kept, some of them loops)
    no_repeat_ngram: int = Field(
        0, ge=0, le=32, description="block a repeated token n-gram of this size (0: off)"
    )
    dry: float = Field(
        0.8,
        ge=0,
        le=10,
        description="DRY repetition penalty multiplier (0: off; 0.8 is DRY's published default)",
    )
    end_by: float = Field(
        0.4,
        gt=0,
        le=1,
        description="share of --max-tokens after which, once every word is written, the stop is "
        "raised at sentence ends, on a ramp to --steer-bias halfway to the budget (1: never)",
    )

    STEERING_FIELDS: ClassVar[tuple[str, ...]] = (
        "steer_bias",
        "steer_by",
        "no_repeat_ngram",
        "dry",
        "end_by",
    )

    @field_validator("no_repeat_ngram")
    @classmethod
    def _ngram_size(cls, value: int) -> int:
        if value == 1:
            raise ValueError("1 would block every repeated token; use 0 (off) or 2 or more")
        return value

    def steering_fields(self) -> dict:
        """Job fields when steering is on (folders made before it existed resume under
        --no-steer)."""
        if not self.steer:
            return {}
        return {"steer": True} | {k: getattr(self, k) for k in self.STEERING_FIELDS}


class SenseJudge(Part):
    """Which judge reads written prose for sense (`graders/sense/`)."""

    judge: str = Field(
        "auto",
        description="the sense judge that drops rows as `nonsense`: 'auto' ($SCHOOLHOUSE_JUDGE, "
        "else the default judge 'embedded'), 'none', or any teacher spec",
    )


class SenseOptions(SenseJudge):
    """The sense check (`graders/sense/`), for the kinds whose rows are prose."""

    min_sense: float | None = Field(
        None,
        ge=0,
        le=1,
        description="drop rows the judge scores below this (default: the judge's fitted threshold)",
    )
    judge_batch: int = Field(
        32, gt=0, description="prompts generated, then judged together, per round"
    )


class StoryLength(Part):
    """The length a story must have (`filters/`: too_short, too_long)."""

    min_words: int = Field(80, ge=0, description="drop stories shorter than this (too_short)")
    max_words: int = Field(800, gt=0, description="drop stories longer than this (too_long)")


class StoriesConfig(StoryLength, SenseOptions, SteeringOptions, GenerateConfig):
    """`schoolhouse generate stories`: TinyStories-style stories under vocabulary constraints."""

    features: Path | None = Field(
        None, description="story features JSON (default: prompts/features.json)"
    )
    openings: Path | None = Field(
        None, description="story openings JSON (default: prompts/openings.json)"
    )
    vary_openings: bool = Field(
        True, description="ask for a random kind of opening in most prompts (not in the paper)"
    )
    steering_phrases: Path | None = Field(
        None,
        description="phrases steering keeps out of stories: stock openings, preambles, talk "
        "about the task (default: prompts/steering.json)",
    )
    max_features: int = Field(2, ge=0, description="at most this many story features per prompt")

    JOB_FIELDS: ClassVar[tuple[str, ...]] = (
        "seed",
        "best_of",
        "template",
        "max_features",
        "vary_openings",
        "temperature",
        "top_p",
        "repetition_penalty",
        "frequency_penalty",
        "max_tokens",
        "min_words",
        "max_words",
    )


class TextbooksConfig(SenseOptions, SteeringOptions, GenerateConfig):
    """`schoolhouse generate textbooks`: phi-1.5 / Cosmopedia lessons, topic x audience x style."""

    template: str = Field("textbook", description="prompt template name in prompts/")
    topics: list[Path] = Field(
        default_factory=list,
        description="topic list, one topic a line (repeatable; default: prompts/topics_python.txt"
        " and prompts/topics_school.txt)",
    )
    audiences: Path | None = Field(
        None, description="audiences JSON (default: prompts/audiences.json)"
    )
    styles: Path | None = Field(None, description="styles JSON (default: prompts/styles.json)")
    # 0, not 3: random child words forced into a technical topic made nonsense ("fruit" in
    # exponents, "cords" in strings); variety comes from topic x audience x style (phi-1.5)
    n_words: int = Field(
        0, ge=0, le=10, description="random vocabulary words per prompt (they rarely fit the topic)"
    )
    min_tokens: int = Field(
        150, ge=0, description="drop lessons with fewer completion tokens (too_short; Cosmopedia)"
    )
    max_tokens: int = Field(1024, gt=0, description="completion token limit")
    run_code: bool = Field(
        True,
        description="run each section's Python blocks in the sandbox, in order; drop the section "
        "when they fail or do not print the output the text shows (code_fails)",
    )

    JOB_FIELDS: ClassVar[tuple[str, ...]] = (*GenerateConfig.JOB_FIELDS, "n_words", "min_tokens")


class ExercisesConfig(Sandboxed, GenerateConfig):
    """`schoolhouse generate exercises`: phi-1 CodeExercises, verified by running their tests."""

    template: str = Field("exercise", description="prompt template name in prompts/")
    teacher: str = Field("embedded-coder", description=TEACHER_HELP)
    topics: list[Path] = Field(
        default_factory=list,
        description="topic list, one topic a line (repeatable; default: prompts/topics_python.txt)",
    )
    n_words: int = Field(1, ge=0, le=10, description="random vocabulary words per prompt")
    temperature: float = Field(0.5, ge=0, description="sampling temperature")
    frequency_penalty: float = Field(
        0.0, ge=-2, le=2, description="penalty per earlier use of a token in the completion only"
    )

    JOB_FIELDS: ClassVar[tuple[str, ...]] = (*GenerateConfig.JOB_FIELDS, "n_words", "timeout_s")
