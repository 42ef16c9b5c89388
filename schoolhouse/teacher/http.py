"""Any OpenAI-compatible server as a teacher (`vllm serve`, one or many base URLs).

Requests are spread round-robin across the URLs with a bounded number in flight; a failed call
is retried with exponential backoff on the next URL, and a request that still fails ends the run
with a message that says the rerun resumes (everything finished so far is already on disk).
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

import httpx

from .base import Completion, Request, Sampling, TeacherError

# where vLLM's server finds the steering processor (steering_vllm.py; not imported here: the
# worker image drives servers without torch or vLLM)
STEERING_PROCESSOR = "schoolhouse.teacher.steering_vllm:LexicalSteering"

RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


def prompt_logprobs(data: dict) -> tuple | None:
    """vLLM's `prompt_logprobs` of a chat answer ([null, {token id: {logprob, rank,
    decoded_token}}, ...], the prompt's own token first in each) as (piece, logprob) pairs;
    None where the server did not report them (a server other than vLLM)."""
    positions = data.get("prompt_logprobs")
    if not positions:
        return None
    pairs = []
    for at in positions:
        if not at:
            pairs.append(("", None))
            continue
        own = next(iter(at.values()))  # vLLM puts the prompt's own token first
        pairs.append((own.get("decoded_token") or "", own.get("logprob")))
    return tuple(pairs)


class HTTPTeacher:
    def __init__(
        self,
        urls: list[str],
        model: str | None = None,
        *,
        concurrency: int = 64,
        timeout: float = 600,
        retries: int = 5,
        backoff: float = 1.0,
        api_key: str | None = None,
    ):
        if not urls:
            raise TeacherError("no teacher URL given")
        self.urls = [u.rstrip("/") for u in urls]
        self.concurrency, self.retries, self.backoff = concurrency, retries, backoff
        key = api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY"
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=10),
            headers={"Authorization": f"Bearer {key}"},
            limits=httpx.Limits(max_connections=concurrency + 4),
        )
        self.name = model or self._served_model(self.urls[0])
        for url in self.urls[1:]:
            self._served_model(url)  # every server must answer before any work starts
        self._next_url = itertools.cycle(self.urls)
        self._lock = threading.Lock()
        # set when a server refused top_logprobs: later requests ask for none (their rows
        # record no probabilities rather than the run failing)
        self.refuses_logprobs = False

    def _served_model(self, url: str) -> str:
        try:
            response = self.client.get(f"{url}/models", timeout=10)
            response.raise_for_status()
            return response.json()["data"][0]["id"]
        except (httpx.HTTPError, ValueError, KeyError, IndexError) as e:
            raise TeacherError(
                f"cannot reach the teacher at {url} ({type(e).__name__}: {e}); "
                "is the server running? (`schoolhouse teacher serve` starts one)"
            ) from None

    def _call(self, request: Request) -> Completion:
        s = request.sampling
        body = {
            "model": self.name,
            "messages": list(request.messages),
            "temperature": s.temperature,
            "top_p": s.top_p,
            "max_tokens": s.max_tokens,
            "seed": s.seed,
            "repetition_penalty": s.repetition_penalty,
            "frequency_penalty": s.frequency_penalty,
        }  # a vLLM extension of the API
        if request.steering:  # the server's steering processor reads them (steering_vllm.py)
            body["vllm_xargs"] = dict(request.steering)
            body["logprobs"] = True  # the sampled tokens' pieces, to replay the schedule
        if request.top_logprobs and not self.refuses_logprobs:
            body["logprobs"], body["top_logprobs"] = True, request.top_logprobs
        if request.prompt_logprobs:  # a vLLM extension: the prompt's own tokens' logprobs
            body["prompt_logprobs"] = 0
        if request.json_schema is not None:  # guided decoding; vLLM ignores the legacy guided_json
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": request.json_schema, "strict": True},
            }
        error: Exception | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            with self._lock:
                url = next(self._next_url)
            try:
                response = self.client.post(f"{url}/chat/completions", json=body)
                if response.status_code in RETRY_STATUS:
                    error = TeacherError(f"{url} answered HTTP {response.status_code}")
                    continue
                if (
                    response.status_code == 400
                    and "top_logprobs" in body
                    and ("logprobs" in response.text)
                ):  # a server with a lower --max-logprobs: answers come without probabilities
                    self.refuses_logprobs = True
                    return self._call(request)
                response.raise_for_status()
                data = response.json()
                choice, usage = data["choices"][0], data.get("usage") or {}
                content = (choice.get("logprobs") or {}).get("content")
                wants_pieces = request.steering or request.top_logprobs
                return Completion(
                    request.id,
                    choice["message"]["content"] or "",
                    usage.get("prompt_tokens", 0),
                    usage.get("completion_tokens", 0),
                    choice.get("finish_reason") or "stop",
                    tuple(t["token"] for t in content) if wants_pieces and content else None,
                    tuple(
                        tuple((a["token"], a["logprob"]) for a in t.get("top_logprobs") or ())
                        for t in content
                    )
                    if request.top_logprobs and content
                    else None,
                    prompt_logprobs(data) if request.prompt_logprobs else None,
                )
            except httpx.TransportError as e:
                error = e
            except (httpx.HTTPStatusError, ValueError, KeyError, IndexError) as e:
                raise TeacherError(f"the teacher at {url} gave an unusable answer: {e}") from None
        raise TeacherError(
            f"the teacher failed {self.retries + 1} times ({error}); what finished "
            "is saved: rerun the same command to resume"
        )

    def check_steering(self) -> None:
        """Every server steers: a probe that only a registered steering processor answers
        with the word it forces. A server without it would sample plainly and rows would claim
        steering they never had."""
        from .steering import SteeringArgs

        probe = SteeringArgs(words=(("zebra", "zebras"),), bias=0.0).encode()
        sampling = Sampling(temperature=0.0, max_tokens=4, frequency_penalty=0.0)
        messages = ({"role": "user", "content": "Say hello."},)
        for url in self.urls:
            with self._lock:
                self._next_url = itertools.cycle([url])
            try:
                reply = self._call(Request("probe", messages, sampling, steering=probe))
            finally:
                with self._lock:
                    self._next_url = itertools.cycle(self.urls)
            if "zebra" not in reply.text.lower():
                raise TeacherError(
                    f"the teacher at {url} does not steer (its server was started without "
                    "schoolhouse's logits processor): start it with `schoolhouse teacher serve`, "
                    f"or add --logits-processors {STEERING_PROCESSOR} to vllm's server, or "
                    "pass --no-steer"
                )

    def generate(self, requests: Iterable[Request]) -> Iterator[Completion]:
        source = iter(requests)
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="teacher") as pool:
            running: set[Future] = set()
            try:
                while True:
                    for request in itertools.islice(source, self.concurrency - len(running)):
                        running.add(pool.submit(self._call, request))
                    if not running:
                        return
                    done, running = wait(running, return_when=FIRST_COMPLETED)
                    failed = [f for f in done if f.exception()]
                    for future in done - set(failed):  # keep what finished before failing
                        yield future.result()
                    if failed:
                        raise failed[0].exception()
            finally:
                for future in running:
                    future.cancel()

    def close(self) -> None:
        self.client.close()
