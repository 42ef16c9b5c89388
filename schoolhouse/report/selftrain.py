"""The self-training report: per iteration, the reward rate, the answers kept to train on, and
the scores (HumanEval pass@1, held-out pass or kept rate, adherence), as a table and a plot,
written beside `iterations.json` as `report.md` and `selftrain.png`."""

from __future__ import annotations

from pathlib import Path

from ..datasets.folder import write_atomic


def _pct(value) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def rows(summary: dict) -> list[dict]:
    """One row per teacher: T0 (the base) … TN."""
    out = []
    for entry in summary["iterations"]:
        samples = entry.get("samples") or {}
        held = entry.get("held_out") or {}
        he = entry.get("humaneval") or {}
        out.append({
            "iteration": entry["iteration"],
            "reward_rate": samples.get("reward_rate"),
            "solved": f"{samples['problems_solved']}/{samples['problems']}" if samples else "–",
            "train_examples": entry.get("train_examples"),
            "loss": (entry.get("finetune") or {}).get("loss_last"),
            "humaneval": he.get("pass@1"),
            "held_out": held.get("reward_rate"),
            "adherence": held.get("adherence"),
            "wall_s": sum((entry.get("wall_s") or {}).values()),
        })  # fmt: skip
    return out


def table(summary: dict) -> list[str]:
    """The table as Markdown lines. Row i: the answers teacher T(i-1) wrote in round i and the
    fine-tune that made T(i); the scores are T(i)'s."""
    stories = summary["task"] == "stories"
    head = ["teacher", "reward rate (round)", "problems solved", "trained on", "final loss",
            *([] if stories else ["HumanEval pass@1"]), "held-out " + ("kept" if stories else "pass@1"),
            *(["adherence"] if stories else []), "wall s"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows(summary):
        cells = [f"T{r['iteration']}" + (" (base)" if r["iteration"] == 0 else ""),
                 _pct(r["reward_rate"]), r["solved"],
                 "–" if r["train_examples"] is None else str(r["train_examples"]),
                 "–" if r["loss"] is None else f"{r['loss']:.3f}",
                 *([] if stories else [_pct(r["humaneval"])]), _pct(r["held_out"]),
                 *([_pct(r["adherence"])] if stories else []), f"{r['wall_s']:.0f}"]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def figure(summary: dict):
    """The scores and reward rates per teacher as a matplotlib figure, or None with no data."""
    data = rows(summary)
    series = {
        "HumanEval pass@1": [r["humaneval"] for r in data],
        "held-out": [r["held_out"] for r in data],
        "adherence": [r["adherence"] for r in data],
        "reward rate of the round that trained it": [None, *[r["reward_rate"] for r in data[1:]]],
    }
    series = {k: v for k, v in series.items() if any(x is not None for x in v)}
    if not series:
        return None
    from .plots import figure as new_figure

    fig, ax = new_figure(6, 3.2)
    xs = [r["iteration"] for r in data]
    for label, values in series.items():
        points = [(x, y) for x, y in zip(xs, values, strict=True) if y is not None]
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=label)
    ax.set_xticks(xs, [f"T{x}" for x in xs])
    ax.set_ylim(0, 1)
    ax.set_ylabel("rate")
    ax.set_title(f"ReST-EM on {summary['task']}: {summary['base']}", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    return fig


def plot(summary: dict, path: Path) -> bool:
    fig = figure(summary)
    if fig is None:
        return False
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return True


def section(folder: Path):
    """The HTML report's section over a run folder: a line per teacher and the plot."""
    import json

    from .plots import svg

    summary = json.loads((Path(folder) / "iterations.json").read_text())
    stats = [("task", summary["task"]), ("base", summary["base"]),
             ("problems", f"{summary['train_problems']} trained on, "
                          f"{summary['held_out_problems']} held out")]  # fmt: skip
    for r in rows(summary):
        parts = []
        if r["iteration"]:
            parts.append(f"round {r['iteration']} reward rate {_pct(r['reward_rate'])} "
                         f"({r['solved']} problems solved), trained on {r['train_examples']}")  # fmt: skip
        if r["humaneval"] is not None:
            parts.append(f"HumanEval pass@1 {_pct(r['humaneval'])}")
        if r["held_out"] is not None:
            parts.append(f"held-out {_pct(r['held_out'])}")
        if r["adherence"] is not None:
            parts.append(f"adherence {_pct(r['adherence'])}")
        stats.append((f"T{r['iteration']}" + (" (base)" if r["iteration"] == 0 else ""),
                      "; ".join(parts) or "–"))  # fmt: skip
    fig = figure(summary)
    return stats, [svg(fig)] if fig is not None else []


def write_report(out: Path, summary: dict) -> Path:
    s = summary["settings"]
    lines = [
        f"# Self-training (ReST-EM): {summary['task']}", "",
        f"Base teacher: {summary['base']}. {summary['train_problems']} training problems, "
        f"{summary['held_out_problems']} held out (never trained on). Each round samples "
        f"{s['samples']} answers per problem at temperature {s['temperature']}, rewards them with "
        + ("the story filters" if summary["task"] == "stories" else "the exercise's tests in the sandbox")
        + f", keeps at most {s['cap']} distinct rewarded answers per problem ({s['source']} answers) "
        f"and fine-tunes the base model ({s['method']}, rank {s['rank']}, lr {s['lr']}, "
        f"{s['epochs']} epoch(s)) on everything kept so far.", "",
        *table(summary), "",
        "Row T*i*: the reward rate and problems solved are those of round *i* (answers written "
        "by T*i-1*), the training set and loss those of the fine-tune that made T*i*; the "
        "scores are T*i*'s own. HumanEval pass@1 is greedy, run in the sandbox with the "
        "benchmark's tests; held-out problems are answered greedily (stories: sampled as in "
        "generation).", "",
    ]  # fmt: skip
    if plot(summary, out / "selftrain.png"):
        lines += ["![scores per iteration](selftrain.png)", ""]
    path = out / "report.md"
    write_atomic(path, "\n".join(lines))
    return path
