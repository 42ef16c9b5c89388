"""Report sections for what was trained: a quality classifier folder and a student run."""

from __future__ import annotations

import json
from pathlib import Path

from . import plots

Section = tuple[list[tuple[str, str]], list[str]]


def _f(value, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def classifier(folder: Path) -> Section:
    meta = json.loads((folder / "classifier.json").read_text())
    metrics, data = meta["metrics"], meta["training_data"]
    stats = [
        ("recipe", meta["recipe"]),
        (
            "labels",
            f"{meta['label_source']}: {data['documents']:,} documents "
            f"({data['train']:,} train, {data['held_out']:,} held out)",
        ),  # fmt: skip
        ("label scores", ", ".join(f"{s}: {c}" for s, c in data["scores"].items())),
        (
            "held-out binary F1",
            f"{_f(metrics['binary_f1'])} at score >= {meta['threshold']} "
            f"(precision {_f(metrics['precision'])}, recall "
            f"{_f(metrics['recall'])})",
        ),  # fmt: skip
        ("macro F1 / MAE", f"{_f(metrics['macro_f1'])} / {_f(metrics['mae'])}"),
        ("scoring speed", f"{meta['timing']['held_out_docs_per_s']:,.0f} documents/s"),
    ]
    figures = [plots.confusion(metrics["confusion_matrix"], "Held-out confusion matrix")]
    if (folder / "pr_curve.png").exists():
        figures.insert(0, plots.png(folder / "pr_curve.png", "precision-recall curve"))
    return stats, figures


def student(run: Path) -> Section:
    from ..student.checkpoint import read_log

    log = read_log(run)
    config = json.loads((run / "config.json").read_text())
    steps = [r for r in log if "loss" in r]
    vals = [r for r in log if "val_loss" in r]
    stats = [
        ("preset", f"{config.get('preset')}, {steps[-1]['step'] if steps else 0} steps"),
        ("data", ", ".join(map(str, config.get("data", [])))),
        ("annealing data", ", ".join(map(str, config.get("anneal_data", []))) or "none"),
    ]
    if vals:
        stats.append(
            ("validation loss", f"{vals[0]['val_loss']:.3f} -> {vals[-1]['val_loss']:.3f}")
        )
    rates = sorted(r["tok_s"] for r in steps if r.get("tok_s"))
    if rates:
        stats.append(("training speed", f"{rates[len(rates) // 2]:,.0f} tokens/s (median)"))
    figures = [plots.loss_curve(log, "Student loss")] if log else []
    path = run / "eval.json"
    if path.exists():
        result = json.loads(path.read_text())
        stats.append(
            ("perplexity", f"{result['perplexity']:.1f} on {result['val_tokens']:,} tokens")
        )
        sense = result.get("sense_eval")
        if sense and sense.get("student") is not None:
            ok = "control passed" if sense.get("judge_discriminates") else "control FAILED"
            stats.append(("sense (judge)", f"student {sense['student']:.2f}, real endings "
                          f"{sense['real_ending']:.2f}, shuffled {sense['shuffled_words']:.2f} "
                          f"({ok})"))  # fmt: skip
        gpt = result.get("gpt_eval")
        if gpt and gpt.get("graded") and gpt.get("grader_discriminates") is False:
            stats.append(("GPT-Eval", f"not shown: {gpt['teacher']} graded real story endings "
                                      "no higher than the same words shuffled (its control)"))  # fmt: skip
        elif gpt and gpt.get("graded"):
            stats.append(("GPT-Eval", f"{gpt['graded']} of {gpt['prompts']} graded by "
                                      f"{gpt['teacher']}"))  # fmt: skip
            figures.append(plots.grades(
                {k: gpt[k] for k in ("grammar", "creativity", "consistency")},
                "GPT-Eval: the teacher grades the student's completions",
            ))  # fmt: skip
    return stats, figures
