"""Agentic refinement (`--refine`): draft -> the teacher critiques the draft against the prompt's
constraints -> the teacher revises it. Worth it only if measured: `python bench/refine.py`.

The three steps run as three batched rounds through the teacher (every draft, then every
critique, then every revision), so an engine always has a full batch instead of one prompt's
chain at a time. Rows are written as revisions finish; an interrupted run redoes the drafts and
critiques of the prompts that have no row yet (resume stays per row).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from ..prompt_files import load_template
from ..teacher import Completion, Request, Sampling, Teacher, request_seed

CRITIQUE_REQUIRED = {"prompt", "draft", "constraints"}
REVISE_REQUIRED = {"prompt", "draft", "critique"}
CRITIQUE_MAX_TOKENS = 256  # a list of fixes, not a second essay


@dataclass(frozen=True)
class Steps:
    draft: str
    critique: str
    tokens: int  # prompt + completion tokens of the draft and critique requests


def refine(
    teacher: Teacher, job, prompts: dict, requests: list[Request], summary
) -> Iterator[tuple[Completion, Steps]]:
    """Yield (revision, the revise request's sampling, steps) for every request, after two full
    rounds of drafts and critiques."""
    critique_t = load_template("critique", CRITIQUE_REQUIRED)
    revise_t = load_template("revise", REVISE_REQUIRED)
    config = job.config

    def sampling(request: Request, step: str, max_tokens: int):
        index, k = (int(x) for x in request.id.split(":"))
        seed = request_seed(config.seed, index, k, step)
        return replace(request.sampling, seed=seed, max_tokens=max_tokens)

    def prompt_of(request: Request):
        return prompts[int(request.id.split(":")[0])]

    drafts = _collect(teacher.generate(requests), summary)
    critique_requests = []
    for r in requests:
        prompt = prompt_of(r)
        constraints = "\n".join(f"- {c}" for c in job.kind.constraints(prompt))
        text = critique_t.render(
            prompt=prompt.text, draft=drafts[r.id].text.strip(), constraints=constraints
        )
        max_tokens = min(config.max_tokens, CRITIQUE_MAX_TOKENS)
        critique_requests.append(
            Request(r.id, _user(text), sampling(r, "critique", max_tokens), r.json_schema)
        )
    critiques = _collect(teacher.generate(critique_requests), summary)
    revise_requests = [
        Request(
            r.id,
            _user(
                revise_t.render(
                    prompt=prompt_of(r).text,
                    draft=drafts[r.id].text.strip(),
                    critique=critiques[r.id].text.strip(),
                )
            ),
            sampling(r, "revise", config.max_tokens),
            r.json_schema,
            steering=r.steering,  # the kept text is the revision: it keeps the prompt's words
        )
        for r in requests
    ]
    revise_sampling: dict[str, Sampling] = {r.id: r.sampling for r in revise_requests}
    for revision in teacher.generate(revise_requests):
        draft, critique = drafts[revision.request_id], critiques[revision.request_id]
        tokens = sum(c.prompt_tokens + c.completion_tokens for c in (draft, critique))
        steps = Steps(draft.text.strip(), critique.text.strip(), tokens)
        yield revision, revise_sampling[revision.request_id], steps


def _user(text: str) -> tuple[dict[str, str], ...]:
    return ({"role": "user", "content": text},)


def _collect(completions: Iterable[Completion], summary) -> dict[str, Completion]:
    out = {}
    for c in completions:
        out[c.request_id] = c
        summary.prompt_tokens += c.prompt_tokens
        summary.completion_tokens += c.completion_tokens
    return out
