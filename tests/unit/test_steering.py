"""Lexical steering's state machine on the embedded teacher's real token ids, without an engine."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from schoolhouse.teacher.steering import (
    FORCE_MARGIN,
    SteeringArgs,
    SteeringError,
    replay,
    request_args,
    word_forms,
    word_sources,
)
from schoolhouse.teacher.steering_tokens import Pieces, RowState, dry_penalties, variants


@pytest.fixture(scope="module")
def model_folder():
    from schoolhouse.teacher.embedded import model_dir

    return model_dir("embedded")  # converted once per machine (the user cache)


@pytest.fixture(scope="module")
def pieces(model_folder) -> Pieces:
    from transformers import AutoTokenizer

    return Pieces(AutoTokenizer.from_pretrained(str(model_folder)))


def ids(pieces: Pieces, text: str) -> list[int]:
    return list(pieces.encode(text))


def one(pieces: Pieces, text: str) -> int:
    (token,) = pieces.encode(text)
    return token


def state(pieces, words, out, max_tokens=200, **kw) -> RowState:
    args = SteeringArgs(words=tuple(word_forms(w, pos) for w, pos in words), **kw)
    return RowState(args, pieces, out, max_tokens, stop_ids={2})


def test_arguments_travel_as_flat_values_and_bad_ones_are_named():
    args = SteeringArgs(
        (word_forms("jump", "verb"), ("kite", "kites")), 4.0, 120, 4, 0.0, ("Once",)
    )
    flat = args.encode()
    assert all(isinstance(v, str | int | float) for v in flat.values())
    assert SteeringArgs.decode(flat) == args
    assert SteeringArgs.decode({}) is None and SteeringArgs.decode({"other": 1}) is None
    for bad, key in [
        ({"steer_bias": 40}, "steer_bias"),
        ({"steer_bias": "strong"}, "steer_bias"),
        ({"steer_no_repeat": 1}, "steer_no_repeat"),
        ({"steer_words": "jump|k1te"}, "steer_words"),
        ({"steer_target": -5}, "steer_target"),
        ({"steer_end": -1}, "steer_end"),
    ]:
        with pytest.raises(SteeringError, match=key):
            SteeringArgs.decode(flat | bad)


def test_inflected_and_capitalised_forms(pieces):
    forms = word_forms("jump", "verb")
    assert set(forms) == {"jump", "jumps", "jumped", "jumping"} and forms[0] == "jump"
    assert word_forms("happy", "adjective")[0] == "happy" and "happier" in word_forms("happy")
    middle = {v.ids for f in forms for v in variants(pieces, f, start=False)}
    assert (one(pieces, " jumped"),) in middle
    start = {v.ids for v in variants(pieces, "jump", start=True)}
    assert (one(pieces, " Jump"),) in start and tuple(ids(pieces, "Jump")) in start


def test_missing_words_are_raised_as_the_text_falls_behind(pieces):
    out: list[int] = []
    row = state(pieces, [("jump", "verb"), ("kite", "noun")], out, max_tokens=200, target=20)
    first = row.decide()
    assert first.boost == {}  # nothing is behind at the first token
    out += ids(pieces, "Tom went to the park with his dad and his dog, and")
    later = row.decide()
    assert later.boost[one(pieces, " kite")] > 0 and later.boost[one(pieces, " jumped")] > 0
    assert later.boost[one(pieces, " kite")] <= 2 * 5.0
    out += ids(pieces, " a kite flew by, and")
    after = row.decide()
    assert one(pieces, " kite") not in after.boost  # written: no longer steered
    assert one(pieces, " jumped") in after.boost


def test_a_word_written_across_two_tokens_is_finished(pieces):
    two = ids(pieces, " shinier")
    assert len(two) == 2 and len(pieces.piece(two[0]).strip()) >= 3  # " shin" + "ier"
    out: list[int] = []
    row = state(pieces, [("shiny", "adjective")], out, max_tokens=200, target=10)
    out += ids(pieces, "The sun was warm and the sky was blue and")
    decision = row.decide()
    assert decision.boost.get(two[0], 0) >= 1  # the first piece is raised
    out.append(two[0])
    only = row.decide().only  # then the word is finished: nothing else is allowed
    assert two[1] in only and {pieces.piece(t) for t in only} == {"ier", "iest"}
    out.append(two[1])
    out += ids(pieces, " day.")
    assert row.decide().only is None and row.schedule.missing == []


def test_an_adjective_is_pushed_in_its_base_form_only(pieces):
    # a push on " shin" is finished as "shinier": "the sky was shinier" for a prompt's "shiny"
    config = SimpleNamespace(steer=True, steer_bias=5.0, steer_by=0.05, max_tokens=200,
                             no_repeat_ngram=0, dry=0.0, end_by=1.0)  # fmt: skip
    args = request_args(config, [("shiny", "adjective"), ("jump", "verb")])
    assert args.quiet == {"shinier", "shiniest"} and args.pushed(1) == args.words[1]
    assert SteeringArgs.decode(args.encode()) == args  # "~shinier" travels as a flat string
    with pytest.raises(SteeringError, match="every form of 'kite'"):
        SteeringArgs.decode({"steer_words": "~kite,~kites"})
    out: list[int] = []
    row = RowState(args, pieces, out, 200, stop_ids={2})
    out += ids(pieces, "The sun was warm and the sky was blue and")
    boost = row.decide().boost
    assert ids(pieces, " shinier")[0] not in boost and one(pieces, " shiny") in boost
    assert one(pieces, " jumped") in boost  # a verb keeps its inflections: "he jumped"
    out += ids(pieces, " shinier than ever.")  # written freely, a comparative still counts
    row.decide()
    assert row.schedule.missing == [1]


def test_a_short_first_piece_is_never_raised(pieces):
    # " Sh" + "ake": raising " Sh" would pull in any word that starts like it
    start = variants(pieces, "shake", start=True)
    assert start and not any(v.raisable for v in start if len(v.ids) > 1)
    out: list[int] = []
    row = state(pieces, [("shake", "verb")], out, max_tokens=300, target=5)
    out += ids(pieces, "The dog ran home.")
    decision = row.decide()  # a sentence start: only capitalised forms fit
    assert all(len(pieces.piece(t).strip()) >= 3 for t in decision.boost)


def test_stop_is_blocked_while_a_word_is_missing_then_released(pieces):
    out: list[int] = []
    row = state(pieces, [("kite", "noun")], out)
    assert 2 in row.decide().block
    out += ids(pieces, "Lily had a red kite.")
    assert 2 not in row.decide().block


def test_the_missing_word_is_forced_at_the_deadline(pieces):
    out: list[int] = []
    max_tokens = 30
    row = state(pieces, [("kite", "noun")], out, max_tokens=max_tokens, bias=0.0)
    out += ids(pieces, "Tom and Lily went to the park to play.")[: max_tokens - FORCE_MARGIN - 1]
    assert row.decide().only is None
    while len(out) < max_tokens - FORCE_MARGIN:
        out.append(one(pieces, " and"))
    forced = row.decide().only
    assert forced is not None and pieces.piece(forced[0]).strip().lower() == "kite"
    out.append(forced[0])
    out += ids(pieces, ".")
    schedule = replay([pieces.piece(t) for t in out], row.args, max_tokens)
    assert schedule.sources() == ["forced"]


def test_stock_openings_are_kept_out_of_the_first_position(pieces):
    out: list[int] = []
    row = state(pieces, [("kite", "noun")], out, avoid_start=("Once upon a time",))
    assert {one(pieces, "Once"), one(pieces, " Once")} <= row.decide().block
    out += ids(pieces, "Lily smiled.")
    assert one(pieces, " Once") not in row.decide().block


def test_a_repeated_ngram_is_blocked(pieces):
    out: list[int] = []
    row = state(pieces, [("kite", "noun")], out, no_repeat=3)
    out += ids(pieces, "Tom ran and ran and")
    assert one(pieces, " ran") in row.decide().block  # " and ran" came before: " and ran" again
    penalties = dry_penalties(ids(pieces, "Tom ran and ran and"), 0.8)
    assert penalties[one(pieces, " ran")] == pytest.approx(0.8)


def test_word_sources_replay_free_and_steered(pieces):
    args = SteeringArgs(words=(word_forms("kite", "noun"),), bias=5.0, target=40)
    early = SimpleNamespace(text="A kite flew.", pieces=("A", " kite", " flew", "."))
    assert word_sources(args, early, 200) == [
        {"word": "kite", "source": "free", "position": pytest.approx(2 / 12)}
    ]
    late = " and" * 30 + " kite."
    row = SimpleNamespace(text=late.strip(), pieces=(*([" and"] * 30), " kite", "."))
    assert word_sources(args, row, 200)[0]["source"] == "steered"
    gone = SimpleNamespace(text="No words here.", pieces=None)
    assert word_sources(args, gone, 200)[0]["source"] == "missing"


def test_the_vllm_processor_follows_batch_adds_removals_and_moves(model_folder, pieces):
    torch = pytest.importorskip("torch")
    from vllm import SamplingParams
    from vllm.v1.sample.logits_processor import BatchUpdate, MoveDirectionality

    from schoolhouse.teacher.steering_vllm import LexicalSteering

    config = SimpleNamespace(
        model_config=SimpleNamespace(
            tokenizer=str(model_folder), tokenizer_revision=None, trust_remote_code=False
        )
    )
    proc = LexicalSteering(config, torch.device("cpu"), False)
    assert not proc.is_argmax_invariant()
    args = SteeringArgs(words=(word_forms("kite", "noun"),), target=4)
    steered = SamplingParams(max_tokens=100, extra_args=args.encode())
    plain = SamplingParams(max_tokens=100)
    with pytest.raises(ValueError, match="steer_bias"):
        LexicalSteering.validate_params(SamplingParams(extra_args={"steer_bias": 99}))

    out0 = ids(pieces, "Lily and Tom went out to play in the")
    out1: list[int] = []
    vocab = len(pieces.tokenizer)
    proc.update_state(BatchUpdate(2, [], [(0, steered, None, out0), (1, plain, None, out1)], []))
    assert set(proc.rows) == {0}
    logits = proc.apply(torch.zeros(2, vocab))
    kite = one(pieces, " kite")
    assert logits[0, kite] > 0 and logits[0, 2] == float("-inf")
    assert torch.equal(logits[1], torch.zeros(vocab))  # a plain request is untouched

    proc.update_state(BatchUpdate(2, [], [], [(0, 1, MoveDirectionality.SWAP)]))
    logits = proc.apply(torch.zeros(2, vocab))
    assert logits[1, kite] > 0 and torch.equal(logits[0], torch.zeros(vocab))
    proc.update_state(BatchUpdate(1, [], [], [(1, 0, MoveDirectionality.UNIDIRECTIONAL)]))
    assert set(proc.rows) == {0}
    out0 += ids(pieces, " park with a kite.")  # the running list the engine appends to
    logits = proc.apply(torch.zeros(1, vocab))
    assert logits[0, kite] == 0 and logits[0, 2] == 0  # written: steering lets go
    proc.update_state(BatchUpdate(0, [0], [], []))
    assert proc.rows == {}


def test_a_forced_word_at_the_end_of_the_text_is_not_forced_again(pieces):
    out: list[int] = []
    row = state(pieces, [("kite", "noun")], out, max_tokens=12, bias=0.0)
    out += ids(pieces, "Tom ran and ran and ran")
    assert len(out) >= 12 - FORCE_MARGIN
    forced = row.decide().only
    out.append(forced[0])  # " kite", the text's last word: it may still grow to " kites"
    assert row.decide().only is None  # not " kite kite"
    assert 2 not in row.decide().block  # and the story may end


def test_phrases_about_the_task_are_never_finished(pieces):
    out: list[int] = []
    row = state(pieces, [("kite", "noun")], out, ban=("The story", "simple words"))
    out += ids(pieces, "Lily flew her kite.\n\nThe")
    assert one(pieces, " story") in row.decide().block
    out += ids(pieces, " end. She used")
    decision = row.decide()
    assert one(pieces, " story") not in decision.block
    out += ids(pieces, " simple")
    assert one(pieces, " words") in row.decide().block


def test_a_word_without_a_long_first_piece_is_raised_by_its_short_one(pieces):
    options = [v for f in word_forms("naughty", "adjective") for v in variants(pieces, f, False)]
    assert options and not any(v.raisable for v in options)  # " na" + "ughty" and the like
    out: list[int] = []
    row = state(pieces, [("naughty", "adjective")], out, max_tokens=300, target=5)
    out += ids(pieces, "The dog ran home and he was very")
    decision = row.decide()  # far behind: the short first pieces are raised...
    first = options[0].ids
    assert decision.boost.get(first[0], 0) >= 1
    out.append(first[0])
    assert first[1] in row.decide().only  # ...and finished as the word


def test_a_short_first_piece_is_not_raised_at_a_sentence_start(pieces):
    # " Na" of " Naughty" begins many sentences ("Nana", "Nap"): forcing "ughty" after it garbles
    # them, so at a sentence start a word with only short first pieces waits for mid-sentence
    starts = [v for f in word_forms("naughty", "adjective") for v in variants(pieces, f, True)]
    assert starts and not any(v.raisable for v in starts)
    out: list[int] = []
    row = state(pieces, [("naughty", "adjective")], out, max_tokens=300, target=5)
    out += ids(pieces, "The dog ran home.")
    decision = row.decide()
    assert not any(decision.boost.get(v.ids[0], 0) for v in starts)
    assert decision.only is None


def test_a_told_story_is_let_to_end_at_a_sentence_end(pieces):
    out: list[int] = []
    row = state(pieces, [("kite", "noun")], out, max_tokens=100, end=20, bias=5.0)
    out += ids(pieces, "Lily flew her kite in the park with her dad.")
    assert 2 not in row.decide().boost  # before `end` tokens: no raise
    out += ids(pieces, " The wind was strong and the kite went up high into the sky.")
    early = row.decide().boost.get(2, 0)
    assert 0 < early < 5  # past `end`, at a sentence end: raised, on a ramp
    out += ids(pieces, " They ran home")
    assert 2 not in row.decide().boost  # mid-sentence: never
    out += ids(pieces, " and ate a big red apple and a cake and a pie and some bread too.")
    assert row.decide().boost.get(2, 0) > early  # later: raised harder


def test_the_end_raise_waits_for_every_word(pieces):
    out: list[int] = []
    row = state(pieces, [("kite", "noun"), ("jump", "verb")], out, max_tokens=100, end=5)
    out += ids(pieces, "Lily flew her kite in the park with her dad all day long.")
    decision = row.decide()
    assert 2 in decision.block and 2 not in decision.boost  # "jump" is still missing
    row_off = state(pieces, [("kite", "noun")], out, max_tokens=100, end=0)
    assert 2 not in row_off.decide().boost  # end 0: off


def test_a_word_raised_whole_is_closed_not_grown_into_another(pieces):
    """ " fit" raised whole and continued with "ter" wrote "fitter": the word stayed missing,
    was pushed again, and the kept story read "the fitter's fitter fitter fitting"."""
    fit, ter = one(pieces, " fit"), one(pieces, "ter")
    assert ids(pieces, " fitter") == [fit, ter]
    out: list[int] = []
    row = state(pieces, [("fit", "verb")], out, max_tokens=200, target=10)
    out += ids(pieces, "The dog tried and tried but the shoe did not")
    assert row.decide().boost.get(fit, 0) >= 1  # raised under a real push
    out.append(fit)
    decision = row.decide()
    assert decision.only is None and ter in decision.block  # no "fitter"
    assert one(pieces, " the") not in decision.block and one(pieces, ".") not in decision.block
    out.append(one(pieces, "."))
    assert not row.decide().block & {ter}  # closed: later words are free again
    assert row.schedule.missing == []  # and "fit" counts as written
