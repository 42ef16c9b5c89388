import re

from filters.base import HasText

# The same word of four letters or more twice in a row ("a special special night", "extra extra
# shiny", "fitter fitter"): a small teacher's stutter, kept by the n-gram rules since it is one
# repeat in hundreds of words. Reduplications a children's story does use are allowed.
STUTTER = re.compile(r"\b([A-Za-z]{4,})\s+\1\b", re.IGNORECASE)
ALLOWED = frozenset(
    "very long knock night yummy choo pretty hurry tick bang boom buzz ding dong beep honk "
    "quack woof meow oink moooo splash clap drip zoom chug puff ring pitter patter".split()
)


class Stutter:
    """A word written twice in a row where no writer would ("a special special night"); "very
    very", "knock knock", "night night" and sound words ("boom boom") are kept."""

    name = "stutter"

    def __call__(self, record: HasText):
        for match in STUTTER.finditer(record.text):
            if match.group(1).lower() not in ALLOWED:
                return False, self.name
        return True
