"""Prefect flow: Python exercises, the same functions as `schoolhouse generate exercises`.

    python -m flows.generate_exercises --n 50 --out out/exercises-flow   # local, no server needed

A failed teacher is retried by re-running the task: generation resumes from what is on disk.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from prefect import flow, get_run_logger, task

from filters import verifier
from flows.generate_stories import is_teacher_error
from schoolhouse.config import ExercisesConfig
from schoolhouse.exercises import ExercisesKind
from schoolhouse.generation import generate as generate_rows
from schoolhouse.generation import prepare


def kind(config: ExercisesConfig) -> ExercisesKind:
    verify = verifier(config)
    return ExercisesKind.load(config, verify)


@task
def check(config: ExercisesConfig) -> int:
    """Fail fast on bad input (topics, templates, folder, teacher); return the prompts left."""
    return len(prepare(config, kind(config)).pending)


@task(retries=3, retry_delay_seconds=[10, 30, 90], retry_condition_fn=is_teacher_error)
def generate(config: ExercisesConfig) -> dict:
    return generate_rows(config, kind(config), progress=False).to_dict()


@flow(name="generate-exercises", log_prints=True)
def generate_exercises_flow(
    n: int = 100,
    out: str = "out/exercises",
    seed: int = 0,
    teacher: str = "embedded-coder",
    refine: bool = False,
    options: dict | None = None,
) -> dict:
    """`options` sets any other ExercisesConfig field (topics, timeout_s, max_tokens, ...)."""
    config = ExercisesConfig(
        n=n, out=Path(out), seed=seed, teacher=teacher, refine=refine, **(options or {})
    )
    logger = get_run_logger()
    logger.info("%d of %d prompts to run into %s", check(config), n, out)
    summary = generate(config)
    logger.info("kept %d, rejected %s", summary["kept"], summary["rejected"])
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the generate-exercises flow locally.")
    parser.add_argument("--n", type=int, default=100, help="prompts to run")
    parser.add_argument("--out", default="out/exercises", help="dataset folder")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed")
    parser.add_argument(
        "--teacher", default="embedded-coder", help="'embedded', a folder, or URL(s)"
    )
    parser.add_argument("--refine", action="store_true", help="draft, critique, revise")
    args = parser.parse_args(argv)
    generate_exercises_flow(
        n=args.n, out=args.out, seed=args.seed, teacher=args.teacher, refine=args.refine
    )


if __name__ == "__main__":
    main()
