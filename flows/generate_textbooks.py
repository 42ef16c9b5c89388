"""Prefect flow: textbook lessons, the job `schoolhouse generate textbooks` runs.

python -m flows.generate_textbooks -n 50 --out out/textbooks-flow   # local, no server needed
"""

from __future__ import annotations

from prefect import flow

from flows.generate import check, generate, is_teacher_error, kind, main, run
from flows.options import build
from schoolhouse.config import TextbooksConfig

__all__ = ["check", "generate", "generate_textbooks_flow", "is_teacher_error", "kind"]


@flow(name="generate-textbooks", log_prints=True)
def generate_textbooks_flow(
    n: int = 100,
    out: str = "out/textbooks",
    seed: int | None = None,
    teacher: str | None = None,
    refine: bool | None = None,
    options: dict | None = None,
) -> dict:
    """None takes TextbooksConfig's default; `options` sets any other field (topics, ...)."""
    config = build(TextbooksConfig, options, n=n, out=out, seed=seed, teacher=teacher,
                   refine=refine)  # fmt: skip
    return run(config)


if __name__ == "__main__":
    main(TextbooksConfig, generate_textbooks_flow)
