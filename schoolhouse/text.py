"""Plain-text measurements the filters and the run statistics share."""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
# Gopher (Rae et al. 2021) stop words: English prose uses at least two of them.
GOPHER_STOP_WORDS = frozenset({"the", "be", "to", "of", "and", "that", "have", "with"})


def words(text: str) -> list[str]:
    return [w.lower() for w in WORD.findall(text)]


def mean_word_length(found: list[str]) -> float:
    return sum(len(w) for w in found) / len(found) if found else 0.0


def alpha_fraction(tokens: list[str]) -> float:
    """Share of tokens with at least one letter (Gopher: 80 % of words in English prose)."""
    return sum(any(c.isalpha() for c in t) for t in tokens) / len(tokens) if tokens else 0.0


def stop_words_found(found: list[str]) -> int:
    """How many distinct Gopher stop words occur among lower-cased `found` words."""
    return len(GOPHER_STOP_WORDS.intersection(found))


UPOS = {"noun": ("NOUN",), "verb": ("VERB",), "adjective": ("ADJ",), None: ("NOUN", "VERB", "ADJ")}


@lru_cache(maxsize=65536)
def forms(word: str, pos: str | None = None) -> frozenset[str]:
    """Every inflection of a base word as `pos` ("jump" -> jumps, jumped, jumping) and itself."""
    from lemminflect import getAllInflections, getAllInflectionsOOV

    found = {word}
    for upos in UPOS[pos]:
        inflections = getAllInflections(word, upos=upos) or getAllInflectionsOOV(word, upos=upos)
        for values in inflections.values():
            found.update(v.lower() for v in values)
    return frozenset(found)


def words_used(text: str, targets: dict[str, str]) -> list[str]:
    """The target words ({pos: word}) that occur in `text` in an inflected form, in order."""
    present = set(words(text))
    present |= {w.split("'")[0] for w in present if "'" in w}  # "dog's" counts for "dog"
    return [
        w for pos, w in targets.items() if forms(w.lower(), pos if pos in UPOS else None) & present
    ]


def duplicate_ngram_fraction(tokens: list[str], n: int) -> float:
    """Share of characters inside n-grams that occur more than once (Gopher's dup_n_grams)."""
    if len(tokens) < n:
        return 0.0
    grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    counts = Counter(grams)
    covered = [False] * len(tokens)
    for i, gram in enumerate(grams):
        if counts[gram] > 1:
            for j in range(i, i + n):
                covered[j] = True
    total = sum(len(t) for t in tokens)
    return sum(len(t) for t, c in zip(tokens, covered, strict=True) if c) / total if total else 0.0


def top_ngram_fraction(tokens: list[str], n: int) -> float:
    """Share of characters taken by the most frequent n-gram (Gopher's top_n_gram)."""
    if len(tokens) < n:
        return 0.0
    counts = Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    gram, count = counts.most_common(1)[0]
    total = sum(len(t) for t in tokens)
    return sum(len(t) for t in gram) * count / total if total else 0.0


def duplicate_line_fraction(text: str) -> float:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return 0.0
    counts = Counter(lines)
    return sum(c for c in counts.values() if c > 1) / len(lines)
