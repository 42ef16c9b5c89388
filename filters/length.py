from schoolhouse.datasets.records import Story
from schoolhouse.text import words


class Length:
    """Word-count bounds. TinyStories asks for 3-5 short paragraphs (roughly 100-400 words);
    Cosmopedia drops outputs under 150 tokens (about 110 words)."""

    name = "length"

    def __init__(self, min_words: int = 80, max_words: int = 800):
        self.min_words, self.max_words = min_words, max_words

    def __call__(self, story: Story):
        n = len(words(story.text))
        if n < self.min_words:
            return False, "too_short"
        if n > self.max_words:
            return False, "too_long"
        return True
