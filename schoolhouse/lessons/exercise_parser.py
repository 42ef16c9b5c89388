"""Parse a teacher's exercise into phi-1 CodeExercises columns: signature, docstring, solution, tests.

    from schoolhouse.lessons.exercise_parser import parse_exercise
    parsed = parse_exercise(completion)
    if isinstance(parsed, str):  # a reject reason
        ...
    else:
        run_tests(parsed.solution, parsed.tests)  # schoolhouse.sandbox

The teacher is asked for a markdown answer: a ```python block with one function (docstring and
body) and a block or section of `assert` tests. Small models vary, and these variants are read
too: one block holding both the function and the asserts, asserts inside `def test_...():`
functions or under `if __name__ == "__main__":`, fences without a language tag, a bare `assert`
line outside any fence, and an answer that is all code with no fence at all. Everything is read
with `ast`, never run. Example `print(...)` calls and echoed output are dropped; in a block that
has tests, the statements after its last definition go to the tests (fixtures), the rest to the
solution.

Reject reasons: unparseable (no code, or no function), syntax_error (a ```python block that does
not parse), no_docstring (no function has one), no_tests (no assert that calls the function).
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass

FENCE = re.compile(
    r"^[ \t]*(```|~~~)[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:^[ \t]*\1[ \t]*$|\Z)", re.M | re.S
)
PYTHON_TAGS = {"python", "python3", "py", "py3"}
DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
# an assert on a line of its own, maybe as a list item or in `inline code`
ASSERT_LINE = re.compile(r"^[ \t]*(?:[-*+]\s+|\d+[.)]\s+)?`?(assert\b.*?)`?[ \t]*$", re.M)


@dataclass(frozen=True, slots=True)
class Exercise:
    name: str  # the function's name: the entry point the tests call
    signature: str  # its `def ...:` header as written, e.g. "def add(a: int, b: int) -> int:"
    docstring: str  # cleaned as by inspect.cleandoc
    solution: str  # runnable source: imports, helpers and the function with docstring and body
    tests: str  # assert statements (and test functions), run after `solution`


def parse_exercise(text: str) -> Exercise | str:
    """The exercise in a teacher's completion, or the reason it cannot be read. Never raises."""
    try:
        return _parse(text)
    except (RecursionError, MemoryError):  # code nested too deeply for the parser
        return "syntax_error"


def _parse(text: str) -> Exercise | str:
    blocks, outside = _code_blocks(text)
    if blocks is None:
        return "syntax_error"
    solution: list[tuple[str, ast.stmt]] = []  # (block source, statement)
    tests: list[tuple[str, ast.stmt]] = []
    for source, tree in blocks:
        body = [stmt for stmt in tree.body if not _is_noise(stmt)]
        has_tests = any(_is_test(stmt) for stmt in body)
        # statements after a block's last definition set up its tests (fixtures, imports)
        defs = [i for i, stmt in enumerate(body) if _is_def(stmt) or _is_class(stmt)]
        for i, stmt in enumerate(body):
            if isinstance(stmt, ast.If) and _is_main_guard(stmt):
                inner = [(source, s) for s in stmt.body if not _is_noise(s)]
                if any(_is_test(s) for _, s in inner):
                    tests.extend(inner)  # else a demo: dropped
            elif _is_test(stmt) or (has_tests and i > max(defs, default=-1)):
                tests.append((source, stmt))
            else:
                solution.append((source, stmt))
    for line in outside:  # `assert` lines written as prose, outside any fence
        tests.append((line, ast.parse(line).body[0]))

    functions = _last_definitions(solution)
    if not functions:
        return "unparseable"
    documented = [f for _, f in functions if ast.get_docstring(f)]
    if not documented:
        return "no_docstring"
    # the exercise's function is the one the tests call (a helper may have a docstring too)
    tested = [f for f in documented if any(_calls(stmt, f.name) for _, stmt in tests)]
    if not tested:
        return "no_tests"
    main = tested[0]
    last = {id(f) for _, f in functions}
    kept = [(src, s) for src, s in solution if not _is_def(s) or id(s) in last]
    return Exercise(
        name=main.name,
        signature=_signature(next(src for src, f in functions if f is main), main),
        docstring=ast.get_docstring(main) or "",
        solution=_join(kept),
        tests=_join(tests),
    )


def _code_blocks(text: str) -> tuple[list[tuple[str, ast.Module]] | None, list[str]]:
    """Parsed Python blocks, and `assert` lines found outside fences. None: a ```python block
    does not parse. Untagged blocks that do not parse are taken for program output or prose,
    and a block that is a doctest session (`>>> f(1)`) for an example."""
    blocks: list[tuple[str, ast.Module]] = []
    fences = list(FENCE.finditer(text))
    if not fences:
        try:
            tree = ast.parse(text)  # an answer that is all code
        except (SyntaxError, ValueError):
            return [], _assert_lines(text)
        return [(text, tree)], []
    for m in fences:
        tag, source = m.group(2).lower(), textwrap.dedent(m.group(3))  # fences inside a list
        if tag and tag not in PYTHON_TAGS:
            continue
        try:
            blocks.append((source, ast.parse(source)))
        except (SyntaxError, ValueError):
            if tag and not source.lstrip().startswith(">>>"):  # a doctest session is an example
                return None, []
    outside = FENCE.sub("", text)
    return blocks, _assert_lines(outside)


def _assert_lines(text: str) -> list[str]:
    found = []
    for m in ASSERT_LINE.finditer(text):
        line = m.group(1)
        try:
            if isinstance(ast.parse(line).body[0], ast.Assert):
                found.append(line)
        except (SyntaxError, ValueError):
            continue
    return found


def _is_test(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
        return stmt.name.startswith("test")  # as pytest finds them, and the sandbox calls them
    if isinstance(stmt, ast.ClassDef):
        return stmt.name.startswith("Test")
    return any(isinstance(node, ast.Assert) for node in ast.walk(stmt))


def _is_def(stmt: ast.stmt) -> bool:
    """A function of the solution (test functions are tests)."""
    return isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and not _is_test(stmt)


def _is_main_guard(stmt: ast.If) -> bool:
    test = stmt.test
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)
    )


def _is_noise(stmt: ast.stmt) -> bool:
    """Example prints, echoed output (a bare value) and test-runner calls."""
    if not isinstance(stmt, ast.Expr):
        return False
    if not isinstance(stmt.value, ast.Call):
        return True
    return ast.unparse(stmt.value.func) in ("print", "unittest.main", "pytest.main")


def _is_class(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.ClassDef) and not _is_test(stmt)


def _calls(stmt: ast.stmt, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(stmt))


def _last_definitions(solution: list[tuple[str, ast.stmt]]) -> list[tuple[str, ast.stmt]]:
    """Each function's last definition (a later block that repeats a function replaces it), in
    the order the names first appear."""
    last: dict[str, tuple[str, ast.stmt]] = {}
    for src, stmt in solution:
        if _is_def(stmt):
            last[stmt.name] = (src, stmt)
    return list(last.values())


def _segment(source: str, stmt: ast.stmt) -> str:
    lines = source.splitlines()
    start = min([stmt.lineno, *(d.lineno for d in getattr(stmt, "decorator_list", []))])
    return textwrap.dedent("\n".join(lines[start - 1 : stmt.end_lineno])).rstrip()


def _join(parts: list[tuple[str, ast.stmt]]) -> str:
    """Statements as source, two blank lines around definitions (PEP 8)."""
    out: list[str] = []
    for i, (src, stmt) in enumerate(parts):
        if i:
            compound = (stmt, parts[i - 1][1])
            out.append("\n\n\n" if any(isinstance(s, DEFINITIONS) for s in compound) else "\n")
        out.append(_segment(src, stmt))
    return "".join(out) + "\n"


def _signature(source: str, func: ast.FunctionDef) -> str:
    """The `def` header as written (joined when it spans lines), up to its colon."""
    lines = source.splitlines()
    first = func.body[0]
    if first.lineno > func.lineno:
        header = "\n".join(lines[func.lineno - 1 : first.lineno - 1])
        header = " ".join(line.strip() for line in header.splitlines())
        header = re.sub(r"\(\s+", "(", re.sub(r",?\s+\)", ")", header))  # (\n a,\n b,\n) -> (a, b)
        if header.endswith(":"):
            return header
    stub = ast.FunctionDef(
        name=func.name, args=func.args, body=[ast.Pass()], decorator_list=[], returns=func.returns
    )
    return ast.unparse(ast.fix_missing_locations(stub)).splitlines()[0]
