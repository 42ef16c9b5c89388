"""Prefect flow: textbook lessons, the same functions as `schoolhouse generate textbooks`.

    python -m flows.generate_textbooks --n 50 --out out/textbooks-flow   # local, no server needed

A failed teacher is retried by re-running the task: generation resumes from what is on disk.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from prefect import flow, get_run_logger, task

from filters import verifier
from flows.generate_stories import is_teacher_error
from schoolhouse.config import TextbooksConfig
from schoolhouse.generation import generate as generate_rows
from schoolhouse.generation import prepare
from schoolhouse.textbooks import TextbooksKind


def kind(config: TextbooksConfig) -> TextbooksKind:
    verify = verifier(config)
    return TextbooksKind.load(config, verify)


@task
def check(config: TextbooksConfig) -> int:
    """Fail fast on bad input (topics, templates, folder, teacher); return the prompts left."""
    return len(prepare(config, kind(config)).pending)


@task(retries=3, retry_delay_seconds=[10, 30, 90], retry_condition_fn=is_teacher_error)
def generate(config: TextbooksConfig) -> dict:
    return generate_rows(config, kind(config), progress=False).to_dict()


@flow(name="generate-textbooks", log_prints=True)
def generate_textbooks_flow(
    n: int = 100,
    out: str = "out/textbooks",
    seed: int = 0,
    teacher: str = "embedded",
    refine: bool = False,
    options: dict | None = None,
) -> dict:
    """`options` sets any other TextbooksConfig field (topics, min_tokens, max_tokens, ...)."""
    config = TextbooksConfig(
        n=n, out=Path(out), seed=seed, teacher=teacher, refine=refine, **(options or {})
    )
    logger = get_run_logger()
    logger.info("%d of %d prompts to run into %s", check(config), n, out)
    summary = generate(config)
    logger.info("kept %d, rejected %s", summary["kept"], summary["rejected"])
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the generate-textbooks flow locally.")
    parser.add_argument("--n", type=int, default=100, help="prompts to run")
    parser.add_argument("--out", default="out/textbooks", help="dataset folder")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed")
    parser.add_argument("--teacher", default="embedded", help="'embedded', a folder, or URL(s)")
    parser.add_argument("--refine", action="store_true", help="draft, critique, revise")
    args = parser.parse_args(argv)
    generate_textbooks_flow(
        n=args.n, out=args.out, seed=args.seed, teacher=args.teacher, refine=args.refine
    )


if __name__ == "__main__":
    main()
