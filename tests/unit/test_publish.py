"""Publishing against a local Hub-compatible server, through unmodified huggingface_hub."""

import json
import os
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from schoolhouse.config import StoriesConfig
from schoolhouse.datasets.publish import PublishError, check_folder, check_repo
from schoolhouse.lessons.generation import generate_stories
from schoolhouse.teacher.fake import FakeTeacher
from tests.conftest import story_for
from tests.hub_server import HubServer


@pytest.fixture
def folder(tmp_path, verify):
    cfg = StoriesConfig(n=6, out=tmp_path / "stories", seed=4)
    fake = FakeTeacher(lambda r: story_for(r.messages[0]["content"]))
    generate_stories(cfg, verify, teacher=fake, progress=False)
    return cfg.out


@pytest.fixture
def hub(tmp_path):
    server = HubServer(tmp_path / "hub").start()
    yield server
    server.stop()


def env_for(hub, tmp_path, token="secret-token-123"):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env |= {"HF_ENDPOINT": hub.url, "HF_HUB_DISABLE_XET": "1", "HF_HOME": str(tmp_path / "hf")}
    if token:
        env["HF_TOKEN"] = token
    return env


def run(env, *args):
    cmd = [sys.executable, "-m", "schoolhouse.cli", "publish", *args, "--backoff", "0.01"]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)


def load(env, repo):
    code = (
        "import datasets, json, sys; d = datasets.load_dataset(sys.argv[1], split='train');"
        "print(json.dumps(sorted(d['index'])))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, repo], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("repo", ["alice", "alice/", "a/b/c", "../x", "alice/tiny stories", "/x"])
def test_repo_names_must_be_owner_slash_name(repo):
    with pytest.raises(PublishError, match="is not OWNER/NAME"):
        check_repo(repo)


def test_folders_that_are_not_finished_datasets(folder, tmp_path):
    assert {p.name for p in check_folder(folder)} == {
        "README.md",
        "config.json",
        "part-00000.parquet",
    }
    (folder / ".schoolhouse" / "journal-00007.jsonl").write_text("{}\n")
    with pytest.raises(PublishError, match="unfinished run"):
        check_folder(folder)
    (folder / ".schoolhouse" / "journal-00007.jsonl").unlink()
    shard = next(folder.glob("data/*.parquet"))
    shard.write_bytes(shard.read_bytes()[:100])
    with pytest.raises(PublishError, match=f"{shard} is not a readable Parquet file"):
        check_folder(folder)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(PublishError, match="has no dataset card"):
        check_folder(empty)


def test_publish_round_trip_with_load_dataset(folder, hub, tmp_path):
    env = env_for(hub, tmp_path)
    result = run(env, str(folder), "--repo", "alice/tiny-stories")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "secret-token-123" not in result.stdout + result.stderr
    assert load(env, "alice/tiny-stories") == list(range(6))
    files = hub.files("alice/tiny-stories")
    assert "README.md" in files and "data/part-00000.parquet" in files
    assert not any(f.startswith(".schoolhouse") for f in files)


def test_missing_token_and_bad_repo_fail_before_any_upload(folder, hub, tmp_path):
    result = run(env_for(hub, tmp_path, token=None), str(folder), "--repo", "alice/x")
    assert result.returncode == 2 and "no Hugging Face token" in result.stderr
    result = run(env_for(hub, tmp_path), str(folder), "--repo", "not-a-repo")
    assert result.returncode == 2 and "is not OWNER/NAME" in result.stderr
    assert not [c for c in hub.calls if c[0] == "POST"]


def test_rate_limit_is_retried(folder, hub, tmp_path):
    hub.fail_next("/api/datasets/alice/tiny/commit", 429, 2)
    result = run(env_for(hub, tmp_path), str(folder), "--repo", "alice/tiny")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stderr.count("retrying") == 2


def test_a_refused_request_shows_the_hubs_message(folder, hub, tmp_path):
    hub.fail_next("/api/datasets/alice/tiny/commit", 400)  # not retried: a client error
    result = run(env_for(hub, tmp_path), str(folder), "--repo", "alice/tiny")
    assert result.returncode == 2
    error = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(error) == 1 and "Bad request" in error[0], result.stderr
    assert "Injected failure 400" in error[0]  # the Hub's own words, not only the status


def test_an_interrupted_upload_finishes_on_rerun_without_duplicates(folder, hub, tmp_path):
    env = env_for(hub, tmp_path)
    hub.fail_next("/api/datasets/alice/tiny/commit", 500, 100)
    result = run(env, str(folder), "--repo", "alice/tiny", "--retries", "1")
    assert result.returncode == 2 and "rerun the same command to finish" in result.stderr
    assert not hub.files("alice/tiny") or "README.md" not in hub.files("alice/tiny")
    uploads = [c for c in hub.calls if c[0] == "PUT"]
    hub.fail_next("/api/datasets/alice/tiny/commit", 500, 0)
    result = run(env, str(folder), "--repo", "alice/tiny")
    assert result.returncode == 0, result.stderr[-2000:]
    assert [c for c in hub.calls if c[0] == "PUT"] == uploads  # the shard was not sent again
    files = hub.files("alice/tiny")
    assert len(files) == len(set(files)) and "data/part-00000.parquet" in files
    assert load(env, "alice/tiny") == list(range(6))
    kept = pq.read_table(next(folder.glob("data/*.parquet"))).num_rows
    assert kept == 6


def test_the_token_is_redacted_from_every_message(folder, hub, tmp_path):
    token = "hf_" + "Secret0123456789" * 2
    env = env_for(hub, tmp_path, token=token)
    hub.fail_next("/api/datasets/alice/tiny/commit", 500, 100)  # its error echoes the header
    result = run(env, str(folder), "--repo", "alice/tiny", "--retries", "1")
    assert result.returncode == 2 and "rerun the same command to finish" in result.stderr
    assert token not in result.stdout + result.stderr
    # the whole exception, not only the line the command prints
    code = (
        "import sys; from schoolhouse.datasets.publish import publish\n"
        "try:\n    publish(sys.argv[1], 'alice/tiny', retries=0, log=print)\n"
        "except Exception as e:\n    import traceback; traceback.print_exc(); print(repr(e))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(folder)], env=env, capture_output=True, text=True
    )
    assert "refused Bearer ***" in done.stdout, done
    assert token not in done.stdout + done.stderr
    result = run(env, str(folder), "--repo", "alice/tiny", "--retries", "-1")
    assert result.returncode == 2 and "--retries" in result.stderr


def test_redact():
    from schoolhouse.datasets.publish import redact

    text = "refused Bearer abc.def-123, token secret-token-123 and hf_abcdefghijklmnop"
    clean = redact(text, "secret-token-123")
    assert clean == "refused Bearer ***, token *** and hf_***"
