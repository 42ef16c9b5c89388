"""GPT-Eval checks its grader: real endings and the same words shuffled are graded too, and a
grader that cannot tell them apart is reported as noise."""

from __future__ import annotations

import json

import pytest

from schoolhouse.student.config import PretrainConfig
from schoolhouse.student.evaluate import CONTROLS, evaluate, story_splits
from schoolhouse.student.train import pretrain
from schoolhouse.teacher.fake import FakeTeacher
from tests.toy_stories import write_stories


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("student")
    stories = write_stories(root / "stories.jsonl", n=300)
    out = root / "run"
    cfg = PretrainConfig(data=[stories], out=out, steps=10, seq_len=64, batch_size=8,
                         vocab_size=320)  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SCHOOLHOUSE_CACHE", str(root / "cache"))
        pretrain(cfg, progress=False)
    return out


def grade(score: int) -> str:
    return json.dumps({"assessment": "ok", "grammar": score, "creativity": score,
                       "consistency": score, "age_group": "B"})  # fmt: skip


def test_a_grader_that_reads_grades_real_endings_above_shuffled_ones(run):
    splits = story_splits(run, 5, seed=1)
    real = {rest for _, rest in splits}

    def reads(request):  # a grader that knows a real ending when it sees one
        completion = request.messages[0]["content"].split("***", 1)[1]
        return grade(9 if any(r and r in completion for r in real) else 2)

    teacher = FakeTeacher(reads)
    g = evaluate(run, teacher, n=5, max_new_tokens=16, seed=1)["gpt_eval"]
    assert len(teacher.requests) == 5 + 2 * CONTROLS  # the student's five, then the checks
    assert g["prompts"] == 5 and g["graded"] == 5 and g["grammar"] == 2.0
    assert g["controls"] == {"real_ending": 9.0, "shuffled_words": 2.0}
    assert g["grader_discriminates"] is True
    assert g["sampling"]["temperature"] == 0.8  # the student's, not the grader's retry
    assert "it tells them apart" in (run / "README.md").read_text()


def test_the_sense_judge_reads_the_students_stories_beside_its_control(run):
    splits = story_splits(run, 4, seed=1)
    real = {rest for _, rest in splits}

    def judge(items):  # a judge that knows a real ending when it reads one
        return {i: 0.9 if any(r and text.endswith(r) for r in real) else 0.1
                for i, text, _ in items}  # fmt: skip

    s = evaluate(run, None, n=4, max_new_tokens=16, seed=1, judge=judge)["sense_eval"]
    assert s["prompts"] == 4 and s["student"] == 0.1
    assert s["real_ending"] == 0.9 and s["shuffled_words"] == 0.1
    assert s["judge_discriminates"] is True and s["control_wins"] == "4/4"
    assert "the judge tells them apart" in (run / "README.md").read_text()
    praise = evaluate(run, None, n=4, max_new_tokens=16, seed=1,
                      judge=lambda items: {i: 0.9 for i, _, _ in items})["sense_eval"]  # fmt: skip
    assert praise["judge_discriminates"] is False


def test_a_grader_that_praises_everything_is_reported_as_noise(run):
    g = evaluate(run, FakeTeacher(lambda r: grade(10)), n=5, max_new_tokens=16, seed=1)
    assert g["gpt_eval"]["grader_discriminates"] is False
    card = (run / "README.md").read_text()
    assert "is not shown" in card and "could not tell real story endings" in card
    assert "| grammar |" not in card  # its grades are noise: not printed as results
