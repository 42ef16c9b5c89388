"""Generation through the real in-process vLLM engine (embedded SmolLM2-135M-Instruct)."""

import datasets
import pytest

from schoolhouse.config import StoriesConfig
from schoolhouse.lessons.generation import generate_stories

pytestmark = pytest.mark.engine


def test_engine_writes_one_verified_row_per_prompt(engine_teacher, tmp_path, verify):
    cfg = StoriesConfig(n=4, out=tmp_path / "out", seed=3, best_of=2, max_tokens=320)
    summary = generate_stories(cfg, verify, teacher=engine_teacher, progress=False)
    assert summary.kept + sum(summary.rejected.values()) == 4
    assert summary.completion_tokens > 4 * 20 and summary.completions == 8
    tables = [  # with nothing kept, the rejected rows are a `rejected` split, not `train`
        table
        for name in (["default"] if summary.kept else [])
        + (["rejected"] if summary.rejected else [])
        for table in datasets.load_dataset(str(cfg.out), name).values()
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


def used(text: str, word: str, pos: str) -> bool:
    """Checked apart from the teacher's and the filters' own bookkeeping: a whole-word match of
    any of the word's inflections, straight from lemminflect."""
    import re

    from lemminflect import getAllInflections, getAllInflectionsOOV

    upos = {"noun": "NOUN", "verb": "VERB", "adjective": "ADJ"}[pos]
    inflections = getAllInflections(word, upos=upos) or getAllInflectionsOOV(word, upos=upos)
    forms = {word, *(f for fs in inflections.values() for f in fs)}
    return any(re.search(rf"\b{re.escape(f)}\b", text, re.IGNORECASE) for f in forms)


def test_steered_stories_use_their_words(engine_teacher, tmp_path, verify):
    cfg = StoriesConfig(n=6, out=tmp_path / "out", seed=21)  # steering is the default
    summary = generate_stories(cfg, verify, teacher=engine_teacher, progress=False)
    assert summary.adherent >= 5 and summary.completions == 6
    assert summary.word_sources["missing"] <= 1
    kept = datasets.load_dataset(str(cfg.out), split="train") if summary.kept else []
    assert summary.kept >= 2
    for row in kept:
        assert row["steering"]["mode"] == "on" and row["steering"]["bias"] == cfg.steer_bias
        assert all(used(row["text"], w, pos) for pos, w in row["words"].items()), row["text"]
        sources = {s["word"]: s["source"] for s in row["word_sources"]}
        assert set(sources) == set(row["words"].values())
        assert set(sources.values()) <= {"free", "steered", "forced"}
        assert all(0 <= s["position"] <= 1 for s in row["word_sources"])


def test_plain_sampling_records_that_it_was_not_steered(engine_teacher, tmp_path, verify):
    cfg = StoriesConfig(n=2, out=tmp_path / "out", seed=21, steer=False, max_tokens=200)
    generate_stories(cfg, verify, teacher=engine_teacher, progress=False)
    rows = [r for name in ("default", "rejected") for r in _rows(cfg.out, name)]
    assert len(rows) == 2
    for row in rows:
        assert row["steering"]["mode"] == "off" and row["steering"]["bias"] == 0
        assert {s["source"] for s in row["word_sources"]} <= {"free", "missing"}


def _rows(folder, name):
    try:
        return [r for t in datasets.load_dataset(str(folder), name).values() for r in t]
    except ValueError:  # no rows of that kind
        return []
