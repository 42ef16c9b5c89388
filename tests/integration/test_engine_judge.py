"""The sense judge through the real engine: the embedded teacher as the judge model."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from schoolhouse.graders.sense import SenseJudge, weights_for
from schoolhouse.graders.sense.score import shuffled

pytestmark = pytest.mark.engine

STORIES = (
    Path(__file__).resolve().parents[2] / "bench" / "data" / "sense" / "coherent_stories.jsonl"
)


def stories(n: int) -> list[dict]:
    return [json.loads(line) for line in STORIES.read_text().splitlines()[:n]]


def test_a_coherent_story_reads_above_its_shuffled_copy(engine_teacher):
    judge = SenseJudge.load(engine_teacher)
    assert judge.weights is not None, "the embedded judge ships fitted weights (weights.json)"
    items = []
    for row in stories(3):
        items += [
            (row["id"], row["text"], "story"),
            (row["id"] + "~", shuffled(row["text"], 1), "story"),
        ]
    got = {item[0]: verdict for item, verdict in judge.judge(items)}
    for row in stories(3):
        whole, mixed = got[row["id"]], got[row["id"] + "~"]
        assert whole.method == "fitted"
        assert whole.features["shuffle_gap"] > mixed.features["shuffle_gap"]
        assert whole.features["lp_mean"] > mixed.features["lp_mean"]
        assert whole.sense > mixed.sense, row["id"]
        assert whole.features["tokens"] > 100  # the whole story was read, not the rubric


def test_the_judge_command_writes_a_sense_column(tmp_path, engine_teacher):
    from schoolhouse.config import JudgeConfig
    from schoolhouse.graders.sense.job import judge_rows

    rows = stories(2)
    rows.append({"id": "mixed", "text": shuffled(rows[0]["text"], 2), "kind": "story"})
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = JudgeConfig(inputs=[path], out=tmp_path / "judged", judge="embedded")
    summary = judge_rows(config, teacher=engine_teacher, progress=False)
    assert summary.judged == 3 and weights_for(engine_teacher.name) is not None
    table = pq.read_table(next((tmp_path / "judged" / "data").glob("*.parquet"))).to_pylist()
    sense = {r["id"]: r["sense"] for r in table}
    assert sense[rows[0]["id"]] > sense["mixed"]
    assert all(r["sense_method"] == "fitted" for r in table)
