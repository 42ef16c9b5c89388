"""The student's commands: `schoolhouse pretrain`, `sample` and `evaluate`.

schoolhouse pretrain --data out/stories --anneal-data out/stories-best --out runs/tiny
schoolhouse sample runs/tiny --prompt "Once upon a time, a little dog"
schoolhouse evaluate runs/tiny --n 50
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from ..options import EVALUATE_SHORT, USER_ERRORS, build_config, config_options, fail
from ..student.config import EvaluateConfig, PretrainConfig

# a bad number is refused by click, naming its flag, before the run is loaded
COUNT = click.IntRange(min=1)
SEED = click.IntRange(min=0)  # as the configs' seeds: numpy's generators refuse negative ones
TEMPERATURE = click.FloatRange(min=0)


@click.command("pretrain")
@config_options(PretrainConfig)
@click.option(
    "--progress/--no-progress", default=True, show_default=True, help="show a progress bar"
)
@click.option("--json-summary", is_flag=True, help="print the summary as one JSON line on stdout")
def pretrain_cmd(progress: bool, json_summary: bool, **values) -> None:
    """Pretrain a small Llama-style student from scratch on dataset folders.

    Trains a byte-level BPE on the data, tokenizes it once (cached), then trains with AdamW (or
    GaLore: --optimizer galore) and a warmup-stable-decay schedule, mixing --anneal-data into
    the decay phase. Rerunning the same command resumes from the last checkpoint with the same
    data order.
    """
    from ..student.train import TrainingStopped, pretrain

    config = build_config(PretrainConfig, values, {})
    try:
        summary = pretrain(config, progress=progress)
    except TrainingStopped as e:
        fail(str(e))
    except USER_ERRORS as e:
        fail(str(e))
    except KeyboardInterrupt:
        fail(
            f"interrupted; rerun the same command to resume from the last checkpoint in {config.out}"
        )
    if int(os.environ.get("RANK", "0")) != 0:  # under torchrun, rank 0 reports for all
        return
    if json_summary:
        click.echo(json.dumps(summary.to_dict()))
        return
    s = summary
    resumed = f", resumed at step {s.resumed_from}" if s.resumed_from else ""
    click.echo(
        f"\n{s.out}: {s.params / 1e6:.2f}M parameters, {s.steps} steps, {s.tokens:,} tokens "
        f"on {s.device}{resumed}\n"
        f"  validation loss {s.val_loss_start:.3f} → {s.val_loss:.3f}\n"
        f"  {s.tok_s:,.0f} training tokens/s, {s.wall_s:.0f} s in all; "
        f"{s.optimizer} state {s.optimizer_state_mb:,.1f} MiB\n"
        f"  report {Path(s.out) / 'README.md'}, loss curve {Path(s.out) / 'loss.png'}"
    )


@click.command("sample")
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--prompt", default="Once upon a time,", show_default=True, help="text to continue")
@click.option(
    "--max-new-tokens", type=COUNT, default=200, show_default=True, help="tokens to generate"
)
@click.option(
    "--temperature", type=TEMPERATURE, default=0.8, show_default=True,
    help="sampling temperature (0: greedy)",
)  # fmt: skip
@click.option(
    "--top-k", type=click.IntRange(min=0), default=50, show_default=True,
    help="sample among the k likeliest tokens (0: all)",
)  # fmt: skip
@click.option("--seed", type=SEED, default=0, show_default=True, help="sampling seed")
@click.option("-n", "count", type=COUNT, default=1, show_default=True, help="samples to print")
def sample_cmd(
    run: Path, prompt: str, max_new_tokens: int, temperature: float, top_k: int, seed: int,
    count: int,
) -> None:  # fmt: skip
    """Print the student's continuation of a prompt."""
    from ..student.evaluate import Student

    try:
        student = Student(run)
    except USER_ERRORS as e:
        fail(str(e))
    for i in range(count):
        if i:
            click.echo("\n---\n")
        click.echo(prompt + student.complete(prompt, max_new_tokens, temperature, top_k, seed + i))


@click.command("evaluate")
@click.argument("run", type=click.Path(path_type=Path))
@config_options(EvaluateConfig, EVALUATE_SHORT, frozenset({"run"}), ranges=True)
def evaluate_cmd(run: Path, **values) -> None:
    """Validation loss and perplexity, then GPT-Eval: the teacher grades the student's stories.

    Results go to RUN/eval.json and the run's README.md.
    """
    from ..student.evaluate import evaluate_run

    config = build_config(EvaluateConfig, {"run": run, **values}, EVALUATE_SHORT)
    try:
        result = evaluate_run(config)
    except USER_ERRORS as e:
        fail(str(e))
    click.echo(
        f"{run}: validation loss {result['val_loss']:.3f}, perplexity {result['perplexity']:.1f}"
    )
    g = result["gpt_eval"]
    if g:
        scores = ", ".join(
            f"{k} {g[k]:.1f}" if g[k] is not None else f"{k} –"
            for k in ("grammar", "creativity", "consistency")
        )
        click.echo(
            f"GPT-Eval by {g['teacher']}: {scores}; age group {g['age_group'] or '–'} "
            f"({g['graded']} of {g['prompts']} graded)"
        )
    click.echo(f"report {Path(run) / 'README.md'}")
