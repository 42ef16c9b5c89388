"""What `datasets.load_dataset` returns for our folders (issue 16): each folder its own rows,
even when two are named alike, and never rejected rows as `train`."""

import datasets
import pyarrow.parquet as pq
import pytest

from schoolhouse.config import StoriesConfig
from schoolhouse.lessons.generation import generate_stories
from schoolhouse.teacher.fake import FakeTeacher
from tests.conftest import story_for


def ids_in(folder, sub="data") -> list[str]:
    return sorted(
        r for p in (folder / sub).glob("*.parquet") for r in pq.read_table(p)["id"].to_pylist()
    )


def stories(out, seed, n, reply=None, verify=None):
    fake = FakeTeacher(reply or (lambda r: story_for(r.messages[0]["content"])))
    cfg = StoriesConfig(n=n, out=out, seed=seed)
    return generate_stories(cfg, verify, teacher=fake, progress=False)


def test_two_folders_with_the_same_name_load_their_own_rows(tmp_path, verify):
    first, second = tmp_path / "runs" / "1" / "stories", tmp_path / "runs" / "2" / "stories"
    stories(first, seed=4, n=6, verify=verify)
    stories(second, seed=5, n=4, verify=verify)
    cache = str(tmp_path / "cache")  # one cache for both, as a user's ~/.cache is
    for folder in (first, second):
        loaded = datasets.load_dataset(str(folder), split="train", cache_dir=cache)
        assert sorted(loaded["id"]) == ids_in(folder)
    assert ids_in(first) != ids_in(second)
    # and a rerun that adds rows to a folder is not answered from the old cache entry
    stories(second, seed=5, n=6, verify=verify)
    loaded = datasets.load_dataset(str(second), split="train", cache_dir=cache)
    assert sorted(loaded["id"]) == ids_in(second) and len(loaded) == 6


def test_a_folder_with_nothing_kept_has_no_train_rows(tmp_path, verify):
    out = tmp_path / "stories"
    summary = stories(out, seed=4, n=3, reply=lambda r: "Too short.", verify=verify)
    assert summary.kept == 0 and sum(summary.rejected.values()) == 3
    cache = str(tmp_path / "cache")
    with pytest.raises(ValueError, match="train"):
        datasets.load_dataset(str(out), split="train", cache_dir=cache)
    rejected = datasets.load_dataset(str(out), "rejected", cache_dir=cache)
    assert list(rejected) == ["rejected"]
    assert sorted(rejected["rejected"]["id"]) == ids_in(out, "rejected")
