"""The sense check a generator runs on rows that passed its cheap checks (drop reason `nonsense`).

    check = sense_check("auto")              # None when no judge is available
    with check.opened(teacher) as judge:     # the teacher's own engine when it is the judge
        judge(records, "story")              # sets .sense; a row below the threshold -> nonsense

`--judge auto` (the default) is `$SCHOOLHOUSE_JUDGE` when set, else the default judge
(`embedded`) when its package is installed, else no check (the summary's `judge` is null). The threshold is the judge's fitted one (`weights.json`)
unless `--min-sense` sets another.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ...teacher import Teacher, TeacherSpec, opened, resolve_teacher
from . import DEFAULT_JUDGE, SenseJudge, weights_for

ENV = "SCHOOLHOUSE_JUDGE"
OFF = ("none", "off", "")


def default_judge() -> str | None:
    """The judge `auto` means here: $SCHOOLHOUSE_JUDGE, else the default one if installed."""
    if ENV in os.environ:
        value = os.environ[ENV].strip()
        return None if value.lower() in OFF else value
    from ...teacher.embedded import EMBEDDED, EmbeddedModelError, part_paths

    try:
        part_paths(EMBEDDED[DEFAULT_JUDGE])
    except EmbeddedModelError:
        return None
    return DEFAULT_JUDGE


@dataclass
class SenseCheck:
    spec: TeacherSpec
    threshold: float
    fitted: bool  # the judge has fitted weights (else its rubric's P(Yes) is the score)
    batch: int = 32  # prompts generated, then judged together

    def job_info(self) -> dict:
        """What the folder's job records: a rerun with another judge or threshold is refused."""
        return {"judge": self.spec.name, "min_sense": self.threshold}

    @contextmanager
    def reader(self, teacher: Teacher | None, settings: dict | None = None) -> Iterator:
        """The SenseJudge: on `teacher` when it is the judge's model, on an engine of its own
        otherwise (closed on the way out)."""
        from . import JUDGE_ENGINE

        same = teacher if teacher is not None and teacher.name == self.spec.name else None
        with opened(self.spec, (settings or {}) | JUDGE_ENGINE, given=same) as judge_teacher:
            yield SenseJudge.load(judge_teacher)

    @contextmanager
    def opened(self, teacher: Teacher | None, settings: dict | None = None) -> Iterator:
        """A function (records, kind) -> None that sets each unrejected record's `sense` and
        rejects it as `nonsense` below the threshold."""
        with self.reader(teacher, settings) as judge:

            def check(records: list, kind: str) -> None:
                todo = [r for r in records if r.reason is None]
                items = ((str(i), r.text, kind) for i, r in enumerate(todo))
                for (i, _, _), verdict in judge.judge(items):
                    record = todo[int(i)]
                    record.sense = verdict.sense
                    if verdict.sense is not None and verdict.sense < self.threshold:
                        record.reason = "nonsense"

            yield check


def sense_check(
    judge: str, min_sense: float | None = None, batch: int = 32, spec: TeacherSpec | None = None
) -> SenseCheck | None:
    """The check `--judge` asks for, resolved (a bad spec fails here, before any work); None
    for `--judge none`, or `auto` with no judge available."""
    name = default_judge() if judge == "auto" else (None if judge.lower() in OFF else judge)
    if name is None:
        return None
    spec = spec or resolve_teacher(name)
    weights = weights_for(spec.name)
    threshold = min_sense if min_sense is not None else (weights or {}).get("threshold", 0.5)
    return SenseCheck(spec, float(threshold), weights is not None, batch)
