"""Plain-text measurements the filters and the run statistics share."""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
TOKEN = re.compile(r"\w+(?:'\w+)?|[^\w\s]")  # words, numbers, and each punctuation mark
# Gopher (Rae et al. 2021) stop words: English prose uses at least two of them.
GOPHER_STOP_WORDS = frozenset({"the", "be", "to", "of", "and", "that", "have", "with"})


def words(text: str) -> list[str]:
    return [w.lower() for w in WORD.findall(text)]


def tokens(text: str) -> list[str]:
    """Words and numbers with their case, and every punctuation mark as a token of its own (near
    enough to the spaCy tokens datatrove's Gopher rules count)."""
    return TOKEN.findall(text)


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


# Repetition as Gopher (Rae et al. 2021, table A1) measures it, counted as datatrove's
# GopherRepetitionFilter counts it (the FineWeb reference): a *repeat* is an occurrence after the
# first, so a phrase said twice contributes the characters of one copy, not two. The most
# frequent n-gram is the exception: its share counts every occurrence, the first included.


def repeated_parts(parts: list[str]) -> tuple[int, int]:
    """(parts, characters) of the repeats among `parts` (lines or paragraphs): every part equal to
    an earlier one counts; the first occurrence does not (datatrove's find_duplicates)."""
    seen: set[str] = set()
    count = chars = 0
    for part in parts:
        if part in seen:
            count, chars = count + 1, chars + len(part)
        else:
            seen.add(part)
    return count, chars


def repeated_ngram_chars(tokens: list[str], n: int) -> int:
    """Characters in repeated n-grams (Gopher's duplicate n-gram character count).

    datatrove's find_all_duplicate: scan left to right; an n-gram seen before counts its
    characters (its words joined without spaces) and the scan jumps past it, so no word is
    counted twice; an n-gram not seen before is remembered, counts nothing, and the scan moves
    one word. In "a b c a b" the 2-gram "a b" repeats once: 2 characters, not 4."""
    seen: set[tuple[str, ...]] = set()
    chars = i = 0
    while i <= len(tokens) - n:
        gram = tuple(tokens[i : i + n])
        if gram in seen:
            chars += sum(len(t) for t in gram)
            i += n
        else:
            seen.add(gram)
            i += 1
    return chars


def top_ngram_chars(tokens: list[str], n: int) -> int:
    """Characters of the most frequent n-gram times its count, every occurrence included
    (Gopher's top n-gram character count; the n-gram's words joined by single spaces, and
    overlapping occurrences counted each, as datatrove's find_top_duplicate does)."""
    if len(tokens) < n:
        return 0
    counts = Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    gram, count = counts.most_common(1)[0]
    return len(" ".join(gram)) * count


def duplicate_ngram_fraction(tokens: list[str], n: int) -> float:
    """Share of the words' characters in repeated n-grams (`repeated_ngram_chars`)."""
    total = sum(len(t) for t in tokens)
    return repeated_ngram_chars(tokens, n) / total if total else 0.0
