"""A textbook section's Python blocks run, in order, in the sandbox, and print what the text
shows (drop reason `code_fails`)."""

from __future__ import annotations

import functools
from types import SimpleNamespace

import pytest

from filters import CodeRuns, textbook_filters
from filters.code_runs import code_blocks
from schoolhouse.sandbox import isolation, run_tests

SECTION = """Lists keep items in order, and `append` adds one at the end.

```python
fruits = ["apple", "pear"]
fruits.append("plum")
print(len(fruits))
```

The output is:

```
3
```

A later block sees what the earlier ones defined:

```python
for fruit in fruits:
    print(fruit.upper())
```
"""


def section(text: str) -> SimpleNamespace:
    return SimpleNamespace(text=text)


def test_blocks_and_the_output_the_text_shows_are_found():
    blocks = code_blocks(SECTION)
    assert [shown for _, shown in blocks] == ["3\n", None]
    assert blocks[1][0].startswith("for fruit in fruits:")
    # an interpreter session shows its own output; a block of another language is not run
    other = "```pycon\n>>> 1 + 1\n2\n```\n\n```javascript\nconsole.log(1)\n```\n"
    assert code_blocks(other) == []
    # an untagged block far from any word about output is not taken for the output
    far = "```python\nx = 1\n```\n\nNow consider a table of values we will fill in later on:\n\n```\n7\n```\n"
    assert code_blocks(far) == [("x = 1\n", None)]


def test_the_textbook_checks_end_with_the_code_check_when_given():
    check = CodeRuns(run_tests)
    assert textbook_filters(150, decontaminate=lambda r: True, code=check)[-1] is check
    assert all(not isinstance(f, CodeRuns) for f in textbook_filters(150, lambda r: True))


needs_bwrap = pytest.mark.skipif(isolation() != "bwrap", reason="bubblewrap cannot run here")


@needs_bwrap
@pytest.mark.parametrize(
    "text, why",
    [
        (SECTION.replace("```\n3\n```", "```\n4\n```"), "AssertionError"),  # wrong shown output
        ("Call it:\n\n```python\nprint(total_price(3))\n```\n", "NameError"),  # never defined
        ("Ask:\n\n```python\nname = input('Name? ')\nprint(name)\n```\n", "EOFError"),
        ("```python\ndef f(:\n    pass\n```\n", "SyntaxError"),
    ],
)
def test_code_that_fails_or_prints_otherwise_is_dropped(text, why):
    check = CodeRuns(functools.partial(run_tests, mode="bwrap"))
    assert check(section(text)) == (False, "code_fails")
    assert why in check.last_detail


@needs_bwrap
def test_code_that_runs_and_prints_what_the_text_shows_is_kept():
    check = CodeRuns(functools.partial(run_tests, mode="bwrap"))
    assert check(section(SECTION)) is True and check.last_detail == ""
    assert check(section("A section with no code at all.")) is True
