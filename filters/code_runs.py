from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .base import HasText

# a fenced block: ```lang ... ``` (the language tag optional)
FENCE = re.compile(r"^[ \t]*```[ \t]*([\w+.-]*)[^\n]*\n(.*?)^[ \t]*```[ \t]*$", re.M | re.S)
PYTHON = {"python", "py", "python3", "pycon"}
OUTPUT = {"", "text", "output", "console", "plaintext", "txt", "shell-session"}
# prose just before a block that says it shows what the code printed
SHOWS_OUTPUT = re.compile(r"\b(output|prints?|printed|displays?|result)\b[^\n]{0,40}:?\s*$", re.I)

SOLUTION = """\
import contextlib, io
_printed = []
_globals = {{"__name__": "__main__"}}
for _n, _code in enumerate({blocks!r}, 1):
    _buffer = io.StringIO()
    with contextlib.redirect_stdout(_buffer):
        exec(compile(_code, f"<block {{_n}}>", "exec"), _globals)
    _printed.append(_buffer.getvalue())
"""
TESTS = """\
def _lines(text):
    return [line.rstrip() for line in text.strip().splitlines() if line.strip()]
assert len(_printed) == {count}
for _n, _shown in {shown!r}.items():
    assert _lines(_printed[_n]) == _lines(_shown), (
        f"block {{_n + 1}} printed {{_printed[_n][:200]!r}}, the text shows {{_shown[:200]!r}}"
    )
"""


def code_blocks(text: str) -> list[tuple[str, str | None]]:
    """The Python blocks of a text in order, each with the output the text shows for it (the
    untagged or `output` block right after it, when the prose between says so or is empty),
    or None."""
    fences = list(FENCE.finditer(text))
    blocks: list[tuple[str, str | None]] = []
    for i, fence in enumerate(fences):
        lang = fence.group(1).lower()
        if lang not in PYTHON:
            continue
        code = fence.group(2)
        if lang == "pycon" or code.lstrip().startswith(">>>"):
            continue  # an interpreter session shows its own output inline
        shown = None
        if i + 1 < len(fences) and fences[i + 1].group(1).lower() in OUTPUT:
            between = text[fence.end() : fences[i + 1].start()].strip()
            if not between or (len(between) < 200 and SHOWS_OUTPUT.search(between)):
                shown = fences[i + 1].group(2)
        blocks.append((code, shown))
    return blocks


class CodeRuns:
    """Every Python block of a textbook section runs, in order, as one program in the sandbox
    (`schoolhouse.sandbox`), and where the text shows a block's output, the block prints it.
    A section without Python blocks passes. Code that reads input, calls names it never
    defined or raises is dropped as `code_fails`; so is a shown output the code does not print."""

    name = "code_fails"

    def __init__(self, run: Callable[..., Any], timeout_s: float = 10.0):
        """`run`: `schoolhouse.sandbox.run_tests` with its mode bound (the caller picks the
        sandbox; filters never start one of their own)."""
        self.run, self.timeout_s = run, timeout_s
        self.last_detail = ""  # why the last dropped section failed, for logs and tests

    def __call__(self, record: HasText):
        self.last_detail = ""
        blocks = code_blocks(record.text)
        if not blocks:
            return True
        solution = SOLUTION.format(blocks=[code for code, _ in blocks])
        shown = {n: out for n, (_, out) in enumerate(blocks) if out is not None}
        tests = TESTS.format(count=len(blocks), shown=shown)
        result = self.run(solution, tests, timeout_s=self.timeout_s)
        if not result.passed:
            self.last_detail = f"{result.reason}: {result.detail}"
        return result.passed or (False, self.name)
