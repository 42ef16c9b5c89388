"""The experiment's table and plot: reference loss per arm, mean and spread over seeds."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

from ..datasets.folder import write_atomic
from . import plots


def table(results: list[dict]) -> dict[str, dict]:
    """Per arm: per reference set (mean, spread over seeds), seeds, repeats; or skipped."""
    rows: dict[str, dict] = {}
    for r in results:
        arm = rows.setdefault(r["arm"], {"losses": {}, "seeds": 0, "repeats": 0.0, "gpt": []})
        if r.get("skipped"):
            arm["skipped"] = r["skipped"]
            continue
        arm["seeds"] += 1
        arm["repeats"] = r["repeats"]
        for ref, loss in r["reference_loss"].items():
            arm["losses"].setdefault(ref, []).append(loss)
        if (r.get("gpt_eval") or {}).get("mean") is not None:
            arm["gpt"].append(r["gpt_eval"]["mean"])
    for arm in rows.values():
        v = arm.pop("gpt")
        if v:  # GPT-Eval: the mean of its three grades, mean and spread over seeds
            arm["gpt_eval"] = (statistics.fmean(v), statistics.stdev(v) if len(v) > 1 else 0.0)
        arm["losses"] = {
            ref: (statistics.fmean(v), statistics.stdev(v) if len(v) > 1 else 0.0)
            for ref, v in arm["losses"].items()
        }
    return rows  # in the order the arms ran


def write_summary(out: Path) -> Path:
    """README.md (the table) and results.png (the plot) from results.json."""
    results = json.loads((out / "results.json").read_text())
    rows = table(results)
    refs = sorted({ref for r in rows.values() for ref in r["losses"]})
    settings = json.loads((out / "experiment.json").read_text())
    gpt = any("gpt_eval" in r for r in rows.values())
    head = "| arm | seeds | repeats | " + " | ".join(f"{r} (bits/byte)" for r in refs) + " |"
    head += " GPT-Eval (1-10) |" if gpt else ""
    lines = [head, "|" + "---|" * (3 + len(refs) + gpt)]
    for name, r in rows.items():
        if "skipped" in r:
            lines.append(f"| {name} | skipped: {r['skipped']} |" + " |" * (1 + len(refs) + gpt))
            continue
        cells = [f"{r['losses'][ref][0]:.4f} ± {r['losses'][ref][1]:.4f}" if ref in r["losses"]
                 else "" for ref in refs]  # fmt: skip
        if gpt:
            cells.append(f"{r['gpt_eval'][0]:.2f} ± {r['gpt_eval'][1]:.2f}" if "gpt_eval" in r
                         else "")  # fmt: skip
        lines.append(f"| {name} | {r['seeds']} | {r['repeats']:.2f} | " + " | ".join(cells) + " |")
    if any("skipped" not in r for r in rows.values()):
        import matplotlib.pyplot as plt

        fig = plot(rows, refs)
        tmp = out / ".results.tmp.png"
        fig.savefig(tmp, dpi=120)
        plt.close(fig)
        tmp.replace(out / "results.png")
    body = f"""# Experiment: what do students learn from what was kept?

Each arm trains students of the `{settings["preset"]}` preset for {settings["tokens"]:,} tokens,
one per seed, and is judged on reference sets no arm trains on, in bits per UTF-8 byte (lower
is better; mean ± standard deviation over seeds). `repeats`: how many times the arm's data was
read to reach the token budget. Made with `schoolhouse experiment`; settings in
`experiment.json`, every student in `results.json` and `students/`.

{chr(10).join(lines)}
{grader_note(out) if gpt else ""}
![reference loss by arm](results.png)
"""
    write_atomic(out / "README.md", body)
    return out / "README.md"


def grader_note(out: Path) -> str:
    """What GPT-Eval's column is, and whether its grader passed its check."""
    check_path = out / "gpt_eval.json"
    if not check_path.exists():
        return ""
    check = json.loads(check_path.read_text())
    key, controls = check["key"], check.get("controls") or {}
    real, noise = controls.get("real_ending"), controls.get("shuffled_words")
    verdict = (
        "it tells them apart, so its grades carry signal"
        if check.get("grader_discriminates")
        else "**it cannot tell them apart: read its grades as noise**"
    )
    seen = ", ".join(f"{k} {v:.2f}" for k, v in (("real", real), ("shuffled", noise))
                     if v is not None)  # fmt: skip
    return f"""
GPT-Eval: {key["grader"]} grades each student's continuations of {key["prompts"]} beginnings of
the `{key["reference"]}` reference set (template `{key["template"]}`; the mean of grammar,
creativity and consistency, 1-10, higher is better). Its check on the same beginnings, real
continuations against the same words shuffled: {seen or "not graded"}; {verdict}.
"""


def plot(rows: dict, refs: list[str]):
    """Bars per arm and reference set, with the spread over seeds."""
    arms = [a for a, r in rows.items() if "skipped" not in r]
    fig, ax = plots.figure(max(5, 1.6 * len(arms)), 3.5)
    width = 0.8 / max(1, len(refs))
    for k, ref in enumerate(refs):
        means = [rows[a]["losses"].get(ref, (math.nan, 0))[0] for a in arms]
        spread = [rows[a]["losses"].get(ref, (0, 0))[1] for a in arms]
        ax.bar([i + k * width for i in range(len(arms))], means, width, yerr=spread, label=ref,
               capsize=3)  # fmt: skip
    ax.set_xticks([i + width * (len(refs) - 1) / 2 for i in range(len(arms))], arms)
    ax.set_ylabel("bits per byte (lower is better)")
    ax.legend(title="reference set", fontsize=8)
    values = [rows[a]["losses"][r][0] for a in arms for r in refs if r in rows[a]["losses"]]
    if values:
        ax.set_ylim(min(values) * 0.95, max(values) * 1.03)
    ax.set_title("Reference loss by arm")
    fig.tight_layout()
    return fig


def section(folder: Path):
    """The report's section of an experiment folder: the table and the plot."""
    results = (
        json.loads((folder / "results.json").read_text())
        if (folder / "results.json").exists()
        else []
    )
    rows = table(results)
    refs = sorted({ref for r in rows.values() for ref in r["losses"]})
    stats = []
    for name, r in rows.items():
        if "skipped" in r:
            stats.append((name, f"skipped: {r['skipped']}"))
            continue
        cells = ", ".join(f"{ref} {m:.4f} ± {d:.4f}" for ref, (m, d) in r["losses"].items())
        if "gpt_eval" in r:
            cells += f"; GPT-Eval {r['gpt_eval'][0]:.2f} ± {r['gpt_eval'][1]:.2f}"
        stats.append(
            (name, f"{cells} bits/byte ({r['seeds']} seeds, data read {r['repeats']:.2f}x)")
        )
    if (folder / "gpt_eval.json").exists():
        stats.append(("GPT-Eval grader", " ".join(grader_note(folder).replace("**", "").split())))
    return stats, [plots.svg(plot(rows, refs))] if any(
        "skipped" not in r for r in rows.values()
    ) else []
