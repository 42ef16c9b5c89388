"""HumanEval scoring: the benchmark's canonical solutions pass in the sandbox, wrong answers
fail, pass@k is the unbiased estimator, and a run resumes."""

from __future__ import annotations

import json

import pytest

from schoolhouse.config import HumanEvalConfig
from schoolhouse.graders import humaneval as he
from schoolhouse.graders.humaneval import humaneval, pass_at_k, problems, solution_of
from schoolhouse.sandbox import isolation, mode_label, run_many
from schoolhouse.teacher.fake import FakeTeacher

PROBLEMS = problems()
BY_PROMPT = {p["prompt"]: p for p in PROBLEMS}


def test_every_canonical_solution_passes_and_an_empty_body_fails():
    assert len(PROBLEMS) == 164
    items = [(p["prompt"] + p["canonical_solution"], he.tests_of(p)) for p in PROBLEMS]
    results = run_many(items, workers=2, timeout_s=10)
    failed = [(p["task_id"], r.reason, r.detail) for p, r in zip(PROBLEMS, results, strict=True)
              if not r.passed]  # fmt: skip
    assert failed == []
    wrong = run_many([(p["prompt"] + "    return None\n", he.tests_of(p)) for p in PROBLEMS[:8]])
    assert not any(r.passed for r in wrong)


def test_an_answer_is_read_from_its_code_block_or_as_a_continuation():
    problem = PROBLEMS[2]  # truncate_number, `import`-free prompt
    body = problem["canonical_solution"]
    block = f"Here it is:\n```python\ndef {problem['entry_point']}(number):\n{body}```\nDone."
    assert solution_of(problem, block).startswith(f"def {problem['entry_point']}(")
    assert solution_of(problem, body) == problem["prompt"] + body  # a base model's continuation
    typed = PROBLEMS[0]  # its prompt imports List: kept ahead of a block that lacks the import
    answer = f"```python\ndef {typed['entry_point']}(numbers, threshold):\n{typed['canonical_solution']}```"
    assert solution_of(typed, answer).startswith("from typing import List\n")


def test_examples_after_the_function_and_a_block_cut_at_the_token_limit_are_left_out():
    problem = PROBLEMS[2]
    answer = (f"```python\nimport math\n\ndef {problem['entry_point']}(number):\n"
              f"{problem['canonical_solution']}\n# Test cases\nprint({problem['entry_point']}(3.5))"
              f"\nprint({problem['entry_point']}([1, 2,")  # fmt: skip
    solution = solution_of(problem, answer)
    assert "print(" not in solution and solution.startswith("import math\n")
    (result,) = run_many([(solution, he.tests_of(problem))])
    assert result.passed, result


def test_pass_at_k_is_the_unbiased_estimator():
    assert pass_at_k({"a": [True], "b": [False]}, 1) == 0.5
    # n=4, c=1: pass@1 = 1/4, pass@2 = 1 - C(3,2)/C(4,2) = 1/2
    assert pass_at_k({"a": [True, False, False, False]}, 1) == pytest.approx(0.25)
    assert pass_at_k({"a": [True, False, False, False]}, 2) == pytest.approx(0.5)
    assert pass_at_k({"a": [True]}, 2) is None


def answers(request):
    """A teacher that solves even-numbered problems, hangs on #1 and attacks the sandbox on #3."""
    prompt = request.messages[0]["content"].split("```python\n", 1)[1].removesuffix("```")
    problem = BY_PROMPT[prompt]
    number = int(problem["task_id"].split("/")[1])
    if number == 1:
        return "```python\ndef separate_paren_groups(s):\n    while True:\n        pass\n```"
    if number == 3:
        return (f"```python\nimport socket\ndef {problem['entry_point']}(x):\n"
                "    socket.create_connection(('1.1.1.1', 80))\n```")  # fmt: skip
    body = problem["canonical_solution"] if number % 2 == 0 else "    return None\n"
    return body


def test_a_run_scores_answers_counts_failures_and_resumes(tmp_path):
    config = HumanEvalConfig(out=tmp_path / "he", problems=6, timeout_s=2)
    teacher = FakeTeacher(answers, name="fake")
    summary = humaneval(config, teacher=teacher, progress=False)
    assert summary.passed == 3 and summary.pass_at == {"pass@1": 0.5}
    assert summary.reasons["timeout"] == 1 and sum(summary.reasons.values()) == 3
    results = json.loads((tmp_path / "he" / "results.json").read_text())
    card = (tmp_path / "he" / "README.md").read_text()
    assert (
        "| pass@1 | 0.500 |" in card
        and "| `timeout` | 1 |" in card
        and mode_label(isolation()) in card
    )
    assert results["per_problem"]["HumanEval/4"] == {"samples": 1, "passed": 1}
    # greedy: temperature 0, one sample per problem, a seed per sample
    assert {r.sampling.temperature for r in teacher.requests} == {0.0}

    again = FakeTeacher(answers, name="fake")
    more = humaneval(config.model_copy(update={"problems": 8}), teacher=again, progress=False)
    assert len(again.requests) == 2  # only the two new problems were asked
    assert more.passed == 4 and more.pass_at == {"pass@1": 0.5}


def test_sampling_settings_that_cannot_give_pass_at_k_are_refused(tmp_path):
    with pytest.raises(ValueError, match="--temperature"):
        humaneval(HumanEvalConfig(out=tmp_path / "x", samples=5), teacher=FakeTeacher())
    first = HumanEvalConfig(out=tmp_path / "he", problems=2, timeout_s=1)
    humaneval(first, teacher=FakeTeacher(answers), progress=False)
    with pytest.raises(ValueError, match="--max-tokens 512 there, 64 now"):
        humaneval(first.model_copy(update={"max_tokens": 64}), teacher=FakeTeacher(answers))
