"""`schoolhouse selftrain exercises|stories`: ReST-EM self-training of the teacher.

schoolhouse selftrain exercises --out runs/rest-exercises --iterations 3 --samples 8 --problems 200
schoolhouse selftrain stories --out runs/rest-stories --iterations 2
"""

from __future__ import annotations

import json

import click

from ..jobs import JOBS
from ..options import USER_ERRORS, build_config, config_options, fail

KIND = frozenset({"kind"})


@click.group("selftrain")
def selftrain_group() -> None:
    """The teacher learns from its own best work (ReST-EM): sample answers, keep those a binary
    check accepts, fine-tune the base model on them, repeat."""


def _command(kind: str, doc: str):
    @selftrain_group.command(kind, help=doc)
    @config_options(JOBS["selftrain"].config, JOBS["selftrain"].short, KIND)
    @click.option("--progress/--no-progress", default=True, show_default=True,
                  help="show progress bars")  # fmt: skip
    @click.option("--json-summary", is_flag=True, help="print iterations.json as one JSON line")
    def command(progress: bool, json_summary: bool, **values) -> None:
        from ..selftrain.loop import SelfTrainError

        job = JOBS["selftrain"]
        config = build_config(job.config, {"kind": kind, **values}, job.short)

        def log(message: str) -> None:
            click.echo(message, err=True)

        try:
            summary = job.run(config, progress=progress, log=log)
        except (SelfTrainError, *USER_ERRORS) as e:
            fail(str(e))
        except KeyboardInterrupt:
            fail(f"interrupted; finished work is saved in {config.out}: rerun the same command")
        if json_summary:
            click.echo(json.dumps(summary))
            return
        click.echo(format_iterations(summary))

    return command


def format_iterations(summary: dict) -> str:
    from ..report.selftrain import table

    lines = [f"\n{summary['out']}: {summary['task']} self-training of {summary['base']}", ""]
    lines += table(summary)
    lines.append(f"\niterations.json and report.md in {summary['out']}")
    return "\n".join(lines)


_command(
    "exercises",
    """Fine-tune a code teacher on its own answers that pass their tests.

    Problems are Python exercises the teacher wrote (`generate exercises`, or --exercises FOLDER),
    asked as HumanEval asks (signature and docstring). Each iteration samples --samples answers
    per problem, rewards those whose tests pass in the sandbox, keeps at most --cap per problem
    and fine-tunes the base model on everything kept so far into iter-N/, a model folder that
    --teacher takes. Every teacher is scored on HumanEval and on held-out problems. Rerunning the
    same command resumes; a larger --iterations extends the run.
    """,
)
_command(
    "stories",
    """Fine-tune a story teacher on its own stories that pass the filters.

    Problems are story prompts (three words, features); an answer is rewarded when the story
    passes the generation filters (its words, length, repetition, language). Every teacher is
    scored on held-out prompts: adherence (all three words) and kept rate.
    """,
)
