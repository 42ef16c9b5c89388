"""Exercise parsing on completions written the way small teachers write them."""

import ast

import pytest

from schoolhouse.lessons.exercise_parser import Exercise, parse_exercise
from schoolhouse.sandbox import run_tests

CANONICAL = '''Here is a function that counts the vowels in a word.

```python
def count_vowels(word: str) -> int:
    """Return how many vowels (a, e, i, o, u) are in `word`.

    The check ignores case, so "A" counts as a vowel.
    """
    return sum(1 for ch in word.lower() if ch in "aeiou")
```

### Tests

```python
assert count_vowels("hello") == 2
assert count_vowels("SKY") == 0
assert count_vowels("") == 0
```

These tests check ordinary words, capital letters and the empty string.
'''

ONE_BLOCK = '''```python
from typing import List

def is_even(n):
    return n % 2 == 0

def evens(numbers: List[int],
          limit: int = 10,
          ) -> List[int]:
    """
    Return the even numbers of `numbers`, at most `limit` of them.
    """
    return [n for n in numbers if is_even(n)][:limit]

# Example usage
print(evens([1, 2, 3, 4]))

# Test cases
nums = [1, 2, 3, 4, 5, 6]
assert evens(nums) == [2, 4, 6]
assert evens(nums, limit=1) == [2]
```
Output:
```
[2, 4]
```
'''

TEST_FUNCTIONS_NO_TAG = '''Sure! Here's the solution:

```
def reverse_words(sentence):
    """Reverse the order of the words in a sentence."""
    return " ".join(reversed(sentence.split()))
```

And some tests:

```python
def test_reverse_words():
    assert reverse_words("hello world") == "world hello"

def test_single_word():
    assert reverse_words("hi") == "hi"

if __name__ == "__main__":
    test_reverse_words()
    test_single_word()
    print("All tests passed!")
```
'''

MAIN_GUARD = '''```Python
def fib(n):
    """Return the n-th Fibonacci number, with fib(0) == 0 and fib(1) == 1.

    >>> fib(10)
    55
    """
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a

if __name__ == "__main__":
    print(fib(10))
    assert fib(0) == 0
    assert fib(10) == 55
```

Example:
```python
>>> fib(7)
13
```
'''

PROSE_ASSERTS = '''```py
def add(a, b):
    """Add two numbers."""
    return a + b
```

Test cases:
- `assert add(2, 3) == 5`
- `assert add(-1, 1) == 0`
'''

ALL_CODE = '''def square(x):
    """Return x times x."""
    return x * x

assert square(3) == 9
'''

TRUNCATED = '''```python
def area(width, height):
    """Return the area of a rectangle."""
    return width * height

assert area(2, 3) == 6
assert area(10, '''

NO_DOCSTRING = """```python
def double(x):
    return 2 * x

assert double(2) == 4
```"""

ONLY_PRINTS = '''```python
def greet(name):
    """Say hello to `name`."""
    return "Hello, " + name + "!"

print(greet("Sam"))  # Hello, Sam!
```'''

TESTS_ANOTHER_FUNCTION = '''```python
def greet(name):
    """Say hello to `name`."""
    return "Hello, " + name + "!"
```
```python
assert len("Sam") == 3
```'''

PROSE_ONLY = """To solve this, loop over the list and keep a running total. Then return the total.
This works because addition is associative."""

TEXT_BLOCK_IS_NOT_CODE = '''```python
def shout(word):
    """Return `word` in capitals with an exclamation mark."""
    return word.upper() + "!"
```
```text
This prints HELLO!
```
```
assert shout("hi") == "HI!"
```'''


def parsed(text) -> Exercise:
    result = parse_exercise(text)
    assert isinstance(result, Exercise), result
    ast.parse(result.solution + result.tests)
    return result


def test_canonical_answer():
    ex = parsed(CANONICAL)
    assert ex.name == "count_vowels"
    assert ex.signature == "def count_vowels(word: str) -> int:"
    assert ex.docstring.startswith("Return how many vowels") and "ignores case" in ex.docstring
    assert ex.solution.startswith("def count_vowels") and "return sum(" in ex.solution
    assert ex.tests.splitlines() == [
        'assert count_vowels("hello") == 2',
        'assert count_vowels("SKY") == 0',
        'assert count_vowels("") == 0',
    ]


def test_one_block_with_helper_prints_and_a_fixture():
    ex = parsed(ONE_BLOCK)
    assert ex.name == "evens"  # the function the tests call, not the first one
    assert ex.signature == "def evens(numbers: List[int], limit: int = 10) -> List[int]:"
    assert ex.docstring == "Return the even numbers of `numbers`, at most `limit` of them."
    assert ex.solution.startswith("from typing import List\n\n\ndef is_even(n):")
    assert "print(" not in ex.solution + ex.tests
    assert ex.tests.startswith("nums = [1, 2, 3, 4, 5, 6]\nassert evens(nums)")
    assert "[2, 4]" not in ex.tests  # the output block


def test_test_functions_and_a_block_without_language_tag():
    ex = parsed(TEST_FUNCTIONS_NO_TAG)
    assert ex.name == "reverse_words"
    assert "def test_reverse_words():" in ex.tests and "def test_single_word():" in ex.tests
    assert "All tests passed" not in ex.tests


def test_asserts_under_the_main_guard_and_a_doctest_example():
    ex = parsed(MAIN_GUARD)
    assert ex.tests == "assert fib(0) == 0\nassert fib(10) == 55\n"
    assert ">>> fib(10)" in ex.docstring
    assert "__main__" not in ex.solution


def test_asserts_written_as_prose():
    assert parsed(PROSE_ASSERTS).tests == "assert add(2, 3) == 5\nassert add(-1, 1) == 0\n"


def test_an_answer_that_is_all_code():
    ex = parsed(ALL_CODE)
    assert (ex.name, ex.tests) == ("square", "assert square(3) == 9\n")


def test_untagged_block_with_asserts_and_a_text_block():
    assert parsed(TEXT_BLOCK_IS_NOT_CODE).tests == 'assert shout("hi") == "HI!"\n'


def test_a_later_definition_replaces_an_earlier_one():
    stub = '```python\ndef inc(x):\n    """Add one to x."""\n    pass\n```\n'
    full = '```python\ndef inc(x):\n    """Add one to x."""\n    return x + 1\n\nassert inc(1) == 2\n```'
    ex = parsed(stub + "Solution:\n" + full)
    assert ex.solution.count("def inc") == 1 and "return x + 1" in ex.solution


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (TRUNCATED, "syntax_error"),
        ("```python\ndef f(x)\n    return x\n```\nassert f(1) == 1", "syntax_error"),
        (NO_DOCSTRING, "no_docstring"),
        (ONLY_PRINTS, "no_tests"),
        (TESTS_ANOTHER_FUNCTION, "no_tests"),
        (PROSE_ONLY, "unparseable"),
        ("", "unparseable"),
        ("```python\nimport math\nassert math.pi > 3\n```", "unparseable"),
        ("```python\nx = '\0'\n```", "syntax_error"),
    ],
)
def test_broken_answers_are_rejected_with_a_reason(text, reason):
    assert parse_exercise(text) == reason


@pytest.mark.parametrize("text", [CANONICAL, ONE_BLOCK, TEST_FUNCTIONS_NO_TAG, MAIN_GUARD])
def test_parsed_exercises_pass_in_the_sandbox(text):
    ex = parsed(text)
    result = run_tests(ex.solution, ex.tests)
    assert result.passed, result
