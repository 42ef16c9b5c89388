"""The teacher interface every backend implements, and the values that cross it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Protocol


class TeacherError(RuntimeError):
    """The teacher cannot be started or reached, or failed for good during a run."""


def request_seed(*parts: object) -> int:
    """A request's sampling seed from what names it (run seed, prompt index, candidate, step):
    the same request samples the same text on any backend and in any order."""
    key = ":".join(str(p) for p in parts if p != "")
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "little") & 0x7FFFFFFF


@dataclass(frozen=True)
class Sampling:
    # Cosmopedia samples at top-p 0.95. vLLM's repetition_penalty also penalizes the prompt's
    # tokens, which keeps a small teacher away from the very words it must use; a frequency
    # penalty counts only the completion, breaks the loops of a 135M model and shortens its
    # rambling (fewer stories cut off at max_tokens).
    temperature: float = 0.7
    top_p: float = 0.95
    repetition_penalty: float = 1.0
    frequency_penalty: float = 0.3
    max_tokens: int = 512
    seed: int | None = None  # per request: the same request samples the same text

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Request:
    id: str
    messages: tuple[dict[str, str], ...]
    sampling: Sampling = field(default_factory=Sampling)
    # A JSON schema the completion must follow, enforced by the engine's guided decoding (not
    # by asking nicely), so text inside the prompt cannot change the shape of the answer.
    json_schema: dict | None = field(default=None, hash=False, compare=False)
    # Lexical steering's per-request arguments (`steering.SteeringArgs.encode()`): flat strings
    # and numbers, as vLLM's `extra_args` / `vllm_xargs` take them. None: plain sampling.
    steering: dict | None = field(default=None, hash=False, compare=False)
    # Ask for this many most likely tokens, with their log-probabilities, at every position of
    # the completion (vLLM's `logprobs`, the API's `top_logprobs`; at most 20 by default). They
    # are the model's raw distribution, before temperature, penalties or guided decoding.
    top_logprobs: int | None = field(default=None, hash=False, compare=False)
    # Report the log-probability of every prompt token, as the model reads the prompt (vLLM's
    # `prompt_logprobs`): what a likelihood-based judge scores a text by, at the cost of the
    # prefill only.
    prompt_logprobs: bool = field(default=False, hash=False, compare=False)


@dataclass(frozen=True)
class Completion:
    request_id: str
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str  # "stop" or "length"
    # the completion's tokens as decoded pieces, in order, where the backend reports them: the
    # steering schedule is replayed over them to tell how each required word came
    pieces: tuple[str, ...] | None = None
    # per completion token, the most likely tokens as (piece, log-probability), where the
    # request asked for `top_logprobs` and the backend reported them; aligned with `pieces`
    top_logprobs: tuple[tuple[tuple[str, float], ...], ...] | None = None
    # per prompt token (the chat template's included), its piece and log-probability given the
    # tokens before it (None for the first), where the request asked for `prompt_logprobs`
    prompt_logprobs: tuple[tuple[str, float | None], ...] | None = None


class Teacher(Protocol):
    name: str  # the model, as rows record it

    def generate(self, requests: Iterable[Request]) -> Iterator[Completion]:
        """Yield one completion per request, in the order they finish."""
        ...

    def close(self) -> None: ...
