import re

from filters.base import HasText

# a line that opens with a list marker: "1.", "2)", "-", "*", "•"
ITEM = re.compile(r"^[ \t]*(?:\d{1,2}[.)]|[-*•])[ \t]+\S", re.MULTILINE)


class NotProse:
    """A story written as a list of numbered or bulleted lines ("1. The main character's name
    was Emily..."): an outline, not a story told in sentences. Textbooks keep their lists: this
    check is for stories only."""

    name = "not_prose"

    def __init__(self, max_items: int = 2):
        self.max_items = max_items

    def __call__(self, record: HasText):
        return len(ITEM.findall(record.text)) <= self.max_items or (False, self.name)
