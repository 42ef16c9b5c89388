"""Verification filters: one per file, each a named predicate returning True or (False, reason).

A filter never edits the text. `story_filters` is the stories pipeline, read top to bottom: the
first filter that fails names the drop reason.
"""

from __future__ import annotations

from .base import Filter, FilterResult, apply_filters
from .decontaminated import Decontaminated
from .english import EnglishProse
from .length import Length
from .repetition import Repetition
from .required_words import RequiredWords
from .truncated import Truncated

__all__ = [
    "Filter",
    "FilterResult",
    "apply_filters",
    "story_filters",
    "Decontaminated",
    "EnglishProse",
    "Length",
    "Repetition",
    "RequiredWords",
    "Truncated",
]


def story_filters(min_words: int = 80, max_words: int = 800) -> list[Filter]:
    return [
        Truncated(),
        Length(min_words=min_words, max_words=max_words),
        EnglishProse(),
        Repetition(),
        RequiredWords(),
    ]
