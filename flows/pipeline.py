"""Prefect flow: the main job, one task per step; the same steps as `schoolhouse pipeline`.

    python -m flows.pipeline --web tests/fixtures/web --out out/pipeline    # local, no server

Each step is a task, so the Prefect UI shows where a run is and what each step took. A retried
task resumes its step (generation and annotation from their journals, pretraining from its last
checkpoint); a rerun of the flow with the same parameters skips the steps already done.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

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
    out: str = "out/pipeline",
    web: list[str] | None = None,
    stories: int = 64,
    textbooks: int = 16,
    annotate: int = 200,
    teacher: str = "embedded",
    grader: str | None = None,
    seed: int = 0,
    repo: str | None = None,
    options: dict | None = None,
) -> dict:
    """`options` sets any other PipelineConfig field (best_of, preset, steps, eval_prompts, ...)."""
    config = PipelineConfig(
        out=Path(out), web=[Path(w) for w in web or []], stories=stories, textbooks=textbooks,
        annotate=annotate, teacher=teacher, grader=grader, seed=seed, repo=repo,
        **(options or {}),
    )  # fmt: skip
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
    parser = argparse.ArgumentParser(description="Run the pipeline flow locally.")
    parser.add_argument("--out", default="out/pipeline", help="folder for every step's output")
    parser.add_argument("--web", action="append", default=[], help="web text (repeatable)")
    parser.add_argument("--stories", type=int, default=64, help="story prompts")
    parser.add_argument("--best-of", type=int, default=1, help="completions per story prompt")
    parser.add_argument("--textbooks", type=int, default=16, help="textbook prompts")
    parser.add_argument("--annotate", type=int, default=200, help="web documents to score")
    parser.add_argument("--teacher", default="embedded", help="'embedded', a folder or URL(s)")
    parser.add_argument("--grader", help="scores the web and grades the student (default: teacher)")
    parser.add_argument("--seed", type=int, default=0, help="seeds every step")
    parser.add_argument("--eval-prompts", type=int, default=10, help="GPT-Eval prompts")
    parser.add_argument("--repo", help="publish the training mix to this Hub repo")
    args = parser.parse_args(argv)
    state = pipeline_flow(
        out=args.out, web=args.web, stories=args.stories, textbooks=args.textbooks,
        annotate=args.annotate, teacher=args.teacher, grader=args.grader, seed=args.seed,
        repo=args.repo,
        options={"best_of": args.best_of, "eval_prompts": args.eval_prompts},
    )  # fmt: skip
    print(format_steps(state))
    report = state["steps"].get("report", {}).get("result", {}).get("path")
    if report:
        print(f"report: {report}")


if __name__ == "__main__":
    main()
