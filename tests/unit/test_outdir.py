"""No command deletes or overwrites a folder it did not create (issue 16): each --out is a new
path or the same command's own folder; a second run on the same --out is refused by a lock;
temp folders are per run and only their owner removes them."""

import json
import multiprocessing
from pathlib import Path

import pytest

from schoolhouse.datasets.folder import DatasetFolder
from schoolhouse.datasets.outdir import OutError, check_new_or_own, in_place, locked, owner
from schoolhouse.datasets.records import STORY_SCHEMA

from .test_classifier import labeled_rows


@pytest.fixture
def dataset(tmp_path) -> Path:
    """Someone's dataset folder: what an --out must never clobber."""
    folder = tmp_path / "stories"
    (folder / "data").mkdir(parents=True)
    (folder / "README.md").write_text("the card")
    (folder / "config.json").write_text("{}")
    (folder / "data" / "part-00000.parquet").write_bytes(b"rows")
    return folder


def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def write_one(text: str):
    return lambda tmp: (tmp / "result.txt").write_text(text)


def test_in_place_new_own_and_foreign(tmp_path, dataset):
    out = tmp_path / "merged"
    in_place(out, write_one("first"), "merge")
    assert (out / "result.txt").read_text() == "first" and owner(out) == "merge"
    in_place(out, write_one("second"), "merge")  # its own folder: redone
    assert (out / "result.txt").read_text() == "second"
    before = snapshot(dataset)
    for target, command in ((dataset, "merge"), (out, "classifier eval")):
        with pytest.raises(OutError, match=f"{target}.*choose a new --out"):
            in_place(target, write_one("x"), command)
    assert snapshot(dataset) == before and (out / "result.txt").read_text() == "second"
    empty = tmp_path / "empty"
    empty.mkdir()
    in_place(empty, write_one("ok"), "merge")  # an empty folder holds nothing to lose
    assert (empty / "result.txt").read_text() == "ok"
    # no temp folder is left behind, and the error names the path in one line
    assert not list(tmp_path.glob(".*.tmp-*"))
    with pytest.raises(OutError) as refused:
        check_new_or_own(dataset, "pretrain")
    assert "\n" not in str(refused.value) and str(dataset) in str(refused.value)


def _hold_lock(out: Path, ready, release) -> None:
    with locked(out):
        ready.set()
        release.wait(30)


def test_a_second_run_on_the_same_out_is_refused(tmp_path):
    out = tmp_path / "web"
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(out, ready, release))
    holder.start()
    try:
        assert ready.wait(60)
        with pytest.raises(OutError, match="being written by another run"):
            in_place(out, write_one("x"), "merge")
        with pytest.raises(OutError, match="another run"):
            DatasetFolder(out, STORY_SCHEMA, STORY_SCHEMA).open({"kind": "stories"})
    finally:
        release.set()
        holder.join(30)
    in_place(out, write_one("after"), "merge")  # the lock went with its process
    assert (out / "result.txt").read_text() == "after"


def test_a_dataset_folder_is_locked_while_open(tmp_path):
    first = DatasetFolder(tmp_path / "d", STORY_SCHEMA, STORY_SCHEMA)
    first.open({"kind": "stories"})
    with pytest.raises(OutError):
        DatasetFolder(tmp_path / "d", STORY_SCHEMA, STORY_SCHEMA).open({"kind": "stories"})
    first.close()
    again = DatasetFolder(tmp_path / "d", STORY_SCHEMA, STORY_SCHEMA)
    assert again.open({"kind": "stories"}) is False  # resumes its own folder
    again.close()


def test_classifier_eval_does_not_delete_its_out(tmp_path, dataset):
    from schoolhouse.config import TrainClassifierConfig
    from schoolhouse.graders.classifier import evaluate_classifier, train_classifier

    labels = tmp_path / "labels.jsonl"
    labels.write_text("".join(json.dumps(r) + "\n" for r in labeled_rows()))
    config = TrainClassifierConfig(
        annotations=[labels], out=tmp_path / "clf", test_size=0.3, features="hashing"
    )
    train_classifier(config, log=lambda m: None)
    with pytest.raises(ValueError, match="choose a new --out"):  # train: a new folder only
        train_classifier(config.model_copy(update={"out": dataset}), log=lambda m: None)
    before = snapshot(dataset)
    with pytest.raises(OutError):
        evaluate_classifier(config.out, [labels], dataset, log=lambda m: None)
    assert snapshot(dataset) == before
    result = evaluate_classifier(config.out, [labels], log=lambda m: None)
    again = evaluate_classifier(config.out, [labels], log=lambda m: None)  # its own: redone
    assert result["out"] == again["out"] and (Path(again["out"]) / "metrics.json").exists()


def test_merge_refuses_a_folder_it_did_not_make(tmp_path, dataset):
    from schoolhouse.datasets.merge import merge

    source = tmp_path / "src" / "data"
    source.mkdir(parents=True)
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"id": ["a"], "text": ["hello"]}), source / "part-00000.parquet")
    before = snapshot(dataset)
    with pytest.raises(OutError, match="refusing to overwrite"):
        merge({"src": source}, dataset, seed=0)
    assert snapshot(dataset) == before
    out = tmp_path / "mix"
    assert merge({"src": source}, out, seed=0)["rows"] == 1
    assert merge({"src": source}, out, seed=1)["rows"] == 1  # its own: redone


def test_pretrain_refuses_a_dataset_folder(dataset):
    from schoolhouse.student.config import PretrainConfig
    from schoolhouse.student.train import pretrain

    before = snapshot(dataset)
    config = PretrainConfig(data=[dataset], out=dataset, steps=1)
    with pytest.raises(OutError, match="not `schoolhouse pretrain`"):
        pretrain(config, progress=False)
    assert snapshot(dataset) == before


def test_filter_refuses_a_live_run_and_clears_what_a_dead_one_left(tmp_path):
    from schoolhouse.config import WebFilterConfig
    from schoolhouse.jobs import filter_web

    web = Path(__file__).resolve().parents[1] / "fixtures" / "web" / "documents.jsonl"
    out = tmp_path / "web"
    live = tmp_path / ".web.tmp-another-run"  # another run's temp folder, as it writes
    config = WebFilterConfig(inputs=[web], out=out, dedup="exact")
    with locked(out):  # that run holds the lock
        live.mkdir()
        (live / "shard").write_text("in progress")
        with pytest.raises(OutError, match="another run"):
            filter_web(config, log=lambda m: None)
        assert (live / "shard").read_text() == "in progress"  # left alone
    filter_web(config, log=lambda m: None)  # that run has ended: what it left goes
    assert (out / "data").is_dir() and not list(tmp_path.glob(".web.tmp-*"))


def test_report_out_never_overwrites_a_card_or_takes_a_folder(tmp_path, dataset):
    from click.testing import CliRunner

    from schoolhouse.cli import main

    card = dataset / "README.md"
    refused = CliRunner().invoke(main, ["report", str(dataset), "--out", str(card)])
    assert refused.exit_code == 2 and "not a schoolhouse report" in refused.output
    assert card.read_text() == "the card"
    folder = CliRunner().invoke(main, ["report", str(dataset), "--out", str(tmp_path)])
    assert folder.exit_code == 2 and "is a folder" in folder.output
    assert "Traceback" not in folder.output


def test_pipeline_refuses_a_folder_it_did_not_make(tmp_path, dataset):
    from schoolhouse.config import PipelineConfig
    from schoolhouse.pipeline import Pipeline

    before = snapshot(dataset)
    with pytest.raises(OutError, match="not `schoolhouse pipeline`"):
        Pipeline(PipelineConfig(out=dataset, stories=1), log=lambda m: None)
    assert snapshot(dataset) == before
