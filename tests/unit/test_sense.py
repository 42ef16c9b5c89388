"""The sense judge on a fake judge model: its readings, its combination, its job folder."""

import json
import math
import re

import pytest
from click.testing import CliRunner

from schoolhouse.config import JudgeConfig
from schoolhouse.graders.sense import SenseJudge, judge_weights
from schoolhouse.graders.sense.job import judge_rows
from schoolhouse.graders.sense.score import combine, halves, p_yes, sentences, shuffled
from schoolhouse.teacher import Completion
from schoolhouse.teacher.fake import FakeTeacher

STORY = (
    "Mia had a red kite. She took it to the park on a windy day. The kite flew high over the "
    "trees. Then the string broke and the kite fell into a pond. Mia was sad. Her dad got a long "
    "stick and pulled the kite out. They dried it in the sun and flew it again."
)
GIBBERISH = {"eelel", "flombet", "zorvish"}
# the fake judge expects each sentence's first word after the one before it: shuffling costs
ORDER = [s.split()[0] for s in sentences(STORY)]


def fake_judge() -> FakeTeacher:
    """A judge model that finds gibberish words unlikely and answers No to them, and that
    expects STORY's sentences in their order."""

    def pieces(request):
        prompt = request.messages[0]["content"]
        out, previous = [], None
        for piece in re.findall(r"\s*\S+", prompt):
            word = piece.strip().strip(".,!?").lower()
            logprob = -9.0 if word in GIBBERISH else -1.0
            if piece.strip() in ORDER and previous is not None:
                expected = ORDER.index(piece.strip()) - 1
                logprob = -1.0 if expected >= 0 and ORDER[expected] == previous else -4.0
            if piece.strip() in ORDER:
                previous = piece.strip()
            out.append((piece, logprob))
        return tuple(out)

    def answer(request, text):
        bad = any(w in request.messages[0]["content"] for w in GIBBERISH)
        yes, no = (0.1, 0.9) if bad else (0.9, 0.1)
        return ("Yes",), ((("Yes", math.log(yes)), ("No", math.log(no))),)

    return FakeTeacher(lambda request: "Yes", name="fake-judge", logprobs=answer,
                       prompt_logprobs=pieces)  # fmt: skip


def test_shuffled_keeps_every_sentence_in_another_order():
    mixed = shuffled(STORY, seed=1)
    assert mixed != STORY
    assert sorted(sentences(mixed)) == sorted(sentences(STORY))
    assert shuffled(STORY, seed=1) == mixed


def test_halves_cut_at_a_sentence_near_the_middle():
    first, second = halves(STORY)
    assert first.endswith(".") and second[0].isupper()
    assert abs(len(first) - len(second)) < len(STORY) // 3


def test_p_yes_renormalises_over_yes_and_no():
    completion = Completion("0", "Yes", 1, 1, "stop", ("Yes",),
                            (((" yes", math.log(0.6)), ("No", math.log(0.2)), ("Maybe", -1.0)),))  # fmt: skip
    assert p_yes(completion) == pytest.approx(0.75)
    assert p_yes(Completion("0", "Yes", 1, 1, "stop")) is None


def test_the_readings_tell_a_story_from_its_shuffled_and_garbled_copies():
    judge = SenseJudge.load(fake_judge(), weights={})
    garbled = STORY.replace("kite", "eelel").replace("park", "flombet")
    items = [("story", STORY, "story"), ("mixed", shuffled(STORY, 3), "story"),
             ("garbled", garbled, "story")]  # fmt: skip
    got = {item[0]: verdict for item, verdict in judge.judge(items)}
    story, mixed, bad = got["story"].features, got["mixed"].features, got["garbled"].features
    assert story["tokens"] == len(STORY.split())  # exactly the text's tokens were read
    assert story["shuffle_gap"] > mixed["shuffle_gap"] + 0.1
    assert story["lp_low"] > bad["lp_low"]
    assert story["p_yes"] > 0.5 > bad["p_yes"]
    assert got["story"].method == "rubric"  # no fitted weights for a fake judge
    assert got["story"].sense > got["garbled"].sense


def test_fitted_weights_combine_every_feature_and_fall_back_to_the_rubric():
    weights = {"features": ["p_yes", "shuffle_gap"], "mean": [0.0, 0.0], "scale": [1.0, 1.0],
               "coef": [1.0, 2.0], "intercept": 0.0, "threshold": 0.4}  # fmt: skip
    good, method = combine({"p_yes": 0.9, "shuffle_gap": 0.8}, weights)
    bad, _ = combine({"p_yes": 0.9, "shuffle_gap": -0.5}, weights)
    assert method == "fitted" and good > bad
    assert combine({"p_yes": 0.7, "shuffle_gap": None}, weights) == (0.7, "rubric")


def test_the_shipped_weights_are_complete():
    for name, w in judge_weights().items():
        n = len(w["features"])
        assert 0 < w["threshold"] < 1, name
        for tree in w["trees"]:
            nodes = len(tree["feature"])
            assert all(len(tree[k]) == nodes for k in ("threshold", "left", "right", "value"))
            assert max(tree["feature"]) < n


def test_a_forest_reads_its_trees():
    from schoolhouse.graders.sense.score import forest_proba

    tree = {"feature": [0, -2, -2], "threshold": [0.5, 0, 0], "left": [1, -1, -1],
            "right": [2, -1, -1], "value": [0.5, 0.1, 0.9]}  # fmt: skip
    assert forest_proba([tree], [0.2]) == 0.1 and forest_proba([tree, tree], [0.7]) == 0.9


def rows_file(tmp_path, rows):
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_judge_writes_one_row_per_input_id_and_resumes(tmp_path):
    garbled = STORY.replace("kite", "eelel")
    path = rows_file(tmp_path, [
        {"id": "a", "text": STORY, "kind": "story"},
        {"id": "b", "text": garbled},
        {"id": "a", "text": "a later row with an id already seen"},
    ])  # fmt: skip
    config = JudgeConfig(inputs=[path], out=tmp_path / "judged", judge="embedded",
                         kind="textbook", batch=1)  # fmt: skip
    summary = judge_rows(config, teacher=fake_judge(), progress=False)
    assert summary.judged == 2 and summary.duplicate_ids == 1
    import datasets

    rows = {r["id"]: r for r in datasets.load_dataset(str(tmp_path / "judged"), split="train")}
    assert rows["a"]["kind"] == "story" and rows["b"]["kind"] == "textbook"  # its own, else --kind
    assert rows["a"]["sense"] > rows["b"]["sense"]
    card = (tmp_path / "judged" / "README.md").read_text()
    assert "| sense |" in card and "P(Yes)" in card
    again = judge_rows(config, teacher=FakeTeacher([], name="fake-judge"), progress=False)
    assert again.written == 0 and again.skipped == 2


def test_a_bad_kind_names_its_file_and_row(tmp_path):
    path = rows_file(tmp_path, [{"id": "a", "text": STORY, "kind": "poem"}])
    config = JudgeConfig(inputs=[path], out=tmp_path / "judged", judge="embedded")
    with pytest.raises(ValueError, match=r"rows.jsonl, row 1: kind 'poem'"):
        judge_rows(config, teacher=fake_judge(), progress=False)
    assert not (tmp_path / "judged").exists()


def test_judge_command_fails_in_one_line_on_a_missing_input(tmp_path):
    result = CliRunner().invoke(
        __import__("schoolhouse.cli", fromlist=["main"]).main,
        [
            "judge",
            str(tmp_path / "nope.jsonl"),
            "--out",
            str(tmp_path / "o"),
            "--judge",
            "embedded",
        ],
    )
    assert result.exit_code != 0
    assert "nope.jsonl: no such file or folder" in result.output


def test_generation_drops_what_the_judge_finds_nonsense_after_the_cheap_checks(tmp_path):
    from schoolhouse.config import StoriesConfig
    from schoolhouse.graders.sense.check import SenseCheck
    from schoolhouse.jobs import lesson_kind
    from schoolhouse.lessons.generation import generate
    from schoolhouse.teacher import TeacherSpec
    from tests.conftest import story_for

    judge = fake_judge()

    def reply(request):
        if request.prompt_logprobs:  # the judge's rubric
            return "Yes"
        index = int(request.id.split(":")[0])
        if index == 1:
            return "Too short."  # the cheap checks drop it: the judge never reads it
        story = story_for(request.messages[0]["content"])
        return story.replace("garden", "eelel garden") if index % 2 == 0 else story

    teacher = FakeTeacher(reply, name="fake-judge", logprobs=judge.logprobs,
                          prompt_logprobs=judge.prompt_logprobs)  # fmt: skip
    config = StoriesConfig(n=5, out=tmp_path / "stories", steer=False)
    kind = lesson_kind(config)
    kind.sense = SenseCheck(TeacherSpec("given", "", "fake-judge"), 0.5, False, batch=2)
    summary = generate(config, kind, teacher=teacher, progress=False)
    assert summary.rejected["nonsense"] == 3 and summary.rejected["too_short"] == 1
    assert summary.kept == 1
    judged = [r for r in teacher.requests if r.prompt_logprobs]
    assert len(judged) == 3 * 4  # three readings of each of the four that passed the cheap checks
    import datasets

    kept = datasets.load_dataset(str(tmp_path / "stories"), split="train")
    assert all(s > 0.5 for s in kept["sense"])
    job = json.loads((tmp_path / "stories" / ".schoolhouse" / "job.json").read_text())
    assert job["judge"] == "fake-judge" and job["min_sense"] == 0.5
