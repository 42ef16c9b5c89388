"""Lexically steered decoding: the decoder keeps the prompt's promise to use its words.

A small teacher asked for "the verb *jump*, the noun *kite* and the adjective *shiny*" writes
all three in a few stories out of a hundred; generate-then-filter pays for the rest and throws
them away. The steering state here runs inside the engine, one per request, and at every step:

- raises the logits of the first token of each still-missing word's surface forms (its
  inflections, capitalised at a sentence start), by a bias that ramps up as the completion
  falls behind a schedule that spreads the words over the first `target` tokens (the ramped
  bias of K2T, Pascual et al. 2021, arXiv 2109.09707; the schedule keeps the words from piling
  up at the end). Only pieces that start a real word form are raised: a short first piece
  (" R" of " Rid") would drag in any word that starts like it;
- finishes a word whose first piece it raised (" sh" -> "ake" of " shake"), and closes one it
  raised whole: " fit" is not continued into "fitter" (nor " frightened" into "frightenedly"),
  which would leave the word missing, pushed again, and written as a stutter ("fitter fitter");
- blocks the stop tokens while a word is missing, and near the token budget's end forces the
  first missing word (rows record this, so a user can drop forced rows);
- blocks a repeated token n-gram (Hugging Face's `no_repeat_ngram_size`, which vLLM lacks) or
  applies a DRY penalty (Weidmann 2024) so a small teacher never loops;
- keeps stock openings ("Once upon a time") out of the first position, and never writes the
  phrases a small teacher uses to talk about its task ("The story ends with", "simple words");
- once every word is written and the text is past `end` tokens, raises the stop at each
  sentence end on a ramp: a small teacher that has told its story goes on
  to ramble or to explain the story to the reader, and a story that runs into the budget is
  cut mid-sentence.

Everything a request asks for travels as flat strings and numbers (`SamplingParams.extra_args`
in-process, `vllm_xargs` over HTTP); the word forms are tokenized inside the engine. The same
schedule replayed over the finished text (`replay`) tells, per word, whether it came freely,
steered, or forced.

This module is the word side (what a request asks for, the schedule, what a row records);
`steering_tokens.py` is the token side (the per-request state over next-token logits). Neither
imports torch or vLLM; `steering_vllm.py` adapts them to vLLM's logits-processor interface.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# The steering processor implements the V1 model runner's logits-processor interface: every
# engine and server that may steer runs with this environment.
STEERING_ENV = {"VLLM_USE_V2_MODEL_RUNNER": "0"}

# the keys a request carries (all flat: vLLM's xargs take str/int/float values only)
WORDS = "steer_words"  # "jump,jumps,jumped,jumping|kite,kites|shiny": forms, one word a group
BIAS = "steer_bias"  # the largest logit bias added to a missing word's first pieces
TARGET = "steer_target"  # tokens by which every word should have been written
NO_REPEAT = "steer_no_repeat"  # block a repeated token n-gram of this size (0: off)
DRY = "steer_dry"  # DRY penalty multiplier (0: off)
AVOID = "steer_avoid_start"  # "Once upon a time|One day": kept out of the first position
BAN = "steer_ban"  # "The story|In summary": phrases never written (their last token is blocked)
END = "steer_end"  # tokens after which the stop is raised at a sentence end (0: off)
KEYS = (WORDS, BIAS, TARGET, NO_REPEAT, DRY, AVOID, BAN, END)

MAX_BEHIND = 2.0  # the bias grows to this many times `bias` as the text falls behind
STEERED_LEVEL = 1.0  # a word written under at least this bias (x2.7 odds) counts as steered
FORCE_MARGIN = 6  # tokens left per missing word when forcing starts
DRY_BASE, DRY_ALLOWED = 1.75, 2  # DRY's published defaults (penalty = m * base^(len - allowed))
MIN_PIECE = 3  # a first piece shorter than this (and not the whole form) is not raised

WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
TAIL = re.compile(r"[A-Za-z]+$")
SENTENCE_END = re.compile(r'(^|[.!?]["\')]*\s+|\n\s*)$')
ENDED = re.compile(r'[.!?]["\'\u201d\u2019)]*\s*$')  # the text could end here


class SteeringError(ValueError):
    """A request's steering arguments cannot be used; the message names the argument."""


@dataclass(frozen=True)
class SteeringArgs:
    words: tuple[tuple[str, ...], ...] = ()  # per word: its surface forms, the base form first
    bias: float = 5.0
    target: int = 0  # 0: 25 % of the request's max_tokens
    no_repeat: int = 0
    dry: float = 0.0
    avoid_start: tuple[str, ...] = ()
    ban: tuple[str, ...] = ()
    end: int = 0
    # forms that count as the word written but are never pushed ("~" in WORDS): an adjective's
    # comparatives, which a push turns into "the scent of fresh dustier"
    quiet: frozenset[str] = frozenset()

    def pushed(self, i: int) -> tuple[str, ...]:
        """The forms of word `i` that steering may raise, finish or force."""
        return tuple(f for f in self.words[i] if f not in self.quiet)

    def encode(self) -> dict[str, str | int | float]:
        return {
            WORDS: "|".join(
                ",".join(("~" if f in self.quiet else "") + f for f in forms)
                for forms in self.words
            ),
            BIAS: self.bias,
            TARGET: self.target,
            NO_REPEAT: self.no_repeat,
            DRY: self.dry,
            AVOID: "|".join(self.avoid_start),
            BAN: "|".join(self.ban),
            END: self.end,
        }

    @classmethod
    def decode(cls, extra: dict | None) -> SteeringArgs | None:
        """The steering a request asks for, None if it asks for none; raises on bad values."""
        if not extra or not any(k in extra for k in KEYS):
            return None
        raw = str(extra.get(WORDS, "") or "")
        marked = tuple(tuple(f.strip() for f in g.split(",") if f.strip()) for g in raw.split("|"))
        marked = tuple(w for w in marked if w)
        words = tuple(tuple(f.removeprefix("~") for f in forms) for forms in marked)
        quiet = frozenset(f[1:] for forms in marked for f in forms if f.startswith("~"))
        for forms in words:
            for form in forms:
                if not WORD.fullmatch(form):
                    raise SteeringError(f"{WORDS}: {form!r} is not a word")
            if all(f in quiet for f in forms):
                raise SteeringError(f"{WORDS}: every form of {forms[0]!r} is marked '~'")
        avoid = tuple(p.strip() for p in str(extra.get(AVOID, "") or "").split("|") if p.strip())
        ban = tuple(p.strip() for p in str(extra.get(BAN, "") or "").split("|") if p.strip())
        args = cls(
            words,
            _number(extra, BIAS, float, cls.bias),
            _number(extra, TARGET, int, cls.target),
            _number(extra, NO_REPEAT, int, cls.no_repeat),
            _number(extra, DRY, float, cls.dry),
            avoid,
            ban,
            _number(extra, END, int, cls.end),
            quiet,
        )
        args.check()
        return args

    def check(self) -> None:
        if not 0 <= self.bias <= 30:
            raise SteeringError(f"{BIAS} must be within 0..30 (logits), got {self.bias}")
        if self.target < 0:
            raise SteeringError(f"{TARGET} must be >= 0 tokens, got {self.target}")
        if self.no_repeat != 0 and not 2 <= self.no_repeat <= 32:
            raise SteeringError(f"{NO_REPEAT} must be 0 (off) or 2..32, got {self.no_repeat}")
        if not 0 <= self.dry <= 10:
            raise SteeringError(f"{DRY} must be within 0..10, got {self.dry}")
        if self.end < 0:
            raise SteeringError(f"{END} must be >= 0 tokens (0: off), got {self.end}")


def _number(extra: dict, key: str, kind: type, default):
    value = extra.get(key, default)
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise SteeringError(f"{key} must be a number, got {value!r}") from None


def word_forms(word: str, pos: str | None = None) -> tuple[str, ...]:
    """The base word first, then its inflections (lemminflect), lower case."""
    from schoolhouse.text import forms

    return (word.lower(), *sorted(forms(word.lower(), pos) - {word.lower()}))


# ---------------------------------------------------------------------------------------------
# The schedule: which words are written, how hard the missing ones are pushed, when to force.
# It reads only the text, so it runs the same inside the engine and over a finished completion.


@dataclass
class Schedule:
    words: tuple[tuple[str, ...], ...]
    bias: float
    target: int
    max_tokens: int
    text: str = ""
    steps: int = 0
    found_at: list[int | None] = field(default_factory=list)  # step where each word began
    found_char: list[int | None] = field(default_factory=list)  # and its offset in the text
    starts: list[int] = field(default_factory=list)  # text offset where each step's piece began
    levels: list[float] = field(default_factory=list)  # the bias in force at each step
    forcing: list[bool] = field(default_factory=list)  # whether a word was forced at that step
    _scan: int = 0
    _index: dict[str, int] = field(default_factory=dict)

    def __post_init__(self):
        self.found_at = [None] * len(self.words)
        self.found_char = [None] * len(self.words)
        self._index = {form: i for i, forms in enumerate(self.words) for form in forms}

    @property
    def missing(self) -> list[int]:
        """Words not yet written; a form of one at the very end of the text counts as written
        (it may still grow: "jump" -> "jumped"), so it is neither pushed nor forced again."""
        tail = TAIL.search(self.text[-64:])
        writing = self._index.get(tail.group().lower()) if tail else None
        return [i for i, s in enumerate(self.found_at) if s is None and i != writing]

    def level(self) -> float:
        """K2T's ramp, per word: pressure grows as the text falls behind an even spread of the
        words over the first `target` tokens, up to `bias` one word behind and twice that two
        words behind (a word that will not fit the story as it goes is pushed harder rather
        than piled up at the end)."""
        if not self.words or self.bias <= 0:
            return 0.0
        found = len(self.words) - len(self.missing)
        behind = len(self.words) * self.steps / max(self.target, 1) - found
        return self.bias * min(max(behind, 0.0), MAX_BEHIND)

    def force_now(self) -> bool:
        missing = len(self.missing)
        return missing > 0 and self.max_tokens - self.steps <= FORCE_MARGIN * missing

    def decide(self) -> tuple[float, bool]:
        """The bias and forcing for the next step, recorded for `sources`."""
        level, force = self.level(), self.force_now()
        self.levels.append(level)
        self.forcing.append(force)
        return level, force

    def push(self, piece: str) -> None:
        """Append one generated piece; mark the words it completes."""
        self.starts.append(len(self.text))
        self.text += piece
        self.steps += 1
        for match in WORD.finditer(self.text, self._scan):
            if match.end() == len(self.text):
                break  # the word may go on in the next piece
            self._scan = match.end()
            for form in {match.group().lower(), match.group().lower().split("'")[0]}:
                i = self._index.get(form)
                if i is not None and self.found_at[i] is None:
                    self.found_at[i] = bisect.bisect_right(self.starts, match.start()) - 1
                    self.found_char[i] = match.start()

    def finish(self) -> None:
        """The completion ended: a word at the very end is complete too."""
        self.push(" ")
        self.steps -= 1
        self.starts.pop()
        self.text = self.text[:-1]

    def sources(self) -> list[str]:
        """Per word: 'free', 'steered', 'forced', or 'missing'."""
        out = []
        for step in self.found_at:
            if step is None:
                out.append("missing")
            elif step < len(self.forcing) and self.forcing[step]:
                out.append("forced")
            elif step < len(self.levels) and self.levels[step] >= STEERED_LEVEL:
                out.append("steered")
            else:
                out.append("free")
        return out


def replay(pieces: Iterable[str], args: SteeringArgs, max_tokens: int) -> Schedule:
    """Run the schedule over a finished completion's pieces (decoded tokens, in order)."""
    schedule = Schedule(args.words, args.bias, args.target or target_for(max_tokens), max_tokens)
    for piece in pieces:
        schedule.decide()
        schedule.push(piece)
    schedule.finish()
    return schedule


def target_for(max_tokens: int, share: float = 0.25) -> int:
    return max(1, int(share * max_tokens))


# ---------------------------------------------------------------------------------------------
# What a generation job asks for, and what each row records.

PIECE = re.compile(r"\s*\S+|\s+")


def request_args(config, words: Sequence[tuple[str, str | None]], avoid=(), ban=()) -> SteeringArgs:
    """A job's steering for one prompt: its (word, part of speech) pairs, the stock openings
    to keep out of the first position, and phrases never to write."""
    forms = tuple(word_forms(w, pos) for w, pos in words)
    return SteeringArgs(
        words=forms,  # also replayed when off
        bias=config.steer_bias if config.steer else 0.0,
        target=target_for(config.max_tokens, config.steer_by),
        no_repeat=config.no_repeat_ngram if config.steer else 0,
        dry=config.dry if config.steer else 0.0,
        avoid_start=tuple(avoid) if config.steer else (),
        ban=tuple(ban) if config.steer else (),
        end=int(config.end_by * config.max_tokens) if config.steer and config.end_by < 1 else 0,
        # an adjective is pushed in its base form only: its comparatives count when written
        quiet=frozenset(
            f
            for (_, pos), fs in zip(words, forms, strict=True)
            if pos == "adjective"
            for f in fs[1:]
        ),  # fmt: skip
    )


def row_steering(config, args: SteeringArgs) -> dict:
    """The row's `steering` column: off or on, and the parameters it ran with."""
    return {
        "mode": "on" if config.steer else "off",
        "bias": args.bias,
        "target_tokens": args.target,
        "no_repeat_ngram": args.no_repeat,
        "dry": args.dry,
        "avoid_start": list(args.avoid_start),
        "ban": list(args.ban),
        "end_tokens": args.end,
    }


def word_sources(args: SteeringArgs, completion, max_tokens: int) -> list[dict]:
    """Per required word: how it came (free / steered / forced / missing) and where it first
    appears (share of the text). Replays the schedule over the completion's pieces; a backend
    that reports none is split at whitespace (exact for plain sampling, where nothing is
    steered)."""
    pieces = completion.pieces
    if pieces is None:
        pieces = PIECE.findall(completion.text)
    schedule = replay(pieces, args, max_tokens)
    lead = len(schedule.text) - len(schedule.text.lstrip())  # rows keep the stripped text
    size = max(len(schedule.text.strip()), 1)
    out = []
    for forms, source, at in zip(args.words, schedule.sources(), schedule.found_char, strict=True):
        position = None if at is None else max(at - lead, 0) / size
        out.append({"word": forms[0], "source": source, "position": position})
    return out
