"""Self-training (ReST-EM) on a fake teacher: rewards come from the sandbox, answers are capped
per problem, held-out problems are never trained on, an interrupted iteration resumes, an
iteration with no correct answer stops, and a rerun with other settings is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schoolhouse.config import SelfTrainConfig
from schoolhouse.selftrain import loop
from schoolhouse.selftrain.finetune import MANIFEST, Example
from schoolhouse.selftrain.tasks import ExercisesTask, exercise_prompt, held_out
from schoolhouse.teacher.fake import FakeTeacher


def exercise(i: int) -> dict:
    name = f"add_{i}"
    return {
        "id": f"ex-{i}", "index": i, "entry_point": name,
        "signature": f"def {name}(x: int) -> int:",
        "docstring": f"Return x plus {i}, the number of apples number {i} holds.",
        "solution": f"def {name}(x: int) -> int:\n    return x + {i}\n",
        "tests": f"assert {name}(1) == {1 + i}\nassert {name}(-{i}) == 0\n",
    }  # fmt: skip


ROWS = [exercise(i) for i in range(1, 13)]
BY_NAME = {r["entry_point"]: r for r in ROWS}


def answer(request, right: bool) -> str:
    name = next(n for n in BY_NAME if f"def {n}(" in request.messages[-1]["content"])
    i = BY_NAME[name]["index"]
    body = f"x + {i}" if right else f"x - {i}"
    return f"Here:\n```python\ndef {name}(x: int) -> int:\n    return {body}\n```\n"


def replies(request) -> str:
    """Right on sample seeds that are even, wrong otherwise: a mix per problem."""
    return answer(request, request.sampling.seed % 2 == 0 if request.sampling.seed else True)


def config(tmp_path: Path, **kw) -> SelfTrainConfig:
    folder = tmp_path / "base"
    folder.mkdir(exist_ok=True)
    (folder / "config.json").write_text("{}")  # a model folder as the spec resolver checks it
    values = {"kind": "exercises", "out": tmp_path / "run", "teacher": str(folder),
              "samples": 4, "cap": 2, "iterations": 2, "eval": "none", "held_out": 0.25,
              "unsafe_no_sandbox": True} | kw  # fmt: skip
    return SelfTrainConfig(**values)


def task_for(config, teacher):
    return ExercisesTask(ROWS, config)


class Trainer:
    """Stands in for the fine-tune: records what it was given, writes a model folder."""

    def __init__(self):
        self.calls: list[tuple[Path, list[Example]]] = []

    def __call__(self, base, examples, out, tuning, progress=True, log=print):
        self.calls.append((Path(out), list(examples)))
        out.mkdir(parents=True)
        (out / "config.json").write_text("{}")
        (out / MANIFEST).write_text(json.dumps({"examples": len(examples), "steps": 1}))


def test_the_problem_is_asked_as_humaneval_asks():
    row = exercise(3) | {"solution": "import math\n\ndef add_3(x: int) -> int:\n    return x + 3\n"}
    prompt = exercise_prompt(row)
    assert prompt.startswith('import math\n\ndef add_3(x: int) -> int:\n    """Return x plus 3')
    compile(prompt + "    pass\n", "p", "exec")  # signature and docstring parse as a stub


def test_problems_named_like_humaneval_or_repeated_are_dropped(tmp_path):
    rows = [
        *ROWS[:2],
        exercise(1) | {"id": "again"},
        exercise(5) | {"entry_point": "has_close_elements"},
    ]
    task = ExercisesTask(rows, config(tmp_path))
    assert [r["id"] for r in task.rows] == ["ex-1", "ex-2"]
    assert task.dropped == {"same_name_as_humaneval": 1, "duplicate": 1, "tests_need_other_code": 0}


def test_rewards_caps_and_held_out(tmp_path):
    trainer = Trainer()
    cfg = config(tmp_path, iterations=1)
    teacher = FakeTeacher(replies)
    summary = loop.selftrain(
        cfg, task_for, teacher, progress=False, train=trainer, log=lambda m: None
    )
    ids = [p.id for p in ExercisesTask(ROWS, cfg).problems()]
    train_ids = [i for i in ids if not held_out(i, 0.25)]
    held_ids = [i for i in ids if held_out(i, 0.25)]
    assert held_ids and train_ids
    round1 = summary["iterations"][1]["samples"]
    assert round1["answers"] == 4 * len(train_ids)
    # the sandbox decided: passing answers are exactly the right ones
    right = sum(1 for r in teacher.requests
                if r.sampling.temperature > 0 and r.sampling.seed % 2 == 0)  # fmt: skip
    assert round1["passed"] == right
    assert 0 < round1["passed"] < round1["answers"]
    ((out, examples),) = trainer.calls
    assert out == cfg.out / "iter-1"
    held_prompts = {exercise_prompt(next(r for r in ROWS if r["id"] == i)) for i in held_ids}
    per_problem: dict[str, int] = {}
    for e in examples:
        text = e.messages[-1]["content"]
        assert not any(p in text for p in held_prompts)  # never trained on
        assert "return x + " in e.answer  # only rewarded answers
        per_problem[text] = per_problem.get(text, 0) + 1
    assert max(per_problem.values()) <= 1  # identical right answers count once
    assert (cfg.out / "iterations.json").exists() and (cfg.out / "report.md").exists()
    # held-out problems are answered greedily by the base and by T1
    assert summary["iterations"][0]["held_out"]["answers"] == len(held_ids)
    assert summary["iterations"][1]["held_out"]["reward_rate"] == 1.0


def test_cap_keeps_at_most_n_distinct_answers_newest_first(tmp_path):
    def varied(request):  # every sample right, written differently
        text = answer(request, True)
        return text.replace("return", f"y = {request.sampling.seed % 1000}\n    return")

    trainer = Trainer()
    cfg = config(tmp_path, iterations=2, cap=3)
    loop.selftrain(cfg, task_for, FakeTeacher(varied), progress=False, train=trainer,
                   log=lambda m: None)  # fmt: skip
    (_, first), (_, second) = trainer.calls
    count = lambda ex: max(sum(1 for e in ex if e.messages == m.messages) for m in ex)  # noqa: E731
    assert count(first) == 3 and count(second) == 3  # capped, though 4 and 8 were right
    run = loop.Run(cfg, ExercisesTask(ROWS, cfg), None, [p for p in ExercisesTask(ROWS, cfg).problems()
                   if not held_out(p.id, 0.25)], [])  # fmt: skip
    newest = loop.rounds.rewarded(cfg.out / "samples" / "iter-2")
    assert second[0].answer == newest[0]["answer"].strip()
    assert {e.answer for e in second} <= {r["answer"].strip() for r in newest}
    assert len(loop.training_set(run, 2)) == len(second)


def test_an_interrupted_round_resumes_and_asks_only_what_is_missing(tmp_path):
    trainer = Trainer()
    cfg = config(tmp_path, iterations=1)
    dying = FakeTeacher(replies, dies_after=20)  # per round: the held-out round ends, sampling dies
    with pytest.raises(RuntimeError, match="teacher died"):
        loop.selftrain(cfg, task_for, dying, progress=False, train=trainer, log=lambda m: None)
    assert not trainer.calls
    again = FakeTeacher(replies)
    summary = loop.selftrain(
        cfg, task_for, again, progress=False, train=trainer, log=lambda m: None
    )
    total = 4 * summary["train_problems"]
    assert summary["iterations"][1]["samples"]["answers"] == total
    sampled_again = [r for r in again.requests if r.sampling.temperature > 0]
    assert len(sampled_again) == total - 16  # two batches of 8 were written before it died
    greedy = [r for r in again.requests if r.sampling.temperature == 0]
    assert len(greedy) == summary["held_out_problems"]  # T1 scored; T0's scores were kept
    assert len(trainer.calls) == 1
    # a finished run reruns without asking anything
    idle = FakeTeacher(replies)
    loop.selftrain(cfg, task_for, idle, progress=False, train=trainer, log=lambda m: None)
    assert idle.requests == [] and len(trainer.calls) == 1


def test_an_iteration_with_no_correct_answer_stops_and_keeps_the_last_teacher(tmp_path):
    cfg = config(tmp_path, iterations=2)
    trainer = Trainer()
    with pytest.raises(loop.SelfTrainError, match=r"iteration 1: none of the \d+ answers passed.*"
                       r"last good teacher is the base model"):  # fmt: skip
        loop.selftrain(cfg, task_for, FakeTeacher(lambda r: answer(r, False)), progress=False,
                       train=trainer, log=lambda m: None)  # fmt: skip
    assert not trainer.calls
    assert (
        json.loads((cfg.out / "iterations.json").read_text())["iterations"][1]["samples"]["passed"]
        == 0
    )


def test_a_rerun_with_other_settings_is_refused_naming_the_flag(tmp_path):
    cfg = config(tmp_path, iterations=1)
    loop.selftrain(cfg, task_for, FakeTeacher(replies), progress=False, train=Trainer(),
                   log=lambda m: None)  # fmt: skip
    with pytest.raises(loop.SelfTrainError, match=r"--samples 4 there, 8 now"):
        loop.selftrain(config(tmp_path, iterations=1, samples=8), task_for, FakeTeacher(replies),
                       progress=False, train=Trainer(), log=lambda m: None)  # fmt: skip
    # more iterations extend the same run
    trainer = Trainer()
    loop.selftrain(config(tmp_path, iterations=2), task_for, FakeTeacher(replies), progress=False,
                   train=trainer, log=lambda m: None)  # fmt: skip
    assert [c[0].name for c in trainer.calls] == ["iter-2"]


def test_a_server_url_cannot_be_fine_tuned():
    from schoolhouse.teacher import TeacherSpec

    with pytest.raises(loop.SelfTrainError, match="must be an embedded teacher or a model folder"):
        loop.base_folder(TeacherSpec("http", "http://localhost:1", "x"))


def test_the_report_shows_a_section_per_run(tmp_path):
    from schoolhouse.report import write_report

    cfg = config(tmp_path, iterations=1)
    loop.selftrain(cfg, task_for, FakeTeacher(replies), progress=False, train=Trainer(),
                   log=lambda m: None)  # fmt: skip
    page = write_report([cfg.out], tmp_path / "report.html").read_text()
    assert "Self-training (ReST-EM)" in page and "round 1 reward rate" in page and "<svg" in page
    markdown = (cfg.out / "report.md").read_text()
    assert "| T0 (base) |" in markdown and "| T1 |" in markdown
    assert (cfg.out / "selftrain.png").stat().st_size > 1000


def test_cli_errors_name_the_flag(tmp_path):
    from click.testing import CliRunner

    from schoolhouse.cli import main

    runner = CliRunner()
    done = runner.invoke(
        main, ["selftrain", "stories", "--out", str(tmp_path / "r"), "--eval", "humaneval"]
    )
    assert done.exit_code != 0 and "--eval humaneval scores code" in done.output
    done = runner.invoke(
        main, ["selftrain", "exercises", "--out", str(tmp_path / "r"), "--cap", "0"]
    )
    assert done.exit_code != 0 and "--cap" in done.output
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    done = runner.invoke(main, ["selftrain", "exercises", "--out", str(tmp_path / "full"),
                                "--exercises", str(tmp_path / "nowhere")])  # fmt: skip
    assert (
        done.exit_code != 0
        and "made by something other than schoolhouse, not `schoolhouse selftrain`" in done.output
    )


def test_tests_that_need_code_the_problem_does_not_show_are_left_out(tmp_path):
    from schoolhouse.selftrain.tasks import tests_for_entry_point

    solution = "LIMIT = 3\n\ndef triple(x):\n    return 3 * x\n\ndef helper(y):\n    return y\n"
    tests = "assert triple(2) == 6\nassert helper(1) == 1\nassert triple(LIMIT) == 9\nassert triple(0) == 0\n"
    assert (
        tests_for_entry_point(solution, tests, "triple")
        == "assert triple(2) == 6\nassert triple(0) == 0\n"
    )
    assert tests_for_entry_point(solution, "assert helper(1) == 1\n", "triple") is None
    row = exercise(3) | {"solution": exercise(3)["solution"] + "\ndef other():\n    return 1\n",
                         "tests": "assert other() == 1\n"}  # fmt: skip
    task = ExercisesTask([row, exercise(4)], config(tmp_path))
    assert [r["id"] for r in task.rows] == ["ex-4"] and task.dropped["tests_need_other_code"] == 1
