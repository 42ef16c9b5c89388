"""Prefect flows for lessons: the job `schoolhouse generate KIND` runs (`schoolhouse.jobs`), as
a check task and a generate task. `generate_stories.py`, `generate_textbooks.py` and
`generate_exercises.py` name one flow each (the deployments' entrypoints).

Defaults live in the config types only: a flow parameter left at None takes the config's
default, and `python -m flows.generate_KIND` takes the same options as `schoolhouse generate
KIND` (built from the same config). A failed teacher is retried by re-running the task:
generation resumes from what is on disk, so a retry costs only the requests that were in flight.
"""

from __future__ import annotations

from prefect import get_run_logger, task

from flows.options import command, on_runner
from schoolhouse import jobs
from schoolhouse.config import GenerateConfig
from schoolhouse.lessons.generation import prepare
from schoolhouse.teacher import TeacherError


def is_teacher_error(task, task_run, state) -> bool:
    return isinstance(state.data, TeacherError)


def kind(config: GenerateConfig):
    """The lesson kind with its checks, as the CLI builds it."""
    return jobs.lesson_kind(config)


@task
def check(config: GenerateConfig) -> int:
    """Fail fast on bad input (curriculum, templates, folder, teacher); return the prompts left."""
    return len(prepare(config, kind(config)).pending)


@task(retries=3, retry_delay_seconds=[10, 30, 90], retry_condition_fn=is_teacher_error)
def generate(config: GenerateConfig) -> dict:
    return jobs.generate(config, progress=False).to_dict()


def run(config: GenerateConfig) -> dict:
    logger = get_run_logger()
    logger.info(
        "%d of %d prompts to run into %s", check.submit(config).result(), config.n, config.out
    )
    summary = generate.submit(config).result()
    logger.info(
        "kept %d, rejected %s, %.0f output tok/s",
        summary["kept"],
        summary["rejected"],
        summary["output_tok_s"],
    )
    return summary


def main(config_type: type[GenerateConfig], flow, argv: list[str] | None = None) -> None:
    """`python -m flows.generate_KIND`: the options of `schoolhouse generate KIND`, then the flow."""
    from schoolhouse.cli import STORY_SHORT

    def run(config: GenerateConfig, values: dict) -> None:
        on_runner(flow, config.runner)(options=values)

    command(config_type, run, flow.name, STORY_SHORT, argv)
