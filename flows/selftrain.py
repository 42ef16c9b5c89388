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
from schoolhouse import jobs
from schoolhouse.config import SelfTrainConfig


def is_transient(task, task_run, state) -> bool:
    error = state.data
    return isinstance(error, Exception) and not isinstance(error, ValueError)


@task(retries=2, retry_delay_seconds=[10, 60], retry_condition_fn=is_transient)
def run_selftrain(config: SelfTrainConfig) -> dict:
    return jobs.selftrain(config, progress=False, log=print)


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
    logger = get_run_logger()
    for entry in summary["iterations"]:
        he = entry.get("humaneval", {}).get("pass@1")
        logger.info(
            "T%d: round reward %s, held-out passed %s, HumanEval pass@1 %s",
            entry["iteration"],
            _share(entry.get("samples")),
            _share(entry.get("held_out")),
            f"{he:.3f}" if he is not None else "-",
        )
    logger.info("iterations.json and report.md in %s", config.out)
    return summary


def _share(counts: dict | None) -> str:
    return f"{counts['passed']}/{counts['answers']}" if counts else "-"


def main(argv: list[str] | None = None) -> None:
    """`python -m flows.selftrain`: the options of `schoolhouse selftrain KIND` (and --kind),
    then the flow."""

    def run(config: SelfTrainConfig, values: dict) -> None:
        from schoolhouse.cli.options import fail
        from schoolhouse.selftrain.loop import SelfTrainError, check_run_folder

        try:
            check_run_folder(config)  # one line naming the flag, before Prefect starts
        except SelfTrainError as e:
            fail(str(e))
        values = {k: v for k, v in values.items() if k not in ("kind", "out", "teacher",
                                                                "iterations")}  # fmt: skip
        on_runner(selftrain_flow, config.runner)(
            kind=config.kind, out=str(config.out), teacher=config.teacher,
            iterations=config.iterations, options=values,
        )  # fmt: skip

    command(SelfTrainConfig, run, "selftrain", None, argv)


if __name__ == "__main__":
    main()
