"""Prefect flow: TinyStories-style stories, the same functions as `schoolhouse generate stories`.

    python -m flows.generate_stories --n 50 --out out/stories-flow      # local, no server needed

A failed teacher is retried by re-running the task: generation resumes from what is on disk, so
a retry costs only the requests that were in flight.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from prefect import flow, get_run_logger, task

from filters import verifier
from schoolhouse.config import StoriesConfig
from schoolhouse.generation import generate_stories, prepare_stories
from schoolhouse.teacher import TeacherError


def is_teacher_error(task, task_run, state) -> bool:
    return isinstance(state.data, TeacherError)


@task
def check(config: StoriesConfig) -> int:
    """Fail fast on bad input (curriculum, folder, teacher spec); return the prompts left to run."""
    return len(prepare_stories(config).pending)


@task(retries=3, retry_delay_seconds=[10, 30, 90], retry_condition_fn=is_teacher_error)
def generate(config: StoriesConfig) -> dict:
    verify = verifier(config)
    return generate_stories(config, verify, progress=False).to_dict()


@flow(name="generate-stories", log_prints=True)
def generate_stories_flow(
    n: int = 100,
    out: str = "out/stories",
    seed: int = 0,
    teacher: str = "embedded",
    best_of: int = 1,
    refine: bool = False,
    options: dict | None = None,
) -> dict:
    """`options` sets any other StoriesConfig field (max_tokens, temperature, ...)."""
    config = StoriesConfig(
        n=n,
        out=Path(out),
        seed=seed,
        teacher=teacher,
        best_of=best_of,
        refine=refine,
        **(options or {}),
    )
    logger = get_run_logger()
    logger.info("%d of %d prompts to run into %s", check(config), n, out)
    summary = generate(config)
    logger.info(
        "kept %d, rejected %s, %.0f output tok/s",
        summary["kept"],
        summary["rejected"],
        summary["output_tok_s"],
    )
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the generate-stories flow locally.")
    parser.add_argument("--n", type=int, default=100, help="prompts to run")
    parser.add_argument("--out", default="out/stories", help="dataset folder")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed")
    parser.add_argument(
        "--teacher", default="embedded", help="'embedded', a model folder, or URL(s)"
    )
    parser.add_argument("--best-of", type=int, default=1, help="completions per prompt")
    parser.add_argument(
        "--no-steer", action="store_true", help="plain sampling, then filtering (no steering)"
    )
    args = parser.parse_args(argv)
    generate_stories_flow(
        n=args.n,
        out=args.out,
        seed=args.seed,
        teacher=args.teacher,
        best_of=args.best_of,
        options={"steer": False} if args.no_steer else None,
    )


if __name__ == "__main__":
    main()
