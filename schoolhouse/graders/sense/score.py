"""How the judge reads one text: three prefills of the judge model, read as probabilities.

For each text the judge model reads three prompts, all in the rubric `prompts/sense_rubric.jinja2`
(the text first, then the question "does this make sense from start to end? Yes or No"):

1. the text itself: P(Yes) at the answer (read from the top-20 answer tokens, renormalised over
   Yes/No), and the log-probability of every token of the text as the model read it;
2. the same text with its sentences shuffled: the same two readings;
3. the text's second half alone: its tokens' log-probabilities without the first half.

From these come the features (`FEATURES`):
- `p_yes`: the rubric's answer as a probability (a one-token rubric read as P(yes) is steadier
  than a sampled grade from a small judge);
- `lp_mean`, `lp_low`: the mean token log-probability of the text and of its least likely 10 %
  (Min-K% Prob, Shi et al. 2024): invented words and swapped nouns are tokens no reader expects;
- `shuffle_gap`: how much more likely the text is than its shuffled copy, per token: a text
  whose order carries meaning loses a lot when shuffled, a text already out of order loses
  little;
- `context_gain`: how much more likely the second half is after the first than alone: in a
  text that holds together the beginning predicts the end (names, topic), in two texts spliced
  together it does not;
- `p_yes_gap`: P(Yes) of the text minus P(Yes) of its shuffled copy.

No single reading is the judge (a judge's likelihood hardly separates its own sense from its own
nonsense; its rubric hardly notices swapped nouns); a random forest over the features,
fitted on labelled rows (`bench/judge.py --fit`, `weights.json`), is. A cheap `chat` flag (the
text opens like a chat reply or a prompt, or ends talking to the reader) is one more input. A judge without fitted
weights scores by the rubric's P(Yes) alone, and rows say so (`sense_method`).
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import asdict, dataclass
from typing import Any

from ...teacher import Completion, Request, Sampling

KINDS = ("story", "textbook", "web")
KIND_WORD = {"story": "story", "textbook": "textbook section", "web": "text"}
FEATURES = ("p_yes", "lp_mean", "lp_low", "shuffle_gap", "context_gain", "p_yes_gap", "chat",
            "tokens")  # fmt: skip
# a chat reply or a prompt around the text: an assistant's opening, a request, talk to the reader
CHAT = re.compile(
    r"\A\W*(?:sure|certainly|of course|okay|ok|absolutely|here(?:'s|\u2019s| is| are)\b"
    r"|i (?:will|would|can|'ll) (?:write|create)|as an ai|write (?:a|an|the|me)\b)"
    r"|(?:i hope (?:you|this|that|it)|let me know|feel free|would you like)[^\n]{0,120}\Z",
    re.IGNORECASE,
)
# what the regression reads: the features, and the squares of the likelihoods (too likely, the
# judge's own kind of text, is as suspect as too unlikely)
MODEL_FEATURES = (*FEATURES, "lp_mean^2", "lp_low^2")
LOW_SHARE = 0.10  # Min-K% Prob's k
MAX_CHARS = 6000  # ~1,500 tokens: longer texts are judged on their beginning (cut at a paragraph)
SENTENCE = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
SENTINEL = "\x00TEXT\x00"


@dataclass
class Reading:
    """What one prompt gave: P(Yes) and the text's token log-probabilities (None where the
    backend reported none)."""

    p_yes: float | None
    logprobs: list[float] | None
    offsets: list[int] | None  # each token's start in the text


@dataclass
class SenseFeatures:
    p_yes: float | None = None
    lp_mean: float | None = None
    lp_low: float | None = None
    shuffle_gap: float | None = None
    context_gain: float | None = None
    p_yes_gap: float | None = None
    chat: float = 0.0  # 1 when the text opens or ends like a chat reply or a prompt
    tokens: int = 0  # the text's tokens as the judge read them
    prompt_tokens: int = 0  # every prompt of the three
    cut: bool = False  # the text was judged on its beginning

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def paragraphs(text: str) -> list[list[str]]:
    """The text's paragraphs, each a list of its sentences (a cheap splitter: enough to shuffle
    and to halve a text)."""
    out = []
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        parts = [s for s in SENTENCE.split(paragraph.strip()) if s.strip()]
        if parts:
            out.append(parts)
    return out


def sentences(text: str) -> list[str]:
    return [s for p in paragraphs(text) for s in p]


def _layout(parts: list[str], sizes: list[int]) -> str:
    """Sentences laid out in paragraphs of the given sizes (the last takes what is left)."""
    out, at = [], 0
    for n, size in enumerate(sizes):
        take = parts[at:] if n == len(sizes) - 1 else parts[at : at + size]
        at += size
        if take:
            out.append(" ".join(take))
    return "\n\n".join(out)


def shuffled(text: str, seed: int | str = 0) -> str:
    """The text's sentences in another order, in paragraphs of the same sizes, the same for the
    same seed."""
    layout = paragraphs(text)
    parts = [s for p in layout for s in p]
    if len(parts) < 2:
        words = text.split()
        random.Random(str(seed)).shuffle(words)
        return " ".join(words)
    order = list(range(len(parts)))
    rng = random.Random(str(seed))
    for _ in range(10):
        rng.shuffle(order)
        if order != sorted(order):
            break
    return _layout([parts[i] for i in order], [len(p) for p in layout])


def halves(text: str) -> tuple[str, str]:
    """The text cut at the sentence boundary nearest its middle (at a word if it has one
    sentence), each half keeping its paragraphs."""
    layout = paragraphs(text)
    parts = [s for p in layout for s in p]
    if len(parts) < 2:
        words = text.split()
        middle = max(1, len(words) // 2)
        return " ".join(words[:middle]), " ".join(words[middle:])
    total, best, at, seen = sum(map(len, parts)), None, 1, 0
    for i, part in enumerate(parts[:-1], 1):
        seen += len(part)
        if best is None or abs(seen - total / 2) < best:
            best, at = abs(seen - total / 2), i
    sizes, first, second, count = [len(p) for p in layout], [], [], 0
    for size in sizes:
        before = max(0, min(size, at - count))
        if before:
            first.append(before)
        if size - before:
            second.append(size - before)
        count += size
    return _layout(parts[:at], first), _layout(parts[at:], second)


def clip(text: str, max_chars: int = MAX_CHARS) -> tuple[str, bool]:
    if len(text) <= max_chars:
        return text, False
    cut = text[:max_chars]
    at = max(cut.rfind("\n\n"), cut.rfind(". "))
    return (cut[: at + 1] if at > max_chars // 2 else cut).rstrip(), True


class Rubric:
    """The rubric's prompt for a kind of text, and how to read the answer and the text's
    token log-probabilities back out of a completion."""

    def __init__(self, template):
        self.template = template

    def messages(self, text: str, kind: str) -> tuple[dict[str, str], ...]:
        prompt = self.template.render(kind=KIND_WORD.get(kind, "text"), text=text)
        return ({"role": "user", "content": prompt},)

    def request(self, rid: str, text: str, kind: str) -> Request:
        return Request(
            rid,
            self.messages(text, kind),
            Sampling(temperature=0.0, top_p=1.0, frequency_penalty=0.0, max_tokens=1, seed=0),
            top_logprobs=20,
            prompt_logprobs=True,
        )

    def read(self, completion: Completion, text: str, kind: str) -> Reading:
        logprobs, offsets = self.text_logprobs(completion, text, kind)
        return Reading(p_yes(completion), logprobs, offsets)

    def text_logprobs(
        self, completion: Completion, text: str, kind: str
    ) -> tuple[list[float] | None, list[int] | None]:
        """The log-probabilities of the text's own tokens within the prompt, and where each
        token starts in the text."""
        pairs = completion.prompt_logprobs
        if not pairs:
            return None, None
        rendered = self.template.render(kind=KIND_WORD.get(kind, "text"), text=SENTINEL)
        before, after = rendered.split(SENTINEL)
        full = "".join(piece for piece, _ in pairs)
        start = full.find(before)
        end = full.rfind(after[:40])
        if start < 0 or end < 0:
            return None, None
        start += len(before)
        logprobs, offsets, at = [], [], 0
        for piece, logprob in pairs:
            # a token that overlaps the text is the text's ("\n\nMia" starts it)
            inside = at + len(piece.rstrip()) > start and at < end and piece.strip()
            if inside and logprob is not None and math.isfinite(logprob):
                logprobs.append(logprob)
                offsets.append(max(0, at - start))
            at += len(piece)
        return (logprobs, offsets) if logprobs else (None, None)


def p_yes(completion: Completion) -> float | None:
    """P(Yes) against P(No) at the answer's first token, from its top tokens."""
    if not completion.top_logprobs:
        return None
    yes = no = 0.0
    for piece, logprob in completion.top_logprobs[0]:
        word = piece.strip().strip(".,!:").lower()
        if word == "yes":
            yes += math.exp(logprob)
        elif word == "no":
            no += math.exp(logprob)
    return yes / (yes + no) if yes + no > 0 else None


def chat_flag(text: str) -> float:
    return 1.0 if CHAT.search(text.strip()) else 0.0


def mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def low_mean(values: list[float], share: float = LOW_SHARE) -> float | None:
    if not values:
        return None
    k = max(1, round(share * len(values)))
    return mean(sorted(values)[:k])


def features(text: str, whole: Reading, mixed: Reading, second: Reading, cut_at: int) -> dict:
    """The features of a text from its three readings; `cut_at` is where its second half starts
    in it."""
    f = SenseFeatures(p_yes=whole.p_yes, chat=chat_flag(text))
    if whole.p_yes is not None and mixed.p_yes is not None:
        f.p_yes_gap = whole.p_yes - mixed.p_yes
    if whole.logprobs:
        f.tokens = len(whole.logprobs)
        f.lp_mean, f.lp_low = mean(whole.logprobs), low_mean(whole.logprobs)
        if mixed.logprobs:
            f.shuffle_gap = f.lp_mean - mean(mixed.logprobs)
        if second.logprobs and whole.offsets:
            # both sides skip the half's first two tokens: alone they start a text
            late = [lp for lp, o in zip(whole.logprobs, whole.offsets, strict=True) if o >= cut_at]
            alone = second.logprobs[2:]
            if len(late) > 2 and alone:
                f.context_gain = mean(late[2:]) - mean(alone)
    return f.to_dict()


def combine(values: dict, weights: dict | None) -> tuple[float | None, str]:
    """The sense score (0-1) of a text's features, and the method that gave it: the fitted
    model (a random forest, or a logistic regression) where there are weights for this judge and
    every feature is there, else the rubric's P(Yes)."""
    if weights:
        names = weights["features"]
        if all(values.get(n.removesuffix("^2")) is not None for n in names):
            x = feature_vector(values, names)
            if "trees" in weights:
                return forest_proba(weights["trees"], x), "fitted"
            z = weights["intercept"]
            for v, mu, sd, coef in zip(
                x, weights["mean"], weights["scale"], weights["coef"], strict=True
            ):
                z += coef * (v - mu) / sd
            return 1 / (1 + math.exp(-max(-50.0, min(50.0, z)))), "fitted"
    if values.get("p_yes") is not None:
        return values["p_yes"], "rubric"
    return None, "none"


def forest_proba(trees: list[dict], x: list[float]) -> float:
    """The mean of the trees' leaf probabilities for `x` (scikit-learn's trees as arrays:
    feature, threshold, left, right, value; a leaf has feature -1)."""
    total = 0.0
    for tree in trees:
        node = 0
        while tree["feature"][node] >= 0:
            go_left = x[tree["feature"][node]] <= tree["threshold"][node]
            node = tree["left"][node] if go_left else tree["right"][node]
        total += tree["value"][node]
    return total / len(trees)


def _transform(name: str, value: float) -> float:
    """Probabilities enter the regression as log-odds; `NAME^2` is the square of NAME's value
    (a judge's own text is *more* likely than a person's, a garbled one less: both are
    nonsense, and a square lets a linear model say so)."""
    if name.endswith("^2"):
        return _transform(name[:-2], value) ** 2
    if name == "p_yes":
        p = min(max(value, 1e-6), 1 - 1e-6)
        return math.log(p / (1 - p))
    return value


def feature_vector(values: dict, names: list[str] | tuple[str, ...]) -> list[float]:
    return [_transform(n, values[n.removesuffix("^2")]) for n in names]
