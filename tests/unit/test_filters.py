import pytest

from filters import (
    EnglishProse,
    ForChildren,
    Length,
    MetaText,
    NotProse,
    Repetition,
    RequiredWords,
    RunOn,
    Stutter,
    Truncated,
    apply_filters,
    story_filters,
)
from schoolhouse.datasets.records import Story
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


# The second paragraph SmolLM2-135M wrote for the words "view", "suffer" and "long".
EXPLAINED = (
    "Once upon a time, there was a little girl named Lily. She liked to look at the long view "
    "from her window. One day her dog hurt its paw and she did not want it to suffer.\n\n"
    'In this story, the first sentence uses the verb "suffer" which is very simple. The second '
    'sentence uses the noun "view" and the adjective "long".'
)


@pytest.mark.parametrize(
    "text",
    [
        EXPLAINED,
        "Here is a short story using the words ball, jump and red:\n\n" + GOOD,
        "Sure! Here's a story:\n\n" + GOOD,
        "Title: The Red Ball\n\n" + GOOD,
        GOOD + "\n\n(Note: this story uses simple words that a 3-4 year old can understand.)",
        GOOD + "\n\nThe end. I hope you enjoyed this little story!",
        GOOD + "\n\nThe End.\n\nThis story shows friendship and uses all three words.",
        GOOD + "\n\nWord count: 150",
        GOOD + ' This story uses the noun "ball".',
        "Mia loved to jump. " + GOOD + '\n\nRemember to only use simple words, like "jump".',
        GOOD + "\n\nI followed the prompt and used very simple vocabulary words.",
        "I will write a story about a red ball.\n\n" + GOOD,
        # what the steered embedded teacher wrote after its stories
        GOOD + "\n\nIn summary:\n- The story is about a 3-year-old boy who is worried about "
        "something bad happening to him.\n- The idea is that something unexpected will happen "
        "so you can create plot twists with simple words while using only simple words!",
        GOOD + '\n\nThe ending ends with the prince saying: "The only thing you have to do is '
        'smile again."',
        GOOD.replace("Tom laughed", "Max was 3 years old at the time of this story. Tom laughed"),
        "The story begins with a simple sentence.\n\n" + GOOD,
        # kept by the first steered runs, thrown away by a reader
        GOOD + "\n\n#The_Maple_Tree #TheSwanLady #LittleSprite\n\nA: [Your Name] is upset.",
        GOOD + "\n\nA: Mia is upset that the ball is gone.",
        GOOD + "\n\nReddish: This means reddish or blood red in different colors.",
        GOOD + "\n\nIn this short story all the characters are so happy.",
        GOOD + "\n\nThe rest of the story will end with this ending:",
        GOOD + "\n\nThey made up their own story with different words like ball and red.",
        GOOD + "\nThis is just one story that you could create for 3 years old.",
        GOOD + "\n\nThis is only one of many stories in the story of the little red ball.",
        GOOD.replace("Tom laughed", "The little 3-year-old child was excited. Tom laughed"),
        GOOD.replace("Tom laughed", "The 2-year-olds child smiled. Tom laughed"),
    ],
)
def test_meta_text_talks_about_the_task_instead_of_telling_a_story(text):
    assert MetaText()(story(text)) == (False, "meta_text")


@pytest.mark.parametrize(
    "text",
    [
        GOOD,
        GOOD + "\n\nThe End.",
        GOOD + " The end!",
        '"Here is a story," said Mom, and she opened the big red book. ' + GOOD,
        GOOD.replace("Tom laughed", '"Let me tell you a story," said Tom. He laughed'),
        GOOD + '\n\nGrandma smiled. "I hope you enjoyed the cake," she said.',
        GOOD + "\n\nThe moral of the story is that good friends help each other.",
        "Lily was a three-year-old girl who loved her red ball. " + GOOD,
        "Okay was the name of a very small cat. " + GOOD,
        GOOD.replace("Mia smiled", "Mia wrote a note for her mom. Mia smiled"),
        GOOD + "\nBut that was not the end of the story.\nThe ball came back the next day.",
        "Lily was a 3-year-old girl with a red ball. " + GOOD,
        GOOD.replace("Mia smiled", '"Do you know what this means?" asked Mia. Mia smiled'),
        GOOD + '\n\nMom said: "It means we can play again tomorrow."',
    ],
)
def test_meta_text_keeps_stories_that_only_look_like_it(text):
    assert MetaText()(story(text)) is True


def test_meta_text_is_named_before_missing_words():
    # it talks about the prompt and never uses "jump": the first reason is the meta text
    talk = GOOD.replace("jump", "play") + ' This story uses the verb "jump".'
    assert apply_filters(story_filters(), story(talk)) == "meta_text"


# the ending the steered embedded teacher wrote when it lost the thread (index 3, seed 11)
RAMBLE = (
    "The sea is big like the sky it has many different kinds of people living together it is "
    "also big like the sea it has many kinds of animals living together it has many kind kinds of "
    "people who love each other they love each other very much they love eachother very much they "
    "also love eachother even they love eachothers they are really happy"
)


def test_a_run_on_sentence_is_dropped():
    assert RunOn()(story(GOOD + "\n\n" + RAMBLE + ".")) == (False, "run_on")
    assert apply_filters(story_filters(), story(GOOD + " " + RAMBLE + ".")) == "run_on"


def test_short_sentences_lines_and_lists_are_not_run_on():
    assert RunOn()(story(GOOD)) is True
    poem = "\n".join(["The red ball rolls and rolls and rolls along the way"] * 12)
    assert RunOn()(story(poem)) is True  # a line ends a sentence
    assert RunOn(max_words=10)(story("One two three four five six seven eight nine ten.")) is True
    assert RunOn(max_words=9)(story("One two three four five six seven eight nine ten.")) == (
        False,
        "run_on",
    )


@pytest.mark.parametrize(
    "text",
    [
        # what the steered embedded teacher wrote in stories for 3-year-olds
        GOOD + " But there was only one daughter left, they all died from cancer!",
        GOOD.replace("Tom laughed", "She swallowed it with a sizzling mop of blood. Tom laughed"),
        GOOD + " So she decided to have him killed.",
        GOOD + " The man had a gun in his hand.",
    ],
)
def test_stories_unfit_for_young_children_are_dropped(text):
    assert ForChildren()(story(text)) == (False, "not_for_children")
    assert apply_filters(story_filters(), story(text)) == "not_for_children"


@pytest.mark.parametrize(
    "text",
    [GOOD, GOOD + " Mia had a skill: she could make the flowers bloom.", GOOD + " Grandpa died."],
)
def test_stories_fit_for_young_children_are_kept(text):
    assert ForChildren()(story(text)) is True


# kept by the steered embedded teacher, thrown away by a reader
LISTED = (
    "1.  The main character's name was Emily, a bright young girl, who had just learned to skate."
    "\n2.  She had the name Emily the Skater, a fair and just country girl who loved the sun.\n"
    "3.  She had a bright smile on her face, with sunny days, and decided to be the best.\n"
    "4.  But one day, a storm hit Emily's town, and she could not check her bike."
)


@pytest.mark.parametrize(
    "text",
    [
        GOOD.replace("Tom laughed", "They brought a special special night. Tom laughed"),
        GOOD.replace("Tom laughed", "They added some extra extra shiny things. Tom laughed"),
        GOOD.replace("Tom laughed", "She went to the fitter's fitter fitter fitting. Tom laughed"),
    ],
)
def test_a_word_said_twice_in_a_row_is_a_stutter(text):
    assert Stutter()(story(text)) == (False, "stutter")
    assert apply_filters(story_filters(), story(text)) == "stutter"


@pytest.mark.parametrize(
    "text",
    [
        GOOD,
        GOOD.replace("Tom laughed", "It was very very big. Tom laughed"),
        GOOD.replace(
            "Tom laughed", '"Knock knock!" said Tom. "Night night," said Mom. Tom laughed'
        ),
        GOOD.replace("Tom laughed", "The drum went boom boom. Tom had had a nap. Tom laughed"),
    ],
)
def test_reduplications_a_story_uses_are_not_stutters(text):
    assert Stutter()(story(text)) is True


def test_a_story_written_as_a_list_is_not_prose():
    assert NotProse()(story(LISTED)) == (False, "not_prose")
    assert apply_filters(story_filters(), story(LISTED + "\n\n" + GOOD)) == "not_prose"
    recipe = GOOD + "\n\nTom needed:\n- a red ball\n- a hat"  # two items: still a story
    assert NotProse()(story(recipe)) is True
