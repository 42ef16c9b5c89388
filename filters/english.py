from filters.base import HasText
from schoolhouse.text import alpha_fraction, mean_word_length, stop_words_found, words


class EnglishProse:
    """English prose, not code, lists or another language. Gopher quality rules (Rae et al. 2021):
    at least two of its stop words, a mean word length of 3-10 characters, and at least 80 % of
    whitespace-separated tokens containing a letter; plus mostly ASCII letters (English)."""

    name = "not_english_prose"

    def __call__(self, record: HasText):
        text = record.text
        tokens = text.split()
        found = words(text)
        if not tokens or not found:
            return False, self.name
        if stop_words_found(found) < 2:
            return False, self.name
        if not 3 <= mean_word_length(found) <= 10:
            return False, self.name
        if alpha_fraction(tokens) < 0.8:
            return False, self.name
        letters = [c for c in text if c.isalpha()]
        if sum(c.isascii() for c in letters) / len(letters) < 0.9:
            return False, self.name
        return True
