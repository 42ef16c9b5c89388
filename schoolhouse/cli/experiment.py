"""`schoolhouse experiment`: students trained on arms built from the same inputs, judged on
held-out text.

schoolhouse experiment --out runs/phi --web web/ --classifier out/edu-clf \\
    --synthetic out/stories --synthetic out/textbooks --tokens 2000000 --seeds 3
schoolhouse report runs/phi --out runs/phi/report.html
"""

from __future__ import annotations

import click

from ..experiment import ExperimentConfig
from ..options import USER_ERRORS, build_config, config_options, fail


@click.command("experiment")
@config_options(ExperimentConfig)
@click.option(
    "--progress/--no-progress", default=True, show_default=True, help="show progress bars"
)
def experiment_cmd(progress: bool, **values) -> None:
    """Does a student learn more per token from what was kept? Train students of one preset
    for the same number of tokens on each arm (unfiltered web text, + heuristics and dedup,
    + the classifier, + synthetic data, + annealing on the best-scored data), several seeds
    each, and judge them in bits per byte on reference sets no arm trains on. Rerunning the
    same command resumes; the table is in OUT/README.md and OUT/results.json."""
    from ..experiment import experiment

    config = build_config(ExperimentConfig, values, {})
    try:
        experiment(config, progress=progress, log=lambda line: click.echo(line, err=True))
    except USER_ERRORS as e:
        fail(str(e))
    except KeyboardInterrupt:
        fail(f"interrupted; rerun the same command to resume {config.out}")
    click.echo((config.out / "README.md").read_text())
