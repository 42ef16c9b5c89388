"""Flow parameters from the config types: defaults live there only.

A flow's named parameters default to None (the config's default); `options` sets any other
field. `python -m flows.X` takes the same options as the matching `schoolhouse` command, built
from the same config type by `schoolhouse.options` (never from the CLI's commands), so the two
never disagree on a default.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel

from schoolhouse.options import build_config, config_options, fail


def build(config_type: type[BaseModel], options: dict | None, **given: Any) -> BaseModel:
    """The config from a flow's parameters; None leaves a field at the config's default. Under
    `runner: ray` its paths are made absolute: tasks and actors run in other processes, perhaps
    on other machines, that do not share this one's working folder."""
    values = {k: v for k, v in given.items() if v is not None} | (options or {})
    config = config_type(**values)
    if getattr(config, "runner", "local") == "ray":
        from schoolhouse.cluster import absolute_paths

        config = absolute_paths(config)
    return config


def on_runner(flow, runner: str | None):
    """The flow, with its tasks on the Ray cluster that RAY_ADDRESS names (prefect-ray's task
    runner) under `--runner ray`; as it is otherwise. The cluster is joined first, so a missing
    one fails in one line before any task."""
    if runner != "ray":
        return flow
    from prefect_ray import RayTaskRunner

    from schoolhouse.cluster import ClusterError, connect

    try:
        connect()
    except ClusterError as e:
        fail(str(e))
    return flow.with_options(task_runner=RayTaskRunner())


def flow_command(
    config_type: type[BaseModel],
    run: Callable[[BaseModel, dict], None],
    name: str,
    short: Mapping[str, str] | None = None,
    arguments: str | None = None,
    help: str | None = None,
):
    """A click command with the config's options: it checks them (one line naming the flag)
    and calls `run(config, values)`. `arguments` names a list field taken as positional
    arguments (the inputs of annotate and filter), as the matching `schoolhouse` command takes
    it."""
    import click

    short = dict(short or {})

    def main(**values) -> None:
        if arguments:
            values[arguments] = list(values[arguments])
        run(build_config(config_type, values, short), values)

    main = config_options(config_type, short, frozenset({arguments} - {None}))(main)
    if arguments:
        main = click.argument(arguments, nargs=-1, required=True, type=click.Path())(main)
    return click.command(help=help or f"Run the {name} flow locally (no server needed).")(main)


def command(
    config_type: type[BaseModel],
    run: Callable[[BaseModel, dict], None],
    name: str,
    short: Mapping[str, str] | None = None,
    argv: list[str] | None = None,
    arguments: str | None = None,
) -> None:
    """Parse `argv` with the config's options (`flow_command`) and run it."""
    main = flow_command(config_type, run, name, short, arguments)
    main.main(argv, prog_name=f"python -m flows.{name.replace('-', '_')}")
