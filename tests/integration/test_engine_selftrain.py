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
    assert done.returncode in (0, 1), done.stderr[-3000:]
    iterations = json.loads((out / "iterations.json").read_text())["iterations"]
    round1 = iterations[1]["samples"]
    assert (
        round1["answers"] == 4 * json.loads((out / "iterations.json").read_text())["train_problems"]
    )
    if done.returncode == 1:  # no story passed: the run says so and keeps the base teacher
        assert round1["passed"] == 0 and "last good teacher is the base model" in done.stderr
        return
    assert (out / "iter-1" / "config.json").exists() and iterations[1]["finetune"]["steps"] >= 1
    assert iterations[1]["held_out"]["answers"] == iterations[0]["held_out"]["answers"]
    assert (out / "report.md").read_text().count("| T") == 2
