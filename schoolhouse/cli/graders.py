"""The graders' commands: annotate, classifier train / eval, filter.

schoolhouse annotate web/ --out out/annotations -n 2000
schoolhouse classifier train --annotations out/annotations --out out/edu-clf --features embedding
schoolhouse classifier eval out/edu-clf --data held-out/
schoolhouse filter web/ --out out/web-edu --heuristics --classifier out/edu-clf --threshold 3 \\
    --dedup exact,minhash --decontaminate humaneval
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..config import TrainClassifierConfig
from ..jobs import JOBS
from ..options import USER_ERRORS, build_config, config_options, fail

INPUTS = frozenset({"inputs"})
inputs_argument = click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))


def log(message: str) -> None:
    click.echo(message, err=True)


def resumable(job, config, progress: bool, json_summary: bool):
    """Run a resumable teacher job: its summary, or None once printed as JSON; a bad input or
    Ctrl-C is one line (finished rows stay, and the same command resumes)."""
    try:
        summary = job(config, progress=progress)
    except USER_ERRORS as e:
        fail(str(e))
    except KeyboardInterrupt:
        fail(f"interrupted; finished rows are saved in {config.out}: rerun the same command")
    if json_summary:
        click.echo(json.dumps(summary.to_dict()))
        return None
    return summary


@click.command("annotate")
@inputs_argument
@config_options(JOBS["annotate"].config, JOBS["annotate"].short, INPUTS)
@click.option(
    "--progress/--no-progress", default=True, show_default=True, help="show a progress bar"
)
@click.option("--json-summary", is_flag=True, help="print the summary as one JSON line on stdout")
def annotate_cmd(inputs, progress: bool, json_summary: bool, **values) -> None:
    """Score documents 0-5 for educational value with the teacher (FineWeb-Edu rubric).

    INPUTS are dataset folders, Parquet, JSONL or WARC files, or folders of text files. Each
    picked document ends as one scored row (data/) or one rejected row (rejected/, with its
    reason); rows keep the input's id. Rerunning the same command resumes an interrupted run.
    """
    job = JOBS["annotate"]
    config = build_config(job.config, {"inputs": list(inputs), **values}, job.short)
    summary = resumable(job.run, config, progress, json_summary)
    if summary is None:
        return
    d = summary.to_dict()
    rejected = sum(summary.rejected.values())
    click.echo(f"\n{d['out']}: {summary.scored} scored, {rejected} rejected of {summary.picked}")
    click.echo("  scores    " + "  ".join(f"{s}: {c}" for s, c in d["histogram"].items()))
    if summary.mean_expected is not None:
        click.echo(
            f"  expected  mean {summary.mean_expected:.2f} (score_expected, from the teacher's "
            f"probabilities); {summary.no_distribution} rows without it"
        )
    elif summary.scored:
        click.echo("  expected  none: the teacher reported no probabilities (sampled scores only)")
    for reason, count in summary.rejected.most_common():
        click.echo(f"  rejected {reason:<24} {count:>6}")
    if summary.skipped:
        click.echo(f"  resumed: {summary.skipped} already written, {summary.written} written now")
    click.echo(f"  teacher   {summary.teacher}")
    click.echo(
        f"  tokens    {summary.prompt_tokens:,} prompt, {summary.completion_tokens:,} completion"
        f" in {summary.wall_s:.1f} s"
    )


@click.command("judge")
@inputs_argument
@config_options(JOBS["judge"].config, JOBS["judge"].short, INPUTS)
@click.option(
    "--progress/--no-progress", default=True, show_default=True, help="show a progress bar"
)
@click.option("--json-summary", is_flag=True, help="print the summary as one JSON line on stdout")
def judge_cmd(inputs, progress: bool, json_summary: bool, **values) -> None:
    """Score how much each story, textbook section or text makes sense (0-1), with a judge model.

    INPUTS are dataset folders (kept rows; --rejected adds the rejects), JSON Lines or Parquet
    files with id, text and optionally kind (story, textbook, web). Every row ends as one row
    with the same id and a `sense` column (higher makes more sense; the card documents the
    scale and shows its distribution). Rerunning the same command resumes.
    """
    job = JOBS["judge"]
    config = build_config(job.config, {"inputs": list(inputs), **values}, job.short)
    summary = resumable(job.run, config, progress, json_summary)
    if summary is None:
        return
    d = summary.to_dict()
    click.echo(f"\n{d['out']}: {summary.judged} judged of {summary.rows} rows by {summary.judge}")
    click.echo(f"  method    {summary.method or 'none'}; threshold {summary.threshold}")
    for kind, v in summary.by_kind.items():
        click.echo(
            f"  {kind:<9} {v['rows']:>5} rows, mean sense {v['mean']:.3f}, "
            f"{v['below_threshold']} below the threshold"
        )
    for reason, count in summary.rejected.most_common():
        click.echo(f"  rejected {reason:<24} {count:>6}")
    if summary.skipped:
        click.echo(f"  resumed: {summary.skipped} already written, {summary.written} written now")
    if summary.wall_s:
        click.echo(
            f"  speed     {summary.written / summary.wall_s:.2f} docs/s "
            f"({summary.prompt_tokens:,} prompt tokens in {summary.wall_s:.1f} s)"
        )


@click.group("classifier")
def classifier_group() -> None:
    """Train and evaluate quality classifiers on labeled documents."""


@classifier_group.command("train")
@config_options(TrainClassifierConfig)
def classifier_train_cmd(**values) -> None:
    """Train a classifier on data with text and score (0-5) columns, hold out a share for metrics.

    The model folder holds the estimator, classifier.json (recipe, threshold, label source,
    metrics, training-data hash, scikit-learn version), report.md and pr_curve.png.
    """
    from ..graders.classifier import train_classifier

    config = build_config(TrainClassifierConfig, values, {})
    try:
        train_classifier(config, log=click.echo)
    except USER_ERRORS as e:
        fail(str(e))
    click.echo(f"saved in {config.out}")


@classifier_group.command("eval")
@click.argument("model", type=click.Path(path_type=Path))
@click.option(
    "--data",
    multiple=True,
    required=True,
    type=click.Path(path_type=Path),
    help="labeled data with text and score columns (repeatable)",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="folder for metrics.json, report.md, pr_curve.png (default: MODEL/eval/<data hash>)",
)
def classifier_eval_cmd(model: Path, data: tuple[Path, ...], out: Path | None) -> None:
    """Score other labeled data with a trained classifier; print and save its metrics."""
    from ..graders.classifier import evaluate_classifier

    try:
        evaluate_classifier(model, list(data), out, log=click.echo)
    except USER_ERRORS as e:
        fail(str(e))


@click.command("filter")
@inputs_argument
@config_options(JOBS["filter"].config, JOBS["filter"].short, INPUTS)
@click.option("--json-summary", is_flag=True, help="print the summary as one JSON line on stdout")
def filter_cmd(inputs, json_summary: bool, **values) -> None:
    """Filter web text: heuristics, classifier, exact + MinHash dedup, decontamination.

    The steps run in that order, and only those named by flags. Every dropped document lands in
    rejected/ with its step and reason; the card reports the funnel. The output folder appears
    only when the run has finished.
    """
    job = JOBS["filter"]
    config = build_config(job.config, {"inputs": list(inputs), **values}, job.short)
    try:
        summary = job.run(config, log=log)
    except USER_ERRORS as e:
        fail(str(e))
    if json_summary:
        click.echo(json.dumps(summary.to_dict()))
        return
    click.echo(f"\n{config.out}: {summary.kept} kept of {summary.documents} documents")
    if summary.repaired:
        repairs = ", ".join(f"{r} {c}" for r, c in summary.repaired.most_common())
        click.echo(f"  repaired  {repairs} (bytes that were not UTF-8 became U+FFFD)")
    for step, left in summary.funnel:
        click.echo(f"  after {step:<14} {left:>8}")
    for (step, reason), count in summary.rejected.most_common():
        click.echo(f"  rejected {step + '/' + reason:<36} {count:>6}")
    where = "Ray actor(s)" if summary.runner == "ray" else "worker(s)"
    click.echo(f"  {summary.wall_s:.1f} s with {summary.workers} {where}")
    if summary.dedup_candidates is not None:
        click.echo(f"  dedup pass over {summary.dedup_candidates} candidates "
                   f"({summary.shuffle_bytes:,} bytes of keys shuffled)")  # fmt: skip


@click.command("humaneval")
@config_options(JOBS["humaneval"].config, JOBS["humaneval"].short)
@click.option(
    "--progress/--no-progress", default=True, show_default=True, help="show a progress bar"
)
@click.option("--json-summary", is_flag=True, help="print the summary as one JSON line on stdout")
def humaneval_cmd(progress: bool, json_summary: bool, **values) -> None:
    """A teacher's pass@k on HumanEval's 164 problems, its answers run in the sandbox.

    One sample per problem at temperature 0 gives greedy pass@1; --samples 10 --temperature 0.8
    gives pass@1 and pass@10 (the unbiased estimator). Passing solutions land in data/, failing
    ones in rejected/ with the sandbox's reason; results.json holds pass@k overall and per
    problem. Rerunning the same command resumes.
    """
    job = JOBS["humaneval"]
    summary = resumable(job.run, build_config(job.config, values, job.short), progress,
                        json_summary)  # fmt: skip
    if summary is None:
        return
    d = summary.to_dict()
    total = summary.problems * summary.samples
    click.echo(f"\n{d['out']}: {summary.passed} of {total} answers pass ({summary.teacher})")
    click.echo("  " + "  ".join(f"{k} {v:.3f}" for k, v in d["pass_at_k"].items()))
    if d["failed"]:
        click.echo("  failed    " + ", ".join(f"{r} {c}" for r, c in d["failed"].items()))
    click.echo(f"  {d['completion_tokens']:,} answer tokens in {d['wall_s']:.0f} s")
