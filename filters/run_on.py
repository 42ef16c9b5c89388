import re

from filters.base import HasText

# Where a sentence ends for this check: end punctuation (with closing quotes), a colon or
# semicolon, or a line break (a poem's lines and a list's items are sentences of their own).
SENTENCE_BREAK = re.compile(r"[.!?…]+[\"”'’)]*|[:;]|\n+")


class RunOn:
    """A sentence of more than `max_words` words: a small teacher that has lost the thread
    strings clauses together without a stop ("they love each other very much they love eachother
    very much they also love..."), which the n-gram rules miss once it varies a word. Stories
    for young children keep their sentences short (the longest in a sound story is ~30-40 words);
    a 50-word sentence in one is a defect, not style."""

    name = "run_on"

    def __init__(self, max_words: int = 50):
        self.max_words = max_words

    def __call__(self, record: HasText):
        longest = max((len(s.split()) for s in SENTENCE_BREAK.split(record.text)), default=0)
        return longest <= self.max_words or (False, self.name)
