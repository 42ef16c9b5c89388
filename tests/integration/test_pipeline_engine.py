"""The main job through the real in-process vLLM engine, at the smallest sizes that still run
every step: the rows, the classifier or its recorded skip, the student and its grades."""

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from schoolhouse.pipeline import STEPS, Pipeline, PipelineConfig

pytestmark = pytest.mark.engine
WEB = Path(__file__).resolve().parents[1] / "fixtures" / "web"


class Shared:
    """The session's engine, lent to the pipeline: its close() leaves the engine running."""

    def __init__(self, teacher):
        self.teacher, self.name, self.opened, self.closed = teacher, teacher.name, 0, 0

    def generate(self, requests):
        return self.teacher.generate(requests)

    def close(self):
        self.closed += 1


def test_pipeline_runs_every_step_through_the_engine(engine_teacher, tmp_path):
    shared = Shared(engine_teacher)

    def open_teacher(spec):
        assert spec == "embedded"
        shared.opened += 1
        return shared

    config = PipelineConfig(
        out=tmp_path / "run", stories=4, best_of=1, textbooks=2, annotate=12,
        web=[WEB / "documents.jsonl", WEB / "bad.jsonl"], steps=20, eval_prompts=2,
    )  # fmt: skip
    state = Pipeline(config, log=print, open_teacher=open_teacher).run(progress=False)
    steps = state["steps"]
    assert {s for s in STEPS if steps[s]["status"] == "done"} >= {
        "stories", "textbooks", "annotate", "filter", "merge", "pretrain", "evaluate", "report",
    }  # fmt: skip
    # the classifier trains, or is skipped because a small teacher's labels cannot train one
    if steps["classifier"]["status"] == "skipped":
        assert steps["classifier"]["reason"].startswith("the annotations cannot train")
    # generation and annotation shared one engine; it was handed back before the student trained
    assert shared.opened == 2 and shared.closed == 2
    scored = pq.read_table(config.paths["annotate"] / "data").to_pylist()
    assert scored and all(0 <= r["score"] <= 5 and r["rationale"] for r in scored)
    mix = [r for p in (config.paths["merge"] / "data").glob("*.parquet")
           for r in pq.read_table(p).to_pylist()]  # fmt: skip
    assert mix and "web" in {r["source"] for r in mix}
    result = steps["evaluate"]["result"]
    assert result["val_loss"] < steps["pretrain"]["result"]["val_loss_start"]
    assert result["graded"] is not None and result["graded"] <= result["prompts"]
    run = json.loads((config.out / "pipeline.json").read_text())
    assert run["config"]["stories"] == 4 and config.paths["report"].exists()
