"""`schoolhouse pipeline`: the main job in one command (the Prefect flow `flows/pipeline.py`
runs the same steps as tasks)."""

from __future__ import annotations

import click

from ..config import PipelineConfig
from ..options import USER_ERRORS, build_config, config_options, fail
from ..pipeline import Pipeline, format_steps


@click.command("pipeline")
@config_options(PipelineConfig)
@click.option(
    "--progress/--no-progress", default=True, show_default=True, help="show progress bars"
)
def pipeline_cmd(progress: bool, **values) -> None:
    """The whole job: stories + textbooks, annotate a web sample, train the classifier, filter
    the web text, merge what was kept, pretrain the student, grade it, write the report (and
    publish the training mix with --repo).

    Each step writes a folder under --out; rerunning the same command skips finished steps and
    resumes an interrupted one.
    """
    config = build_config(PipelineConfig, values, {})
    pipeline = None
    try:
        pipeline = Pipeline(config, log=lambda m: click.echo(m, err=True))
        state = pipeline.run(progress=progress)
    except USER_ERRORS as e:
        fail(str(e))
    except KeyboardInterrupt:
        fail(
            f"interrupted; finished work is kept in {config.out}: rerun the same command to resume"
        )
    click.echo(format_steps(state))
    steps = state["steps"]
    evaluation = steps.get("evaluate", {}).get("result") or {}
    if evaluation:
        click.echo(f"student: validation loss {evaluation['val_loss']:.3f}, "
                   f"perplexity {evaluation['perplexity']:.1f}")  # fmt: skip
    report = steps.get("report", {}).get("result", {}).get("path")
    if report:
        click.echo(f"report: {report}")
