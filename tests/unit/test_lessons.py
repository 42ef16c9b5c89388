"""Textbook and exercise prompts: topic lists, seeded sampling, templates checked at load."""

import pytest

from schoolhouse.lessons.curriculum import ExerciseSampler, TextbookSampler
from schoolhouse.prompt_files import (
    CurriculumError,
    load_features,
    load_template,
    load_topics,
    load_vocabulary,
)


def textbook_sampler(seed=0, topics=()):
    return TextbookSampler(
        load_topics(topics),
        load_features(None, "audiences"),
        load_features(None, "styles"),
        load_vocabulary(),
        load_template("textbook", TextbookSampler.REQUIRED),
        seed,
    )


def test_the_shipped_topic_lists_are_long_and_clean():
    topics = load_topics()
    subjects = {t.subject for t in topics}
    assert subjects == {"python", "school"}
    for subject in subjects:
        assert sum(t.subject == subject for t in topics) >= 100
    assert len({t.name.lower() for t in topics}) == len(topics)


def test_textbook_prompts_are_seeded_and_record_what_was_sampled():
    a, b, c = textbook_sampler(7), textbook_sampler(7), textbook_sampler(8)
    first = [a.sample(i) for i in range(20)]
    assert first == [b.sample(i) for i in reversed(range(20))][::-1]  # any order, same prompts
    assert [p.text for p in first] != [c.sample(i).text for i in range(20)]
    p = first[0]
    assert f'"{p.topic.name}"' in p.text and p.style.instruction in p.text
    assert p.audience.instruction in p.text and len(p.words) == 3
    assert all(f'"{w}"' in p.text for w in p.words)
    assert len({(q.audience.name, q.style.name) for q in first}) > 5


def test_exercise_prompts_name_a_python_topic_and_ask_for_asserts():
    s = ExerciseSampler(
        load_topics(), load_vocabulary(), load_template("exercise", ExerciseSampler.REQUIRED), 3
    )
    p = s.sample(5)
    assert p == s.sample(5) and p.topic.name in p.text and "assert" in p.text
    assert p.words[0] in p.text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", r"topics\.txt: no topics"),
        ("# only a comment\n\n", r"topics\.txt: no topics"),
        ("Loops\n{{ evil }}\n", r"topics\.txt:2: '\{\{ evil \}\}' is not a topic"),
        ("Loops\n- Lists\n", r"topics\.txt:2: '- Lists' is not a topic"),
        ("Loops\n" + "x" * 101 + "\n", r"topics\.txt:2: .* is not a topic"),
        ("Loops\nSets\n\n loops \n", r"topics\.txt:4: 'loops' already listed at .*topics\.txt:1"),
    ],
)
def test_bad_topic_files_are_named_by_file_and_line(tmp_path, content, message):
    path = tmp_path / "topics.txt"
    path.write_text(content)
    with pytest.raises(CurriculumError, match=message):
        load_topics([path])


def test_a_topic_repeated_across_files_is_an_error(tmp_path):
    (tmp_path / "a.txt").write_text("Loops\n")
    (tmp_path / "b.txt").write_text("Sets\nLoops\n")
    with pytest.raises(CurriculumError, match=r"b\.txt:2: 'Loops' already listed at .*a\.txt:1"):
        load_topics([tmp_path / "a.txt", tmp_path / "b.txt"])
    with pytest.raises(CurriculumError, match="topics file not found"):
        load_topics([tmp_path / "missing.txt"])


def test_lesson_templates_are_checked_at_load(tmp_path):
    (tmp_path / "t.jinja2").write_text("Write about {{ topic }} for {{ audiense }}.")
    with pytest.raises(CurriculumError, match=r"unknown variables \['audiense'\]"):
        load_template("t", TextbookSampler.REQUIRED, tmp_path)
    for name, required in (("critique", {"prompt", "draft", "constraints"}),
                           ("revise", {"prompt", "draft", "critique"})):  # fmt: skip
        assert load_template(name, required).sha
