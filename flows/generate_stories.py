"""Prefect flow: TinyStories-style stories, the job `schoolhouse generate stories` runs.

python -m flows.generate_stories -n 50 --out out/stories-flow      # local, no server needed
python -m flows.generate_stories --help                            # the CLI's options
"""

from __future__ import annotations

from prefect import flow

from flows.generate import check, generate, is_teacher_error, kind, main, run
from flows.options import build
from schoolhouse.config import StoriesConfig

__all__ = ["check", "generate", "generate_stories_flow", "is_teacher_error", "kind"]


@flow(name="generate-stories", log_prints=True)
def generate_stories_flow(
    n: int = 100,
    out: str = "out/stories",
    seed: int | None = None,
    teacher: str | None = None,
    best_of: int | None = None,
    refine: bool | None = None,
    options: dict | None = None,
) -> dict:
    """None takes StoriesConfig's default; `options` sets any other field (max_tokens, steer, ...)."""
    config = build(StoriesConfig, options, n=n, out=out, seed=seed, teacher=teacher,
                   best_of=best_of, refine=refine)  # fmt: skip
    return run(config)


if __name__ == "__main__":
    main(StoriesConfig, generate_stories_flow)
