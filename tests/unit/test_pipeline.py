"""The main job with the fake teacher: every step runs and lands in its folder, a rerun resumes,
and bad settings fail before any work."""

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from schoolhouse.pipeline import STEPS, Pipeline, PipelineConfig
from schoolhouse.teacher import resolve_teacher
from schoolhouse.teacher.fake import FakeTeacher
from tests.conftest import story_for
from tests.unit.test_annotation import extract
from tests.unit.test_lessons_job import lesson
from tests.unit.test_report import CHROMIUM, blue, ink, screenshot

WEB = Path(__file__).resolve().parents[1] / "fixtures" / "web"
NAME = resolve_teacher("embedded").name  # rows record it; a rerun checks it


def reply(request) -> str:
    schema = request.json_schema or {}
    props = schema.get("properties", {})
    prompt = request.messages[0]["content"]
    if "score" in props:  # the FineWeb-Edu rubric: Python pages are educational
        score = 4 if "Python" in extract(request) else 1
        return json.dumps({"reason": "checked", "score": score})
    if "grammar" in props:  # GPT-Eval
        return json.dumps({"assessment": "fine", "grammar": 6, "creativity": 4,
                           "consistency": 5, "age_group": "B"})  # fmt: skip
    if prompt.startswith("Write a short story"):
        return story_for(prompt)
    return lesson(prompt)


class Opened:
    """Records the teachers the pipeline opens; each a fake with the real one's name."""

    def __init__(self):
        self.teachers, self.specs = [], []

    def __call__(self, spec):
        teacher = FakeTeacher(reply, name=resolve_teacher(spec).name)
        self.teachers.append(teacher)
        self.specs.append(spec)
        return teacher


def config(tmp_path, **kw) -> PipelineConfig:
    settings = dict(
        out=tmp_path / "run", stories=6, best_of=1, textbooks=3, annotate=40,
        web=[WEB / "documents.jsonl", WEB / "bad.jsonl", WEB / "near_duplicates.jsonl"],
        features="hashing", steps=12, min_steps=1, eval_prompts=2,
    )  # fmt: skip
    return PipelineConfig(**(settings | kw))


def rows(folder: Path) -> list[dict]:
    return [r for p in sorted(folder.glob("*.parquet")) for r in pq.read_table(p).to_pylist()]


def test_every_step_lands_in_its_folder_and_the_report_shows_them(tmp_path):
    opened = Opened()
    cfg = config(tmp_path, judge="embedded")  # the teacher judges sense too: the same engine
    pipeline = Pipeline(cfg, log=lambda m: None, open_teacher=opened)
    state = pipeline.run(progress=False)
    status = {s: state["steps"][s]["status"] for s in STEPS}
    assert status == {s: "done" for s in STEPS} | {"publish": "skipped"}
    assert state["steps"]["publish"]["reason"] == "no --repo"
    # one engine served stories, textbooks and annotation; another graded the student
    assert len(opened.teachers) == 2
    paths = cfg.paths
    scored = rows(paths["annotate"] / "data")
    assert len(scored) == 40  # --annotate of the fixtures' documents
    assert len(opened.teachers[0].requests) == 6 + 3 + 3 * (6 + 3) + 40  # 3 readings a row
    graded = opened.teachers[1].requests  # GPT-Eval's JSON grades and the sense judge's readings
    assert {r.json_schema is not None or r.prompt_logprobs for r in graded} == {True}
    assert sum(r.prompt_logprobs for r in graded) == 3 * (2 + 2 + 2)  # student, real, shuffled
    assert len(rows(paths["stories"] / "data")) == 6
    assert len(rows(paths["textbooks"] / "data")) == 3
    meta = json.loads((paths["classifier"] / "classifier.json").read_text())
    assert meta["label_source"] and meta["training_data"]["documents"] == 40
    web = rows(paths["filter"] / "data")
    assert web and all(r["edu_int_score"] >= 3 for r in web)  # the classifier step ran
    dropped = rows(paths["filter"] / "rejected")
    assert {r["step"] for r in dropped} >= {"heuristics", "classifier"}
    mix = rows(paths["merge"] / "data")
    assert {r["source"] for r in mix} == {"stories", "textbooks", "web"}
    assert len(mix) == 6 + 3 + len(web)
    assert all(r["id"] == f"{r['source']}/{r['source_id']}" for r in mix)
    train_config = json.loads((paths["pretrain"] / "config.json").read_text())
    assert train_config["steps"] == 12 and len(train_config["anneal_data"]) == 2
    result = state["steps"]["evaluate"]["result"]
    assert 1 <= result["graded"] == result["prompts"] <= 2 and result["grammar"] == 6
    page = paths["report"].read_text()
    for section in ("stories", "textbooks", "annotations", "classifier", "filtered", "merged",
                    "student"):  # fmt: skip
        assert f'<section id="{section}">' in page
    assert "Student loss" in page and "GPT-Eval" in page and "data:image/png;base64" in page
    assert page.count("<svg") >= 12
    if CHROMIUM:  # the long page has plots all along it
        pixels = screenshot(paths["report"], tmp_path, height=6000)
        # a fake grader fails GPT-Eval's control, so the student's part shows no grades plot
        bands = [(ink(b), blue(b)) for b in np.array_split(pixels, 6)]
        assert sum(i > 0.02 and b > 0.002 for i, b in bands) >= 5, bands

    # a rerun with the same settings does no work and opens no teacher
    again = Opened()
    Pipeline(cfg, log=lambda m: None, open_teacher=again).run(progress=False)
    assert again.teachers == []
    # an output deleted by hand is made again, and only that one
    shutil.rmtree(paths["merge"])
    logged = []
    Pipeline(cfg, log=logged.append, open_teacher=again).run(progress=False)
    assert "[merge] starting" in logged and "[pretrain] done before, skipped" in logged
    assert len(rows(paths["merge"] / "data")) == len(mix) and again.teachers == []


def test_one_sided_labels_skip_the_classifier_and_filter_without_it(tmp_path):
    def all_zero(request):
        if "score" in (request.json_schema or {}).get("properties", {}):
            return json.dumps({"reason": "not for school", "score": 0})
        return reply(request)

    cfg = config(tmp_path, eval_prompts=0)
    opener = lambda spec: FakeTeacher(all_zero, name=NAME)  # noqa: E731
    state = Pipeline(cfg, log=lambda m: None, open_teacher=opener).run(progress=False)
    record = state["steps"]["classifier"]
    assert record["status"] == "skipped" and "both sides of the threshold" in record["reason"]
    assert state["steps"]["filter"]["status"] == "done"
    assert not (cfg.paths["classifier"]).exists()
    assert {r["step"] for r in rows(cfg.paths["filter"] / "rejected")} <= {"heuristics", "dedup"}
    assert state["steps"]["evaluate"]["result"]["graded"] is None


def test_without_web_input_the_student_learns_from_synthetic_rows(tmp_path):
    cfg = config(tmp_path, web=[], eval_prompts=0)
    state = Pipeline(cfg, log=lambda m: None, open_teacher=Opened()).run(progress=False)
    for step in ("annotate", "classifier", "filter"):
        assert state["steps"][step] == {"status": "skipped", "reason": "no --web input"}
    assert {r["source"] for r in rows(cfg.paths["merge"] / "data")} == {"stories", "textbooks"}


def test_bad_settings_fail_before_any_work(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="OWNER/NAME"):
        config(tmp_path, repo="not a repo")
    with pytest.raises(ValueError, match="unknown preset 'huge'"):
        config(tmp_path, preset="huge")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr("huggingface_hub.get_token", lambda: None)
    with pytest.raises(ValueError, match="HF_TOKEN"):
        Pipeline(config(tmp_path, repo="alice/mix"), log=lambda m: None)
    cfg = config(tmp_path, stories=0, textbooks=0, web=[], eval_prompts=0)
    with pytest.raises(ValueError, match="no kept rows to train on"):
        Pipeline(cfg, log=lambda m: None, open_teacher=Opened()).run(progress=False)
    state = json.loads((cfg.out / "pipeline.json").read_text())
    assert state["steps"]["merge"]["status"] == "failed"
    with pytest.raises(ValueError, match="other settings \\(--stories 0 there, 5 now\\)"):
        Pipeline(cfg.model_copy(update={"stories": 5}), log=lambda m: None)


def test_a_grader_scores_the_web_and_grades_the_student_in_its_own_engine(tmp_path):
    opened = Opened()
    cfg = config(tmp_path, grader="embedded-coder", steps=4)
    state = Pipeline(cfg, log=lambda m: None, open_teacher=opened).run(progress=False)
    assert state["steps"]["evaluate"]["status"] == "done"
    # the writer, then the grader for the web; the grader again after the student trained
    assert opened.specs == ["embedded", "embedded-coder", "embedded-coder"]
    assert [len(t.requests) for t in opened.teachers][:2] == [6 + 3, 40]
    scored = rows(cfg.paths["annotate"] / "data")
    assert {r["teacher"] for r in scored} == {resolve_teacher("embedded-coder").name}
    assert {r["teacher"] for r in rows(cfg.paths["stories"] / "data")} == {NAME}


def test_under_runner_ray_the_pipeline_opens_its_teacher_in_ray_actors_and_resumes_either_way(
    tmp_path, monkeypatch
):
    import schoolhouse.cluster.teacher as cluster_teacher

    opened = []

    class Actors:  # stands in for the actor pool: no cluster here
        def __init__(self, spec, options, actors):
            opened.append((spec.target, options, actors))
            self.name = spec.name

        def close(self):
            pass

    monkeypatch.setattr(cluster_teacher, "RayTeacher", Actors)
    config = PipelineConfig(out=tmp_path / "run", stories=2, runner="ray", actors=3)
    pipeline = Pipeline(config, log=lambda m: None)
    assert isinstance(pipeline.teachers.get("embedded"), Actors)
    assert opened == [("embedded", {"kv_cache_gib": config.kv_cache_gib, "seed": 0}, 3)]
    pipeline._save()
    # the same run resumes under the local runner: where it runs is not what it makes
    Pipeline(PipelineConfig(out=tmp_path / "run", stories=2), log=lambda m: None)
    with pytest.raises(ValueError, match="--stories"):
        Pipeline(PipelineConfig(out=tmp_path / "run", stories=3), log=lambda m: None)
