"""Generation through a real vLLM OpenAI-compatible server, and SIGKILL-then-resume."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest

from tests.integration.conftest import cli

pytestmark = pytest.mark.engine

SHORT = ["--max-tokens", "96", "--min-words", "10"]  # fast: most stories end as `truncated` rows


def all_rows(out):
    return [r for f in sorted(out.glob("*/part-*.parquet")) for r in pq.read_table(f).to_pylist()]


def test_cli_through_a_server_spreading_over_two_urls(teacher_server, tmp_path):
    out = tmp_path / "out"
    result = cli(
        "generate",
        "stories",
        "-n",
        "6",
        "--seed",
        "5",
        "--out",
        str(out),
        "--teacher",
        f"{teacher_server},{teacher_server}",
        "--json-summary",
        "--no-progress",
        *SHORT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["kept"] + sum(summary["rejected"].values()) == 6
    assert summary["teacher"] == "HuggingFaceTB/SmolLM2-135M-Instruct (embedded GGUF b179c9523d0e)"
    rows = all_rows(out)
    assert sorted(r["index"] for r in rows) == list(range(6))
    assert all(r["completion_tokens"] > 0 and r["text"] for r in rows)


def test_sigkill_midway_then_rerun_finishes_exactly(teacher_server, tmp_path):
    out, n = tmp_path / "out", 24
    args = [
        sys.executable,
        "-m",
        "schoolhouse.cli",
        "generate",
        "stories",
        "-n",
        str(n),
        "--out",
        str(out),
        "--teacher",
        teacher_server,
        "--concurrency",
        "4",
        "--shard-size",
        "5",
        "--no-progress",
        *SHORT,
    ]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = out / ".schoolhouse"
    deadline = time.monotonic() + 240
    written = 0
    while time.monotonic() < deadline and proc.poll() is None:
        journals = list(state.glob("journal-*.jsonl")) if state.exists() else []
        # ids, not rows: while a journal is sealed its rows are in the new shard and still in
        # the journal for a moment
        ids = {r["id"] for r in all_rows(out)}
        for journal in journals:
            try:
                text = journal.read_text()
            except FileNotFoundError:  # sealed into a shard since the glob: counted next time
                continue
            for line in text.splitlines():
                with contextlib.suppress(ValueError, KeyError):  # a torn last line
                    ids.add(json.loads(line)["id"])
        written = len(ids)
        if written >= 7:  # past the first sealed shard, in the middle of the next
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 0 < written < n

    result = cli(*args[3:], "--json-summary", timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    rows = all_rows(out)
    assert len(rows) == n
    assert len({r["id"] for r in rows}) == n
    assert sorted(r["index"] for r in rows) == list(range(n))
    assert summary["skipped_already_done"] >= written - 1  # only the torn last line may rerun
    assert summary["written_this_run"] == n - summary["skipped_already_done"]
    assert not list(state.glob("journal-*")) and not list(out.rglob(".*.tmp"))


def test_a_server_steers_and_rows_say_how_each_word_came(teacher_server, tmp_path):
    from tests.integration.test_engine import used

    out = tmp_path / "out"
    result = cli(
        "generate", "stories", "-n", "4", "--seed", "21", "--out", str(out),
        "--teacher", teacher_server, "--json-summary", "--no-progress", "--max-tokens", "320",
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["steering"] == "on" and summary["adherence_all_words"] >= 0.75
    rows = all_rows(out)
    assert len(rows) == 4
    for row in rows:
        assert row["steering"]["mode"] == "on"
        if row.get("reason") is None:
            assert all(used(row["text"], w, pos) for pos, w in row["words"].items())
    sources = [s["source"] for r in rows for s in r["word_sources"]]
    assert "steered" in sources or "forced" in sources  # the server's processor acted


def test_annotate_through_a_server_reads_the_score_distribution(teacher_server, tmp_path):
    from pathlib import Path

    web = Path(__file__).resolve().parents[1] / "fixtures" / "web" / "documents.jsonl"
    out = tmp_path / "ann"
    result = cli(
        "annotate", str(web), "--out", str(out), "-n", "2", "--first", "--teacher",
        teacher_server, "--json-summary", "--no-progress", timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["scored"] == 2 and summary["no_distribution"] == 0, summary
    for row in all_rows(out):
        assert sum(row["score_probs"]) == pytest.approx(1.0)
        if row["attempts"] == 1:  # temperature 0: the sampled score is the argmax
            assert max(range(6), key=row["score_probs"].__getitem__) == row["score"], row
