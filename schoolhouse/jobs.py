"""Each job, defined once: its config type, its core run, and the checks and teacher it is handed.

The core takes checks as arguments and never imports `filters`; this module is where the two
meet. `JOBS` is the one table of the jobs the CLI and the Prefect flows run (`schoolhouse
generate KIND` has one command per lesson kind in it, `flows/generate.py` one flow over them),
and the main job (`pipeline.py`) runs the same functions, so a `generate stories` is the same
job whichever of them starts it:

    job = JOBS["stories"]                    # or any other name in JOBS
    summary = job.run(job.config(n=8, out="out/stories"))

`checks_for(config)` is a lesson config's verification (what decides kept or rejected);
`web_rules(name)` the heuristic rule set `--rules` names.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from .config import (
    AnnotateConfig,
    ExercisesConfig,
    GenerateConfig,
    HumanEvalConfig,
    JudgeConfig,
    SelfTrainConfig,
    StoriesConfig,
    TextbooksConfig,
    WebFilterConfig,
)
from .lessons.generation import Kind, Summary, Verify
from .options import ANNOTATE_SHORT, LESSON_SHORT
from .teacher import Opener, Teacher


def checks_for(config: GenerateConfig) -> Verify:
    """A lesson config's checks as one callable (records -> None, setting `.reason`)."""
    from filters import apply_filters, exercise_filters, story_filters, textbook_filters

    if isinstance(config, StoriesConfig):
        checks = story_filters(config.min_words, config.max_words)
    elif isinstance(config, TextbooksConfig):
        checks = textbook_filters(config.min_tokens, code=code_check(config))
    elif isinstance(config, ExercisesConfig):
        checks = exercise_filters()
    else:
        raise TypeError(f"no verification checks for {type(config).__name__}")
    return functools.partial(apply_filters, checks)


def code_check(config: TextbooksConfig):
    """The sandbox check of a section's Python blocks, or None: --no-run-code, or no sandbox
    here (model-written code is never run unsandboxed to check a textbook; a warning says so)."""
    if not config.run_code:
        return None
    from filters import CodeRuns

    from .sandbox import isolation, run_tests

    if isolation() != "bwrap":
        print(
            "warning: no sandbox (bubblewrap) here: the textbooks' code is not run "
            "(install bubblewrap, `make sandbox`, to drop sections whose code fails)",
            file=sys.stderr,
        )
        return None
    return CodeRuns(functools.partial(run_tests, mode="bwrap"))


def lesson_kind(config: GenerateConfig, verify: Verify | None = None) -> Kind:
    """The kind object that writes and verifies `config`'s lessons, with its checks."""
    from .lessons.exercises import ExercisesKind
    from .lessons.stories import StoriesKind
    from .lessons.textbooks import TextbooksKind

    kinds = {StoriesConfig: StoriesKind, TextbooksConfig: TextbooksKind,
             ExercisesConfig: ExercisesKind}  # fmt: skip
    kind = kinds.get(type(config))
    if kind is None:
        raise TypeError(f"no lesson kind for {type(config).__name__}")
    kind = kind.load(config, verify if verify is not None else checks_for(config))
    kind.sense = sense_for(config)
    return kind


def sense_for(config: GenerateConfig):
    """The sense check of a prose config's `--judge` (None: off, or no judge available)."""
    if not hasattr(config, "judge"):
        return None
    from .graders.sense.check import sense_check

    return sense_check(config.judge, config.min_sense, config.judge_batch)


def opener_for(config) -> Opener | None:
    """How a job's teacher is opened: on the Ray cluster's actors under `--runner ray`
    (`cluster/teacher.py`), in this process otherwise (None). The core never imports the
    cluster: every job run from here is handed this, unless the caller hands in an `opener`
    of its own (the main job lends its one engine to each step)."""
    if getattr(config, "runner", "local") != "ray":
        return None
    from .cluster.teacher import RayTeacher

    return lambda spec, settings: RayTeacher(spec, settings, config.actors)


def _opener(config, options: dict) -> Opener | None:
    """The caller's `opener` (taken out of `options`), else `opener_for(config)`."""
    return options.pop("opener", None) or opener_for(config)


def generate(
    config: GenerateConfig, teacher: Teacher | None = None, progress: bool = True, **options: Any
) -> Summary:
    """`schoolhouse generate KIND`: prompts -> teacher -> checks -> dataset folder."""
    from .lessons import generation

    return generation.generate(config, lesson_kind(config), teacher, progress,
                               opener=_opener(config, options),
                               **options)  # fmt: skip


def annotate(
    config: AnnotateConfig, teacher: Teacher | None = None, progress: bool = True, **options: Any
):
    """`schoolhouse annotate`: the teacher scores documents for educational value."""
    from .graders.annotation import annotate as run

    return run(config, teacher, progress, opener=_opener(config, options), **options)


def judge(config: JudgeConfig, teacher: Teacher | None = None, progress: bool = True,
          **options: Any):  # fmt: skip
    """`schoolhouse judge`: a sense score for every row."""
    from .graders.sense.job import judge_rows

    return judge_rows(config, teacher, progress, opener=_opener(config, options), **options)


def humaneval(config: HumanEvalConfig, teacher: Teacher | None = None, progress: bool = True,
              **options: Any):  # fmt: skip
    """`schoolhouse teacher humaneval`: a teacher's pass@k on HumanEval, in the sandbox."""
    from .graders.humaneval import humaneval as run

    return run(config, teacher, progress, opener=_opener(config, options), **options)


def web_rules(name: str):
    """The heuristic rule set `--rules NAME` runs, as the web filter takes it."""
    from filters import RULE_SETS, apply_filters, web_filters

    from .graders.judge import Rules

    return Rules(name, RULE_SETS[name], functools.partial(apply_filters, web_filters(name)))


def filter_web(config: WebFilterConfig, log=print):
    """`schoolhouse filter`: heuristics, classifier, dedup, decontamination, in that order."""
    from .graders import webfilter

    rules = web_rules(config.rules) if config.heuristics else None
    cluster = None
    if config.runner == "ray":
        from .cluster.webfilter import judged_on_cluster as cluster
    return webfilter.filter_web(config, rules, log, cluster)


def selftrain(
    config: SelfTrainConfig,
    teacher: Teacher | None = None,
    progress: bool = True,
    log=print,
    **options: Any,
) -> dict:
    """`schoolhouse selftrain KIND`: ReST-EM on exercises (problems written by `generate
    exercises`, rewarded by their tests) or stories (rewarded by the story filters)."""
    from .selftrain.loop import selftrain as loop

    return loop(
        config,
        task_for,
        teacher,
        progress,
        log=log,
        opener=_opener(config, options),
        **options,
    )


def task_for(config: SelfTrainConfig, teacher: Teacher | None = None):
    """The self-training task with its checks: exercise problems (generated into the run folder
    unless `--exercises` names a folder) or story prompts."""
    from .selftrain import tasks

    if config.kind == "stories":
        stories = StoriesConfig(n=1, out=config.out / "stories", teacher=config.teacher,
                                seed=config.seed, steer=False, temperature=config.temperature,
                                top_p=config.top_p, max_tokens=config.max_tokens,
                                min_words=config.min_words, max_words=config.max_words)  # fmt: skip
        kind = lesson_kind(stories)
        task = tasks.StoriesTask(kind, stories, config)
        task.problems = functools.partial(task.problems, 0, config.problems)
        return task
    folder = config.exercises
    if folder is None:
        folder = config.out / "problems"
        exercises = ExercisesConfig(n=config.problems, out=folder, teacher=config.teacher,
                                    seed=config.seed, timeout_s=config.timeout_s,
                                    workers=config.workers, kv_cache_gib=config.kv_cache_gib,
                                    unsafe_no_sandbox=config.unsafe_no_sandbox,
                                    runner=config.runner, actors=config.actors)  # fmt: skip
        generate(exercises, teacher, progress=True)
    return tasks.ExercisesTask(tasks.exercise_rows(folder), config)


@dataclass(frozen=True)
class Job:
    """A job as the CLI and the flows run it: `run(config, **options)` -> its summary. `short`
    names the flags that are not `--FIELD` (`schoolhouse.options`); `help` is the command's,
    where the command is built from this table (`schoolhouse generate KIND`)."""

    name: str
    config: type[BaseModel]
    run: Callable[..., Any]
    short: Mapping[str, str] = field(default_factory=dict)
    help: str = ""


JOBS = {
    "stories": Job(
        "stories", StoriesConfig, generate, LESSON_SHORT,
        help="""TinyStories-style stories under random noun/verb/adjective and feature constraints.

        Each of the -n prompts ends as exactly one kept row (data/) or one rejected row
        (rejected/, with its reason). Rerunning the same command resumes an interrupted run.
        """,
    ),
    "textbooks": Job(
        "textbooks", TextbooksConfig, generate, LESSON_SHORT,
        help="""Textbook lessons (phi-1.5 / Cosmopedia): a topic x audience x style x words per prompt.

        Lessons that are truncated, shorter than --min-tokens, looping, or share a 13-gram with
        HumanEval are rejected with their reason. Rerunning the same command resumes.
        """,
    ),
    "exercises": Job(
        "exercises", ExercisesConfig, generate, LESSON_SHORT,
        help="""Python exercises (phi-1 CodeExercises): signature, docstring, solution and assert tests.

        Each answer is parsed and its tests run in the sandbox; unparseable, failing, timed-out
        and HumanEval-contaminated answers are rejected with their reason. Rerunning resumes.
        """,
    ),
    "filter": Job("filter", WebFilterConfig, filter_web),
    "annotate": Job("annotate", AnnotateConfig, annotate, ANNOTATE_SHORT),
    "judge": Job("judge", JudgeConfig, judge),
    "humaneval": Job("humaneval", HumanEvalConfig, humaneval),
    "selftrain": Job("selftrain", SelfTrainConfig, selftrain),
}  # fmt: skip

# the lesson kinds: `schoolhouse generate KIND`, `python -m flows.generate KIND`
LESSON_KINDS = tuple(name for name, job in JOBS.items() if issubclass(job.config, GenerateConfig))
