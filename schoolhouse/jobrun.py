"""The skeleton every teacher-driven job shares: generation (stories, textbooks, exercises) and
annotation run through it, so they resume, show progress, log and close alike.

    def my_job(config, teacher=None, progress=True, teacher_options=None):
        return with_teacher(prepare, run, config, teacher, progress, teacher_options)

    def run(job, teacher, progress):
        if open_run(job.folder, job.job, job.config):                  # sealed a crash's journal
            job.done = job.folder.done_ids()                           # so what is pending changed
        summary = Summary(...)
        with progress_run(job.folder, summary, total, done, "doc", "annotate", progress) as r:
            for row in rows_from(teacher):
                r.write(row)                                           # journal, count, bar

`prepare(config, teacher_spec)` checks everything (config, output folder, teacher spec) and
raises a one-line error before any engine starts; the teacher is opened only when something is
pending. Whatever happens inside `progress_run`, the folder's journal is closed and the run's
summary is logged in the folder's state, so a run killed or failed halfway leaves a folder that
the same command finishes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .datasets.folder import DatasetFolder, progress_bar, write_atomic
from .teacher import Opener, Teacher, TeacherSpec, opened, settings_of


def open_run(folder: DatasetFolder, job: dict, config) -> bool:
    """Open the folder for this run and record the run's config beside its rows. True when an
    interrupted run's journal was sealed into shards: what is done must be read again."""
    resumed = folder.open(job)
    write_atomic(folder.root / "config.json", config.model_dump_json(indent=2))
    return resumed


@dataclass
class ProgressRun:
    folder: DatasetFolder
    summary: Any  # counts `written`; `wall_s` and `to_dict()` are logged at the end
    bar: Any
    started: float

    @property
    def elapsed(self) -> float:
        return max(time.monotonic() - self.started, 1e-9)

    def write(self, row: dict, status: str | None = None) -> None:
        """Append one finished row (kept or rejected) and move the bar, with `status` beside it."""
        self.folder.append(row)
        self.summary.written += 1
        if self.bar:
            if status:
                self.bar.set_postfix_str(status, refresh=False)
            self.bar.update(1)


@contextmanager
def progress_run(
    folder: DatasetFolder, summary, total: int, done: int, unit: str, desc: str, progress: bool
) -> Iterator[ProgressRun]:
    """Rows are written inside; on the way out, however it ends, the journal is closed, the wall
    time set and the summary logged in the folder's state."""
    run = ProgressRun(folder, summary, progress_bar(total, done, progress, unit, desc),
                      time.monotonic())  # fmt: skip
    try:
        yield run
    finally:
        summary.wall_s = run.elapsed
        folder.close()
        if run.bar:
            run.bar.close()
        folder.log_run(summary.to_dict())


def with_teacher(
    prepare: Callable,
    run: Callable,
    config,
    teacher: Teacher | None = None,
    progress: bool = True,
    teacher_options: dict | None = None,
    check: Callable[[Teacher], None] | None = None,
    opener: Opener | None = None,
):
    """Prepare, start the teacher if there is work and none was given (by `opener` when the
    composition layer hands one in: Ray actors under `--runner ray`), run, close what was
    opened. A given teacher is recorded under its own name."""
    given = TeacherSpec("given", "", teacher.name) if teacher is not None else None
    job = prepare(config, given)
    settings = settings_of(config) | (teacher_options or {})
    with opened(job.teacher_spec, settings, given=teacher, needed=bool(job.pending), check=check,
                opener=opener) as teacher:  # fmt: skip
        return run(job, teacher, progress)
