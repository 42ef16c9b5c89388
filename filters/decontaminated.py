from typing import Protocol

from schoolhouse.graders.decontaminate import N, NgramIndex


class HasText(Protocol):
    text: str


class Decontaminated:
    """No 13-gram shared with a benchmark (schoolhouse.graders.decontaminate). Works on any record with a
    `.text`. The index is built on first use; `index.find(text)` names the benchmark item behind
    a drop."""

    name = "contaminated"

    def __init__(self, benchmarks=("humaneval",), n: int = N, index: NgramIndex | None = None):
        self.benchmarks, self.n, self._index = tuple(benchmarks), n, index

    @property
    def index(self) -> NgramIndex:
        if self._index is None:
            self._index = NgramIndex.from_benchmarks(self.benchmarks, self.n)
        return self._index

    def __call__(self, record: HasText):
        if self.index.find(record.text) is not None:
            return False, self.name
        return True
