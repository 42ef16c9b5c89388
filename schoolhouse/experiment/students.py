"""The experiment's students: one per arm and seed, trained for the same number of tokens,
judged in bits per byte on every reference set and, when a grader is given, by GPT-Eval.

GPT-Eval here is the TinyStories grading carried over to any text: every student continues the
same beginnings (documents of one reference set, cut after ~40 % of their words, at most
BEGINNING words), and the grader grades each continuation for grammar, creativity and
consistency. The grader is checked once on the same beginnings (their real continuations against
the same words shuffled, `student.evaluate.grader_check`): a grader that cannot tell those apart
is reported as noise beside its grades. Grades are kept per student with the grader, reference
set, prompt count and template they were made with; a rerun with other GPT-Eval settings grades
again, without retraining anyone.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from ..datasets.folder import write_atomic

BEGINNING, REST = 48, 160  # words of a document's beginning, and of its real continuation
NEW_TOKENS = 160  # tokens each student writes after a beginning


class ExperimentError(ValueError):
    pass


def reference_name(path: Path) -> str:
    return path.stem if path.is_file() else path.name


def train_all(config, arms: dict[str, dict], references: dict[str, Path], progress: bool, log):
    """Train every arm's students not yet in results.json; judge every student on every
    reference set it has no loss for (a reference set added on a rerun is scored for all)."""
    from ..student.config import PRESETS, PretrainConfig
    from ..student.evaluate import Student
    from ..student.train import pretrain

    preset = PRESETS[config.preset]
    batch, seq_len = config.batch_size or preset["batch_size"], config.seq_len or preset["seq_len"]
    steps = max(1, math.ceil(config.tokens / (batch * seq_len)))
    texts = {name: [json.loads(line)["text"] for line in path.read_text().splitlines()]
             for name, path in references.items()}  # fmt: skip
    path = config.out / "results.json"
    results = json.loads(path.read_text()) if path.exists() else []

    def judge(run: Path, losses: dict) -> dict:
        student = Student(run)
        for ref, t in texts.items():
            if ref not in losses:
                losses[ref] = round(student.bits_per_byte(t)[0], 5)
        return losses

    for r in results:  # students judged before a reference set was added
        if not r.get("skipped") and set(texts) - set(r["reference_loss"]):
            log(f"arm {r['arm']}, seed {r['seed']}: judging on "
                f"{', '.join(sorted(set(texts) - set(r['reference_loss'])))}")  # fmt: skip
            judge(config.out / "students" / f"{r['arm']}-s{r['seed']}", r["reference_loss"])
            write_atomic(path, json.dumps(results, indent=2))
    done = {(r["arm"], r["seed"]) for r in results}
    for name, arm in arms.items():
        if "skipped" in arm:
            if (name, None) not in done:
                results.append({"arm": name, "seed": None, "skipped": arm["skipped"]})
                write_atomic(path, json.dumps(results, indent=2))
            log(f"arm {name}: skipped ({arm['skipped']})")
            continue
        for seed in range(config.seeds):
            if (name, seed) in done:
                continue
            run = config.out / "students" / f"{name}-s{seed}"
            rho1 = {}
            if arm.get("reference"):
                rho1 = {"reference_model": reference_student(config, arm["reference"], steps,
                                                             batch, seq_len, progress, log),
                        "select_tokens": config.select_tokens}  # fmt: skip
            log(
                f"arm {name}, seed {seed}: training {steps} steps ({steps * batch * seq_len:,} tokens)"
            )
            summary = pretrain(PretrainConfig(
                data=[arm["data"]], anneal_data=[arm["anneal"]] if arm.get("anneal") else [],
                out=run, preset=config.preset, batch_size=batch, seq_len=seq_len, steps=steps,
                seed=seed, device=config.device, checkpoint_every=max(1, min(100, steps // 4)),
                eval_every=max(1, min(100, steps // 4)), **rho1,
            ), progress=progress)  # fmt: skip
            losses = judge(run, {})
            results.append({
                "arm": name, "seed": seed, "tokens": summary.tokens,
                "repeats": round(summary.tokens / max(summary.train_tokens, 1), 3),
                "reference_loss": losses, "val_loss": summary.val_loss, "steps": steps,
                "unit": "bits per byte",
            })  # fmt: skip
            write_atomic(path, json.dumps(results, indent=2))
            log(
                f"arm {name}, seed {seed}: "
                + ", ".join(f"{k} {v:.4f} bpb" for k, v in losses.items())
            )
    return results


def reference_student(config, data: Path, steps: int, batch: int, seq_len: int, progress, log):
    """Rho-1's reference: a student of the same preset and budget on the best-scored data."""
    from ..student.config import PretrainConfig
    from ..student.train import pretrain

    run = config.out / "students" / "reference"
    if not (run / "README.md").exists():
        log(f"rho1: training the reference student on {data.parent.name}")
        pretrain(PretrainConfig(
            data=[data], out=run, preset=config.preset, batch_size=batch, seq_len=seq_len,
            steps=steps, seed=0, device=config.device,
            checkpoint_every=max(1, min(100, steps // 4)), eval_every=max(1, min(100, steps // 4)),
        ), progress=progress)  # fmt: skip
    return run


# -- GPT-Eval ------------------------------------------------------------------------------------
def eval_reference(config) -> str:
    """The reference set GPT-Eval's beginnings come from."""

    if config.eval_reference:
        return config.eval_reference
    return reference_name(config.reference[0]) if config.reference else "web"


def gpt_eval_all(config, results: list[dict], references: dict[str, Path], grader, log) -> None:
    """GPT-Eval of every trained student whose grades were made otherwise (or not at all), with
    one grader engine for all of them, opened only when some student needs grading; the grader's
    check is written to gpt_eval.json and every student's grades (with examples) beside it."""
    from ..prompt_files import load_template
    from ..student.evaluate import cut_texts
    from ..teacher import opened, resolve_teacher

    spec = resolve_teacher(config.grader) if grader is None else None
    ref = eval_reference(config)
    key = {
        "grader": grader.name if grader is not None else spec.name,
        "reference": ref, "prompts": config.eval_prompts, "template": config.eval_template,
        "template_sha": load_template(config.eval_template, {"beginning", "completion"}).sha,
        "max_new_tokens": NEW_TOKENS,
    }  # fmt: skip
    trained = [r for r in results if not r.get("skipped")]
    pending = [r for r in trained if (r.get("gpt_eval") or {}).get("key") != key]
    check_path = config.out / "gpt_eval.json"
    checked = json.loads(check_path.read_text()) if check_path.exists() else {}
    if not pending and checked.get("key") == key:
        return
    texts = [json.loads(line)["text"] for line in references[ref].read_text().splitlines()]
    splits = cut_texts(texts, config.eval_prompts, seed=0, max_beginning=BEGINNING, max_rest=REST)
    if not splits:
        raise ExperimentError(f"--eval-reference {ref}: no document of at least 20 words to "
                              "cut into a beginning for GPT-Eval")  # fmt: skip
    with opened(spec, {"kv_cache_gib": config.kv_cache_gib, "seed": 0}, given=grader) as teacher:
        _grade_students(config, pending, results, splits, key, teacher, checked, log)


def _grade_students(config, pending, results, splits, key, teacher, checked, log) -> None:
    from ..student.evaluate import Student, gpt_eval, grader_check

    path, check_path = config.out / "results.json", config.out / "gpt_eval.json"
    if checked.get("key") != key:
        log(f"GPT-Eval: checking the grader on {key['reference']}'s real continuations and "
            "their words shuffled")  # fmt: skip
        checked = {"key": key, **grader_check(teacher, splits, template=config.eval_template)}
        write_atomic(check_path, json.dumps(checked, indent=2))
    for r in pending:
        run = config.out / "students" / f"{r['arm']}-s{r['seed']}"
        log(f"GPT-Eval: arm {r['arm']}, seed {r['seed']}: {len(splits)} continuations")
        g = gpt_eval(Student(run), teacher, len(splits), max_new_tokens=NEW_TOKENS, splits=splits,
                     template=config.eval_template, check_grader=False)  # fmt: skip
        write_atomic(run / "gpt_eval.json", json.dumps({"key": key, **g}, indent=2))
        grades = [g[k] for k in ("grammar", "creativity", "consistency")]
        r["gpt_eval"] = {
            "key": key, "graded": g["graded"], "prompts": g["prompts"],
            "grammar": g["grammar"], "creativity": g["creativity"],
            "consistency": g["consistency"],
            "mean": None if None in grades else round(sum(grades) / 3, 4),
            "grader_discriminates": checked["grader_discriminates"],
        }  # fmt: skip
        write_atomic(path, json.dumps(results, indent=2))
