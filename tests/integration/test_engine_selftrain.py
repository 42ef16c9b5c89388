"""A fine-tuned teacher is a model folder the real engine serves: fine-tune the embedded teacher
for a few steps, load the merged folder in vLLM, and have it answer; then one ReST-EM
iteration on stories, end to end through the engine, the filters and the fine-tune."""

from __future__ import annotations

import json

import pytest

from schoolhouse.selftrain.finetune import Example, Tuning, finetune
from schoolhouse.teacher import Request, Sampling, resolve_teacher
from schoolhouse.teacher.embedded import model_dir

from .conftest import cli

pytestmark = pytest.mark.engine


def test_the_merged_folder_loads_in_the_real_engine(tmp_path):
    examples = [Example(({"role": "user", "content": f"Count to {i}."},),
                        " ".join(str(n) for n in range(1, i + 1))) for i in range(2, 6)]  # fmt: skip
    finetune(model_dir("embedded"), examples, tmp_path / "tuned", Tuning(batch=2, max_length=64),
             progress=False)  # fmt: skip
    spec = resolve_teacher(str(tmp_path / "tuned"))
    teacher = spec.open(kv_cache_gib=1)
    try:
        (answer,) = teacher.generate([Request(
            "0:0", ({"role": "user", "content": "Count to 3."},), Sampling(temperature=0.0, max_tokens=16)
        )])  # fmt: skip
    finally:
        teacher.close()
    assert answer.text.strip() and answer.completion_tokens > 0
    assert answer.finish_reason in ("stop", "length")


@pytest.mark.slow
def test_one_stories_iteration_through_the_real_engine(tmp_path):
    out = tmp_path / "run"
    args = ["selftrain", "stories", "--out", str(out), "--problems", "12", "--samples", "4",
            "--iterations", "1", "--held-out", "0.25", "--min-words", "20", "--max-tokens", "200",
            "--kv-cache-gib", "1", "--no-progress", "--json-summary"]  # fmt: skip
    done = cli(*args)
    assert done.returncode in (0, 2), done.stderr[-3000:]
    iterations = json.loads((out / "iterations.json").read_text())["iterations"]
    round1 = iterations[1]["samples"]
    assert (
        round1["answers"] == 4 * json.loads((out / "iterations.json").read_text())["train_problems"]
    )
    if done.returncode == 2:  # no story passed: the run says so and keeps the base teacher
        assert round1["passed"] == 0 and "last good teacher is the base model" in done.stderr
        return
    assert (out / "iter-1" / "config.json").exists() and iterations[1]["finetune"]["steps"] >= 1
    assert iterations[1]["held_out"]["answers"] == iterations[0]["held_out"]["answers"]
    assert (out / "report.md").read_text().count("| T") == 2


EASY = {  # name: (signature, docstring, body, tests)
    "add_numbers": ("def add_numbers(a: int, b: int) -> int:", "Return the sum of a and b.",
                    "return a + b", "assert add_numbers(2, 3) == 5\nassert add_numbers(-1, 1) == 0"),
    "is_even": ("def is_even(n: int) -> bool:", "Return True when n is even, else False.",
                "return n % 2 == 0", "assert is_even(4)\nassert not is_even(7)"),
    "reverse_text": ("def reverse_text(text: str) -> str:", "Return text written backwards.",
                     "return text[::-1]", "assert reverse_text('abc') == 'cba'\nassert reverse_text('') == ''"),
    "count_vowels": ("def count_vowels(word: str) -> int:",
                     "Return how many of the letters in word are vowels (a, e, i, o, u), ignoring case.",
                     "return sum(c in 'aeiou' for c in word.lower())",
                     "assert count_vowels('Apple') == 2\nassert count_vowels('xyz') == 0"),
    "largest": ("def largest(values: list[int]) -> int:", "Return the largest number in a non-empty list.",
                "return max(values)", "assert largest([3, 9, 2]) == 9\nassert largest([-5]) == -5"),
    "square_all": ("def square_all(values: list[int]) -> list[int]:",
                   "Return a new list with every number squared, in the same order.",
                   "return [v * v for v in values]", "assert square_all([1, 2, 3]) == [1, 4, 9]"),
}  # fmt: skip


@pytest.mark.slow
def test_one_exercises_iteration_through_the_real_engine(tmp_path):
    """The code teacher answers, the sandbox rewards, the 0.5B model is fine-tuned with LoRA,
    and the merged teacher is served by the engine and scored on HumanEval."""
    from schoolhouse.config import SelfTrainConfig
    from schoolhouse.selftrain.loop import selftrain
    from schoolhouse.selftrain.tasks import ExercisesTask

    rows = [{"id": f"easy-{name}", "index": i, "entry_point": name, "signature": sig,
             "docstring": doc, "solution": f"{sig}\n    {body}\n", "tests": tests}
            for i, (name, (sig, doc, body, tests)) in enumerate(EASY.items())]  # fmt: skip
    config = SelfTrainConfig(kind="exercises", out=tmp_path / "run", samples=2, iterations=1,
                             held_out=0.3, max_tokens=256, batch=4, max_length=512,
                             eval_problems=2, kv_cache_gib=1)  # fmt: skip
    summary = selftrain(config, lambda c, t: ExercisesTask(rows, c), progress=False,
                        log=lambda m: None)  # fmt: skip
    t0, t1 = summary["iterations"]
    assert t1["samples"]["answers"] == 2 * summary["train_problems"]
    assert t1["samples"]["passed"] >= 1 and t1["finetune"]["steps"] >= 1
    assert t0["humaneval"]["problems"] == t1["humaneval"]["problems"] == 2
    assert t1["held_out"]["answers"] == summary["held_out_problems"]
    assert (tmp_path / "run" / "iter-1" / "model.safetensors").exists()
    he = json.loads(
        (tmp_path / "run" / "eval" / "iter-1" / "humaneval" / "results.json").read_text()
    )
    assert he["teacher"] == "iter-1"  # the merged folder answered, through the engine
