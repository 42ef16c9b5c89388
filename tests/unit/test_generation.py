import json

import pyarrow.parquet as pq
import pytest

from schoolhouse.config import StoriesConfig
from schoolhouse.datasets.folder import FolderError
from schoolhouse.lessons.generation import generate_stories
from schoolhouse.teacher.fake import FakeTeacher
from tests.conftest import story_for


def config(tmp_path, n=12, **kw):
    return StoriesConfig(n=n, out=tmp_path / "out", **kw)


def teacher(**overrides):
    return FakeTeacher(lambda r: story_for(r.messages[0]["content"], **overrides))


def rows(out, which="data"):
    files = sorted((out / which).glob("*.parquet"))
    return [r for f in files for r in pq.read_table(f).to_pylist()]


def test_every_prompt_ends_as_one_row_with_provenance(tmp_path, verify):
    cfg = config(tmp_path, n=12, seed=7)
    summary = generate_stories(cfg, verify, teacher=teacher(), progress=False)
    kept = rows(cfg.out)
    assert summary.kept == len(kept) == 12 and not summary.rejected
    assert len({r["id"] for r in kept}) == 12
    assert sorted(r["index"] for r in kept) == list(range(12))
    row = kept[0]
    assert set(row["words"]) == {"noun", "verb", "adjective"}
    assert row["teacher"] == "fake" and row["template"] == "story" and row["seed"] == 7
    assert row["sampling"]["frequency_penalty"] == 0.3 and row["sampling"]["seed"] is not None
    assert row["finish_reason"] == "stop" and row["completion_tokens"] > 0
    assert row["words_used"] == list(row["words"].values())
    assert json.loads((cfg.out / "config.json").read_text())["seed"] == 7
    card = (cfg.out / "README.md").read_text()
    assert "config_name: default" in card and "| kept | 12 |" in card


def test_ids_are_stable_across_runs_and_differ_across_seeds(tmp_path, verify):
    ids = []
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        cfg = StoriesConfig(n=5, out=tmp_path / name, seed=seed)
        generate_stories(cfg, verify, teacher=teacher(), progress=False)
        ids.append([r["id"] for r in rows(cfg.out)])
    assert ids[0] == ids[1]
    assert not set(ids[0]) & set(ids[2])


def test_rejected_rows_keep_their_reason(tmp_path, verify):
    vocabulary = tmp_path / "words.csv"
    vocabulary.write_text("word,pos\nzebra,noun\nyak,noun\nzoom,verb\nzany,adjective\n")
    cfg = config(tmp_path, n=4, vocabulary=vocabulary)
    # the story names a noun the prompt did not ask for, so a required word is missing
    summary = generate_stories(cfg, verify, teacher=teacher(noun="cat"), progress=False)
    assert summary.kept == 0 and summary.rejected == {"missing_required_word": 4}
    rejected = rows(cfg.out, "rejected")
    assert {r["reason"] for r in rejected} == {"missing_required_word"}
    assert "| `missing_required_word` | 4 |" in (cfg.out / "README.md").read_text()


def test_best_of_keeps_a_verified_candidate(tmp_path, verify):
    def reply(request):
        good = request.id.endswith(":2")  # only the third candidate uses the required words
        return story_for(request.messages[0]["content"], **({} if good else {"noun": "zebra"}))

    cfg = config(tmp_path, n=3, best_of=3)
    fake = FakeTeacher(reply)
    summary = generate_stories(cfg, verify, teacher=fake, progress=False)
    assert summary.kept == 3 and len(fake.requests) == 9
    assert {r["candidate"] for r in rows(cfg.out)} == {2}
    seeds = {r.sampling.seed for r in fake.requests}
    assert len(seeds) == 9  # each candidate samples with its own seed


def test_resume_asks_only_for_what_was_not_written(tmp_path, verify):
    cfg = config(tmp_path, n=20, shard_size=4)
    with pytest.raises(RuntimeError, match="teacher died"):
        generate_stories(
            cfg,
            verify,
            teacher=FakeTeacher(lambda r: story_for(r.messages[0]["content"]), dies_after=9),
            progress=False,
        )
    assert len(rows(cfg.out)) == 9  # everything finished before the failure is on disk
    second = teacher()
    summary = generate_stories(cfg, verify, teacher=second, progress=False)
    assert len(second.requests) == 11
    assert summary.skipped == 9 and summary.written == 11 and summary.kept == 20
    kept = rows(cfg.out)
    assert sorted(r["index"] for r in kept) == list(range(20))
    assert len({r["id"] for r in kept}) == 20
    # a finished job is not redone
    idle = FakeTeacher([])
    again = generate_stories(cfg, verify, teacher=idle, progress=False)
    assert again.written == 0 and again.kept == 20 and idle.requests == []


def test_a_crash_mid_line_loses_only_that_row(tmp_path, verify):
    cfg = config(tmp_path, n=6)
    generate_stories(cfg.model_copy(update={"n": 3}), verify, teacher=teacher(), progress=False)
    # simulate a SIGKILL while a journal line was being written
    state = cfg.out / ".schoolhouse"
    row = rows(cfg.out)[0] | {"index": 3, "id": "partial"}
    (state / "journal-00009.jsonl").write_text(json.dumps(row) + "\n" + json.dumps(row)[:40])
    (cfg.out / "data" / ".part-00009.parquet.tmp").write_bytes(b"PAR1 half a shard")
    second = teacher()
    summary = generate_stories(cfg, verify, teacher=second, progress=False)
    assert len(second.requests) == 2  # prompts 4 and 5; prompt 3 was journaled whole
    assert summary.kept == 6 and not list(state.glob("journal-*"))
    assert not list((cfg.out / "data").glob(".*.tmp"))
    assert sorted(r["index"] for r in rows(cfg.out)) == list(range(6))


def test_a_folder_with_another_job_is_refused_untouched(tmp_path, verify):
    cfg = config(tmp_path, n=3, seed=1)
    generate_stories(cfg, verify, teacher=teacher(), progress=False)
    before = {p: p.stat().st_mtime_ns for p in cfg.out.rglob("*")}
    with pytest.raises(FolderError, match=r"made with other settings \(--seed 1 there, 2 now\)"):
        generate_stories(
            cfg.model_copy(update={"seed": 2}), verify, teacher=teacher(), progress=False
        )
    with pytest.raises(ValueError, match=r"already holds rows for prompts up to #2: use -n 3"):
        generate_stories(cfg.model_copy(update={"n": 2}), verify, teacher=teacher(), progress=False)
    assert before == {p: p.stat().st_mtime_ns for p in cfg.out.rglob("*")}


def test_a_foreign_folder_is_refused(tmp_path, verify):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(
        FolderError,
        match="made by something other than schoolhouse, not `schoolhouse generate stories`",
    ):
        generate_stories(config(tmp_path), verify, teacher=teacher(), progress=False)
    assert (out / "notes.txt").read_text() == "mine" and len(list(out.iterdir())) == 1


def test_more_prompts_extend_a_finished_job(tmp_path, verify):
    cfg = config(tmp_path, n=4)
    generate_stories(cfg, verify, teacher=teacher(), progress=False)
    second = teacher()
    summary = generate_stories(
        cfg.model_copy(update={"n": 7}), verify, teacher=second, progress=False
    )
    assert len(second.requests) == 3 and summary.kept == 7
