"""Prefect flow: Python exercises, the job `schoolhouse generate exercises` runs.

python -m flows.generate_exercises -n 50 --out out/exercises-flow   # local, no server needed
"""

from __future__ import annotations

from prefect import flow

from flows.generate import check, generate, is_teacher_error, kind, main, run
from flows.options import build
from schoolhouse.config import ExercisesConfig

__all__ = ["check", "generate", "generate_exercises_flow", "is_teacher_error", "kind"]


@flow(name="generate-exercises", log_prints=True)
def generate_exercises_flow(
    n: int = 100,
    out: str = "out/exercises",
    seed: int | None = None,
    teacher: str | None = None,
    refine: bool | None = None,
    options: dict | None = None,
) -> dict:
    """None takes ExercisesConfig's default (the coder teacher); `options` sets any other field."""
    config = build(ExercisesConfig, options, n=n, out=out, seed=seed, teacher=teacher,
                   refine=refine)  # fmt: skip
    return run(config)


if __name__ == "__main__":
    main(ExercisesConfig, generate_exercises_flow)
