"""Flow parameters from the config types: defaults live there only.

A flow's named parameters default to None (the config's default); `options` sets any other
field. `python -m flows.X` takes the same options as the matching `schoolhouse` command, built
from the same config type, so the two never disagree on a default.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel


def build(config_type: type[BaseModel], options: dict | None, **given: Any) -> BaseModel:
    """The config from a flow's parameters; None leaves a field at the config's default."""
    values = {k: v for k, v in given.items() if v is not None} | (options or {})
    return config_type(**values)


def command(
    config_type: type[BaseModel],
    run: Callable[[BaseModel, dict], None],
    name: str,
    short: dict[str, str] | None = None,
    argv: list[str] | None = None,
    arguments: str | None = None,
) -> None:
    """Parse `argv` with the config's options, check them (one line naming the flag), and call
    `run(config, values)`. `arguments` names a list field taken as positional arguments (the
    inputs of annotate and filter), as the matching `schoolhouse` command takes it."""
    import click

    from schoolhouse.cli.options import build_config, config_options

    def main(**values) -> None:
        if arguments:
            values[arguments] = list(values[arguments])
        run(build_config(config_type, values, short or {}), values)

    main = config_options(config_type, short, frozenset({arguments} - {None}))(main)
    if arguments:
        main = click.argument(arguments, nargs=-1, required=True, type=click.Path())(main)
    main = click.command(help=f"Run the {name} flow locally (no server needed).")(main)

    main.main(argv, prog_name=f"python -m flows.{name.replace('-', '_')}")
