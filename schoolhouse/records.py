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
    ]
)
REJECTED_STORY_SCHEMA = STORY_SCHEMA.append(pa.field("reason", pa.string()))


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
        ("score", pa.int64()),  # educational value, 0-5
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
