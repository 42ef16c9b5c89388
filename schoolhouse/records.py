"""Record types: one per kind of data, with the provenance every row carries."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa


def stable_id(template_sha: str, seed: int, index: int) -> str:
    """A row id that is the same on every rerun of the same prompt, and differs across templates."""
    return hashlib.sha256(f"{template_sha}:{seed}:{index}".encode()).hexdigest()[:16]


@dataclass(slots=True)
class Story:
    """One prompt's outcome: a kept story, or a rejected one with its `reason`."""

    id: str
    index: int
    text: str
    prompt: str
    words: dict[str, str]  # noun / verb / adjective the story had to use
    features: list[str]
    template: str
    template_sha: str
    teacher: str
    sampling: dict[str, Any]
    seed: int
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    candidates: int = 1  # completions sampled for this prompt (--best-of)
    candidate: int = 0  # which of them this row is
    words_used: list[str] = field(default_factory=list)
    opening: str | None = None  # how the prompt asked the story to open, if it did
    steering: dict[str, Any] | None = None  # records.STEERING_TYPE
    # per word: {"word", "source": free | steered | forced | missing, "position": 0..1}
    word_sources: list[dict[str, Any]] = field(default_factory=list)
    draft: str | None = None  # --refine: the first answer, its critique, and their tokens
    critique: str | None = None
    refine_tokens: int = 0
    reason: str | None = None  # set on rejected rows only

    def to_row(self) -> dict[str, Any]:
        return asdict(self)


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
STEERING_FIELDS = [("steering", STEERING_TYPE), ("word_sources", WORD_SOURCES_TYPE)]

# --refine: the draft, the teacher's critique of it, and the tokens both cost (prompt + completion)
REFINE_FIELDS = [("draft", pa.string()), ("critique", pa.string()), ("refine_tokens", pa.int64())]

STORY_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("index", pa.int64()),
        ("text", pa.string()),
        ("prompt", pa.string()),
        (
            "words",
            pa.struct([("noun", pa.string()), ("verb", pa.string()), ("adjective", pa.string())]),
        ),
        ("features", pa.list_(pa.string())),
        ("opening", pa.string()),
        ("template", pa.string()),
        ("template_sha", pa.string()),
        ("teacher", pa.string()),
        ("sampling", SAMPLING_TYPE),
        ("seed", pa.int64()),
        ("prompt_tokens", pa.int64()),
        ("completion_tokens", pa.int64()),
        ("finish_reason", pa.string()),
        ("candidates", pa.int64()),
        ("candidate", pa.int64()),
        ("words_used", pa.list_(pa.string())),
        *STEERING_FIELDS,
        *REFINE_FIELDS,
    ]
)
REJECTED_STORY_SCHEMA = STORY_SCHEMA.append(pa.field("reason", pa.string()))


@dataclass(slots=True)
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
    sampling: dict[str, Any]
    seed: int
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    candidates: int = 1
    candidate: int = 0
    words_used: list[str] = field(default_factory=list)
    steering: dict[str, Any] | None = None
    word_sources: list[dict[str, Any]] = field(default_factory=list)
    draft: str | None = None
    critique: str | None = None
    refine_tokens: int = 0
    reason: str | None = None

    def to_row(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class CodeExercise:
    """A phi-1 CodeExercises row: a function to write (signature + docstring), its solution and
    the assert tests it passed in the sandbox. `text` is the teacher's whole answer."""

    id: str
    index: int
    text: str
    prompt: str
    topic: str
    words: list[str]
    template: str
    template_sha: str
    teacher: str
    sampling: dict[str, Any]
    seed: int
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    candidates: int = 1
    candidate: int = 0
    entry_point: str | None = None
    signature: str | None = None
    docstring: str | None = None
    solution: str | None = None
    tests: str | None = None
    tests_passed: bool | None = None  # None: not run (the answer could not be parsed)
    sandbox_detail: str | None = None  # why the sandbox failed it, when it did
    draft: str | None = None
    critique: str | None = None
    refine_tokens: int = 0
    reason: str | None = None

    def to_row(self) -> dict[str, Any]:
        return asdict(self)


PROVENANCE_FIELDS = [
    ("template", pa.string()),
    ("template_sha", pa.string()),
    ("teacher", pa.string()),
    ("sampling", SAMPLING_TYPE),
    ("seed", pa.int64()),
    ("prompt_tokens", pa.int64()),
    ("completion_tokens", pa.int64()),
    ("finish_reason", pa.string()),
    ("candidates", pa.int64()),
    ("candidate", pa.int64()),
]
TEXTBOOK_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("index", pa.int64()),
        ("text", pa.string()),
        ("prompt", pa.string()),
        ("topic", pa.string()),
        ("subject", pa.string()),
        ("audience", pa.string()),
        ("style", pa.string()),
        ("words", pa.list_(pa.string())),
        *PROVENANCE_FIELDS,
        ("words_used", pa.list_(pa.string())),
        *STEERING_FIELDS,
        *REFINE_FIELDS,
    ]
)
REJECTED_TEXTBOOK_SCHEMA = TEXTBOOK_SCHEMA.append(pa.field("reason", pa.string()))
EXERCISE_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("index", pa.int64()),
        ("text", pa.string()),
        ("prompt", pa.string()),
        ("topic", pa.string()),
        ("words", pa.list_(pa.string())),
        ("entry_point", pa.string()),
        ("signature", pa.string()),
        ("docstring", pa.string()),
        ("solution", pa.string()),
        ("tests", pa.string()),
        *PROVENANCE_FIELDS,
        ("tests_passed", pa.bool_()),
        ("sandbox_detail", pa.string()),
        *REFINE_FIELDS,
    ]
)
REJECTED_EXERCISE_SCHEMA = EXERCISE_SCHEMA.append(pa.field("reason", pa.string()))


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


ANNOTATION_SCHEMA = pa.schema(
    [
        ("id", pa.string()),  # the input document's id: the row key on resume
        ("index", pa.int64()),  # the document's position in the input
        ("text", pa.string()),  # the whole document, as read
        ("source", pa.string()),
        ("score", pa.int64()),  # educational value, 0-5, as sampled
        ("score_expected", pa.float64()),  # its mean under the teacher's distribution, or null
        ("score_probs", pa.list_(pa.float64())),  # P(score = 0..5) renormalised, or null
        ("rationale", pa.string()),  # the teacher's `reason` for the score
        ("truncated", pa.bool_()),  # the prompt showed only the document's beginning
        ("template", pa.string()),
        ("template_sha", pa.string()),
        ("teacher", pa.string()),
        ("sampling", SAMPLING_TYPE),
        ("prompt_tokens", pa.int64()),
        ("completion_tokens", pa.int64()),
        ("finish_reason", pa.string()),
        ("attempts", pa.int64()),
    ]
)
# a rejected row keeps the teacher's last answer as it came
REJECTED_ANNOTATION_SCHEMA = ANNOTATION_SCHEMA.append(pa.field("answer", pa.string())).append(
    pa.field("reason", pa.string())
)
