"""A teacher with queued replies that records what it was asked: for unit tests only."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator

from .base import Completion, Request


class FakeTeacher:
    def __init__(
        self,
        replies: Iterable[str] | Callable[[Request], str] = (),
        name: str = "fake",
        finish_reason: str = "stop",
        dies_after: int | None = None,
        logprobs: Callable[[Request, str], tuple] | None = None,
        prompt_logprobs: Callable[[Request], tuple] | None = None,
    ):
        self.name = name
        self.dies_after = dies_after  # answers this many requests, then fails like a dead server
        self.finish_reason = finish_reason
        # (request, reply) -> (pieces, top_logprobs), reported where a request asks for them
        self.logprobs = logprobs
        # request -> ((piece, logprob), ...) over the prompt, where a request asks for them
        self.prompt_logprobs = prompt_logprobs
        self._reply = replies if callable(replies) else None
        self._queue = deque(() if callable(replies) else replies)
        self.requests: list[Request] = []

    def generate(self, requests: Iterable[Request]) -> Iterator[Completion]:
        for i, request in enumerate(requests):
            if i == self.dies_after:
                raise RuntimeError("teacher died")
            self.requests.append(request)
            text = self._reply(request) if self._reply else self._queue.popleft()
            prompt = " ".join(m["content"] for m in request.messages)
            pieces, top = (
                self.logprobs(request, text)
                if self.logprobs and request.top_logprobs
                else (None, None)
            )
            yield Completion(
                request.id,
                text,
                len(prompt.split()),
                len(text.split()),
                self.finish_reason,
                pieces,
                top,
                self.prompt_logprobs(request)
                if self.prompt_logprobs and request.prompt_logprobs
                else None,
            )

    def close(self) -> None:
        pass
