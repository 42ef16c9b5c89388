"""Prefect flow: lessons of one kind, the job `schoolhouse generate KIND` runs, as a check task
and a generate task. One flow for every lesson kind in `schoolhouse.jobs.JOBS`; its `kind`
parameter picks the job (the deployments in prefect.yaml: `generate/stories-nightly`, ...).

    python -m flows.generate stories -n 50 --out out/stories-flow    # local, no server needed
    python -m flows.generate textbooks --help                        # the CLI's options

Defaults live in the config types only: a flow parameter left at None takes the config's
default, and `python -m flows.generate KIND` takes the same options as `schoolhouse generate
KIND` (built from the same config). A failed teacher is retried by re-running the task:
generation resumes from what is on disk, so a retry costs only the requests that were in flight.
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task

from flows.options import build, flow_command, on_runner
from schoolhouse.config import GenerateConfig
from schoolhouse.jobs import JOBS, LESSON_KINDS, lesson_kind
from schoolhouse.lessons.generation import prepare
from schoolhouse.teacher import TeacherError


def is_teacher_error(task, task_run, state) -> bool:
    return isinstance(state.data, TeacherError)


@task
def check(config: GenerateConfig) -> int:
    """Fail fast on bad input (curriculum, templates, folder, teacher); return the prompts left."""
    return len(prepare(config, lesson_kind(config)).pending)


@task(retries=3, retry_delay_seconds=[10, 30, 90], retry_condition_fn=is_teacher_error)
def generate(kind: str, config: GenerateConfig) -> dict:
    return JOBS[kind].run(config, progress=False).to_dict()


def job_config(kind: str, options: dict | None, **given) -> GenerateConfig:
    """The config of lesson kind `kind` from the flow's parameters."""
    if kind not in LESSON_KINDS:
        raise ValueError(f"kind: {kind!r} is not a lesson kind ({', '.join(LESSON_KINDS)})")
    return build(JOBS[kind].config, options, **given)


@flow(name="generate", flow_run_name="generate-{kind}", log_prints=True)
def generate_flow(
    kind: str,
    n: int = 100,
    out: str | None = None,
    seed: int | None = None,
    teacher: str | None = None,
    best_of: int | None = None,
    refine: bool | None = None,
    options: dict | None = None,
) -> dict:
    """`kind`: stories, textbooks or exercises (`schoolhouse generate KIND`); `out` None is
    out/KIND. None takes the kind's config default (exercises: the coder teacher); `options`
    sets any other field (max_tokens, steer, topics, ...)."""
    config = job_config(kind, options, n=n, out=out or f"out/{kind}", seed=seed,
                        teacher=teacher, best_of=best_of, refine=refine)  # fmt: skip
    logger = get_run_logger()
    logger.info(
        "%d of %d prompts to run into %s", check.submit(config).result(), config.n, config.out
    )
    summary = generate.submit(kind, config).result()
    logger.info(
        "kept %d, rejected %s, %.0f output tok/s",
        summary["kept"],
        summary["rejected"],
        summary["output_tok_s"],
    )
    return summary


def lesson_command(kind: str):
    """`python -m flows.generate KIND`: the options of `schoolhouse generate KIND` (the job's
    config type and flags), then the flow."""
    job = JOBS[kind]

    def run(config: GenerateConfig, values: dict) -> None:
        on_runner(generate_flow, config.runner)(kind=kind, options=values)

    return flow_command(job.config, run, "generate", job.short, help=job.help)


def main(argv: list[str] | None = None) -> None:
    """`python -m flows.generate KIND`: one command per lesson kind in `JOBS`."""
    import click

    group = click.Group(
        "generate",
        help="Run the generate flow locally (no server needed): one command per lesson kind, "
        "with the options of `schoolhouse generate KIND`.",
    )
    for kind in LESSON_KINDS:
        group.add_command(lesson_command(kind), kind)
    group.main(argv, prog_name="python -m flows.generate")


if __name__ == "__main__":
    main()
