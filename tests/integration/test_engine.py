"""Generation through the real in-process vLLM engine (embedded SmolLM2-135M-Instruct)."""

import datasets
import pytest

from schoolhouse.config import StoriesConfig
from schoolhouse.generation import generate_stories

pytestmark = pytest.mark.engine


def test_engine_writes_one_verified_row_per_prompt(engine_teacher, tmp_path, verify):
    cfg = StoriesConfig(n=4, out=tmp_path / "out", seed=3, best_of=2, max_tokens=320)
    summary = generate_stories(cfg, verify, teacher=engine_teacher, progress=False)
    assert summary.kept + sum(summary.rejected.values()) == 4
    assert summary.completion_tokens > 4 * 20 and summary.completions == 8
    tables = [
        datasets.load_dataset(str(cfg.out), name, split="train")
        for name in (["default"] if summary.kept else [])
        + (["rejected"] if summary.rejected else [])
    ]
    rows = [r for t in tables for r in t]
    assert sorted(r["index"] for r in rows) == [0, 1, 2, 3]
    for row in rows:
        assert row["teacher"].startswith("HuggingFaceTB/SmolLM2-135M-Instruct")
        assert row["finish_reason"] in {"stop", "length"}
        assert row["candidates"] == 2 and row["candidate"] in (0, 1)
        assert 0 < row["completion_tokens"] <= 320 and row["prompt_tokens"] > 50
        assert len(row["text"].split()) > 5
        assert f'"{row["words"]["noun"]}"' in row["prompt"]
    card = (cfg.out / "README.md").read_text()
    assert "SmolLM2-135M-Instruct" in card and "| prompts | 4 |" in card
