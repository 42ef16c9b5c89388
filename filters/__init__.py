"""Verification filters: one per file, each a named predicate returning True or (False, reason).

A filter never edits the text and judges any record with a `.text` (a Story, a web Document).
`story_filters` and `web_filters` are pipelines, read top to bottom: the first filter that fails
names the drop reason.
"""

from __future__ import annotations

from .base import Filter, FilterResult, HasText, apply_filters
from .c4 import C4Lines
from .code_runs import CodeRuns
from .decontaminated import Decontaminated
from .english import EnglishProse
from .for_children import ForChildren
from .gopher_quality import GopherQuality
from .length import Length
from .meta_text import MetaText
from .min_tokens import MinTokens
from .not_prose import NotProse
from .repetition import Repetition
from .required_words import RequiredWords
from .run_on import RunOn
from .stutter import Stutter
from .truncated import Truncated

__all__ = [
    "Filter",
    "FilterResult",
    "HasText",
    "apply_filters",
    "story_filters",
    "textbook_filters",
    "exercise_filters",
    "Decontaminated",
    "web_filters",
    "RULE_SETS",
    "DEFAULT_RULES",
    "C4Lines",
    "CodeRuns",
    "EnglishProse",
    "ForChildren",
    "GopherQuality",
    "Length",
    "MetaText",
    "MinTokens",
    "NotProse",
    "Repetition",
    "RequiredWords",
    "RunOn",
    "Stutter",
    "Truncated",
]


def story_filters(min_words: int = 80, max_words: int = 800) -> list[Filter]:
    return [
        Truncated(),
        Length(min_words=min_words, max_words=max_words),
        EnglishProse(),
        Repetition(),
        RunOn(),
        Stutter(),
        NotProse(),
        MetaText(),
        ForChildren(),
        RequiredWords(),
    ]


def textbook_filters(
    min_tokens: int = 150, decontaminate: Filter | None = None, code: Filter | None = None
) -> list[Filter]:
    """Cosmopedia's checks: complete, at least `min_tokens` long, not looping, decontaminated;
    then, with `code` (CodeRuns), Python blocks that run and print what the text shows."""
    checks = [Truncated(), MinTokens(min_tokens), Repetition(), decontaminate or Decontaminated()]
    return checks + ([code] if code is not None else [])


def exercise_filters(decontaminate: Filter | None = None) -> list[Filter]:
    """The text checks before an exercise is parsed and run: complete, decontaminated."""
    return [Truncated(), decontaminate or Decontaminated()]


# Named web rule sets for `schoolhouse filter --rules`: name -> what it runs, for --help and cards.
RULE_SETS = {
    "fineweb": "Gopher quality and repetition rules (Rae et al. 2021) and C4's page rules (Raffel "
    "et al. 2020) as FineWeb runs them, with C4's code rules kind to code: no curly-brace or "
    "lorem ipsum rule, only lines asking to enable JavaScript count as JavaScript notices, and "
    "the terminal-punctuation ratio is of prose lines (code lines left out, hard-wrapped lines "
    "joined); the default, for prose, code, documentation and mail alike",
    "fineweb-strict": "fineweb with C4's code rules whole (curly brace, lorem ipsum, any line "
    "naming JavaScript) and the terminal-punctuation ratio of every line, as FineWeb itself ran "
    "them: drops every page that shows code in braces",
    "gopher": "Gopher quality and repetition rules only",
    "c4": "C4's page rules only, the code rules included",
}
DEFAULT_RULES = "fineweb"


def web_filters(rules: str = DEFAULT_RULES) -> list[Filter]:
    """The named rule set (`RULE_SETS`), in order. FineWeb (Penedo et al. 2024) runs repetition
    first; quality first names a short page `gopher_too_few_words` rather than repetitive (n-gram
    shares mean little over a dozen words), and drops the same pages."""
    sets = {
        "fineweb": lambda: [GopherQuality(), Repetition(), C4Lines(code_rules=False)],
        "fineweb-strict": lambda: [GopherQuality(), Repetition(), C4Lines()],
        "gopher": lambda: [GopherQuality(), Repetition()],
        "c4": lambda: [C4Lines()],
    }
    if rules not in sets:
        raise ValueError(f"unknown rule set {rules!r} (known: {', '.join(RULE_SETS)})")
    return sets[rules]()
