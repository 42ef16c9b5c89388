import re

from filters.base import HasText
from schoolhouse.text import repeated_ngram_chars, repeated_parts, tokens, top_ngram_chars, words

# Gopher repetition thresholds (Rae et al. 2021, table A1), the values datatrove and FineWeb use.
DUP_PARAGRAPHS, DUP_PARAGRAPH_CHARS = 0.30, 0.20
DUP_LINES, DUP_LINE_CHARS = 0.30, 0.20
TOP_NGRAM = {2: 0.20, 3: 0.18, 4: 0.16}
DUP_NGRAM = {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}
PARAGRAPH = re.compile(r"\n{2,}")
LINE = re.compile(r"\n+")


class Repetition:
    """Gopher's repetition rules: degenerate loops, the typical failure of a small teacher, and
    templated or scraped-twice web pages.

    Counting convention (datatrove's GopherRepetitionFilter, the FineWeb reference; see
    `schoolhouse.text`): a repeat is an occurrence after the first. Duplicate lines and
    paragraphs are the repeats' share of all lines (paragraphs) and their characters' share of
    the text; duplicate n-grams (n = 5..10) count each repeat's characters once, skipping n words
    past it; the top n-gram (n = 2..4) counts every occurrence of the most frequent one. Every
    character share is of the whole text (`len(text)`), as in datatrove. Counting the first
    occurrence too, as this rule once did, doubles the share of a phrase said twice and drops
    documentation that repeats a function name or a command.

    What an n-gram is made of differs from datatrove's spaCy tokens, by rule. The top n-gram
    counts words and punctuation marks (`schoolhouse.text.tokens`): a page dominated by one
    short phrase ("FREE !", "Click Here :") is a template or an advert. Duplicate n-grams count
    lower-cased words only (`schoolhouse.text.words`): code and shell samples repeat syntax
    ("( self ,", "= = ") far more than content, and a doc page that repeats its syntax is not
    looping. On Python and Debian documentation and the SpamAssassin spam this drops less good
    text than datatrove and as much spam (`python bench/filter.py --heuristics`).
    """

    name = "degenerate_repetition"

    def __call__(self, record: HasText):
        text = record.text
        if not text.strip():
            return False, self.name
        for parts, max_share, max_chars in (
            (PARAGRAPH.split(text.strip()), DUP_PARAGRAPHS, DUP_PARAGRAPH_CHARS),
            (LINE.split(text), DUP_LINES, DUP_LINE_CHARS),
        ):
            repeats, chars = repeated_parts(parts)
            if repeats / len(parts) > max_share or chars / len(text) > max_chars:
                return False, self.name
        marks = tokens(text)
        if any(top_ngram_chars(marks, n) / len(text) > t for n, t in TOP_NGRAM.items()):
            return False, self.name
        found = words(text)
        if any(repeated_ngram_chars(found, n) / len(text) > t for n, t in DUP_NGRAM.items()):
            return False, self.name
        return True
