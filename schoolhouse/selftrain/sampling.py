"""One round of answers from a teacher, each rewarded, into a resumable dataset folder.

A round asks every problem `samples` times (direct, or draft -> critique -> revise with
`refined`), rewards each answer with the task's binary check and writes one row per answer:
`data/` the rewarded ones, `rejected/` the others with the reason. Its id is
`<problem id>#<sample>`, so a rerun asks only for answers with no row yet.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa

from ..datasets.folder import DatasetFolder
from ..jobrun import progress_run
from ..teacher import Request, Sampling, Teacher, request_seed
from .tasks import Problem

FIELDS = [
    ("id", pa.string()), ("index", pa.int64()), ("problem_id", pa.string()),
    ("sample", pa.int64()), ("iteration", pa.int64()), ("prompt", pa.string()),
    ("answer", pa.string()), ("teacher", pa.string()), ("sampling", pa.string()),
    ("source", pa.string()), ("draft", pa.string()), ("critique", pa.string()),
    ("adherent", pa.bool_()), ("completion_tokens", pa.int64()), ("finish_reason", pa.string()),
]  # fmt: skip
SCHEMA = pa.schema(FIELDS)
REJECTED_SCHEMA = pa.schema([*FIELDS, ("reason", pa.string()), ("detail", pa.string())])


@dataclass
class Round:
    """What a sampling round is: its folder, teacher and settings (the folder's job)."""

    out: Path
    task: object  # tasks.ExercisesTask | tasks.StoriesTask
    problems: list[Problem]
    teacher: str  # the name rows record
    iteration: int
    samples: int
    sampling: Sampling  # temperature, top_p, max_tokens; the seed is per answer
    source: str = "direct"  # or "refined"
    seed: int = 0
    shard_size: int = 1000
    kind: str = "selftrain-samples"
    label: str = ""  # the progress bar's name

    def job(self) -> dict:
        ids = hashlib.sha256(json.dumps([[p.id, p.messages, p.check] for p in self.problems],
                                        sort_keys=True).encode()).hexdigest()[:16]  # fmt: skip
        settings = self.sampling.to_dict() | {"seed": None}
        return {"kind": self.kind, "task": self.task.name, "teacher": self.teacher,
                "iteration": self.iteration, "samples": self.samples, "source": self.source,
                "sampling": settings, "seed": self.seed, "problems": len(self.problems),
                "problems_sha": ids}  # fmt: skip

    def folder(self) -> DatasetFolder:
        folder = DatasetFolder(self.out, SCHEMA, REJECTED_SCHEMA, self.shard_size)
        folder.check(self.job())
        return folder

    def pending(self, done: set[str]) -> list[tuple[int, Problem, int]]:
        return [(pos, p, s) for pos, p in enumerate(self.problems) for s in range(self.samples)
                if f"{p.id}#{s}" not in done]  # fmt: skip

    def answer_sampling(self, problem: Problem, sample: int) -> Sampling:
        from dataclasses import replace

        seed = request_seed(self.seed, self.iteration, problem.id, sample)
        return replace(self.sampling, seed=seed)


@dataclass
class RoundSummary:
    out: str
    answers: int
    written: int = 0
    passed: int = 0
    reasons: Counter = field(default_factory=Counter)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    wall_s: float = 0.0

    def to_dict(self) -> dict:
        return {"out": self.out, "answers": self.answers, "written_this_run": self.written,
                "passed": self.passed, "failed": dict(self.reasons.most_common()),
                "completion_tokens": self.completion_tokens, "wall_s": round(self.wall_s, 2)}  # fmt: skip


def run_round(
    r: Round, teacher: Teacher | None, progress: bool = True, batch: int = 8
) -> RoundSummary:
    """Ask, reward and write every pending answer of the round."""
    folder = r.folder()
    folder.open(r.job())
    (r.out / "round.json").write_text(json.dumps(r.job(), indent=2))
    done = folder.done_ids()
    pending = r.pending(done)
    total = len(r.problems) * r.samples
    summary = RoundSummary(str(r.out), total)
    if pending and teacher is None:
        folder.close()
        raise ValueError("answers are pending but no teacher was given")
    asked = {f"{pos}:{s}": (pos, p, s) for pos, p, s in pending}
    requests = [
        Request(key, p.messages, r.answer_sampling(p, s)) for key, (pos, p, s) in asked.items()
    ]
    with progress_run(folder, summary, total, total - len(pending), "answer",
                      r.label or f"round {r.iteration}", progress) as out:  # fmt: skip
        ready: list = []

        def reward(ready: list) -> None:
            verdicts = r.task.reward([(p, c) for (_, p, _), c, _ in ready])
            for ((pos, problem, s), completion, steps), verdict in zip(
                ready, verdicts, strict=True
            ):
                summary.passed += verdict.passed
                out.write(
                    _row(r, pos, problem, s, completion, steps, verdict), f"passed {summary.passed}"
                )
            ready.clear()

        for completion, steps in _answers(r, teacher, requests, asked, summary) if requests else ():
            summary.completion_tokens += completion.completion_tokens
            ready.append((asked[completion.request_id], completion, steps))
            if len(ready) >= batch:
                reward(ready)
        reward(ready)
    counts = count(r.out)
    summary.passed, summary.reasons = counts["passed"], Counter(counts["failed"])
    return summary


def _answers(r: Round, teacher: Teacher, requests: list[Request], asked: dict, summary):
    """(final answer, refinement steps or None) per request."""
    if r.source != "refined":
        return ((c, None) for c in teacher.generate(requests))
    from ..lessons.refine import refine

    prompts = {pos: SimpleNamespace(text=p.messages[-1]["content"], problem=p)
               for pos, p, _ in asked.values()}  # fmt: skip
    job = SimpleNamespace(
        kind=SimpleNamespace(constraints=lambda prompt: r.task.constraints(prompt.problem)),
        config=SimpleNamespace(seed=request_seed(r.seed, r.iteration),
                               max_tokens=r.sampling.max_tokens),
    )  # fmt: skip
    return ((c, steps) for c, _, steps in refine(teacher, job, prompts, requests, summary))


def _row(r: Round, pos: int, problem: Problem, sample: int, completion, steps, verdict) -> dict:
    row = {
        "id": f"{problem.id}#{sample}", "index": pos * r.samples + sample,
        "problem_id": problem.id, "sample": sample, "iteration": r.iteration,
        "prompt": problem.messages[-1]["content"], "answer": completion.text,
        "teacher": r.teacher, "sampling": json.dumps(r.answer_sampling(problem, sample).to_dict()),
        "source": r.source, "draft": steps.draft if steps else None,
        "critique": steps.critique if steps else None,
        "adherent": r.task.adherent(problem, completion.text) if hasattr(r.task, "adherent") else None,
        "completion_tokens": completion.completion_tokens,
        "finish_reason": completion.finish_reason,
    }  # fmt: skip
    if not verdict.passed:
        row |= {"reason": verdict.reason or "failed", "detail": verdict.detail}
    return row


def count(out: Path) -> dict:
    """A round folder's totals: answers, passed, failed by reason, problems solved, adherence."""
    folder = DatasetFolder(out, SCHEMA, REJECTED_SCHEMA)
    kept = folder.read("data", ["problem_id", "adherent"]).to_pylist()
    failed = folder.read("rejected", ["problem_id", "adherent", "reason"]).to_pylist()
    rows = kept + failed
    adherent = [x["adherent"] for x in rows if x["adherent"] is not None]
    return {
        "answers": len(rows), "passed": len(kept),
        "reward_rate": round(len(kept) / len(rows), 4) if rows else None,
        "problems": len({x["problem_id"] for x in rows}),
        "problems_solved": len({x["problem_id"] for x in kept}),
        "failed": dict(Counter(x["reason"] for x in failed).most_common()),
        "adherence": round(sum(adherent) / len(adherent), 4) if adherent else None,
    }  # fmt: skip


def rewarded(out: Path) -> list[dict]:
    """The rewarded rows of a round, in problem and sample order."""
    folder = DatasetFolder(out, SCHEMA, REJECTED_SCHEMA)
    return sorted(folder.read("data").to_pylist(), key=lambda x: x["index"])
