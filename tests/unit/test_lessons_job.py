"""Textbooks, exercises and --refine through the one runner, with the fake teacher."""

import functools

import pyarrow.parquet as pq
import pytest

from filters import apply_filters, exercise_filters, textbook_filters
from schoolhouse import jobs
from schoolhouse.config import ExercisesConfig, StoriesConfig, TextbooksConfig
from schoolhouse.graders.decontaminate import humaneval
from schoolhouse.lessons.exercises import ExercisesKind
from schoolhouse.lessons.generation import generate, generate_stories
from schoolhouse.lessons.textbooks import TextbooksKind
from schoolhouse.sandbox import isolation
from schoolhouse.teacher.fake import FakeTeacher
from tests.conftest import STORY, story_for


def rows(out, which="data"):
    return [
        r for f in sorted((out / which).glob("*.parquet")) for r in pq.read_table(f).to_pylist()
    ]


def exercise(body: str, tests: str, name="count_vowels", doc="Count the vowels in `text`.") -> str:
    return (
        f'Here is the exercise.\n\n```python\ndef {name}(text: str) -> int:\n    """{doc}"""\n'
        f"{body}\n```\n\nTests:\n\n```python\n{tests}\n```\n"
    )


PASSING = exercise(
    '    return sum(c in "aeiou" for c in text.lower())',
    'assert count_vowels("banana") == 3\nassert count_vowels("") == 0\n'
    'assert count_vowels("AEI") == 3',
)
FAILING = exercise(
    '    return sum(c in "aeiou" for c in text)',
    'assert count_vowels("banana") == 3\nassert count_vowels("AEI") == 3',
)
UNPARSEABLE = "Sorry, I can only describe it: count the vowels by looping over the letters."
_, HUMANEVAL_0 = next(iter(humaneval()))
CONTAMINATED = (
    f"```python\n{HUMANEVAL_0}\n```\n\n```python\n"
    "assert has_close_elements([1.0, 2.8, 3.0], 0.3)\n```\n"
)


def test_exercises_land_kept_or_rejected_with_the_sandbox_reason(tmp_path):
    answers = [PASSING, FAILING, UNPARSEABLE, CONTAMINATED]
    fake = FakeTeacher(lambda r: answers[int(r.id.split(":")[0])])
    cfg = ExercisesConfig(n=4, out=tmp_path / "ex", seed=3)
    kind = ExercisesKind.load(cfg, functools.partial(apply_filters, exercise_filters()))
    summary = generate(cfg, kind, teacher=fake, progress=False)
    assert summary.kept == 1
    assert summary.rejected == {"test_failed": 1, "unparseable": 1, "contaminated": 1}
    [kept] = rows(cfg.out)
    assert kept["index"] == 0 and kept["entry_point"] == "count_vowels"
    assert kept["signature"] == "def count_vowels(text: str) -> int:"
    assert kept["docstring"] == "Count the vowels in `text`."
    assert "return sum" in kept["solution"] and kept["tests"].count("assert") == 3
    assert kept["tests_passed"] and kept["topic"] and kept["words"]
    rejected = {r["index"]: r for r in rows(cfg.out, "rejected")}
    assert rejected[1]["reason"] == "test_failed" and rejected[1]["tests_passed"] is False
    assert "AssertionError" in rejected[1]["sandbox_detail"]
    assert rejected[2]["reason"] == "unparseable" and rejected[2]["solution"] is None
    assert rejected[3]["reason"] == "contaminated" and rejected[3]["tests_passed"]
    assert summary.to_dict()["adherence_tests_pass"] == 0.5
    card = (cfg.out / "README.md").read_text()
    assert "| `test_failed` | 1 |" in card and "CodeExercises" in card


def lesson(prompt: str, length=220) -> str:
    words = prompt.split('"')[3::2]  # the required words follow the topic
    body = STORY.format(noun="kite", verb="fly", adjective="red").split(" ")[:length]
    return f"{' '.join(body)} Here we use {', '.join(words)}."


def test_textbooks_keep_long_lessons_and_drop_short_and_contaminated_ones(tmp_path):
    def reply(request):
        index = int(request.id.split(":")[0])
        text = lesson(request.messages[0]["content"], 40 if index == 2 else 220)
        return text + ("\n\n" + HUMANEVAL_0 if index == 4 else "")

    assert TextbooksConfig(n=1, out=tmp_path / "x").n_words == 0  # no words forced on a topic
    cfg = TextbooksConfig(n=5, out=tmp_path / "tb", seed=1, n_words=3)
    kind = TextbooksKind.load(cfg, functools.partial(apply_filters, textbook_filters(150)))
    summary = generate(cfg, kind, teacher=FakeTeacher(reply), progress=False)
    assert summary.kept == 3 and summary.rejected == {"too_short": 1, "contaminated": 1}
    row = rows(cfg.out)[0]
    assert row["audience"] and row["style"] and row["topic"] and row["subject"]
    assert row["words_used"] == row["words"] and len(row["words"]) == 3
    assert [r["index"] for r in rows(cfg.out, "rejected")] == [2, 4]
    assert "| `too_short` | 1 |" in (cfg.out / "README.md").read_text()


@pytest.mark.skipif(isolation() != "bwrap", reason="bubblewrap cannot run here")
def test_textbooks_whose_python_fails_are_dropped_as_code_fails(tmp_path):
    code = {
        0: "```python\nprint(sum([1, 2, 3]))\n```\n\nOutput:\n\n```\n6\n```\n",
        1: "```python\nprint(sum([1, 2, 3]))\n```\n\nOutput:\n\n```\n7\n```\n",
        2: "```python\nprint(average(scores))\n```\n",
    }

    def reply(request):
        index = int(request.id.split(":")[0])
        return lesson(request.messages[0]["content"], 220) + "\n\n" + code[index]

    cfg = TextbooksConfig(n=3, out=tmp_path / "tb", seed=1, judge="none")
    summary = generate(cfg, jobs.lesson_kind(cfg), teacher=FakeTeacher(reply), progress=False)
    assert summary.kept == 1 and summary.rejected == {"code_fails": 2}
    assert [r["index"] for r in rows(cfg.out, "rejected")] == [1, 2]
    assert "`code_fails`" in (cfg.out / "README.md").read_text()


def refining(draft, revised):
    """A teacher that drafts `draft`, critiques briefly, and revises to `revised`."""

    def reply(request):
        text = request.messages[0]["content"]
        if text.startswith("You are a strict reviewer"):
            return "The draft misses a required word."
        if text.startswith("Here is a task, a draft"):
            return revised(text)
        return draft(text)

    return FakeTeacher(reply)


def test_refine_runs_three_batched_rounds_and_keeps_draft_and_critique(tmp_path, verify):
    fake = refining(lambda p: story_for(p, noun="zebra"), lambda p: story_for(p.split("Draft:")[0]))
    cfg = StoriesConfig(n=4, out=tmp_path / "st", refine=True)
    summary = generate_stories(cfg, verify, teacher=fake, progress=False)
    kinds = [r.messages[0]["content"][:12] for r in fake.requests]
    assert kinds[:4] == ["Write a shor"] * 4  # every draft first, then every critique ...
    assert kinds[4:8] == ["You are a st"] * 4 and kinds[8:] == ["Here is a ta"] * 4
    assert {r.sampling.max_tokens for r in fake.requests[4:8]} == {256}
    assert summary.kept == 4
    row = rows(cfg.out)[0]
    assert "zebra" in row["draft"] and "zebra" not in row["text"]
    assert row["critique"] == "The draft misses a required word." and row["refine_tokens"] > 0
    constraints = fake.requests[4].messages[0]["content"]
    assert all(f'"{w}"' in constraints for w in row["words"].values())
    assert summary.prompt_tokens > sum(r["prompt_tokens"] for r in rows(cfg.out))


def test_refined_rows_record_the_revision_sampling_not_the_drafts(tmp_path, verify):
    fake = refining(story_for, lambda p: story_for(p.split("Draft:")[0]))
    cfg = StoriesConfig(n=3, out=tmp_path / "st", refine=True, best_of=2)
    generate_stories(cfg, verify, teacher=fake, progress=False)
    drafts, revisions = fake.requests[:6], fake.requests[12:]  # 3 prompts x 2 candidates a step
    by_id = {r.id: r.sampling.to_dict() for r in revisions}
    kept = rows(cfg.out)
    assert len(kept) == 3
    for row in kept:
        request_id = f"{row['index']}:{row['candidate']}"
        assert row["sampling"] == by_id[request_id]  # what wrote the kept text
        draft = next(r for r in drafts if r.id == request_id)
        assert row["sampling"]["seed"] != draft.sampling.seed
        assert row["sampling"]["max_tokens"] == cfg.max_tokens


def test_refine_is_part_of_the_job_and_resumes_per_row(tmp_path, verify):
    cfg = StoriesConfig(n=3, out=tmp_path / "st", refine=True)
    fake = refining(story_for, lambda p: story_for(p.split("Draft:")[0]))
    generate_stories(cfg.model_copy(update={"n": 2}), verify, teacher=fake, progress=False)
    again = refining(story_for, lambda p: story_for(p.split("Draft:")[0]))
    summary = generate_stories(cfg, verify, teacher=again, progress=False)
    assert len(again.requests) == 3 and summary.kept == 3  # one prompt x three steps
    with pytest.raises(ValueError, match="--refine True there, None now"):
        generate_stories(cfg.model_copy(update={"refine": False}), verify, teacher=again)


def test_refined_exercises_are_verified_on_the_revision(tmp_path):
    fake = refining(lambda p: FAILING, lambda p: PASSING)
    cfg = ExercisesConfig(n=2, out=tmp_path / "ex", refine=True)
    kind = ExercisesKind.load(cfg, functools.partial(apply_filters, exercise_filters()))
    summary = generate(cfg, kind, teacher=fake, progress=False)
    assert summary.kept == 2
    row = rows(cfg.out)[0]
    assert row["draft"] == FAILING.strip() and row["text"] == PASSING.strip()
