"""`schoolhouse sandbox check`: one solution and its tests through the exercises' sandbox.

schoolhouse sandbox check solution.py tests.py
{"passed": true, "reason": null, "detail": "", "sandbox": "bwrap+seccomp", "duration_s": 0.31}
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..options import fail

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def check_timeout(ctx, param, value: float) -> float:
    """click reads inf, nan and 1e308 as floats; the sandbox cannot wait that long."""
    from ..sandbox import MAX_TIMEOUT_S

    if not 0 < value <= MAX_TIMEOUT_S:  # also false for nan
        bounds = f"more than 0 and at most {MAX_TIMEOUT_S:g} seconds"
        fail(f"--timeout-s: must be {bounds} (got {value:g})")
    return value


@click.group("sandbox")
def sandbox_group() -> None:
    """Run model-written code the way `generate exercises` does."""


@sandbox_group.command("check")
@click.argument("solution", type=FILE)
@click.argument("tests", type=FILE)
@click.option(
    "--timeout-s", type=float, default=10.0, show_default=True, callback=check_timeout,
    help="CPU seconds, at most a day (the wall clock allows 2 s more)",
)  # fmt: skip
@click.option(
    "--memory-mb", type=click.IntRange(min=16), default=512, show_default=True,
    help="address-space limit",
)  # fmt: skip
@click.option(
    "--unsafe-no-sandbox", is_flag=True,
    help="where bubblewrap cannot run, use the audit-hook guard alone instead of refusing",
)  # fmt: skip
@click.option("--show-output", is_flag=True, help="print the code's stdout and stderr tails")
def check_cmd(
    solution: Path,
    tests: Path,
    timeout_s: float,
    memory_mb: int,
    unsafe_no_sandbox: bool,
    show_output: bool,
) -> None:
    """Run SOLUTION.py, then TESTS.py (asserts and test_* functions), in the sandbox.

    Prints one JSON line: passed, reason (syntax_error, no_tests, unsafe_import,
    sandbox_violation, timeout, memory_exceeded, output_exceeded, test_failed, crashed) and
    detail. Exit code 0 when the tests pass, 1 when they fail or the code was stopped, 2 on a
    usage error or when no sandbox can run here.
    """
    from ..sandbox import SandboxUnavailable, mode_label, require_isolation, run_tests

    try:
        texts = [path.read_text(encoding="utf-8") for path in (solution, tests)]
    except (OSError, UnicodeDecodeError) as e:
        fail(f"cannot read {e.filename if isinstance(e, OSError) else 'an input'}: {e}")
    try:
        mode = require_isolation(unsafe_no_sandbox)
    except SandboxUnavailable as e:
        fail(str(e))
    result = run_tests(*texts, timeout_s=timeout_s, memory_mb=memory_mb, mode=mode)
    line = {
        "passed": result.passed,
        "reason": result.reason,
        "detail": result.detail,
        "sandbox": mode_label(mode),
        "duration_s": round(result.duration_s, 3),
    }
    click.echo(json.dumps(line))
    if show_output:
        for name, tail in (("stdout", result.stdout_tail), ("stderr", result.stderr_tail)):
            if tail:
                click.echo(f"--- {name} (tail) ---\n{tail.rstrip()}", err=True)
    raise SystemExit(0 if result.passed else 1)
