"""The options the `schoolhouse` commands and the Prefect flows share, and no command: click
options built from the config types, the flags that are not named after their field, the
options of the commands that have no config type, and user-facing errors.

The CLI (`schoolhouse/cli/`) and `python -m flows.X` both build their command lines from here,
so the two take the same flags with the same help; flows never import a CLI command.
"""

from __future__ import annotations

import sys
import typing
from pathlib import Path

import click
from pydantic import BaseModel, ValidationError

# Errors a user can fix: printed as one line, exit code 2, no traceback.
USER_ERRORS: tuple[type[Exception], ...] = (ValueError, FileNotFoundError, RuntimeError)

# Flags not named `--FIELD` after their config field (the jobs' `short` in `schoolhouse.jobs`).
LESSON_SHORT = {"n": "-n"}  # `generate KIND -n`: prompts to run
# `--grader` as the pipeline names it; `--teacher` still works
ANNOTATE_SHORT = {"n": "-n", "teacher": "--grader"}


def fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def config_options(
    model: type[BaseModel],
    short: dict[str, str] | None = None,
    exclude: frozenset[str] = frozenset(),
):
    """One click option per config field, named after it, with the field's help and default
    (fields in `exclude` are the command's arguments)."""
    short = short or {}

    def decorate(fn):
        for name, info in reversed(model.model_fields.items()):
            if name in exclude:
                continue
            flag = f"--{name.replace('_', '-')}"
            decls = [short[name], flag] if name in short else [flag]
            annotation = info.annotation
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            multiple = typing.get_origin(annotation) is list
            if multiple or (args and len(args) == 1):  # list[X] and X | None take X's type
                annotation = args[0]
            kind = {int: int, float: float, str: str, bool: None}.get(annotation, str)
            if typing.get_origin(annotation) is typing.Literal:
                kind = click.Choice(typing.get_args(annotation))
            if annotation is Path:
                kind = click.Path(path_type=Path)
            if annotation is bool:
                decls = [f"{flag}/--no-{flag[2:]}"]
            required = info.is_required()
            default = None if required or info.default_factory else info.default
            help_text = info.description or name.replace("_", " ")
            fn = click.option(
                *decls,
                name,
                type=kind,
                required=required,
                default=default,
                multiple=multiple,
                show_default=not required and default is not None,
                help=help_text,
            )(fn)
        return fn

    return decorate


def build_config(model: type[BaseModel], values: dict, short: dict[str, str]) -> BaseModel:
    try:
        return model(**values)
    except ValidationError as e:
        err = e.errors()[0]
        if not err["loc"]:  # a check across fields: its message names the flags
            fail(str(err["msg"]).removeprefix("Value error, "))
        name = str(err["loc"][0])
        flag = short.get(name) or f"--{name.replace('_', '-')}"
        fail(f"{flag}: {err['msg']} (got {err.get('input')!r})")


def grader_options(fn):
    """GPT-Eval's grader, as `schoolhouse evaluate` and `python -m flows.pretrain` take it."""
    fn = click.option(
        "-n", "n", type=click.IntRange(min=1), default=20, show_default=True,
        help="story beginnings to grade",
    )(fn)  # fmt: skip
    return click.option(
        "--teacher",
        default="embedded",
        show_default=True,
        help="grader for GPT-Eval: 'embedded', a model folder, http(s) URL(s), or 'none'",
    )(fn)


def publish_options(fn):
    """The folder and Hub options of `schoolhouse publish` and `python -m flows.publish`."""
    for option in reversed((
        click.argument("folder", type=click.Path(path_type=Path)),
        click.option("--repo", required=True, help="Hub dataset repo, OWNER/NAME"),
        click.option("--private", is_flag=True, help="create the repo private"),
        click.option("--revision", default=None, help="branch to commit to (created if missing)"),
        click.option(
            "--retries", type=click.IntRange(min=0), default=5, show_default=True,
            help="retries on rate limits and server errors",
        ),
        click.option(
            "--backoff", type=click.FloatRange(min=0), default=2.0, show_default=True,
            help="first retry delay, doubled each time (s)",
        ),
    )):  # fmt: skip
        fn = option(fn)
    return fn
