"""The experiment: arms built from the same inputs, each a subset of the one before; reference
sets no arm trains on; equal tokens per student; resume; refusals that leave nothing behind."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from click.testing import CliRunner

from schoolhouse.cli import main
from schoolhouse.config import TrainClassifierConfig
from schoolhouse.experiment import ExperimentConfig, ExperimentError, experiment
from schoolhouse.graders.classifier import train_classifier
from schoolhouse.report import write_report
from schoolhouse.student.evaluate import Student
from tests.toy_stories import write_stories

WEB = Path(__file__).resolve().parents[1] / "fixtures" / "web"
TINY = {"preset": "tiny", "batch_size": 2, "seq_len": 32, "tokens": 2 * 32 * 6}


def ids(folder: Path) -> set[str]:
    return {i for p in folder.glob("*.parquet") for i in pq.read_table(p).column("id").to_pylist()}


@pytest.fixture(autouse=True)
def token_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SCHOOLHOUSE_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict:
    """Web pages, a classifier trained on labels by source, a synthetic dataset folder."""
    root = tmp_path_factory.mktemp("inputs")
    rows = []
    for name in ("documents.jsonl", "bad.jsonl"):
        for i, line in enumerate((WEB / name).read_text().splitlines()):
            doc = json.loads(line)
            docs = doc.get("id", f"{name}:{i}")
            score = 4 if docs.startswith("python3.11-doc") else (0 if "bad" in name else 1)
            rows.append({"id": docs, "text": doc["text"], "score": score})
    labels = root / "labels.jsonl"
    labels.write_text("".join(json.dumps(r) + "\n" for r in rows))
    classifier = root / "clf"
    train_classifier(TrainClassifierConfig(annotations=[labels], out=classifier, test_size=0.3),
                     log=lambda m: None)  # fmt: skip
    stories = write_stories(root / "stories.jsonl", n=200, seed=3)
    synthetic = root / "stories" / "data"
    synthetic.mkdir(parents=True)
    lines = [json.loads(line) for line in stories.read_text().splitlines()]
    pq.write_table(pa.Table.from_pylist([{"id": f"s{r['id']}", "text": r["text"]} for r in lines]),
                   synthetic / "part-00000.parquet")  # fmt: skip
    return {"web": [WEB / "documents.jsonl", WEB / "bad.jsonl", WEB / "near_duplicates.jsonl"],
            "classifier": classifier, "synthetic": [synthetic.parent]}  # fmt: skip


def config(tmp_path, inputs, **kw) -> ExperimentConfig:
    return ExperimentConfig(
        out=tmp_path / "run", **({"seeds": 1, "heldout": 0.2} | inputs | TINY | kw)
    )


def test_arms_are_nested_subsets_judged_on_text_none_trains_on(tmp_path, inputs):
    results = experiment(config(tmp_path, inputs), progress=False, log=lambda m: None)
    arms = tmp_path / "run" / "arms"
    unfiltered, heuristics = ids(arms / "unfiltered" / "data"), ids(arms / "heuristics" / "data")
    classifier = ids(arms / "classifier" / "data")
    assert classifier < heuristics < unfiltered  # each arm filters the one before
    synthetic = pq.read_table(arms / "synthetic" / "data").to_pylist()
    assert {r["source_id"] for r in synthetic if r["source"] == "web"} == classifier
    assert sum(r["source"] == "stories" for r in synthetic) == 200
    best = pq.read_table(arms / "anneal-best" / "data").column("id").to_pylist()
    scores = {
        r["id"]: r["edu_score"] for r in pq.read_table(arms / "classifier" / "data").to_pylist()
    }
    assert len(best) == math.ceil(0.25 * len(classifier)) and set(best) <= classifier
    assert min(scores[i] for i in best) >= max(scores[i] for i in classifier - set(best))
    held = [
        json.loads(x)["id"]
        for x in (tmp_path / "run" / "reference" / "web.jsonl").read_text().splitlines()
    ]
    assert held and not set(held) & unfiltered  # held out by document

    arms_run = ["unfiltered", "heuristics", "classifier", "synthetic", "anneal", "rho1"]
    assert [(r["arm"], r["seed"]) for r in results] == [(a, 0) for a in arms_run]
    assert len({r["tokens"] for r in results}) == 1  # equal tokens per arm
    for r in results:
        assert set(r["reference_loss"]) == {"web"} and 0 < r["reference_loss"]["web"] < 16
        assert r["repeats"] > 0
    students = tmp_path / "run" / "students"
    assert (students / "rho1-s0" / "tokenizer.json").read_text() == (
        students / "reference" / "tokenizer.json"
    ).read_text()  # Rho-1 scores tokens with its reference's tokenizer
    rho1 = json.loads((students / "rho1-s0" / "config.json").read_text())
    assert rho1["select_tokens"] == 0.6 and rho1["data"] == [str(arms / "heuristics" / "data")]
    saved = json.loads((tmp_path / "run" / "results.json").read_text())
    assert saved == results
    readme = (tmp_path / "run" / "README.md").read_text()
    assert "| anneal | 1 |" in readme and "web (bits/byte)" in readme
    assert (tmp_path / "run" / "results.png").stat().st_size > 1000
    page = write_report([tmp_path / "run"], tmp_path / "report.html").read_text()
    assert "Experiment: reference loss per arm" in page and "<svg" in page


def test_an_interrupted_experiment_resumes_without_retraining(tmp_path, inputs, monkeypatch):
    from schoolhouse.student import train

    real, calls = train.pretrain, []

    def pretrain(config, **kw):
        calls.append(config.out.name)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(config, **kw)

    monkeypatch.setattr(train, "pretrain", pretrain)
    cfg = config(tmp_path, inputs, arms="unfiltered,heuristics", seeds=1)
    with pytest.raises(KeyboardInterrupt):
        experiment(cfg, progress=False, log=lambda m: None)
    first = json.loads((tmp_path / "run" / "results.json").read_text())
    assert [r["arm"] for r in first] == ["unfiltered"]
    results = experiment(cfg, progress=False, log=lambda m: None)
    assert calls == ["unfiltered-s0", "heuristics-s0", "heuristics-s0"]
    assert results[0] == first[0] and [r["arm"] for r in results] == ["unfiltered", "heuristics"]
    # more seeds extend the same experiment; other settings are refused
    more = experiment(cfg.model_copy(update={"seeds": 2}), progress=False, log=lambda m: None)
    assert [(r["arm"], r["seed"]) for r in more][2:] == [("unfiltered", 1), ("heuristics", 1)]
    with pytest.raises(
        ExperimentError,
        match=r"other settings \(--tokens 384 there, 999 now\): rerun with the same settings to resume \(--seeds, --reference, --grader, --eval-prompts, --eval-reference, --eval-template may change\)",
    ):
        experiment(cfg.model_copy(update={"tokens": 999}), progress=False, log=lambda m: None)


def grade(score: int) -> str:
    return json.dumps({"assessment": "ok", "grammar": score, "creativity": score,
                       "consistency": score, "age_group": "C"})  # fmt: skip


def test_gpt_eval_grades_every_student_and_reruns_add_grades_and_reference_sets(
    tmp_path, inputs, monkeypatch
):
    from schoolhouse.student import train
    from schoolhouse.teacher.fake import FakeTeacher

    cfg = config(tmp_path, inputs, arms="unfiltered,heuristics", eval_prompts=3)
    experiment(cfg, progress=False, log=lambda m: None)
    run = tmp_path / "run"
    assert not any("gpt_eval" in r for r in json.loads((run / "results.json").read_text()))
    held = [
        json.loads(x)["text"]
        for x in (run / "reference" / "web.jsonl").read_text().split("\n")
        if x
    ]
    openings = {" ".join(t.split()[k : k + 8]) for t in held for k in range(len(t.split()))}

    def reads(request):  # knows a real continuation (eight words of a held-out page in order)
        continuation = request.messages[0]["content"].split("***")[2].split("\n")[0]
        words = continuation.split()
        real = any(" ".join(words[k : k + 8]) in openings for k in range(min(3, len(words))))
        return grade(9 if real else 3)

    trained = []
    monkeypatch.setattr(train, "pretrain", lambda *a, **k: trained.append(1))  # no retraining
    grader = FakeTeacher(reads, name="grader-a")
    results = experiment(cfg, progress=False, log=lambda m: None, grader=grader)
    assert not trained and len(grader.requests) == 2 * 3 + 2 * 3  # students, then the check
    assert "beginning of a text" in grader.requests[0].messages[0]["content"]
    for r in results:
        g = r["gpt_eval"]
        assert g["graded"] == 3 and g["mean"] == 3.0 and g["key"]["grader"] == "grader-a"
        assert g["key"]["reference"] == "web" and g["grader_discriminates"] is True
    check = json.loads((run / "gpt_eval.json").read_text())
    assert check["controls"] == {"real_ending": 9.0, "shuffled_words": 3.0}
    saved = json.loads((run / "students" / "heuristics-s0" / "gpt_eval.json").read_text())
    assert len(saved["examples"]) == 3 and saved["examples"][0]["completion"]
    readme = (run / "README.md").read_text()
    assert "GPT-Eval (1-10) |" in readme and "| 3.00 ± 0.00 |" in readme
    assert "grader-a grades" in readme and "it tells them apart" in readme

    experiment(cfg, progress=False, log=lambda m: None, grader=grader)
    assert len(grader.requests) == 12  # graded with the same settings: nothing to do

    # a reference set added later: judged on by every student, and GPT-Eval's beginnings
    # taken from it grade again
    mine = tmp_path / "mine.jsonl"
    mine.write_text("".join(json.dumps({"id": f"m{i}", "text": " ".join(
        f"Quartz{i} lantern{j} orbits a violet meadow{j} under copper rain{i}{j}." for j in range(6)
    )}) + "\n" for i in range(4)))  # fmt: skip
    more = cfg.model_copy(update={"reference": [mine], "eval_reference": "mine"})
    results = experiment(more, progress=False, log=lambda m: None, grader=FakeTeacher(
        lambda r: grade(5), name="grader-b"))  # fmt: skip
    assert not trained
    for r in results:
        assert set(r["reference_loss"]) == {"web", "mine"} and r["reference_loss"]["mine"] > 0
        assert r["gpt_eval"]["mean"] == 5.0 and r["gpt_eval"]["key"]["reference"] == "mine"
    readme = (run / "README.md").read_text()
    assert "mine (bits/byte)" in readme and "cannot tell them apart" in readme
    with pytest.raises(ExperimentError, match="--eval-reference nope: not a reference set"):
        experiment(more.model_copy(update={"eval_reference": "nope"}), progress=False,
                   log=lambda m: None)  # fmt: skip


def test_a_reference_set_that_overlaps_the_training_data_is_refused(tmp_path, inputs):
    page = json.loads((WEB / "documents.jsonl").read_text().splitlines()[3])
    reference = tmp_path / "mine.jsonl"
    reference.write_text(json.dumps({"id": "ref-1", "text": page["text"][:3000]}) + "\n")
    with pytest.raises(ExperimentError, match=r"mine/ref-1 ~ training document"):
        experiment(
            config(tmp_path, inputs, reference=[reference]), progress=False, log=lambda m: None
        )
    assert not (tmp_path / "run").exists()  # nothing half-written


def test_bad_settings_name_the_flag(tmp_path, inputs):
    runner = CliRunner()
    args = ["experiment", "--out", str(tmp_path / "x"), "--web", str(WEB / "bad.jsonl")]
    result = runner.invoke(main, [*args, "--arms", "unfiltered,rho2"])
    assert result.exit_code == 2 and "--arms: " in result.output and "rho2" in result.output
    result = runner.invoke(main, args)
    assert result.exit_code == 2 and "need --classifier" in result.output
    result = runner.invoke(main, [*args, "--arms", "unfiltered", "--synthetic", str(tmp_path)])
    assert result.exit_code == 2 and "not a dataset folder with kept rows" in result.output
    assert not (tmp_path / "x").exists()


def test_bits_per_byte_is_the_summed_loss_over_the_bytes(tmp_path, inputs):
    cfg = config(tmp_path, inputs, arms="unfiltered", seeds=1)
    experiment(cfg, progress=False, log=lambda m: None)
    student = Student(tmp_path / "run" / "students" / "unfiltered-s0")
    short = "Once upon a time, a dog ran home."  # fewer tokens than one context
    bpb, nbytes = student.bits_per_byte([short])
    ids_ = [student.tokenizer.eot, *student.tokenizer.encode(short)]
    x = torch.tensor([ids_])
    with torch.no_grad():
        logits, _ = student.model(x[:, :-1])
    nats = torch.nn.functional.cross_entropy(logits[0].float(), x[0, 1:], reduction="sum").item()
    assert nbytes == len(short.encode()) and bpb == pytest.approx(nats / math.log(2) / nbytes)
    long = " ".join([short] * 40)  # several windows: still finite and close to the short one
    assert 0.5 * bpb < student.bits_per_byte([long])[0] < 1.5 * bpb


def test_the_flow_runs_the_same_experiment_and_refuses_bad_flags_in_one_line(
    tmp_path, inputs, capsys
):
    from flows.experiment import main as flow_main
    from flows.experiment import run_experiment

    results = run_experiment.fn(config(tmp_path, inputs, arms="unfiltered"))
    assert [(r["arm"], r["seed"]) for r in results] == [("unfiltered", 0)]
    with pytest.raises(SystemExit) as stop:
        flow_main(["--out", str(tmp_path / "x"), "--web", str(tmp_path / "nothing")])
    assert stop.value.code == 2
    assert capsys.readouterr().err.strip().endswith("nothing: no such file or folder")


def test_the_deployment_builds_a_valid_experiment():
    import yaml

    from flows.options import build

    spec = yaml.safe_load((Path(__file__).resolve().parents[2] / "prefect.yaml").read_text())
    (deployment,) = [d for d in spec["deployments"]
                     if d["entrypoint"] == "flows/experiment.py:experiment_flow"]  # fmt: skip
    given = deployment["parameters"]
    config = build(ExperimentConfig, given["options"], out=Path(given["out"]),
                   web=[Path(p) for p in given["web"]])  # fmt: skip
    assert config.grader == "embedded-large" and config.seeds == 3 and config.arm_list() == [
        "unfiltered", "heuristics", "classifier", "synthetic", "anneal", "rho1"
    ]  # fmt: skip
