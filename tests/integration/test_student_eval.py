"""GPT-Eval through the real engine: the embedded teacher grades a tiny student's stories."""

from __future__ import annotations

import json

import pytest

from schoolhouse.student.config import PretrainConfig
from schoolhouse.student.evaluate import AGE_GROUPS, evaluate
from schoolhouse.student.train import pretrain
from tests.toy_stories import write_stories

pytestmark = pytest.mark.engine


def test_gpt_eval_grades_through_guided_json(engine_teacher, tmp_path, monkeypatch):
    monkeypatch.setenv("SCHOOLHOUSE_CACHE", str(tmp_path / "cache"))  # tokens only
    stories = write_stories(tmp_path / "stories.jsonl", n=300)
    run = tmp_path / "run"
    cfg = PretrainConfig(
        data=[stories], out=run, steps=30, seq_len=64, batch_size=8, vocab_size=320
    )
    pretrain(cfg, progress=False)
    result = evaluate(run, engine_teacher, n=4, max_new_tokens=48, seed=1)
    g = result["gpt_eval"]
    assert g["prompts"] == 4 and g["graded"] + g["unparsed"] == 4
    assert g["graded"] >= 3  # guided decoding: answers have the schema's shape
    for key in ("grammar", "creativity", "consistency"):
        assert 1 <= g[key] <= 10
    assert g["age_group"] in AGE_GROUPS
    assert g["teacher"].startswith("HuggingFaceTB/SmolLM2-135M-Instruct")
    # the grader's check went through the engine too: real endings and shuffled ones
    assert set(g["controls"]) == {"real_ending", "shuffled_words"}
    if None not in g["controls"].values():  # at least one answer of each kind was usable
        assert isinstance(g["grader_discriminates"], bool), g["controls"]
    assert all(v is None or 1 <= v <= 10 for v in g["controls"].values())
    for ex in g["examples"]:
        assert ex["beginning"] and isinstance(ex["completion"], str) and ex["assessment"]
    saved = json.loads((run / "eval.json").read_text())
    assert saved["gpt_eval"]["graded"] == g["graded"] and saved["perplexity"] > 1
    assert "GPT-Eval" in (run / "README.md").read_text()
