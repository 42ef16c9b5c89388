"""Prefect flow: pretrain the student, then evaluate it; the same functions as the CLI.

    python -m flows.pretrain --data out/stories --out runs/tiny      # local, no server needed
    python -m flows.pretrain --help          # the options of `schoolhouse pretrain`, and GPT-Eval's

A crashed training task is retried and resumes from its last checkpoint; bad input and a NaN
loss are not retried (they would fail the same way again).
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task

from flows.options import build
from schoolhouse.options import build_config, config_options, grader_options
from schoolhouse.student.config import GPT_EVAL_PROMPTS, EvaluateConfig, PretrainConfig
from schoolhouse.student.evaluate import evaluate_run
from schoolhouse.student.train import TrainingStopped, pretrain


def is_transient(task, task_run, state) -> bool:
    error = state.data
    return isinstance(error, Exception) and not isinstance(error, ValueError | TrainingStopped)


@task(retries=2, retry_delay_seconds=[10, 60], retry_condition_fn=is_transient)
def train(config: PretrainConfig) -> dict:
    return pretrain(config, progress=False).to_dict()


@task(retries=1, retry_delay_seconds=30)
def grade(run: str, teacher: str, n: int) -> dict:
    return evaluate_run(EvaluateConfig(run=Path(run), teacher=teacher, n=n))


@flow(name="pretrain", log_prints=True)
def pretrain_flow(
    data: list[str],
    out: str,
    anneal_data: list[str] | None = None,
    preset: str | None = None,
    teacher: str = "embedded",
    eval_prompts: int = GPT_EVAL_PROMPTS,
    options: dict | None = None,
) -> dict:
    """None takes PretrainConfig's default; `options` sets any other field (steps, lr, ...).
    `teacher` grades the student's stories (GPT-Eval; 'none' skips it), `eval_prompts` of them."""
    config = build(PretrainConfig, options, data=[Path(p) for p in data], out=Path(out),
                   anneal_data=anneal_data, preset=preset)  # fmt: skip
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
    """`python -m flows.pretrain`: the options of `schoolhouse pretrain` and the grader's of
    `schoolhouse evaluate`, then the flow."""
    import click

    # PretrainConfig's options as `schoolhouse pretrain` has them, then the grader's as
    # `schoolhouse evaluate` has them (-n: stories to grade)
    @click.command(
        "pretrain", help="Run the pretrain flow locally (no server needed): train, then GPT-Eval."
    )
    @config_options(PretrainConfig)
    @grader_options
    def command(teacher: str, n: int, **values) -> None:
        build_config(PretrainConfig, values, {})  # a bad option fails here, naming its flag
        pretrain_flow(data=[str(p) for p in values.pop("data")], out=str(values.pop("out")),
                      teacher=teacher, eval_prompts=n, options=values)  # fmt: skip

    command.main(argv, prog_name="python -m flows.pretrain")


if __name__ == "__main__":
    main()
