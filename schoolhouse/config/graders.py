"""The graders' configs: `schoolhouse annotate`, `judge`, `classifier train`, `filter` and
`teacher humaneval`, and the two meanings of an educational-score threshold."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from .base import (
    TEACHER_HELP,
    AnswersRun,
    DatasetOutput,
    Documents,
    EngineSettings,
    HttpSettings,
    Part,
    Runner,
    Seeded,
    Sharded,
    TeacherRunner,
    TeacherSettings,
)

# an answer that does not parse is asked again once at this temperature (annotation, its card)
RETRY_TEMPERATURE = 0.7


class AnnotateConfig(TeacherSettings, Seeded, Sharded, Documents, DatasetOutput):
    """`schoolhouse annotate`: the teacher (the grader) scores documents for educational value
    (0-5)."""

    n: int = Field(gt=0, description="documents to annotate")
    first: bool = Field(
        False,
        description="take the first n documents instead of a seeded random sample (reads only "
        "the head of the input)",
    )
    template: str = Field("edu_rubric", description="prompt template name in prompts/")
    max_chars: int = Field(
        3000,
        gt=0,
        description="a longer document is cut at a paragraph or word boundary before this many "
        "characters (~750 tokens) for the prompt; its row keeps the whole text",
    )
    max_tokens: int = Field(256, gt=0, description="answer token limit")
    temperature: float = Field(
        0.0, ge=0, description="first try's temperature (a retry samples at 0.7)"
    )
    logprobs: int = Field(
        20,
        ge=0,
        le=20,
        description="read this many top tokens' probabilities at the score digit for "
        "score_expected (G-Eval); 0: the sampled score only",
    )

    JOB_FIELDS: ClassVar[tuple[str, ...]] = (
        "first", "seed", "template", "max_chars", "max_tokens", "temperature", "logprobs",
        "max_bytes",
    )  # fmt: skip


class JudgeConfig(
    TeacherRunner, HttpSettings, EngineSettings, Seeded, Sharded, Documents, DatasetOutput
):
    """`schoolhouse judge`: a sense score (0-1) for every story, textbook section or text. Its
    model is `--judge` (no `--teacher`); the judge reads greedily, so the seed is the engine's."""

    inputs: list[Path] = Field(
        min_length=1,
        description="dataset folders (their kept rows) or JSON Lines / Parquet with id, text and "
        "optionally kind (story, textbook, web)",
    )
    judge: str = Field(
        "embedded",
        description="the judge model: 'embedded' (default: SmolLM2-135M with fitted weights), "
        "'embedded-coder', 'embedded-large', a model folder, or http(s) URL(s) of vLLM servers",
    )
    kind: Literal["auto", "story", "textbook", "web"] = Field(
        "auto",
        description="what the texts are, where a row has no `kind`: 'auto' reads it from a "
        "dataset folder's job (stories, textbooks), else 'web'",
    )
    rejected: bool = Field(False, description="also judge a dataset folder's rejected rows")
    batch: int = Field(
        32,
        gt=0,
        description="texts judged together (the engine batches them; rows are written per batch)",
    )

    JOB_FIELDS: ClassVar[tuple[str, ...]] = ("kind", "rejected", "max_bytes")

    @property
    def teacher(self) -> str:
        return self.judge


class EducationalThreshold(Part):
    """The educational score (0-5) from which a document counts as educational where a
    classifier is trained (FineWeb-Edu: 3): its binary metrics are read there. At 0 every
    document would count and those metrics would say nothing, so 1 is the least."""

    threshold: int = Field(
        3, ge=1, le=5, description="educational when the rounded score is at least this"
    )


class KeepThreshold(Part):
    """The educational score (0-5) a document needs to be kept where a classifier filters. 0 is
    a choice here: every document is kept, with its score recorded."""

    threshold: int = Field(
        3,
        ge=0,
        le=5,
        description="keep documents whose rounded classifier score is at least this (0: keep "
        "every document, scored)",
    )


class TrainClassifierConfig(EducationalThreshold, Seeded):
    """`schoolhouse classifier train`: a quality classifier on `text` + `score` (0-5) rows."""

    annotations: list[Path] = Field(
        min_length=1,
        description="labeled data with text and score columns: an annotations folder, Parquet "
        "or JSONL (repeatable)",
    )
    out: Path = Field(description="model folder to write (must not exist)")
    features: Literal["embedding", "static", "hashing"] = Field(
        "embedding",
        description="embedding: frozen all-MiniLM-L6-v2 sentence embeddings; static: Model2Vec "
        "static embeddings (tokenlearn-static-model, tens of times faster); hashing: word 1-2-gram "
        "hashing (fast CPU tier)",
    )
    estimator: Literal["ridge", "forest", "sgd"] | None = Field(
        None,
        description="ridge: linear regression of the score (FineWeb-Edu); forest: random forest "
        "(phi-1); sgd: logistic regression over the scores by SGD (default: ridge for "
        "embedding and static, sgd for hashing)",
    )
    precision: Literal["fp32", "int8"] = Field(
        "fp32",
        description="embedding features: int8 quantizes MiniLM's Linear layers (about twice as "
        "fast to score; bench/filter.py measures the F1 cost)",
    )
    max_tokens: int | None = Field(
        None,
        ge=16,
        le=512,
        description="embedding and static features: tokens read per document (default: 256 "
        "for embedding, 512 for static)",
    )
    scores: Literal["auto", "expected", "sampled"] = Field(
        "auto",
        description="which score to learn: expected (score_expected, the teacher's "
        "probability-weighted score), sampled (score), or auto: expected when every row has it, "
        "sampled when none has",
    )
    test_size: float = Field(0.2, gt=0, lt=1, description="share of rows held out for metrics")

    @model_validator(mode="after")
    def _options_of_the_features(self) -> TrainClassifierConfig:
        if self.precision != "fp32" and self.features != "embedding":
            raise ValueError(
                f"--precision {self.precision} applies to --features embedding only, not "
                f"--features {self.features}"
            )
        if self.max_tokens is not None and self.features == "hashing":
            raise ValueError(
                "--max-tokens applies to --features embedding and static, not --features hashing"
            )
        return self


class WebFilterConfig(Runner, KeepThreshold, Sharded, Documents, DatasetOutput):
    """`schoolhouse filter`: heuristics, classifier, dedup and decontamination over web text. It
    writes its folder whole or not at all, so `--out` must not exist."""

    out: Path = Field(description="dataset folder to write (must not exist)")
    heuristics: bool = Field(False, description="Gopher quality, Gopher repetition and C4 rules")
    rules: Literal["fineweb", "fineweb-strict", "gopher", "c4"] = Field(
        "fineweb",
        description="heuristics rule set (filters.RULE_SETS): fineweb = Gopher quality and "
        "repetition + C4's page rules kind to code (no curly-brace or lorem ipsum rule; only "
        "'enable JavaScript' notices; terminal punctuation read on prose lines, not code or "
        "hard-wrapped lines); fineweb-strict = C4's code rules whole, dropping any page "
        "with a curly brace; gopher = Gopher's only; c4 = C4's only",
    )
    classifier: Path | None = Field(None, description="model folder from `classifier train`")
    annotations: list[Path] = Field(
        [],
        description="annotation folders (`schoolhouse annotate`): a document a grader scored "
        "keeps the grader's score (expected when every row has one) and the classifier scores "
        "the rest; needs --classifier",
    )
    dedup: str = Field("", description="comma-separated: exact, minhash")
    decontaminate: str = Field(
        "", description="comma-separated benchmarks whose 13-grams drop a document: humaneval"
    )
    workers: int = Field(
        1, ge=1, description="processes for heuristics and scoring (Ray actors with --runner ray)"
    )
    shard_size: int = Field(10_000, gt=0, description="rows per Parquet shard")

    @field_validator("dedup")
    @classmethod
    def _dedup(cls, value: str) -> str:
        methods = [m.strip() for m in value.split(",") if m.strip()]
        unknown = sorted(set(methods) - {"exact", "minhash"})
        if unknown:
            raise ValueError(f"unknown dedup method {unknown[0]!r} (use exact, minhash)")
        return ",".join(m for m in ("exact", "minhash") if m in methods)

    @field_validator("decontaminate")
    @classmethod
    def _benchmarks(cls, value: str) -> str:
        from ..benchmarks import NAMES as BENCHMARKS

        names = [b.strip() for b in value.split(",") if b.strip()]
        unknown = [b for b in names if b not in BENCHMARKS]
        if unknown:
            raise ValueError(f"unknown benchmark {unknown[0]!r} (known: {', '.join(BENCHMARKS)})")
        return ",".join(dict.fromkeys(names))


class HumanEvalConfig(AnswersRun):
    """`schoolhouse teacher humaneval`: a teacher's pass@k on HumanEval, run in the sandbox."""

    out: Path = Field(description="folder to write: rows per sample, results.json (resumed)")
    teacher: str = Field("embedded-coder", description=TEACHER_HELP)
    samples: int = Field(1, ge=1, description="answers per problem (n of pass@k)")
    temperature: float = Field(0.0, ge=0, description="0: greedy (pass@1); 0.8 for pass@10")
    top_p: float = Field(0.95, gt=0, le=1, description="nucleus sampling mass (temperature > 0)")
    max_tokens: int = Field(512, gt=0, description="answer token limit")
    problems: int | None = Field(None, gt=0, description="only the first N of the 164 problems")

    JOB_FIELDS: ClassVar[tuple[str, ...]] = (
        "samples", "temperature", "top_p", "max_tokens", "seed", "timeout_s",
    )  # fmt: skip
