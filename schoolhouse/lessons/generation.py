"""Generate a dataset: prompts -> teacher -> verification -> dataset folder, for any kind of lesson.

    schoolhouse generate stories   -n 200 --seed 7 --out out/stories
    schoolhouse generate textbooks -n 500 --out out/textbooks
    schoolhouse generate exercises -n 500 --out out/exercises --teacher embedded-coder

One runner serves every kind: prompt index -> request(s) -> completion(s) -> build and verify ->
one kept or rejected row. What differs between stories, textbooks and exercises lives in a small
kind object (`stories.py`, `textbooks.py`, `exercises.py`): its sampler and template, how it
builds and verifies a row, its schema and its card.

`prepare` checks everything a run needs (config, curriculum, output folder, teacher spec) before
any engine starts; `run` asks the teacher only for prompts that have no row yet, so rerunning an
interrupted command finishes it. With `--refine` every prompt goes draft -> critique -> revision
(`refine.py`); a row is still written only when its revision is verified.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..config import GenerateConfig, StoriesConfig
from ..datasets.folder import DatasetFolder
from ..datasets.records import stable_id
from ..jobrun import open_run, progress_run, with_teacher
from ..teacher import (
    Completion,
    Opener,
    Request,
    Sampling,
    Teacher,
    TeacherSpec,
    request_seed,
    resolve_teacher,
)
from ..text import duplicate_ngram_fraction, words

# A filter pipeline: returns the first drop reason for a record, or None to keep it.
Verify = Callable[[Any], "str | None"]


class Kind(Protocol):
    """What one kind of lesson brings to the runner."""

    name: str  # "stories": the job kind recorded in job.json
    unit: str  # "story": what the progress bar counts
    adherence: str  # what `adherent` checks, for the summary
    sampler: Any  # .sample(index) -> a prompt with .index and .text; .template
    schema: Any
    rejected_schema: Any
    batch: int  # finished prompts verified together (the sandbox runs exercises in parallel)

    def job_info(self) -> dict: ...
    def build(self, prompt, completion: Completion, base: dict) -> Any: ...
    def verify(self, records: list) -> None: ...  # sets `.reason` on each record
    def rank(self, record) -> tuple: ...  # among verified-or-not candidates: higher is better
    def adherent(self, record) -> bool: ...  # the prompt's checkable constraint was met
    def constraints(self, prompt) -> list[str]: ...  # what a critique checks (--refine)
    def write_card(self, job: Job, summary: Summary) -> Path: ...


@dataclass
class Summary:
    out: str
    requested: int
    teacher: str
    kept: int = 0
    rejected: Counter = field(default_factory=Counter)
    skipped: int = 0  # already written by an earlier run
    written: int = 0  # rows written by this run
    kept_now: int = 0  # rows kept by this run (`kept` becomes the folder's total at the end)
    prompt_tokens: int = 0  # every request of this run: drafts and critiques included
    completion_tokens: int = 0
    adherent: int = 0  # final completions (before filtering) that met the prompt's constraint
    completions: int = 0
    adherence_label: str = "all_words"
    wall_s: float = 0.0
    steer: bool | None = None  # None: the kind names no words to steer toward
    word_sources: Counter = field(default_factory=Counter)  # free / steered / forced / missing
    judge: str | None = None  # the sense judge that read the rows, if any

    @property
    def tok_s(self) -> float:
        return self.completion_tokens / self.wall_s if self.wall_s else 0.0

    def to_dict(self) -> dict:
        return {
            "out": self.out,
            "requested": self.requested,
            "teacher": self.teacher,
            "kept": self.kept,
            "rejected": dict(self.rejected.most_common()),
            "skipped_already_done": self.skipped,
            "written_this_run": self.written,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            f"adherence_{self.adherence_label}": self.adherent / self.completions
            if self.completions
            else None,
            "judge": self.judge,
            "wall_s": round(self.wall_s, 2),
            "output_tok_s": round(self.tok_s, 1),
            "kept_per_minute": round(60 * self.kept_now / self.wall_s, 2) if self.wall_s else None,
            "tokens_per_kept": round(self.completion_tokens / self.kept_now)
            if self.kept_now
            else None,
        } | self._steering()

    def _steering(self) -> dict:
        if self.steer is None:
            return {}
        total = sum(self.word_sources.values())
        shares = {
            f"words_{k}": round(self.word_sources[k] / total, 4) if total else None
            for k in ("free", "steered", "forced", "missing")
        }
        return {"steering": "on" if self.steer else "off"} | shares


@dataclass
class Job:
    config: GenerateConfig
    kind: Kind
    folder: DatasetFolder
    teacher_spec: TeacherSpec
    job: dict
    done: set[int]  # prompt indices with a row in a shard; a sealed journal may add more

    @property
    def sampler(self):
        return self.kind.sampler

    @property
    def pending(self) -> list[int]:
        return [i for i in range(self.config.n) if i not in self.done]


def prepare(config: GenerateConfig, kind: Kind, teacher_spec: TeacherSpec | None = None) -> Job:
    """Check the output folder and the teacher; raise a one-line error before any teacher work."""
    spec = teacher_spec or resolve_teacher(config.teacher)
    job = {"kind": kind.name, "template_sha": kind.sampler.template.sha, "teacher": spec.name}
    job |= kind.job_info() | config.job_fields()
    sense = getattr(kind, "sense", None)
    if sense is not None:  # only when on: folders made before the check existed still resume
        job |= sense.job_info()
    folder = DatasetFolder(config.out, kind.schema, kind.rejected_schema, config.shard_size)
    folder.check(job)
    done = folder.done_indices()
    over = [i for i in done if i >= config.n]
    if over:
        raise ValueError(
            f"{config.out} already holds rows for prompts up to #{max(over)}: "
            f"use -n {max(over) + 1} or more, or a new --out"
        )
    return Job(config, kind, folder, spec, job, done)


def run(job: Job, teacher: Teacher | None, progress: bool = True) -> Summary:
    """Write one row per pending prompt; `teacher` may be None when nothing is pending."""
    config, folder, kind = job.config, job.folder, job.kind
    if open_run(folder, job.job, config):  # an interrupted run's journal became shards
        job.done = folder.done_indices()
    pending = job.pending
    done_before = config.n - len(pending)
    summary = Summary(str(config.out), config.n, job.teacher_spec.name, skipped=done_before)
    summary.adherence_label = kind.adherence
    if hasattr(kind, "steering") and hasattr(config, "steer"):
        summary.steer = config.steer
    if pending and teacher is None:
        raise ValueError("prompts are pending but no teacher was given")
    prompts = {i: kind.sampler.sample(i) for i in pending}
    candidates: dict[int, list] = defaultdict(list)
    ready: list[tuple[Any, list]] = []

    sense = getattr(kind, "sense", None) if pending else None
    summary.judge = sense.spec.name if sense is not None else None
    with progress_run(folder, summary, config.n, done_before, kind.unit, "generate",
                      progress) as out, _judging(sense, teacher, config) as judge:  # fmt: skip

        def write(batch: list[tuple[Any, list]]) -> None:
            records = [_build(job, prompt, *candidate) for prompt, cs in batch for candidate in cs]
            kind.verify(records)
            if judge is not None:  # after the cheap checks: the judge reads only their passes
                judge(records, SENSE_KINDS[kind.name])
            for prompt, _ in batch:
                row = _choose(job, [r for r in records if r.index == prompt.index], summary)
                if row.reason is None:
                    summary.kept += 1
                    summary.kept_now += 1
                else:
                    summary.rejected[row.reason] += 1
                status = (
                    f"{summary.completion_tokens / out.elapsed:.0f} tok/s, "
                    f"kept {summary.kept}, rejected {sum(summary.rejected.values())}"
                )
                out.write(row.to_row(), status)
            batch.clear()

        # with a judge, prompts go in rounds: the teacher writes a round, then the judge (often
        # the same engine) reads it, then its rows are written
        rounds = _rounds(list(prompts), sense.batch if judge is not None else len(prompts))
        for part in rounds:
            asked = {i: prompts[i] for i in part}
            for completion, sampling, steps in _completions(job, teacher, asked, summary):
                index = int(completion.request_id.split(":")[0])
                candidates[index].append((completion, sampling, steps))
                summary.prompt_tokens += completion.prompt_tokens
                summary.completion_tokens += completion.completion_tokens
                if len(candidates[index]) < config.best_of:
                    continue
                ready.append((prompts.pop(index), candidates.pop(index)))
                if judge is None and len(ready) >= kind.batch:
                    write(ready)
            write(ready)
    _count_all(job, summary)
    kind.write_card(job, summary)
    return summary


SENSE_KINDS = {"stories": "story", "textbooks": "textbook"}


def _rounds(indices: list[int], size: int) -> list[list[int]]:
    size = max(1, size)
    return [indices[i : i + size] for i in range(0, len(indices), size)]


@contextmanager
def _judging(sense, teacher: Teacher | None, config) -> Iterator:
    """The sense check's judge function for this run, or None without a check."""
    if sense is None:
        yield None
        return
    settings = {"kv_cache_gib": config.kv_cache_gib, "seed": config.seed,
                "concurrency": config.concurrency}  # fmt: skip
    with sense.opened(teacher, settings) as judge:
        yield judge


def _completions(job: Job, teacher: Teacher, prompts: dict, summary: Summary) -> Iterator:
    """(final completion, the sampling that wrote it, refinement steps or None) for every
    candidate of every prompt. Under `--refine` the kept text is the revision: its row records
    the revise request's sampling, not the draft's."""
    requests = list(_requests(job.config, job.kind, prompts))
    if not job.config.refine:
        sampling = {r.id: r.sampling for r in requests}
        return ((c, sampling[c.request_id], None) for c in teacher.generate(requests))
    from .refine import refine

    return refine(teacher, job, prompts, requests, summary)


def _requests(config: GenerateConfig, kind: Kind, prompts: dict) -> Iterator[Request]:
    steered = getattr(config, "steer", False) and hasattr(kind, "steering")
    for index, prompt in list(prompts.items()):
        messages = ({"role": "user", "content": prompt.text},)
        steering = kind.steering(prompt).encode() if steered else None
        for k in range(config.best_of):
            sampling = config.sampling(request_seed(config.seed, index, k))
            yield Request(f"{index}:{k}", messages, sampling, steering=steering)


def _build(job: Job, prompt, completion: Completion, sampling: Sampling, steps) -> Any:
    config, template = job.config, job.sampler.template
    k = int(completion.request_id.split(":")[1])
    base = {
        "id": stable_id(template.sha, config.seed, prompt.index),
        "index": prompt.index,
        "text": completion.text.strip(),
        "prompt": prompt.text,
        "template": template.name,
        "template_sha": template.sha,
        "teacher": job.teacher_spec.name,
        "sampling": sampling.to_dict(),
        "seed": config.seed,
        "prompt_tokens": completion.prompt_tokens,
        "completion_tokens": completion.completion_tokens,
        "finish_reason": completion.finish_reason,
        "candidates": config.best_of,
        "candidate": k,
    }
    if steps is not None:
        base |= {"draft": steps.draft, "critique": steps.critique, "refine_tokens": steps.tokens}
    return job.kind.build(prompt, completion, base)


def _choose(job: Job, records: list, summary: Summary) -> Any:
    """Keep the best verified candidate, else reject the most promising one."""
    ranked = []
    for record in records:
        summary.completions += 1
        summary.adherent += job.kind.adherent(record)
        summary.word_sources.update(w["source"] for w in getattr(record, "word_sources", ()))
        repetition = duplicate_ngram_fraction(words(record.text), 5)
        key = (record.reason is None, *job.kind.rank(record), -repetition, -record.candidate)
        ranked.append((key, record))
    return max(ranked, key=lambda pair: pair[0])[1]


def _count_all(job: Job, summary: Summary) -> None:
    """Replace this run's counts by the folder's totals (earlier runs included)."""
    kept = job.folder.read("data", ["index"])
    rejected = job.folder.read("rejected", ["reason"])
    summary.kept = kept.num_rows
    summary.rejected = Counter(rejected.column("reason").to_pylist())


def generate(
    config: GenerateConfig,
    kind: Kind,
    teacher: Teacher | None = None,
    progress: bool = True,
    teacher_options: dict | None = None,
    opener: Opener | None = None,
) -> Summary:
    """Prepare, start the teacher if there is work and none was given, run, close what was opened."""
    steered = getattr(config, "steer", False) and hasattr(kind, "steering")
    check = _check_steering if steered else None
    prepare_kind = lambda config, spec: prepare(config, kind, spec)  # noqa: E731
    return with_teacher(
        prepare_kind, run, config, teacher, progress, teacher_options, check, opener
    )


def _check_steering(teacher: Teacher) -> None:
    """A server without the steering processor fails in one line, before any work."""
    check = getattr(teacher, "check_steering", None)
    if check is not None:
        check()


def prepare_stories(config: StoriesConfig, teacher_spec: TeacherSpec | None = None) -> Job:
    from .stories import StoriesKind

    return prepare(config, StoriesKind.load(config, verify=None), teacher_spec)


def generate_stories(config: StoriesConfig, verify: Verify, teacher=None, **options) -> Summary:
    from .stories import StoriesKind

    return generate(config, StoriesKind.load(config, verify), teacher, **options)
