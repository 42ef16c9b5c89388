"""The graders' flows wire the same functions as the CLI; tasks run without Prefect (`.fn`)."""

import json

import yaml

from flows.annotate import check, is_teacher_error, score
from flows.filter_web import run_filter
from flows.train_classifier import evaluate, train
from schoolhouse.config import AnnotateConfig, TrainClassifierConfig, WebFilterConfig
from schoolhouse.teacher import TeacherError
from tests.unit.test_annotation import WEB, grade
from tests.unit.test_classifier import labeled_rows
from tests.unit.test_flow_wiring import State


def test_annotate_task_retries_only_teacher_failures():
    assert score.retries == 3
    assert is_teacher_error(None, None, State(TeacherError("server gone")))
    assert not is_teacher_error(None, None, State(ValueError("no score column")))


def test_annotate_check_counts_what_is_left(tmp_path, monkeypatch):
    config = AnnotateConfig(inputs=[WEB / "documents.jsonl"], out=tmp_path / "a", n=5)
    assert check.fn(config) == 5
    import schoolhouse.annotation as annotation
    from schoolhouse.teacher.fake import FakeTeacher

    real = annotation.annotate
    monkeypatch.setattr("flows.annotate.annotate",
                        lambda c, progress: real(c, teacher=FakeTeacher(grade), progress=progress))  # fmt: skip
    assert score.fn(config)["scored"] == 5


def test_train_evaluate_and_filter_tasks(tmp_path):
    labels = tmp_path / "labels.jsonl"
    labels.write_text("".join(json.dumps(r) + "\n" for r in labeled_rows()))
    config = TrainClassifierConfig(annotations=[labels], out=tmp_path / "clf", features="hashing")
    assert train.fn(config)["recipe"] == "hashing+sgd"
    assert evaluate.fn(str(tmp_path / "clf"), [str(labels)])["metrics"]["documents"] == 46
    web = WebFilterConfig(inputs=[WEB / "documents.jsonl"], out=tmp_path / "web", dedup="exact",
                          classifier=tmp_path / "clf")  # fmt: skip
    summary = run_filter.fn(web)
    assert summary["steps"] == ["classifier", "dedup"] and summary["documents"] == 32
    assert run_filter.retries == 1


def test_deployments_pass_parameters_their_flows_take():
    import importlib
    import inspect
    from pathlib import Path

    spec = yaml.safe_load((Path(__file__).resolve().parents[2] / "prefect.yaml").read_text())
    entries = {d["entrypoint"]: d for d in spec["deployments"]}
    for entrypoint in ("flows/annotate.py:annotate_flow",
                       "flows/train_classifier.py:train_classifier_flow",
                       "flows/filter_web.py:filter_web_flow"):  # fmt: skip
        deployment = entries[entrypoint]
        assert "schedules" not in deployment and deployment["work_pool"]["name"] == "schoolhouse"
        path, name = entrypoint.split(":")
        flow = getattr(importlib.import_module(path.removesuffix(".py").replace("/", ".")), name)
        signature = inspect.signature(flow.fn)
        required = {p for p, v in signature.parameters.items() if v.default is v.empty}
        assert required <= set(deployment["parameters"]) <= set(signature.parameters)


def test_graders_import_no_prefect_torch_or_sklearn():
    import subprocess
    import sys

    code = (
        "import sys, schoolhouse.annotation, schoolhouse.classifier, schoolhouse.webfilter,"
        " schoolhouse.cli, schoolhouse.card;"
        "print([m for m in ('prefect', 'torch', 'vllm', 'sklearn', 'transformers')"
        " if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
