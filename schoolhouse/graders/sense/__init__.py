"""The sense judge: does a story or a textbook section make sense from start to end?

    judge = SenseJudge.load(teacher)                 # the judge model, opened by the caller
    for item, verdict in judge.judge(items):         # items: (id, text, kind)
        verdict.sense                                # 0-1, higher makes more sense

`score.py` reads a text (three prefills of the judge model: rubric P(Yes), token
log-probabilities, a shuffled copy, the second half alone); `weights.json` holds the random
forest over those readings fitted per judge model on `bench/data/sense/` (`bench/judge.py
--fit`), with the threshold below which a generator drops a row as `nonsense`. `job.py` is
`schoolhouse judge`: any rows in, a dataset folder with a `sense` column out.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from ...teacher import Teacher
from .score import (
    FEATURES,
    KINDS,
    MODEL_FEATURES,
    Reading,
    Rubric,
    clip,
    combine,
    features,
    halves,
    shuffled,
)

__all__ = [
    "DEFAULT_JUDGE",
    "FEATURES",
    "MODEL_FEATURES",
    "KINDS",
    "SenseJudge",
    "Verdict",
    "judge_weights",
]

# the embedded model with fitted weights (bench/judge.py --fit); installed by `make install`
DEFAULT_JUDGE = "embedded"
TEMPLATE = "sense_rubric"
# A judge reads (prefills) far more than it writes. On CPUs without bf16 matrix units vLLM's
# bf16 linear layers fall back to plain torch, ~6x slower than fp32 there for a prefill; an
# engine opened for judging alone runs in fp32 (a judge that is the teacher keeps its dtype).
JUDGE_ENGINE = {"dtype": "float32"}


def judge_weights() -> dict[str, dict]:
    """Fitted weights per judge model name (as rows record the teacher)."""
    text = resources.files(__package__).joinpath("weights.json").read_text(encoding="utf-8")
    return json.loads(text)


def weights_for(name: str) -> dict | None:
    """The fitted weights of a judge, matched by the model it runs (its name before any
    ' (embedded GGUF ...)' suffix)."""
    table = judge_weights()
    if name in table:
        return table[name]
    base = name.split(" (")[0]
    return next((w for key, w in table.items() if key.split(" (")[0] == base), None)


@dataclass
class Verdict:
    sense: float | None  # 0-1; None when the judge gave nothing to read
    method: str  # "fitted" (the fitted forest over the readings) | "rubric" (P(Yes)) | "none"
    features: dict[str, Any] = field(default_factory=dict)


@dataclass
class SenseJudge:
    teacher: Teacher
    rubric: Rubric
    weights: dict | None

    @classmethod
    def load(cls, teacher: Teacher, weights: dict | None = None) -> SenseJudge:
        from ...prompt_files import load_template

        rubric = Rubric(load_template(TEMPLATE, {"kind", "text"}))
        return cls(teacher, rubric, weights if weights is not None else weights_for(teacher.name))

    @property
    def threshold(self) -> float:
        """Below this a generator drops a row as `nonsense`: chosen on the labelled rows for
        fitted weights; 0.5 of P(Yes) otherwise."""
        return float(self.weights["threshold"]) if self.weights else 0.5

    @property
    def template_sha(self) -> str:
        return self.rubric.template.sha

    def judge(self, items: Iterable[tuple]) -> Iterator[tuple[tuple, Verdict]]:
        """(item, verdict) for every item (id, text, kind, anything else...), in the order their
        readings finish. Items are read in one stream, so the engine batches them."""
        pending: dict[str, dict] = {}

        def requests():
            for n, item in enumerate(items):
                text, kind = item[1], item[2]
                if kind not in KINDS:
                    raise ValueError(f"kind {kind!r} of {item[0]!r} is not one of {KINDS}")
                text, cut = clip(text)
                first, second = halves(text)
                mixed = shuffled(text, seed=zlib.crc32(text.encode()))
                key = str(n)
                pending[key] = {"item": item, "text": text, "cut": cut, "mixed": mixed,
                                "second": second, "cut_at": len(text) - len(second),
                                "readings": {}}  # fmt: skip
                yield self.rubric.request(f"{key}:whole", text, kind)
                yield self.rubric.request(f"{key}:mixed", mixed, kind)
                yield self.rubric.request(f"{key}:second", second, kind)

        for completion in self.teacher.generate(requests()):
            key, part = completion.request_id.split(":")
            state = pending[key]
            kind = state["item"][2]
            read = {"whole": state["text"], "mixed": state["mixed"], "second": state["second"]}
            state["readings"][part] = self.rubric.read(completion, read[part], kind)
            state["prompt_tokens"] = state.get("prompt_tokens", 0) + completion.prompt_tokens
            if len(state["readings"]) < 3:
                continue
            del pending[key]
            yield state["item"], self.verdict(state)

    def scores(self, items: list[tuple]) -> dict[str, float | None]:
        """{id: sense} of (id, text, kind) items: the form the student's evaluation takes."""
        return {item[0]: verdict.sense for item, verdict in self.judge(items)}

    def verdict(self, state: dict) -> Verdict:
        r: dict[str, Reading] = state["readings"]
        values = features(state["text"], r["whole"], r["mixed"], r["second"], state["cut_at"])
        values["prompt_tokens"], values["cut"] = state["prompt_tokens"], state["cut"]
        sense, method = combine(values, self.weights)
        return Verdict(sense, method, values)
