from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from schoolhouse.records import Story

FilterResult = bool | tuple[bool, str]


class Filter(Protocol):
    name: str

    def __call__(self, story: Story) -> FilterResult: ...


def apply_filters(filters: Sequence[Filter], story: Story) -> str | None:
    """Run filters in order; return the first drop reason, or None if the story is kept."""
    for f in filters:
        result = f(story)
        keep, reason = result if isinstance(result, tuple) else (result, f.name)
        if not keep:
            return reason
    return None
