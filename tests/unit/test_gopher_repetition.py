"""Gopher's repetition rule, counted as datatrove counts it: only the repeats, skipping ahead."""

import random
from collections import Counter

import pytest

from filters import Repetition
from schoolhouse.datasets.records import Document
from schoolhouse.text import repeated_ngram_chars, repeated_parts, top_ngram_chars, words


# Reference: datatrove 0.10.1, src/datatrove/pipeline/filters/gopher_repetition_filter.py,
# find_all_duplicate and find_top_duplicate, copied unchanged but for names.
# Copyright 2024 The HuggingFace Inc. team. Apache License 2.0
# (https://www.apache.org/licenses/LICENSE-2.0).
def datatrove_find_all_duplicate(words: list[str], n: int) -> int:
    n_words = len(words)
    unique = set()
    repeated_chars, idx = 0, 0
    while idx < n_words - n + 1:
        n_gram = "".join(words[idx : idx + n])
        if n_gram in unique:
            repeated_chars += len(n_gram)
            idx += n
        else:
            unique.add(n_gram)
            idx += 1
    assert repeated_chars <= len("".join(words))
    return repeated_chars


def datatrove_find_top_duplicate(x: list[str]) -> int:
    counter = Counter()
    for element in x:
        counter[element] += 1
    top_n_gram = counter.most_common(1)[0]
    return len(top_n_gram[0]) * top_n_gram[1]


def doc(text: str) -> Document:
    return Document(id="t", text=text, source="test")


def test_a_repeated_2gram_counts_once():
    # the cat | cat sat | sat on | on the | the cat <- seen: "the"+"cat" = 6 characters.
    # Counting every occurrence, the first included, gave 12.
    assert repeated_ngram_chars(["the", "cat", "sat", "on", "the", "cat"], 2) == 6
    assert repeated_ngram_chars(list("abcab"), 2) == 2


def test_the_scan_skips_past_a_repeat():
    # a a | a a <- seen (+2, jump to 3) | a a <- seen (+2, jump to 5) | stop: 4, not 6
    assert repeated_ngram_chars(["a"] * 6, 2) == 4
    # a b c | b c a | c a b | a b c <- seen (+3, jump to 6) | stop before "b c a" again
    assert repeated_ngram_chars(list("abcabcab"), 3) == 3
    assert repeated_ngram_chars(list("abcdef"), 2) == 0
    assert repeated_ngram_chars(["a"], 2) == 0


def test_the_top_ngram_counts_every_occurrence():
    # "a b" and "b a" both twice; the first seen wins: len("a b") * 2
    assert top_ngram_chars(list("ababa"), 2) == 6
    assert top_ngram_chars(["one"], 2) == 0


def test_repeated_lines_count_from_the_second():
    assert repeated_parts(["x", "yy", "x", "x", "yy"]) == (3, 4)
    assert repeated_parts(["a", "b"]) == (0, 0)


@pytest.mark.parametrize("n", [2, 3, 5, 10])
def test_same_counts_as_datatrove(n):
    rng = random.Random(n)
    for _ in range(200):
        # one-letter words: datatrove's key (words joined without spaces) is then one-to-one
        tokens = [rng.choice("abc") for _ in range(rng.randint(0, 40))]
        assert repeated_ngram_chars(tokens, n) == datatrove_find_all_duplicate(tokens, n)
        grams = [" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
        if grams:
            assert top_ngram_chars(tokens, n) == datatrove_find_top_duplicate(grams)


DOC_PAGE = """Reading and writing files

To read a file, open it with the built-in function open and the mode "r", then call its read \
method. The file object remembers its position, so a second call continues where the first \
one stopped.

To write a file, open it with the built-in function open and the mode "w", then call its write \
method. Opening a file for writing truncates it first; use the mode "a" to append instead.

Always close a file when you are done with it, or use the with statement, which closes the \
file for you even if an exception is raised while it is open. Files opened in text mode \
return strings; files opened in binary mode return bytes objects."""


def test_a_documentation_page_with_a_repeated_phrase_is_kept():
    # Both instructions share 13 words: "a file open it with the built in function open and the
    # mode". In the second, the 10-gram "a file ... function open" is a repeat: 37 characters,
    # and the scan jumps past it. Counting every occurrence of every repeated 10-gram, the
    # first included, covered all 13 words twice: 2 * 47 = 94 characters.
    assert repeated_ngram_chars(words(DOC_PAGE), 10) == 37
    assert 37 / len(DOC_PAGE) < 0.10 < 94 / len(DOC_PAGE)  # Gopher's 10-gram threshold
    assert Repetition()(doc(DOC_PAGE)) is True


def test_a_looping_page_is_dropped():
    loop = DOC_PAGE + "\n\n" + "Click here to win a free prize now. " * 12
    assert Repetition()(doc(loop)) == (False, "degenerate_repetition")
    scraped_twice = DOC_PAGE + "\n\n" + DOC_PAGE
    assert Repetition()(doc(scraped_twice)) == (False, "degenerate_repetition")
    lines = "\n".join(["Buy now and save!"] * 4 + ["Limited offer.", "Call today."] * 1)
    assert Repetition()(doc(lines)) == (False, "degenerate_repetition")
    assert Repetition()(doc("  \n ")) == (False, "degenerate_repetition")
