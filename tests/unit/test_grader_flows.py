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
    import dataclasses

    import schoolhouse.graders.annotation as annotation
    from schoolhouse.jobs import JOBS
    from schoolhouse.teacher.fake import FakeTeacher

    real = annotation.annotate  # the task runs the job the table holds
    fake = lambda c, progress: real(c, teacher=FakeTeacher(grade), progress=progress)  # noqa: E731
    monkeypatch.setitem(JOBS, "annotate", dataclasses.replace(JOBS["annotate"], run=fake))
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
    entries = [(d["entrypoint"], d) for d in spec["deployments"]]
    for entrypoint, deployment in entries:
        if entrypoint not in ("flows/annotate.py:annotate_flow",
                              "flows/train_classifier.py:train_classifier_flow",
                              "flows/filter_web.py:filter_web_flow",
                              "flows/experiment.py:experiment_flow"):  # fmt: skip
            continue
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
        "import sys, schoolhouse.graders.annotation, schoolhouse.graders.classifier, schoolhouse.graders.webfilter,"
        " schoolhouse.cli, schoolhouse.datasets.card;"
        "print([m for m in ('prefect', 'torch', 'vllm', 'sklearn', 'transformers')"
        " if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_flow_mains_take_the_commands_options_and_name_a_bad_flag(monkeypatch, capsys):
    """`python -m flows.X` parses the same options as the command, built from the config type;
    the flow receives only what was set besides its named parameters."""
    import pytest

    import flows.annotate
    import flows.filter_web
    import flows.train_classifier

    def run(main, argv) -> None:
        with pytest.raises(SystemExit) as exit:  # click's standalone mode exits 0 when done
            main(argv)
        assert exit.value.code == 0

    seen = {}
    monkeypatch.setattr(flows.annotate, "annotate_flow", lambda **kw: seen.update(annotate=kw))
    run(flows.annotate.main, ["a.jsonl", "b.jsonl", "-n", "7", "--out", "o", "--logprobs", "0"])
    kw = seen["annotate"]
    assert "teacher" not in kw["options"] or kw["options"]["teacher"] == "embedded"
    for flag in ("--grader", "--teacher"):  # the pipeline's name, and the old one
        run(flows.annotate.main, ["a.jsonl", "-n", "1", "--out", "o", flag, "embedded-coder"])
        assert seen["annotate"]["options"]["teacher"] == "embedded-coder"
    assert kw["inputs"] == ["a.jsonl", "b.jsonl"] and kw["n"] == 7 and str(kw["out"]) == "o"
    assert kw["options"]["logprobs"] == 0 and kw["options"]["first"] is False
    monkeypatch.setattr(flows.filter_web, "filter_web_flow", lambda **kw: seen.update(web=kw))
    run(flows.filter_web.main, ["w/", "--out", "o", "--heuristics", "--dedup", "exact"])
    assert seen["web"]["options"]["heuristics"] is True and seen["web"]["inputs"] == ["w/"]
    monkeypatch.setattr(
        flows.train_classifier, "train_classifier_flow", lambda **kw: seen.update(clf=kw)
    )
    run(flows.train_classifier.main, ["--annotations", "x", "--out", "m", "--scores", "sampled"])
    assert [str(p) for p in seen["clf"]["annotations"]] == ["x"]
    assert seen["clf"]["options"]["scores"] == "sampled"
    with pytest.raises(SystemExit) as exit:
        flows.annotate.main(["a.jsonl", "-n", "0", "--out", "o"])
    assert exit.value.code != 0
    assert "-n: Input should be greater than 0" in capsys.readouterr().err


def test_the_ray_deployment_builds_a_filter_config_for_the_cluster():
    from pathlib import Path

    from flows.options import build
    from schoolhouse.config import WebFilterConfig

    spec = yaml.safe_load((Path(__file__).resolve().parents[2] / "prefect.yaml").read_text())
    (deployment,) = [d for d in spec["deployments"] if d["name"] == "on-ray"]
    params = dict(deployment["parameters"])
    options = params.pop("options")
    config = build(WebFilterConfig, options, **params)
    assert config.runner == "ray" and config.workers == 8
    assert all(p.is_absolute() for p in config.inputs) and config.out.is_absolute()
    # a relative path is made absolute for the workers, who do not share this folder
    relative = build(WebFilterConfig, {"runner": "ray"}, inputs=["web"], out="out/x")
    assert relative.inputs == [Path.cwd() / "web"] and relative.out == Path.cwd() / "out/x"
