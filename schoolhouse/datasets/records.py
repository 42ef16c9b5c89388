"""Record types: one per kind of data, with the provenance every row carries."""

from __future__ import annotations

import dataclasses
import hashlib
import types
import typing
from dataclasses import asdict, dataclass, field
from typing import Annotated, Any

import pyarrow as pa


def stable_id(template_sha: str, seed: int, index: int) -> str:
    """A row id that is the same on every rerun of the same prompt, and differs across templates."""
    return hashlib.sha256(f"{template_sha}:{seed}:{index}".encode()).hexdigest()[:16]


# Nested columns: the shapes of the dict-valued fields below
SAMPLING_TYPE = pa.struct(
    [
        ("temperature", pa.float64()),
        ("top_p", pa.float64()),
        ("repetition_penalty", pa.float64()),
        ("frequency_penalty", pa.float64()),
        ("max_tokens", pa.int64()),
        ("seed", pa.int64()),
    ]
)

# Lexical steering: on or off and its parameters; per required word, how it came and where
STEERING_TYPE = pa.struct(
    [
        ("mode", pa.string()),
        ("bias", pa.float64()),
        ("target_tokens", pa.int64()),
        ("no_repeat_ngram", pa.int64()),
        ("dry", pa.float64()),
        ("avoid_start", pa.list_(pa.string())),
        ("ban", pa.list_(pa.string())),
        ("end_tokens", pa.int64()),
    ]
)
WORD_SOURCES_TYPE = pa.list_(
    pa.struct([("word", pa.string()), ("source", pa.string()), ("position", pa.float64())])
)
WORDS_TYPE = pa.struct([("noun", pa.string()), ("verb", pa.string()), ("adjective", pa.string())])

# A record type is declared once, as a dataclass whose fields are its columns in order; its
# Parquet schema is derived from the annotations (`schema_of`). Plain str, int, float, bool and
# lists of them map to Arrow by type; a dict-valued field names its Arrow type with
# `Annotated[..., ARROW_TYPE]`. Fields declared with `REJECTED_ONLY` (`reason`, last in every
# record) are columns of rejected rows only: `schema_of(cls)` leaves them out,
# `schema_of(cls, rejected=True)` keeps them.
Sampled = Annotated[dict[str, Any], SAMPLING_TYPE]
Steering = Annotated[dict[str, Any] | None, STEERING_TYPE]
WordSources = Annotated[list[dict[str, Any]], WORD_SOURCES_TYPE]
PLAIN = {str: pa.string(), int: pa.int64(), float: pa.float64(), bool: pa.bool_()}


def rejected_only() -> Any:
    """A field that only rejected rows have (None on kept ones)."""
    return field(default=None, metadata={"rejected_only": True})


def arrow_type(hint: Any, where: str) -> pa.DataType:
    """The Arrow type of a dataclass field's resolved annotation."""
    if typing.get_origin(hint) is Annotated:
        return next(a for a in hint.__metadata__ if isinstance(a, pa.DataType))
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return arrow_type(args[0], where)  # X | None: nullable X (every Arrow field is)
    if typing.get_origin(hint) is list:
        return pa.list_(arrow_type(args[0], where))
    if hint in PLAIN:
        return PLAIN[hint]
    raise TypeError(f"{where}: no Arrow type for {hint!r}; annotate it with one")


def schema_of(cls: type, rejected: bool = False) -> pa.Schema:
    """The Parquet schema of a record dataclass, its fields in order."""
    hints = typing.get_type_hints(cls, include_extras=True)
    return pa.schema(
        [
            (f.name, arrow_type(hints[f.name], f"{cls.__name__}.{f.name}"))
            for f in dataclasses.fields(cls)
            if rejected or not f.metadata.get("rejected_only")
        ]
    )


@dataclass(slots=True, kw_only=True)
class Story:
    """One prompt's outcome: a kept story, or a rejected one with its `reason`."""

    id: str
    index: int
    text: str
    prompt: str
    words: Annotated[dict[str, str], WORDS_TYPE]  # noun / verb / adjective the story had to use
    features: list[str]
    opening: str | None = None  # how the prompt asked the story to open, if it did
    template: str
    template_sha: str
    teacher: str
    sampling: Sampled
    seed: int
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    candidates: int = 1  # completions sampled for this prompt (--best-of)
    candidate: int = 0  # which of them this row is
    words_used: list[str] = field(default_factory=list)
    steering: Steering = None  # on or off and its parameters
    # per word: {"word", "source": free | steered | forced | missing, "position": 0..1}
    word_sources: WordSources = field(default_factory=list)
    draft: str | None = None  # --refine: the first answer, its critique, and their tokens
    critique: str | None = None
    refine_tokens: int = 0
    sense: float | None = None  # the sense judge's score (0-1), where a judge read the row
    reason: str | None = rejected_only()  # why the row was rejected

    def to_row(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True, kw_only=True)
class Textbook:
    """A phi-1.5 / Cosmopedia lesson: topic x audience x style, with a few required words."""

    id: str
    index: int
    text: str
    prompt: str
    topic: str
    subject: str  # which topic list it came from (python, school)
    audience: str
    style: str
    words: list[str]
    template: str
    template_sha: str
    teacher: str
    sampling: Sampled
    seed: int
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    candidates: int = 1
    candidate: int = 0
    words_used: list[str] = field(default_factory=list)
    steering: Steering = None
    word_sources: WordSources = field(default_factory=list)
    draft: str | None = None
    critique: str | None = None
    refine_tokens: int = 0
    sense: float | None = None  # the sense judge's score (0-1), where a judge read the row
    reason: str | None = rejected_only()

    def to_row(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True, kw_only=True)
class CodeExercise:
    """A phi-1 CodeExercises row: a function to write (signature + docstring), its solution and
    the assert tests it passed in the sandbox. `text` is the teacher's whole answer."""

    id: str
    index: int
    text: str
    prompt: str
    topic: str
    words: list[str]
    entry_point: str | None = None
    signature: str | None = None
    docstring: str | None = None
    solution: str | None = None
    tests: str | None = None
    template: str
    template_sha: str
    teacher: str
    sampling: Sampled
    seed: int
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    candidates: int = 1
    candidate: int = 0
    tests_passed: bool | None = None  # None: not run (the answer could not be parsed)
    sandbox_detail: str | None = None  # why the sandbox failed it, when it did
    draft: str | None = None
    critique: str | None = None
    refine_tokens: int = 0
    reason: str | None = rejected_only()

    def to_row(self) -> dict[str, Any]:
        return asdict(self)


STORY_SCHEMA, REJECTED_STORY_SCHEMA = schema_of(Story), schema_of(Story, rejected=True)
TEXTBOOK_SCHEMA, REJECTED_TEXTBOOK_SCHEMA = schema_of(Textbook), schema_of(Textbook, True)
EXERCISE_SCHEMA, REJECTED_EXERCISE_SCHEMA = schema_of(CodeExercise), schema_of(CodeExercise, True)


def content_id(text: str) -> str:
    """An id for a document that came without one: the SHA-1 of its text, prefixed."""
    return "sha1-" + hashlib.sha1(text.encode("utf-8", "replace")).hexdigest()


@dataclass(slots=True)
class Document:
    """One web or corpus document, as a reader yields it and the web filters judge it."""

    id: str  # the input's own id (JSON `id`, WARC-Record-ID) or `content_id(text)`
    text: str
    source: str  # the file it came from
    metadata: dict[str, Any] = field(default_factory=dict)  # line, row, url, other columns


@dataclass(slots=True, kw_only=True)
class Annotation:
    """A document's educational value as a teacher scored it (`schoolhouse annotate`)."""

    id: str  # the input document's id: the row key on resume
    index: int  # the document's position in the input
    text: str  # the whole document, as read
    source: str
    score: int | None  # educational value, 0-5, as sampled
    score_expected: float | None = None  # its mean under the teacher's distribution
    score_probs: list[float] | None = None  # P(score = 0..5), renormalised over the digits
    rationale: str | None  # the teacher's `reason` for the score
    truncated: bool  # the prompt showed only the document's beginning
    template: str
    template_sha: str
    teacher: str
    sampling: Sampled
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    attempts: int
    answer: str | None = rejected_only()  # the teacher's last answer, as it came
    reason: str | None = rejected_only()  # why it could not be used

    def to_row(self) -> dict[str, Any]:
        return asdict(self)


ANNOTATION_SCHEMA, REJECTED_ANNOTATION_SCHEMA = schema_of(Annotation), schema_of(Annotation, True)


@dataclass(slots=True, kw_only=True)
class Judgement:
    """A text's sense as a judge model read it (`schoolhouse judge`)."""

    id: str  # the input row's id: the row key on resume
    index: int  # the row's position in the input
    text: str
    kind: str  # story | textbook | web
    source: str
    sense: float | None  # 0-1, higher makes more sense (the card says how it was computed)
    sense_method: str  # fitted | rubric | none
    p_yes: float | None = None  # the rubric's P(Yes), "does it make sense from start to end"
    lp_mean: float | None = None  # mean token log-probability under the judge
    lp_low: float | None = None  # mean of the least likely 10 % of tokens (Min-K% Prob)
    shuffle_gap: float | None = None  # log-probability per token lost by shuffling sentences
    context_gain: float | None = None  # log-probability per token the first half adds
    p_yes_gap: float | None = None  # P(Yes) minus P(Yes) of the shuffled copy
    chat: float | None = None  # 1 when it opens or ends like a chat reply or a prompt
    tokens: int  # the text's tokens as the judge read them
    cut: bool  # judged on its beginning only (a longer text)
    judge: str
    template_sha: str
    prompt_tokens: int
    reason: str | None = rejected_only()

    def to_row(self) -> dict[str, Any]:
        return asdict(self)


JUDGEMENT_SCHEMA, REJECTED_JUDGEMENT_SCHEMA = schema_of(Judgement), schema_of(Judgement, True)
