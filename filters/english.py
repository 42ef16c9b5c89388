from schoolhouse.records import Story
from schoolhouse.text import GOPHER_STOP_WORDS, words


class EnglishProse:
    """English prose, not code, lists or another language. Gopher quality rules (Rae et al. 2021):
    at least two of its stop words, a mean word length of 3-10 characters, and at least 80 % of
    whitespace-separated tokens containing a letter; plus mostly ASCII letters (English)."""

    name = "not_english_prose"

    def __call__(self, story: Story):
        text = story.text
        tokens = text.split()
        found = words(text)
        if not tokens or not found:
            return False, self.name
        if len(GOPHER_STOP_WORDS.intersection(found)) < 2:
            return False, self.name
        if not 3 <= sum(len(w) for w in found) / len(found) <= 10:
            return False, self.name
        if sum(any(c.isalpha() for c in t) for t in tokens) / len(tokens) < 0.8:
            return False, self.name
        letters = [c for c in text if c.isalpha()]
        if sum(c.isascii() for c in letters) / len(letters) < 0.9:
            return False, self.name
        return True
