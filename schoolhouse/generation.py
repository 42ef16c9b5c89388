"""Generate stories: prompts -> teacher -> verification filters -> dataset folder.

    schoolhouse generate stories -n 200 --seed 7 --out out/stories

`prepare` checks everything a run needs (config, curriculum, output folder, teacher spec) before
any engine starts; `run` asks the teacher only for prompts that have no row yet, so rerunning an
interrupted command finishes it.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from .config import StoriesConfig
from .curriculum import StorySampler, load_features, load_template, load_vocabulary
from .folder import DatasetFolder, write_atomic
from .records import REJECTED_STORY_SCHEMA, STORY_SCHEMA, Story, stable_id
from .teacher import Completion, Request, Teacher, TeacherSpec, resolve_teacher
from .text import duplicate_ngram_fraction, words, words_used

# A filter pipeline: returns the first drop reason for a story, or None to keep it.
Verify = Callable[[Story], "str | None"]


@dataclass
class Summary:
    out: str
    requested: int
    teacher: str
    kept: int = 0
    rejected: Counter = field(default_factory=Counter)
    skipped: int = 0  # already written by an earlier run
    written: int = 0  # rows written by this run
    prompt_tokens: int = 0
    completion_tokens: int = 0
    all_words_used: int = 0  # completions (before filtering) that used all three words
    completions: int = 0
    wall_s: float = 0.0

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
            "adherence_all_words": self.all_words_used / self.completions
            if self.completions
            else None,
            "wall_s": round(self.wall_s, 2),
            "output_tok_s": round(self.tok_s, 1),
        }


@dataclass
class StoriesJob:
    config: StoriesConfig
    sampler: StorySampler
    folder: DatasetFolder
    teacher_spec: TeacherSpec
    job: dict
    done: set[int]  # prompt indices with a row in a shard; a sealed journal may add more

    @property
    def pending(self) -> list[int]:
        return [i for i in range(self.config.n) if i not in self.done]


def prepare_stories(config: StoriesConfig, teacher_spec: TeacherSpec | None = None) -> StoriesJob:
    """Load and check everything; raise a one-line error before any teacher work."""
    vocabulary = load_vocabulary(config.vocabulary)
    features = load_features(config.features)
    openings = load_features(config.openings, "openings") if config.vary_openings else ()
    template = load_template(config.template, StorySampler.REQUIRED)
    spec = teacher_spec or resolve_teacher(config.teacher)
    sampler = StorySampler(
        vocabulary, features, template, config.seed, config.max_features, openings
    )
    job = {
        "kind": "stories",
        "template_sha": template.sha,
        "teacher": spec.name,
        "vocabulary_sha": vocabulary.sha[:12],
        "features": [f.name for f in features],
        "openings": [f.name for f in openings],
    }
    job |= {k: getattr(config, k) for k in StoriesConfig.JOB_FIELDS}
    folder = DatasetFolder(config.out, STORY_SCHEMA, REJECTED_STORY_SCHEMA, config.shard_size)
    folder.check(job)
    done = folder.done_indices()
    over = [i for i in done if i >= config.n]
    if over:
        raise ValueError(
            f"{config.out} already holds rows for prompts up to #{max(over)}: "
            f"use -n {max(over) + 1} or more, or a new --out"
        )
    return StoriesJob(config, sampler, folder, spec, job, done)


def request_seed(seed: int, index: int, candidate: int) -> int:
    digest = hashlib.sha256(f"{seed}:{index}:{candidate}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def run_stories(
    job: StoriesJob, teacher: Teacher | None, verify: Verify, progress: bool = True
) -> Summary:
    """Write one row per pending prompt; `teacher` may be None when nothing is pending."""
    config, folder = job.config, job.folder
    if folder.open(job.job):  # an interrupted run's journal became shards: count its rows too
        job.done = folder.done_indices()
    write_atomic(config.out / "config.json", config.model_dump_json(indent=2))
    pending = job.pending
    done_before = config.n - len(pending)
    summary = Summary(str(config.out), config.n, job.teacher_spec.name, skipped=done_before)
    if pending and teacher is None:
        raise ValueError("prompts are pending but no teacher was given")
    prompts = {i: job.sampler.sample(i) for i in pending}
    bar = _progress(config.n, done_before, progress)
    started = time.monotonic()
    candidates: dict[int, list[Completion]] = defaultdict(list)
    try:
        completions = teacher.generate(_requests(config, prompts)) if pending else ()
        for completion in completions:
            index = int(completion.request_id.split(":")[0])
            candidates[index].append(completion)
            summary.prompt_tokens += completion.prompt_tokens
            summary.completion_tokens += completion.completion_tokens
            if len(candidates[index]) < config.best_of:
                continue
            story = _choose(job, prompts.pop(index), candidates.pop(index), verify, summary)
            folder.append(story.to_row())
            summary.written += 1
            if story.reason is None:
                summary.kept += 1
            else:
                summary.rejected[story.reason] += 1
            if bar:
                elapsed = time.monotonic() - started
                bar.set_postfix_str(
                    f"{summary.completion_tokens / elapsed:.0f} tok/s, "
                    f"kept {summary.kept}, rejected {sum(summary.rejected.values())}",
                    refresh=False,
                )
                bar.update(1)
    finally:
        summary.wall_s = time.monotonic() - started
        folder.close()
        if bar:
            bar.close()
        _log_run(job, summary)
    _count_all(job, summary)
    from .card import write_story_card

    write_story_card(job, summary)
    return summary


def _requests(config: StoriesConfig, prompts: dict) -> Iterator[Request]:
    for index, prompt in list(prompts.items()):
        messages = ({"role": "user", "content": prompt.text},)
        for k in range(config.best_of):
            sampling = config.sampling(request_seed(config.seed, index, k))
            yield Request(f"{index}:{k}", messages, sampling)


def _choose(
    job: StoriesJob, prompt, completions: list[Completion], verify: Verify, summary: Summary
) -> Story:
    """Verify every candidate; keep the best verified one, else reject the most promising."""
    config = job.config
    ranked = []
    for completion in completions:
        k = int(completion.request_id.split(":")[1])
        text = completion.text.strip()
        used = words_used(text, prompt.words)
        summary.completions += 1
        summary.all_words_used += len(used) == len(prompt.words)
        story = Story(
            id=stable_id(job.sampler.template.sha, config.seed, prompt.index),
            index=prompt.index,
            text=text,
            prompt=prompt.text,
            words=dict(prompt.words),
            features=[f.name for f in prompt.features],
            opening=prompt.opening.name if prompt.opening else None,
            template=job.sampler.template.name,
            template_sha=job.sampler.template.sha,
            teacher=job.teacher_spec.name,
            sampling=config.sampling(request_seed(config.seed, prompt.index, k)).to_dict(),
            seed=config.seed,
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
            finish_reason=completion.finish_reason,
            candidates=config.best_of,
            candidate=k,
            words_used=used,
        )
        story.reason = verify(story)
        repetition = duplicate_ngram_fraction(words(text), 5)
        ranked.append(((story.reason is None, len(used), -repetition, -k), story))
    return max(ranked, key=lambda pair: pair[0])[1]


def _progress(total: int, initial: int, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(
        total=total,
        initial=initial,
        unit="story",
        desc="generate",
        file=sys.stderr,
        dynamic_ncols=True,
        mininterval=0.5,
    )


def _log_run(job: StoriesJob, summary: Summary) -> None:
    """Append this run's figures; the card sums them over every run that built the folder."""
    runs = job.folder.state / "runs.jsonl"
    if job.folder.state.exists():
        with open(runs, "a") as f:
            f.write(json.dumps({"finished_at": time.time(), **summary.to_dict()}) + "\n")


def _count_all(job: StoriesJob, summary: Summary) -> None:
    """Replace this run's counts by the folder's totals (earlier runs included)."""
    kept = job.folder.read("data", ["index"])
    rejected = job.folder.read("rejected", ["reason"])
    summary.kept = kept.num_rows
    summary.rejected = Counter(rejected.column("reason").to_pylist())


def generate_stories(
    config: StoriesConfig,
    verify: Verify,
    teacher: Teacher | None = None,
    progress: bool = True,
    teacher_options: dict | None = None,
) -> Summary:
    """Prepare, start the teacher if there is work and none was given, run, close what was opened."""
    given = TeacherSpec("given", "", teacher.name) if teacher is not None else None
    job = prepare_stories(config, given)
    own = teacher is None and bool(job.pending)
    if own:
        options = {
            "concurrency": config.concurrency,
            "kv_cache_gib": config.kv_cache_gib,
            "seed": config.seed,
        } | (teacher_options or {})
        teacher = job.teacher_spec.open(**options)
    try:
        return run_stories(job, teacher, verify, progress)
    finally:
        if own:
            teacher.close()
