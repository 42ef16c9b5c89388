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

This module imports neither torch nor vLLM; `steering_vllm.py` adapts it to vLLM's logits
processor interface.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

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
# The token side: what the schedule's decisions mean for one request's next-token logits.


class Pieces:
    """A tokenizer's view for steering: token ids <-> decoded pieces, cached per engine."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self._piece: dict[int, str] = {}
        self._encoded: dict[str, tuple[int, ...]] = {}
        self.variants: dict[tuple[str, bool], list[Variant]] = {}
        self._continuations: frozenset[int] | None = None

    @property
    def continuations(self) -> frozenset[int]:
        """Tokens that go on with the word before them (their piece starts with a letter)."""
        if self._continuations is None:
            size = len(self.tokenizer)
            self._continuations = frozenset(
                t
                for t in range(size)
                if self.piece(t)[:1].isascii() and self.piece(t)[:1].isalpha()
            )
        return self._continuations

    def piece(self, token: int) -> str:
        text = self._piece.get(token)
        if text is None:
            text = self.tokenizer.decode([token])
            raw = self.tokenizer.convert_ids_to_tokens(token)
            if isinstance(raw, str) and raw.startswith("\u2581"):  # SentencePiece drops it
                text = " " + text.lstrip(" ")
            self._piece[token] = text
        return text

    def encode(self, text: str) -> tuple[int, ...]:
        ids = self._encoded.get(text)
        if ids is None:
            ids = tuple(self.tokenizer.encode(text, add_special_tokens=False))
            self._encoded[text] = ids
        return ids


@dataclass(frozen=True)
class Variant:
    ids: tuple[int, ...]
    raisable: bool  # its first piece starts a real word form (see MIN_PIECE)


def variants(pieces: Pieces, form: str, start: bool) -> list[Variant]:
    """Token sequences that write `form` as a new word: mid-sentence, or at a sentence start."""
    surfaces = [" " + form.capitalize(), form.capitalize()] if start else [" " + form]
    out = []
    key = (form, start)
    if key in pieces.variants:
        return pieces.variants[key]
    for surface in surfaces:
        ids = pieces.encode(surface)
        if not ids or "".join(pieces.piece(t) for t in ids) != surface:
            continue  # the tokenizer cannot write this surface as a plain sequence
        first = pieces.piece(ids[0]).strip()
        out.append(Variant(ids, len(ids) == 1 or len(first) >= min(MIN_PIECE, len(form))))
    pieces.variants[key] = out
    return out


@dataclass
class Decision:
    boost: dict[int, float] = field(default_factory=dict)
    penalty: dict[int, float] = field(default_factory=dict)
    block: set[int] = field(default_factory=set)
    only: tuple[int, ...] | None = None  # force: every other token is blocked


class RowState:
    """One request's steering inside the engine: fed its output ids, decides its next logits."""

    def __init__(
        self,
        args: SteeringArgs,
        pieces: Pieces,
        output_ids: Sequence[int],
        max_tokens: int,
        stop_ids: Iterable[int],
    ):
        self.args, self.pieces, self.output_ids = args, pieces, output_ids
        self.stop_ids = frozenset(stop_ids)
        self.schedule = Schedule(
            args.words, args.bias, args.target or target_for(max_tokens), max_tokens
        )
        self.seen = 0  # output ids already pushed
        self.raised: dict[int, list[tuple[int, ...]]] = {}  # last step's raised first ids
        self.finishing: tuple[int, ...] | None = None  # continuations of a raised first piece
        self.continuations: list[tuple[int, ...]] = []
        # a raised token wrote a whole form: the next may go on only towards a longer form
        self.closing: frozenset[int] | None = None
        self.ngrams: dict[tuple[int, ...], set[int]] = {}
        usable = [
            i
            for i in range(len(args.words))
            if any(variants(pieces, f, False) for f in args.pushed(i))
        ]
        if len(usable) < len(args.words):
            bad = [w[0] for i, w in enumerate(args.words) if i not in usable]
            raise SteeringError(f"{WORDS}: the tokenizer cannot write {', '.join(bad)}")
        self.avoid = self._first_ids(args.avoid_start)
        self.banned: dict[tuple[int, ...], set[int]] = {}  # a phrase's head -> its last token
        for phrase in args.ban:
            for surface in (phrase, " " + phrase):
                ids = pieces.encode(surface)
                if ids:
                    self.banned.setdefault(tuple(ids[:-1]), set()).add(ids[-1])
        self.ban_heads = sorted({len(head) for head in self.banned})

    def _first_ids(self, phrases: Iterable[str]) -> frozenset[int]:
        out = set()
        for phrase in phrases:
            for surface in (phrase, " " + phrase):
                ids = self.pieces.encode(surface)
                if ids:
                    out.add(ids[0])
        return frozenset(out)

    def catch_up(self) -> None:
        """Push the ids generated since the last call (negative ids are not yet sampled)."""
        ids = self.output_ids
        while self.seen < len(ids) and ids[self.seen] >= 0:
            token = ids[self.seen]
            self._advance(token)
            self.schedule.push(self.pieces.piece(token))
            n = self.args.no_repeat
            if n and self.seen + 1 >= n:
                gram = tuple(ids[self.seen - n + 1 : self.seen + 1])
                self.ngrams.setdefault(gram[:-1], set()).add(gram[-1])
            self.seen += 1

    def _advance(self, token: int) -> None:
        self.closing = None
        if self.finishing is not None:
            matched = [s for s in self.continuations if s[0] == token]
            if not matched or any(len(s) == 1 for s in matched):  # off the word, or it is whole
                self.finishing, self.continuations = None, []
            else:
                self.continuations = [s[1:] for s in matched]
                self.finishing = tuple(sorted({s[0] for s in self.continuations}))
            return
        started = self.raised.get(token)
        if started and all(len(s) > 1 for s in started):  # a first piece, not a whole form
            self.continuations = [s[1:] for s in started]
            self.finishing = tuple(sorted({s[0] for s in self.continuations}))
        elif started:  # a whole form: it may grow only into another of the words' forms
            self.closing = frozenset(s[1] for s in started if len(s) > 1)

    def ending(self) -> float:
        """The stop's raise at a sentence end: from 0 at `end` tokens to `bias` halfway from
        there to the budget (a story that has not ended by then is told at full pressure)."""
        end, budget = self.args.end, self.schedule.max_tokens
        return self.args.bias * min(2 * max(self.seen - end, 0) / max(budget - end, 1), 1.0)

    def decide(self) -> Decision:
        self.catch_up()
        decision = Decision()
        level, force = self.schedule.decide()
        self.raised = {}
        if self.finishing is not None:
            decision.only = self.finishing
            return decision
        if self.closing is not None:
            decision.block |= self.pieces.continuations - self.closing
        missing = self.schedule.missing
        if missing:
            decision.block |= self.stop_ids
        elif self.args.end and self.args.bias and ENDED.search(self.schedule.text[-8:]):
            ending = self.ending()
            if ending > 0:
                decision.boost.update(dict.fromkeys(self.stop_ids, ending))
        start = bool(SENTENCE_END.search(self.schedule.text))
        if force:
            word = self.args.pushed(missing[0])
            options = [v for f in word for v in variants(self.pieces, f, start)]
            options = options or [v for f in word for v in variants(self.pieces, f, False)]
            best = min(options, key=lambda v: len(v.ids))
            self.raised = {best.ids[0]: [best.ids]}
            decision.only = (best.ids[0],)
            return decision
        if level > 0:
            # a first piece the model writes under a real push is finished as that word; a word
            # with no long first piece in this position is raised by its short ones, since the
            # push finishes what it starts -- but not at a sentence start, where a short capital
            # (" Sl") is how many other words begin and the forced finish garbles the sentence
            track = level >= STEERED_LEVEL
            for i in missing:
                options = [v for f in self.args.pushed(i) for v in variants(self.pieces, f, start)]
                if not any(v.raisable for v in options) and track and not start:
                    options = [replace(v, raisable=True) for v in options]
                for v in (v for v in options if v.raisable):
                    decision.boost[v.ids[0]] = level
                    if track:
                        self.raised.setdefault(v.ids[0], []).append(v.ids)
        if not self.schedule.text.strip():
            decision.block |= self.avoid
        for n in self.ban_heads:
            if n <= self.seen:
                head = tuple(self.output_ids[self.seen - n : self.seen])
                decision.block |= self.banned.get(head, set())
        if self.args.no_repeat:
            tail = tuple(self.output_ids[self.seen - self.args.no_repeat + 1 : self.seen])
            if len(tail) == self.args.no_repeat - 1:
                decision.block |= self.ngrams.get(tail, set())
        if self.args.dry:
            decision.penalty = dry_penalties(self.output_ids[: self.seen], self.args.dry)
        return decision


def dry_penalties(ids: Sequence[int], multiplier: float) -> dict[int, float]:
    """DRY ("don't repeat yourself", Weidmann 2024): a token that would extend a sequence already
    seen earlier is penalized by multiplier * base^(match length - allowed length)."""
    n = len(ids)
    if n < 2:
        return {}
    last = ids[-1]
    out: dict[int, float] = {}
    for i in range(n - 1):  # i: an earlier occurrence of the last token, followed by ids[i+1]
        if ids[i] != last:
            continue
        length = 1
        while length <= i and ids[i - length] == ids[n - 1 - length]:
            length += 1
        if length >= DRY_ALLOWED:
            token = ids[i + 1]
            out[token] = max(out.get(token, 0.0), multiplier * DRY_BASE ** (length - DRY_ALLOWED))
    return out


def stop_token_ids(tokenizer, params) -> set[int]:
    ids = set(getattr(params, "all_stop_token_ids", None) or ())
    ids |= set(getattr(params, "stop_token_ids", None) or ())
    if getattr(tokenizer, "eos_token_id", None) is not None:
        ids.add(tokenizer.eos_token_id)
    return ids


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
