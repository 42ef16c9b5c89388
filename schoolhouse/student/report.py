"""The run's report: a loss-curve image and a README a stranger can read."""

from __future__ import annotations

import json
import math
from pathlib import Path

from ..datasets.folder import write_atomic
from .checkpoint import read_log


def plot_loss(run: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_log(run)
    train = [(r["step"], r["loss"]) for r in rows if "loss" in r]
    val = [(r["step"], r["val_loss"]) for r in rows if "val_loss" in r]
    lr = [(r["step"], r["lr"]) for r in rows if "lr" in r]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    if train:
        ax.plot(*zip(*train, strict=True), lw=0.8, alpha=0.6, label="train loss")
    if val:
        ax.plot(*zip(*val, strict=True), "o-", ms=3, label="validation loss")
    decay = [r["step"] for r in rows if r.get("decay")]
    if decay:
        config = json.loads((Path(run) / "config.json").read_text())
        mixed = " (annealing data mixed in)" if config.get("anneal_data") else ""
        ax.axvspan(min(decay) - 1, max(decay), color="tab:orange", alpha=0.12,
                   label=f"decay{mixed}")  # fmt: skip
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy (nats/token)")
    if lr:
        twin = ax.twinx()
        twin.plot(*zip(*lr, strict=True), color="gray", lw=0.8, ls="--")
        twin.set_ylabel("learning rate", color="gray")
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(f"{Path(run).name}: loss")
    fig.tight_layout()
    path = Path(run) / "loss.png"
    tmp = path.with_name(".loss.png.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)
    return path


def write_run_report(run: Path) -> Path:
    run = Path(run)
    config = json.loads((run / "config.json").read_text())
    rows = read_log(run)
    steps = [r for r in rows if "loss" in r]
    vals = [r for r in rows if "val_loss" in r]
    lines = [f"# Student run `{run.name}`", ""]
    if steps:
        last = steps[-1]
        lines += [
            f"- preset **{config['preset']}**, {last['step']} of {config['steps']} steps, "
            f"{last['tokens']:,} training tokens, {last['tok_s']:,.0f} tokens/s at the end",
            f"- data: {', '.join(config['data'])}"
            + (
                f"; annealing data: {', '.join(config['anneal_data'])}"
                if config["anneal_data"]
                else ""
            ),  # fmt: skip
        ]
    if vals:
        first, final = vals[0], vals[-1]
        lines.append(
            f"- validation loss {first['val_loss']:.3f} (step {first['step']}) → "
            f"**{final['val_loss']:.3f}** (step {final['step']}), perplexity "
            f"{math.exp(final['val_loss']):.1f}"
        )
    lines += ["", "![loss curve](loss.png)", ""]
    evaluation = run / "eval.json"
    if evaluation.is_file():
        lines += format_evaluation(json.loads(evaluation.read_text()))
    lines += ["## Config", "", "```json", json.dumps(config, indent=2), "```", ""]
    path = run / "README.md"
    write_atomic(path, "\n".join(lines))
    return path


def format_sense(sense: dict | None) -> list[str]:
    """The sense judge's reading of the student's stories, beside its control."""
    if not sense or sense.get("student") is None:
        return []
    trusted = sense.get("judge_discriminates")
    verdict = ("the judge tells them apart" if trusted
               else "**the judge cannot tell them apart: read the student's score as noise**")  # fmt: skip
    lines = [
        "",
        f"Sense (the judge reads beginning + completion, 0-1): the student's {sense['prompts']} "
        f"stories {sense['student']:.2f}; the same beginnings with their real endings "
        f"{fmt2(sense['real_ending'])}, with those endings' words shuffled "
        f"{fmt2(sense['shuffled_words'])} (real above shuffled in {sense['control_wins']}): "
        f"{verdict}.",
        "",
    ]
    for ex in sense.get("examples", [])[:2]:
        story = f"**{ex['beginning']}** {ex['completion']}".strip()
        lines += [*(f"> {line}".rstrip() for line in story.splitlines()), ">",
                  f"> sense {fmt2(ex['sense'])}", ""]  # fmt: skip
    return lines


def format_evaluation(ev: dict) -> list[str]:
    lines = ["## Evaluation", ""]
    lines.append(f"- validation loss {ev['val_loss']:.3f}, perplexity {ev['perplexity']:.1f} "
                 f"over {ev['val_tokens']:,} held-out tokens")  # fmt: skip
    lines += format_sense(ev.get("sense_eval"))
    g = ev.get("gpt_eval")
    if g and g.get("grader_discriminates") is False:
        lines += [
            "",
            f"GPT-Eval (TinyStories) is not shown: the grader `{g['teacher']}` could not tell "
            "real story endings from the same words shuffled (its control), so its grades "
            "are noise. The sense judge above replaces it.",
            "",
        ]
    elif g:
        lines += [
            "",
            f"GPT-Eval (TinyStories): the teacher `{g['teacher']}` graded {g['graded']} of "
            f"{g['prompts']} completions of held-out story beginnings"
            + (f" ({g['unparsed']} answers could not be used)" if g["unparsed"] else "")
            + ".",
            "",
            "| grammar | creativity | consistency | age group (most common) |",
            "|---|---|---|---|",
            f"| {fmt(g['grammar'])} | {fmt(g['creativity'])} | {fmt(g['consistency'])} | "
            f"{g['age_group'] or '–'} |",
            "",
        ]
        check = g.get("controls") or {}
        if check.get("real_ending") is not None and check.get("shuffled_words") is not None:
            verdict = (
                "it tells them apart"
                if g.get("grader_discriminates")
                else "**it cannot tell them apart: read its grades above as noise**"
            )
            lines += [
                f"The grader's check: the stories' real endings got {check['real_ending']:.1f} "
                f"and the same words shuffled {check['shuffled_words']:.1f} (mean of the three "
                f"grades); {verdict}.",
                "",
            ]
        for ex in g.get("examples", [])[:3]:
            story = f"**{ex['beginning']}** {ex['completion']}".strip()
            lines += [*(f"> {line}".rstrip() for line in story.splitlines()), ">",
                      f"> grammar {ex['grammar']}, creativity {ex['creativity']}, "
                      f"consistency {ex['consistency']}, age {ex['age_group']}", ""]  # fmt: skip
    return lines


def fmt2(x) -> str:
    return "–" if x is None else f"{x:.2f}"


def fmt(x) -> str:
    return "–" if x is None else f"{x:.1f}"
