from filters.base import HasText
from schoolhouse.text import (
    duplicate_line_fraction,
    duplicate_ngram_fraction,
    top_ngram_fraction,
    words,
)

# Gopher repetition thresholds (Rae et al. 2021, table A1).
TOP_NGRAM = {2: 0.20, 3: 0.18, 4: 0.16}
DUP_NGRAM = {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}
DUP_LINES = 0.30


class Repetition:
    """Degenerate loops, the typical failure of a small teacher, and of templated web pages."""

    name = "degenerate_repetition"

    def __call__(self, record: HasText):
        tokens = words(record.text)
        if duplicate_line_fraction(record.text) > DUP_LINES:
            return False, self.name
        if any(top_ngram_fraction(tokens, n) > t for n, t in TOP_NGRAM.items()):
            return False, self.name
        if any(duplicate_ngram_fraction(tokens, n) > t for n, t in DUP_NGRAM.items()):
            return False, self.name
        return True
