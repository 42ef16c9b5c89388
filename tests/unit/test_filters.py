import pytest

from filters import (
    EnglishProse,
    Length,
    Repetition,
    RequiredWords,
    Truncated,
    apply_filters,
    story_filters,
)
from schoolhouse.records import Story
from tests.conftest import STORY


def story(text, words=None, finish_reason="stop"):
    return Story(
        id="x",
        index=0,
        text=text,
        prompt="p",
        template="story",
        template_sha="s",
        words=words or {"noun": "ball", "verb": "jump", "adjective": "red"},
        features=[],
        teacher="t",
        sampling={},
        seed=0,
        prompt_tokens=1,
        completion_tokens=1,
        finish_reason=finish_reason,
    )


GOOD = STORY.format(noun="ball", verb="jump", adjective="red")


def test_a_good_story_passes_every_filter():
    assert apply_filters(story_filters(), story(GOOD)) is None


@pytest.mark.parametrize(
    ("words", "text"),
    [
        (
            {"noun": "child", "verb": "jump", "adjective": "happy"},
            "The children jumped. She was happier.",
        ),
        (
            {"noun": "mouse", "verb": "go", "adjective": "big"},
            "Two mice went to the biggest house.",
        ),
        (
            {"noun": "dog", "verb": "run", "adjective": "good"},
            "The dog's friend was running. Good!",
        ),
    ],
)
def test_required_words_accept_inflections(words, text):
    assert RequiredWords()(story(text, words)) is True


def test_required_words_reject_a_missing_word_and_other_parts_of_speech():
    assert RequiredWords()(story("The ball was red.")) == (False, "missing_required_word")
    # "jumper" is a noun, not an inflection of the verb "jump"
    assert RequiredWords()(story("The red ball and the jumper.")) == (
        False,
        "missing_required_word",
    )


def test_truncated():
    assert Truncated()(story(GOOD, finish_reason="length")) == (False, "truncated")
    assert Truncated()(story(GOOD)) is True


def test_length_bounds():
    f = Length(min_words=80, max_words=300)
    assert f(story("A red ball. " * 5)) == (False, "too_short")
    assert f(story(GOOD + GOOD)) == (False, "too_long")
    assert f(story(GOOD)) is True


def test_degenerate_repetition():
    loop = (
        "Once upon a time there was a red ball. " + "The ball was red and the ball was happy. " * 20
    )
    assert Repetition()(story(loop)) == (False, "degenerate_repetition")
    lines = "\n".join(["Mia jumped."] * 10 + ["Then she slept."])
    assert Repetition()(story(lines)) == (False, "degenerate_repetition")
    assert Repetition()(story(GOOD)) is True


@pytest.mark.parametrize(
    "text",
    [
        "def jump(ball):\n    return [x ** 2 for x in range(10)]  # red\n" * 5,
        "Il était une fois une petite fille qui aimait son ballon rouge et sautait dans le jardin. "
        * 4,
        "- 1\n- 2\n- 3\n- 4\n- 5 6 7 8 9 10 11 12 13 14 15",
        "Жила-была девочка, и она очень любила свой красный мяч и прыгала с ним в саду, the and. "
        * 3,
        "",
    ],
)
def test_not_english_prose(text):
    assert EnglishProse()(story(text)) == (False, "not_english_prose")


def test_first_failing_filter_names_the_reason():
    truncated_and_short = story("A ball.", finish_reason="length")
    assert apply_filters(story_filters(), truncated_and_short) == "truncated"
