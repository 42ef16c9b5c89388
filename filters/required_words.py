from schoolhouse.datasets.records import Story
from schoolhouse.text import words_used


class RequiredWords:
    """Every sampled noun, verb and adjective appears, in any inflection ("jumped" for "jump")."""

    name = "missing_required_word"

    def __call__(self, story: Story):
        return len(words_used(story.text, story.words)) == len(story.words) or (False, self.name)
