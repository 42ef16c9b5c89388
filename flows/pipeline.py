"""Prefect flow: the main job, one task per step; the same steps as `schoolhouse pipeline`.

    python -m flows.pipeline --web tests/fixtures/web --out out/pipeline    # local, no server

Each step is a task, so the Prefect UI shows where a run is and what each step took. A retried
task resumes its step (generation and annotation from their journals, pretraining from its last
checkpoint); a rerun of the flow with the same parameters skips the steps already done.
"""

from __future__ import annotations

import sys

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.options import build, command
from schoolhouse.datasets.readers import check_web_inputs
from schoolhouse.options import fail
from schoolhouse.pipeline import STEPS, Pipeline, PipelineConfig, format_steps
from schoolhouse.teacher import TeacherError


def is_transient(task, task_run, state) -> bool:
    """A teacher that fell over is worth another try; bad input or settings are not."""
    error = state.data
    return isinstance(error, TeacherError | OSError) and not isinstance(error, ValueError)


@task(
    cache_policy=NO_CACHE,  # the pipeline object holds an open engine: nothing to hash or cache
    retries=2,
    retry_delay_seconds=[10, 60],
    retry_condition_fn=is_transient,
    task_run_name="{name}",
)
def step(pipeline: Pipeline, name: str) -> dict:
    return pipeline.step(name, progress=sys.stderr.isatty())  # bars in a terminal, not in logs


@flow(name="pipeline", log_prints=True)
def pipeline_flow(
    out: str | None = None,
    web: list[str] | None = None,
    stories: int | None = None,
    textbooks: int | None = None,
    annotate: int | None = None,
    teacher: str | None = None,
    grader: str | None = None,
    seed: int | None = None,
    repo: str | None = None,
    options: dict | None = None,
) -> dict:
    """None takes PipelineConfig's default; `options` sets any other field (best_of, preset,
    steps, eval_prompts, ...)."""
    config = build(PipelineConfig, options, out=out, web=web, stories=stories,
                   textbooks=textbooks, annotate=annotate, teacher=teacher, grader=grader,
                   seed=seed, repo=repo)  # fmt: skip
    logger = get_run_logger()
    pipeline = Pipeline(config, log=logger.info)
    try:
        for name in STEPS:
            step(pipeline, name)
    finally:
        pipeline.teachers.close()
    report = pipeline.state["steps"].get("report", {}).get("result", {}).get("path")
    logger.info("report: %s", report)
    return pipeline.state


def main(argv: list[str] | None = None) -> None:
    """`python -m flows.pipeline`: the options of `schoolhouse pipeline`, then the flow."""

    def run(config: PipelineConfig, values: dict) -> None:
        try:
            check_web_inputs(config.web)  # one line naming the input, before Prefect starts
        except ValueError as e:
            fail(str(e))
        state = pipeline_flow(options=values)
        print(format_steps(state))
        report = state["steps"].get("report", {}).get("result", {}).get("path")
        if report:
            print(f"report: {report}")

    command(PipelineConfig, run, "pipeline", argv=argv)


if __name__ == "__main__":
    main()
