"""The token side of steered decoding (`steering.py` holds the word side): what the word
schedule's decisions mean for one request's next-token logits. A tokenizer's pieces, the
variants of a word form, the per-request state (`RowState`) that raises, finishes, closes,
blocks and forces tokens, the DRY penalty and the stop tokens. Imports neither torch nor vLLM;
`steering_vllm.py` adapts `RowState` to vLLM's logits-processor interface.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from .steering import (
    DRY_ALLOWED,
    DRY_BASE,
    ENDED,
    MIN_PIECE,
    SENTENCE_END,
    STEERED_LEVEL,
    WORDS,
    Schedule,
    SteeringArgs,
    SteeringError,
    target_for,
)

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
