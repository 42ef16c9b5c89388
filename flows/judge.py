"""Prefect flow: a judge model scores how much each text makes sense, as `schoolhouse judge`.

    python -m flows.judge out/stories --out out/stories-judged     # local, no server needed
    python -m flows.judge --help                                     # the CLI's options

A failed judge is retried by re-running the task: judging resumes from what is on disk.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task

from flows.options import build, command, on_runner
from schoolhouse.config import JudgeConfig
from schoolhouse.graders.sense.job import prepare_judging
from schoolhouse.jobs import JOBS
from schoolhouse.teacher import TeacherError


def is_teacher_error(task, task_run, state) -> bool:
    return isinstance(state.data, TeacherError)


@task
def check(config: JudgeConfig) -> int:
    """Fail fast on bad input (inputs, kinds, folder, judge spec); return rows left."""
    return len(prepare_judging(config).pending)


@task(retries=3, retry_delay_seconds=[10, 30, 90], retry_condition_fn=is_teacher_error)
def judge(config: JudgeConfig) -> dict:
    return JOBS["judge"].run(config, progress=False).to_dict()


@flow(name="judge", log_prints=True)
def judge_flow(inputs: list[str], out: str, options: dict | None = None) -> dict:
    """`options` sets any other field of JudgeConfig (judge, kind, rejected, ...)."""
    config = build(JudgeConfig, options, inputs=[Path(p) for p in inputs], out=Path(out))
    logger = get_run_logger()
    logger.info("%d rows to judge into %s", check.submit(config).result(), out)
    summary = judge.submit(config).result()
    logger.info("judged %d (%s), by kind %s", summary["judged"], summary["method"],
                summary["by_kind"])  # fmt: skip
    return summary


def main(argv: list[str] | None = None) -> None:
    """`python -m flows.judge`: the options of `schoolhouse judge`, then the flow."""

    def run(config: JudgeConfig, values: dict) -> None:
        flow = on_runner(judge_flow, config.runner)
        inputs, out = [str(p) for p in values.pop("inputs")], str(values.pop("out"))
        flow(inputs=inputs, out=out, options=values)

    job = JOBS["judge"]
    command(job.config, run, "judge", job.short, argv, arguments="inputs")


if __name__ == "__main__":
    main()
