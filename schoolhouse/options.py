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


def number_range(kind: type, info) -> click.ParamType | type:
    """A number field's bounds (ge, gt, le, lt) as a click range type, else `kind`."""
    bounds = {k: getattr(m, k) for m in info.metadata for k in ("ge", "gt", "le", "lt")
              if getattr(m, k, None) is not None}  # fmt: skip
    if kind not in (int, float) or not bounds:
        return kind
    return (click.IntRange if kind is int else click.FloatRange)(
        min=bounds.get("ge", bounds.get("gt")), max=bounds.get("le", bounds.get("lt")),
        min_open="gt" in bounds, max_open="lt" in bounds,
    )  # fmt: skip


def config_options(
    model: type[BaseModel],
    short: dict[str, str] | None = None,
    exclude: frozenset[str] = frozenset(),
    ranges: bool = False,
):
    """One click option per config field, named after it, with the field's help and default
    (fields in `exclude` are the command's arguments). With `ranges`, click refuses a number
    out of its field's bounds ("Invalid value for"), before the command runs; otherwise the
    config does when it is built (`build_config`)."""
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
            if ranges:
                kind = number_range(kind, info)
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


# evaluate's flag that is not --FIELD
EVALUATE_SHORT = {"n": "-n"}


def grader_options(fn):
    """GPT-Eval's grader (`--teacher`, `-n`) from EvaluateConfig, as `python -m flows.pretrain`
    takes them after the options of `schoolhouse pretrain`."""
    from .student.config import EvaluateConfig

    others = frozenset(EvaluateConfig.model_fields) - {"teacher", "n"}
    return config_options(EvaluateConfig, EVALUATE_SHORT, others, ranges=True)(fn)


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
