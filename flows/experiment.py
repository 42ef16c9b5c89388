"""Prefect flow: students trained on arms built from the same inputs, as `schoolhouse experiment`.

    python -m flows.experiment --out runs/phi --web web/ --classifier out/edu-clf --seeds 3
    python -m flows.experiment --help          # the options of `schoolhouse experiment`

The experiment resumes from its run folder, so a failed task is retried by running it again:
finished arms and students are kept, an interrupted student resumes from its checkpoint.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task

from flows.options import build, command
from schoolhouse.experiment import ExperimentConfig, check_inputs, experiment
from schoolhouse.options import fail


@task(retries=1, retry_delay_seconds=10)
def run_experiment(config: ExperimentConfig) -> list[dict]:
    return experiment(config, progress=False, log=print)


@flow(name="experiment", log_prints=True)
def experiment_flow(out: str, web: list[str], options: dict | None = None) -> list[dict]:
    """None takes ExperimentConfig's default; `options` sets any other field (tokens, seeds, ...)."""
    config = build(ExperimentConfig, options, out=Path(out), web=[Path(p) for p in web])
    results = run_experiment(config)
    trained = [r for r in results if not r.get("skipped")]
    get_run_logger().info("%d students judged; table in %s", len(trained), config.out / "README.md")
    return results


def main(argv: list[str] | None = None) -> None:
    """`python -m flows.experiment`: the options of `schoolhouse experiment`, then the flow."""

    def run(config: ExperimentConfig, values: dict) -> None:
        try:
            check_inputs(config)  # one line naming the flag, before Prefect starts
        except ValueError as e:
            fail(str(e))
        experiment_flow(out=str(values.pop("out")), web=[str(p) for p in values.pop("web")],
                        options=values)  # fmt: skip

    command(ExperimentConfig, run, "experiment", None, argv)


if __name__ == "__main__":
    main()
