from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

FilterResult = bool | tuple[bool, str]


class HasText(Protocol):
    """Any record a text filter can judge: a Story, a web Document."""

    @property
    def text(self) -> str: ...


class Filter(Protocol):
    name: str

    def __call__(self, record: HasText) -> FilterResult: ...


def apply_filters(filters: Sequence[Filter], record: HasText) -> str | None:
    """Run filters in order; return the first drop reason, or None if the record is kept."""
    for f in filters:
        result = f(record)
        keep, reason = result if isinstance(result, tuple) else (result, f.name)
        if not keep:
            return reason
    return None
