"""Typed configs, one per stage; CLI flags map 1:1 to their fields."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .student.config import Preset  # plain data: no torch
from .teacher import Sampling

RUNNER_HELP = (
    "where the work runs: 'local' (this machine) or 'ray' (the Ray cluster that RAY_ADDRESS names)"
)


class TeacherRunner(BaseModel):
    """Where a teacher-driven job's requests run (`cluster/teacher.py` for Ray)."""

    runner: Literal["local", "ray"] = Field("local", description=RUNNER_HELP)
    actors: int = Field(
        1,
        ge=1,
        description="with --runner ray: teacher engines, one per Ray actor, each started once",
    )


class GenerateConfig(TeacherRunner):
    """What every `schoolhouse generate` job shares: prompts, teacher, sampling, refinement, output."""

    model_config = ConfigDict(extra="forbid")

    n: int = Field(gt=0, description="prompts to run; each ends as one kept or one rejected row")
    out: Path = Field(description="dataset folder to write (resumed if it holds this job)")
    seed: int = Field(0, ge=0, description="sampling seed: the same seed gives the same prompts")
    teacher: str = Field(
        "embedded",
        description="'embedded', 'embedded-coder', 'embedded-large', a model folder, or http(s) URL(s)",
    )
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
    shard_size: int = Field(1000, gt=0, description="rows per Parquet shard")
    concurrency: int = Field(64, gt=0, description="requests in flight per HTTP teacher run")
    kv_cache_gib: float = Field(
        4, gt=0, description="vLLM CPU KV cache (GiB) for an in-process engine"
    )
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


class SteeringOptions(BaseModel):
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


class SenseOptions(BaseModel):
    """The sense check (`graders/sense/`), for the kinds whose rows are prose."""

    judge: str = Field(
        "auto",
        description="the sense judge that drops rows as `nonsense`: 'auto' ($SCHOOLHOUSE_JUDGE, "
        "else the default judge 'embedded'), 'none', or any teacher spec",
    )
    min_sense: float | None = Field(
        None,
        ge=0,
        le=1,
        description="drop rows the judge scores below this (default: the judge's fitted threshold)",
    )
    judge_batch: int = Field(
        32, gt=0, description="prompts generated, then judged together, per round"
    )


class StoriesConfig(SenseOptions, SteeringOptions, GenerateConfig):
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
    min_words: int = Field(80, ge=0, description="drop stories shorter than this (too_short)")
    max_words: int = Field(800, gt=0, description="drop stories longer than this (too_long)")

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


class ExercisesConfig(GenerateConfig):
    """`schoolhouse generate exercises`: phi-1 CodeExercises, verified by running their tests."""

    template: str = Field("exercise", description="prompt template name in prompts/")
    teacher: str = Field(
        "embedded-coder",
        description="'embedded', 'embedded-coder', 'embedded-large', a model folder, or http(s) URL(s)",
    )
    topics: list[Path] = Field(
        default_factory=list,
        description="topic list, one topic a line (repeatable; default: prompts/topics_python.txt)",
    )
    n_words: int = Field(1, ge=0, le=10, description="random vocabulary words per prompt")
    temperature: float = Field(0.5, ge=0, description="sampling temperature")
    frequency_penalty: float = Field(
        0.0, ge=-2, le=2, description="penalty per earlier use of a token in the completion only"
    )
    timeout_s: float = Field(10.0, gt=0, description="sandbox CPU seconds per exercise")
    workers: int = Field(2, gt=0, description="sandboxes run at a time")
    unsafe_no_sandbox: bool = Field(
        False,
        description="where bubblewrap cannot run, run model code guarded only by an audit hook "
        "(unsafe; recorded on the card) instead of refusing",
    )

    JOB_FIELDS: ClassVar[tuple[str, ...]] = (*GenerateConfig.JOB_FIELDS, "n_words", "timeout_s")


# an answer that does not parse is asked again once at this temperature (annotation, its card)
RETRY_TEMPERATURE = 0.7


class AnnotateConfig(TeacherRunner):
    """`schoolhouse annotate`: the teacher scores documents for educational value (0-5)."""

    model_config = ConfigDict(extra="forbid")

    inputs: list[Path] = Field(
        min_length=1, description="dataset folder, Parquet, JSONL, WARC or folder of text files"
    )
    out: Path = Field(description="dataset folder to write (resumed if it holds this job)")
    n: int = Field(gt=0, description="documents to annotate")
    first: bool = Field(
        False,
        description="take the first n documents instead of a seeded random sample (reads only "
        "the head of the input)",
    )
    seed: int = Field(0, ge=0, description="picks the random sample and seeds the retry")
    teacher: str = Field(
        "embedded",
        description="the grader: 'embedded', 'embedded-coder', 'embedded-large', a model folder, or http(s) URL(s)",
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
    max_bytes: int = Field(1_000_000, gt=0, description="skip input documents larger than this")
    shard_size: int = Field(1000, gt=0, description="rows per Parquet shard")
    concurrency: int = Field(64, gt=0, description="requests in flight per HTTP teacher run")
    kv_cache_gib: float = Field(
        4, gt=0, description="vLLM CPU KV cache (GiB) for an in-process engine"
    )
    license: str = Field("other", description="license of the dataset, for its card")

    JOB_FIELDS: ClassVar[tuple[str, ...]] = (
        "first", "seed", "template", "max_chars", "max_tokens", "temperature", "logprobs",
        "max_bytes",
    )  # fmt: skip


class JudgeConfig(TeacherRunner):
    """`schoolhouse judge`: a sense score (0-1) for every story, textbook section or text."""

    model_config = ConfigDict(extra="forbid")

    inputs: list[Path] = Field(
        min_length=1,
        description="dataset folders (their kept rows) or JSON Lines / Parquet with id, text and "
        "optionally kind (story, textbook, web)",
    )
    out: Path = Field(description="dataset folder to write (resumed if it holds this job)")
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
    max_bytes: int = Field(1_000_000, gt=0, description="skip input texts larger than this")
    shard_size: int = Field(1000, gt=0, description="rows per Parquet shard")
    batch: int = Field(
        32,
        gt=0,
        description="texts judged together (the engine batches them; rows are written per batch)",
    )
    concurrency: int = Field(64, gt=0, description="requests in flight per HTTP judge")
    kv_cache_gib: float = Field(
        4, gt=0, description="vLLM CPU KV cache (GiB) for an in-process engine"
    )
    seed: int = Field(0, ge=0, description="the engine's seed (the judge reads greedily)")
    license: str = Field("other", description="license of the dataset, for its card")

    JOB_FIELDS: ClassVar[tuple[str, ...]] = ("kind", "rejected", "max_bytes")

    @property
    def teacher(self) -> str:
        return self.judge


class TrainClassifierConfig(BaseModel):
    """`schoolhouse classifier train`: a quality classifier on `text` + `score` (0-5) rows."""

    model_config = ConfigDict(extra="forbid")

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
    threshold: int = Field(3, ge=1, le=5, description="educational when the score is at least this")
    scores: Literal["auto", "expected", "sampled"] = Field(
        "auto",
        description="which score to learn: expected (score_expected, the teacher's "
        "probability-weighted score), sampled (score), or auto: expected when every row has it, "
        "sampled when none has",
    )
    test_size: float = Field(0.2, gt=0, lt=1, description="share of rows held out for metrics")
    seed: int = Field(0, ge=0, description="seed of the held-out split and the estimator")

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


class WebFilterConfig(BaseModel):
    """`schoolhouse filter`: heuristics, classifier, dedup and decontamination over web text."""

    model_config = ConfigDict(extra="forbid")

    inputs: list[Path] = Field(
        min_length=1, description="dataset folder, Parquet, JSONL, WARC or folder of text files"
    )
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
    threshold: int = Field(
        3, ge=0, le=5, description="keep documents whose rounded classifier score is at least this"
    )
    dedup: str = Field("", description="comma-separated: exact, minhash")
    decontaminate: str = Field(
        "", description="comma-separated benchmarks whose 13-grams drop a document: humaneval"
    )
    workers: int = Field(
        1, ge=1, description="processes for heuristics and scoring (Ray actors with --runner ray)"
    )
    runner: Literal["local", "ray"] = Field("local", description=RUNNER_HELP)
    max_bytes: int = Field(1_000_000, gt=0, description="skip input documents larger than this")
    shard_size: int = Field(10_000, gt=0, description="rows per output Parquet shard")
    license: str = Field("other", description="license of the dataset, for its card")

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
        from .benchmarks import NAMES as BENCHMARKS

        names = [b.strip() for b in value.split(",") if b.strip()]
        unknown = [b for b in names if b not in BENCHMARKS]
        if unknown:
            raise ValueError(f"unknown benchmark {unknown[0]!r} (known: {', '.join(BENCHMARKS)})")
        return ",".join(dict.fromkeys(names))


class AnswersRun(TeacherRunner):
    """What a job that runs a teacher's answers in the sandbox shares (HumanEval, selftrain)."""

    timeout_s: float = Field(10.0, gt=0, description="sandbox CPU seconds per answer")
    workers: int = Field(2, gt=0, description="sandboxes run at a time")
    unsafe_no_sandbox: bool = Field(
        False, description="run answers under the audit-hook guard alone when bubblewrap cannot"
    )
    shard_size: int = Field(1000, gt=0, description="rows per Parquet shard")
    concurrency: int = Field(64, gt=0, description="requests in flight per HTTP teacher run")
    kv_cache_gib: float = Field(
        4, gt=0, description="vLLM CPU KV cache (GiB) for an in-process engine"
    )


class HumanEvalConfig(AnswersRun):
    """`schoolhouse teacher humaneval`: a teacher's pass@k on HumanEval, run in the sandbox."""

    model_config = ConfigDict(extra="forbid")

    out: Path = Field(description="folder to write: rows per sample, results.json (resumed)")
    teacher: str = Field(
        "embedded-coder", description="'embedded-coder', 'embedded', a model folder or a URL"
    )
    samples: int = Field(1, ge=1, description="answers per problem (n of pass@k)")
    temperature: float = Field(0.0, ge=0, description="0: greedy (pass@1); 0.8 for pass@10")
    top_p: float = Field(0.95, gt=0, le=1, description="nucleus sampling mass (temperature > 0)")
    max_tokens: int = Field(512, gt=0, description="answer token limit")
    problems: int | None = Field(None, gt=0, description="only the first N of the 164 problems")
    seed: int = Field(0, ge=0, description="seeds each sample's sampling")

    JOB_FIELDS: ClassVar[tuple[str, ...]] = (
        "samples", "temperature", "top_p", "max_tokens", "seed", "timeout_s",
    )  # fmt: skip


class SelfTrainConfig(AnswersRun):
    """`schoolhouse selftrain KIND`: ReST-EM, the teacher fine-tuned on its own rewarded answers."""

    model_config = ConfigDict(extra="forbid")

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
    seed: int = Field(0, ge=0, description="seeds problems, answers and fine-tuning")
    min_words: int = Field(80, ge=0, description="stories: drop shorter ones (too_short)")
    max_words: int = Field(800, gt=0, description="stories: drop longer ones (too_long)")

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


class PipelineConfig(TeacherRunner):
    """`schoolhouse pipeline`: the whole job, from an empty folder to a graded student. Under
    `--runner ray` the teacher runs in `--actors` Ray actors and the filter on the cluster; the
    student trains where the command runs."""

    model_config = ConfigDict(extra="forbid")

    out: Path = Field(Path("out/pipeline"), description="folder for every step's output")
    teacher: str = Field(
        "embedded",
        description="writes stories and textbooks: 'embedded', 'embedded-coder', 'embedded-large', a "
        "model folder, or http(s) URL(s)",
    )
    grader: str | None = Field(
        None,
        description="scores web text and grades the student, as --teacher takes (default: "
        "the teacher; FineWeb-Edu and TinyStories graded with a stronger model than wrote)",
    )
    judge: str = Field(
        "auto",
        description="the sense judge of the stories and textbooks (drop reason nonsense) and of "
        "the student's stories: 'auto' ($SCHOOLHOUSE_JUDGE, else 'embedded'), 'none', or a "
        "teacher spec",
    )
    seed: int = Field(0, ge=0, description="seeds every step")
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
    threshold: int = Field(3, ge=1, le=5, description="educational score a web document needs")
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
    eval_prompts: int = Field(10, ge=0, description="GPT-Eval prompts (0: validation loss only)")
    repo: str | None = Field(None, description="publish the training mix to this Hub repo")
    private: bool = Field(False, description="publish as a private repo")
    kv_cache_gib: float = Field(4, gt=0, description="vLLM CPU KV cache (GiB)")

    @field_validator("repo")
    @classmethod
    def _repo_name(cls, value: str | None) -> str | None:
        from .datasets.publish import check_repo

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
