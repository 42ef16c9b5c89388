import string

from filters.base import HasText
from schoolhouse.text import alpha_fraction, mean_word_length, stop_words_found

PUNCTUATION = string.punctuation + "“”‘’«»…–—•·"
BULLETS = ("•", "-", "*", "‣", "◦", "▪", "●", "·")
ELLIPSES = ("...", "…")


class GopherQuality:
    """Gopher's quality rules for web text (Rae et al. 2021, appendix A.1.1), one reason each.

    Words are whitespace-separated tokens with surrounding punctuation stripped; tokens of
    punctuation alone are symbols, not words (as in datatrove's GopherQualityFilter). The
    stop-word rule asks for two *distinct* stop words, as the paper words it ("at least two of the
    following English words"); datatrove counts occurrences, which is looser.
    """

    name = "gopher_quality"

    def __init__(
        self,
        min_words: int = 50,
        max_words: int = 100_000,
        min_mean_word_length: float = 3,
        max_mean_word_length: float = 10,
        max_symbol_word_ratio: float = 0.1,
        max_bullet_lines: float = 0.9,
        max_ellipsis_lines: float = 0.3,
        min_alpha_words: float = 0.8,
        min_stop_words: int = 2,
    ):
        self.min_words, self.max_words = min_words, max_words
        self.min_mean_word_length = min_mean_word_length
        self.max_mean_word_length = max_mean_word_length
        self.max_symbol_word_ratio = max_symbol_word_ratio
        self.max_bullet_lines, self.max_ellipsis_lines = max_bullet_lines, max_ellipsis_lines
        self.min_alpha_words, self.min_stop_words = min_alpha_words, min_stop_words

    def __call__(self, record: HasText):
        text = record.text
        tokens = text.split()
        found = [w for t in tokens if (w := t.strip(PUNCTUATION))]
        if len(found) < self.min_words:
            return False, "gopher_too_few_words"
        if len(found) > self.max_words:
            return False, "gopher_too_many_words"
        mean = mean_word_length(found)
        if not self.min_mean_word_length <= mean <= self.max_mean_word_length:
            return False, "gopher_mean_word_length"
        hashes, ellipses = text.count("#"), sum(text.count(e) for e in ELLIPSES)
        if max(hashes, ellipses) / len(found) > self.max_symbol_word_ratio:
            return False, "gopher_symbol_ratio"
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if sum(line.startswith(BULLETS) for line in lines) / len(lines) > self.max_bullet_lines:
            return False, "gopher_bullet_lines"
        if sum(line.endswith(ELLIPSES) for line in lines) / len(lines) > self.max_ellipsis_lines:
            return False, "gopher_ellipsis_lines"
        if alpha_fraction(tokens) < self.min_alpha_words:
            return False, "gopher_alpha_words"
        if stop_words_found([w.lower() for w in found]) < self.min_stop_words:
            return False, "gopher_stop_words"
        return True
