"""A command writes only into a folder it made for the same job, checks everything before it
writes anything, and leaves nothing half-written behind (issue 31): pretrain's run folder, and
the lock and parent folders of every --out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schoolhouse.datasets.outdir import OutError, in_place, locked
from schoolhouse.student.checkpoint import CHECKPOINT, CheckpointError, read_log
from schoolhouse.student.config import PretrainConfig
from schoolhouse.student.train import pretrain
from tests.toy_stories import write_stories

SMALL = {"seq_len": 64, "batch_size": 8, "vocab_size": 320, "eval_windows": 8}


@pytest.fixture(autouse=True)
def token_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SCHOOLHOUSE_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def stories(tmp_path) -> Path:
    return write_stories(tmp_path / "stories.jsonl", n=300, seed=0)


@pytest.fixture
def other(tmp_path) -> Path:
    return write_stories(tmp_path / "other.jsonl", n=300, seed=1)


def config(data: Path, out: Path, **kw) -> PretrainConfig:
    values = SMALL | {"steps": 4, "eval_every": 2, "checkpoint_every": 2} | kw
    return PretrainConfig(data=[data], out=out, **values)


def snapshot(root: Path) -> dict:
    """Every path under `root` (folders included) with the bytes of each file."""
    return {
        str(p.relative_to(root)): p.read_bytes() if p.is_file() else None
        for p in sorted(root.rglob("*"))
    }


def test_pretrain_refuses_a_model_folder_it_did_not_make(tmp_path, stories):
    """Item 1: a folder holding tokenizer.json (a Hugging Face model, a selftrain iter-N/)
    is not a pretrain run: refused, byte for byte unchanged."""
    model = tmp_path / "m"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "llama"}')
    (model / "tokenizer.json").write_text('{"model": {"type": "BPE"}}')
    (model / "README.md").write_text("# card\n")
    before, parent = snapshot(model), sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(OutError, match=r"m already exists and was made by something other"):
        pretrain(config(stories, model), progress=False)
    assert snapshot(model) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == parent  # no lock file beside it


def test_a_refused_rerun_leaves_the_finished_run_unchanged(tmp_path, stories, other):
    """Item 2: the settings check runs before val.bin and heldout.jsonl are written."""
    run = tmp_path / "r"
    pretrain(config(stories, run), progress=False)
    before = snapshot(run)
    for changed, flag in ((config(other, run), "--data"), (config(stories, run, lr=1e-3), "--lr")):
        with pytest.raises(OutError, match=f"was made with other settings \\({flag} "):
            pretrain(changed, progress=False)
        assert snapshot(run) == before


def test_a_kill_before_the_first_checkpoint_leaves_nothing_to_reuse_silently(
    tmp_path, stories, other
):
    """Item 3: a run killed before its first checkpoint keeps its settings; a rerun with other
    data and --vocab-size is refused, and the same command finishes with one step-0 line."""
    run = tmp_path / "k"

    def kill(step, loss):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pretrain(config(stories, run, checkpoint_every=100), progress=False, on_step=kill)
    assert (run / "tokenizer.json").is_file() and not (run / CHECKPOINT).exists()
    before = snapshot(run)
    with pytest.raises(OutError, match=r"--data .*--vocab-size 320 there, 512 now"):
        pretrain(config(other, run, vocab_size=512), progress=False)
    assert snapshot(run) == before
    pretrain(config(stories, run, checkpoint_every=100), progress=False)
    steps = [r["step"] for r in read_log(run) if "val_loss" in r]
    assert steps.count(0) == 1
    saved = json.loads((run / "config.json").read_text())
    assert saved["vocab_size"] == 320


def test_a_failed_or_refused_run_leaves_no_folder_and_no_lock(tmp_path):
    """Item 8: a failed pretrain leaves no marked folder; --out a/b/c creates no a/b/; no
    lock file is left outside the folder."""
    empty = tmp_path / "empty.jsonl"
    empty.write_text('{"text": ""}\n')
    deep = tmp_path / "a" / "b" / "c"
    with pytest.raises((CheckpointError, ValueError)):
        pretrain(config(empty, deep), progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "empty.jsonl"]

    def fail(folder: Path):
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        in_place(tmp_path / "x" / "y", fail, "merge")
    assert not (tmp_path / "x").exists()
    assert not list(tmp_path.glob(".*"))


def test_the_lock_lives_in_the_folder_and_leaves_no_file(tmp_path):
    out = tmp_path / "made"
    with locked(out):
        assert out.is_dir()
        with pytest.raises(OutError, match="being written by another run"), locked(out):
            pass
        (out / "result.txt").write_text("kept")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["made"]
    assert (out / "result.txt").read_text() == "kept"
    with pytest.raises(OutError, match="not a folder"), locked(out / "result.txt" / "inside"):
        pass
    assert sorted(p.name for p in out.iterdir()) == ["result.txt"]


def test_the_next_run_removes_what_a_killed_run_left_beside_its_folder(tmp_path):
    out = tmp_path / "web"
    stale = tmp_path / ".web.tmp-k1ll3d" / ".stage"
    stale.mkdir(parents=True)
    (stale / "shard-00000.parquet").write_bytes(b"half")
    other = tmp_path / ".webs.tmp-alive"  # another --out's temp folder: not this run's to remove
    other.mkdir()
    in_place(out, lambda tmp: (tmp / "result.txt").write_text("ok"), "merge")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".webs.tmp-alive", "web"]


def assert_refused(page: Path) -> None:
    with pytest.raises(OutError, match="another run"), locked(page, file=True):
        pass


def test_a_file_lock_leaves_nothing_when_refused(tmp_path):
    page = tmp_path / "sub" / "report.html"
    with pytest.raises(RuntimeError), locked(page, file=True):
        assert page.is_file()
        raise RuntimeError("refused")
    assert not (tmp_path / "sub").exists()
    page.parent.mkdir()
    page.write_text("<html>")
    with locked(page, file=True):
        assert_refused(page)
    assert page.read_text() == "<html>" and sorted(p.name for p in page.parent.iterdir()) == [
        "report.html"
    ]
    with pytest.raises(OutError, match="is a folder"), locked(tmp_path, file=True):
        pass


def test_a_refused_filter_leaves_no_lock_file_and_no_parent_folders(tmp_path):
    """Item 8: `filter --out DIR` refused because DIR exists left `.DIR.lock` beside it; a
    refused `--out a/b/c` made `a/b/`."""
    from click.testing import CliRunner

    from schoolhouse.cli import main

    web = Path(__file__).resolve().parents[1] / "fixtures" / "web" / "documents.jsonl"
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine")
    before = snapshot(tmp_path)
    refused = CliRunner().invoke(
        main, ["filter", str(web), "--out", str(taken), "--dedup", "exact"]
    )
    assert refused.exit_code == 2 and "already exists" in refused.output
    missing = tmp_path / "missing.jsonl"
    args = ["filter", str(missing), "--out", str(tmp_path / "a/b/c"), "--dedup", "exact"]
    deep = CliRunner().invoke(main, args)
    assert deep.exit_code == 2 and "missing.jsonl" in deep.output
    assert snapshot(tmp_path) == before
