"""Prefect flow: the teacher scores documents for educational value, as `schoolhouse annotate`.

    python -m flows.annotate web/ -n 200 --out out/annotations      # local, no server needed
    python -m flows.annotate --help                                  # the CLI's options

A failed teacher is retried by re-running the task: annotation resumes from what is on disk.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task

from flows.options import build, command, on_runner
from schoolhouse.config import AnnotateConfig
from schoolhouse.graders.annotation import prepare_annotation
from schoolhouse.jobs import JOBS
from schoolhouse.teacher import TeacherError


def is_teacher_error(task, task_run, state) -> bool:
    return isinstance(state.data, TeacherError)


@task
def check(config: AnnotateConfig) -> int:
    """Fail fast on bad input (template, folder, inputs, teacher spec); return documents left."""
    return len(prepare_annotation(config).pending)


@task(retries=3, retry_delay_seconds=[10, 30, 90], retry_condition_fn=is_teacher_error)
def score(config: AnnotateConfig) -> dict:
    return JOBS["annotate"].run(config, progress=False).to_dict()


@flow(name="annotate", log_prints=True)
def annotate_flow(
    inputs: list[str],
    n: int,
    out: str,
    teacher: str | None = None,
    options: dict | None = None,
) -> dict:
    """None takes AnnotateConfig's default; `options` sets any other field (seed, first, ...)."""
    config = build(AnnotateConfig, options, inputs=[Path(p) for p in inputs], n=n, out=Path(out),
                   teacher=teacher)  # fmt: skip
    logger = get_run_logger()
    logger.info("%d documents to score into %s", check.submit(config).result(), out)
    summary = score.submit(config).result()
    logger.info("scored %d, rejected %s, histogram %s",
                summary["scored"], summary["rejected"], summary["histogram"])  # fmt: skip
    return summary


def main(argv: list[str] | None = None) -> None:
    """`python -m flows.annotate`: the options of `schoolhouse annotate`, then the flow."""

    def run(config: AnnotateConfig, values: dict) -> None:
        flow = on_runner(annotate_flow, config.runner)
        inputs, out = [str(p) for p in values.pop("inputs")], str(values.pop("out"))
        flow(inputs=inputs, n=values.pop("n"), out=out, options=values)

    job = JOBS["annotate"]  # the options of `schoolhouse annotate` (--grader, -n)
    command(job.config, run, "annotate", job.short, argv, arguments="inputs")


if __name__ == "__main__":
    main()
