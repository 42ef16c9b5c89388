"""Prefect flow: ReST-EM self-training of the teacher, the job `schoolhouse selftrain KIND` runs.

    python -m flows.selftrain --kind exercises --out runs/rest-exercises --iterations 3
    python -m flows.selftrain --help          # the options of `schoolhouse selftrain`

Every step of the loop resumes from the run folder (rounds row by row, fine-tunes from their
checkpoints, benchmarks problem by problem), so a crashed task is retried by running it again.
A run that cannot go on (bad settings, a round where no answer passed) is not retried: it would
stop the same way again.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task

from flows.options import build, command, on_runner
from schoolhouse.config import SelfTrainConfig
from schoolhouse.jobs import JOBS
from schoolhouse.options import fail
from schoolhouse.report.selftrain import table


def is_transient(task, task_run, state) -> bool:
    error = state.data
    return isinstance(error, Exception) and not isinstance(error, ValueError)


@task(retries=2, retry_delay_seconds=[10, 60], retry_condition_fn=is_transient)
def run_selftrain(config: SelfTrainConfig) -> dict:
    return JOBS["selftrain"].run(config, progress=False, log=print)


@flow(name="selftrain", log_prints=True)
def selftrain_flow(
    kind: str,
    out: str,
    teacher: str | None = None,
    iterations: int | None = None,
    options: dict | None = None,
) -> dict:
    """None takes SelfTrainConfig's default; `options` sets any other field (samples, cap, ...)."""
    config = build(SelfTrainConfig, options, kind=kind, out=Path(out), teacher=teacher,
                   iterations=iterations)  # fmt: skip
    summary = run_selftrain(config)
    get_run_logger().info("\n".join(table(summary) + [f"iterations.json and report.md in {out}"]))
    return summary


def main(argv: list[str] | None = None) -> None:
    """`python -m flows.selftrain`: the options of `schoolhouse selftrain KIND` (and --kind),
    then the flow."""

    def run(config: SelfTrainConfig, values: dict) -> None:
        from schoolhouse.selftrain.loop import SelfTrainError, check_run_folder

        try:
            check_run_folder(config)  # one line naming the flag, before Prefect starts
        except SelfTrainError as e:
            fail(str(e))
        for named in ("kind", "out", "teacher", "iterations"):
            values.pop(named)
        on_runner(selftrain_flow, config.runner)(
            kind=config.kind, out=str(config.out), teacher=config.teacher,
            iterations=config.iterations, options=values,
        )  # fmt: skip

    job = JOBS["selftrain"]
    command(job.config, run, "selftrain", job.short, argv)


if __name__ == "__main__":
    main()
