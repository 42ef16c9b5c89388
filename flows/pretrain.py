"""Prefect flow: pretrain the student, then evaluate it; the same functions as the CLI.

    python -m flows.pretrain --data out/stories --out runs/tiny      # local, no server needed

A crashed training task is retried and resumes from its last checkpoint; bad input and a NaN
loss are not retried (they would fail the same way again).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from prefect import flow, get_run_logger, task

from schoolhouse.student.config import PretrainConfig
from schoolhouse.student.evaluate import evaluate
from schoolhouse.student.train import TrainingStopped, pretrain
from schoolhouse.teacher import resolve_teacher


def is_transient(task, task_run, state) -> bool:
    error = state.data
    return isinstance(error, Exception) and not isinstance(error, ValueError | TrainingStopped)


@task(retries=2, retry_delay_seconds=[10, 60], retry_condition_fn=is_transient)
def train(config: PretrainConfig) -> dict:
    return pretrain(config, progress=False).to_dict()


@task(retries=1, retry_delay_seconds=30)
def grade(run: str, teacher: str, n: int) -> dict:
    grader = resolve_teacher(teacher).open() if teacher != "none" else None
    try:
        return evaluate(Path(run), grader, n)
    finally:
        if grader is not None:
            grader.close()


@flow(name="pretrain", log_prints=True)
def pretrain_flow(
    data: list[str],
    out: str = "runs/tiny",
    anneal_data: list[str] | None = None,
    preset: str = "tiny",
    teacher: str = "embedded",
    eval_prompts: int = 20,
    options: dict | None = None,
) -> dict:
    """`options` sets any other PretrainConfig field (steps, lr, seq_len, ...)."""
    config = PretrainConfig(
        data=data, out=Path(out), anneal_data=anneal_data or [], preset=preset, **(options or {})
    )
    logger = get_run_logger()
    summary = train(config)
    logger.info(
        "%s: validation loss %.3f -> %.3f, %.0f tokens/s",
        out, summary["val_loss_start"], summary["val_loss"], summary["tok_s"],
    )  # fmt: skip
    result = grade(out, teacher, eval_prompts)
    logger.info("perplexity %.1f, GPT-Eval %s", result["perplexity"], result["gpt_eval"])
    return {"train": summary, "evaluate": result}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the pretrain flow locally.")
    parser.add_argument("--data", action="append", required=True, help="dataset (repeatable)")
    parser.add_argument("--anneal-data", action="append", help="decay-phase data (repeatable)")
    parser.add_argument("--out", default="runs/tiny", help="run folder")
    parser.add_argument("--preset", default="tiny", help="model size")
    parser.add_argument("--teacher", default="embedded", help="GPT-Eval grader, or 'none'")
    parser.add_argument("--eval-prompts", type=int, default=20, help="stories to grade")
    args = parser.parse_args(argv)
    pretrain_flow(
        data=args.data, out=args.out, anneal_data=args.anneal_data, preset=args.preset,
        teacher=args.teacher, eval_prompts=args.eval_prompts,
    )  # fmt: skip


if __name__ == "__main__":
    main()
