"""SIGTERM (what Prefect cancel, docker stop and systemd send) stops an in-process engine run
cleanly: rows written so far are kept, the engine's processes do not outlive the command, and a
rerun finishes the job."""

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from tests.integration.test_server import all_rows

pytestmark = pytest.mark.engine


def test_sigterm_shuts_the_engine_down_and_rerun_finishes(tmp_path):
    out, n = tmp_path / "out", 32
    args = [sys.executable, "-m", "schoolhouse.cli", "generate", "stories", "-n", str(n),
            "--out", str(out), "--kv-cache-gib", "1", "--no-progress", "--max-tokens", "192"]  # fmt: skip
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    journal = out / ".schoolhouse" / "journal-00000.jsonl"
    deadline = time.monotonic() + 600  # engine start and a first batch on a busy 2-core machine
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.exists():  # the engine is generating: the first rows are coming in
            break
        time.sleep(0.2)
    assert proc.poll() is None, proc.stderr.read()[-2000:]
    assert journal.exists(), "no row was written within 600 s of the start"
    engine = psutil.Process(proc.pid).children(recursive=True)
    assert engine, "the in-process engine runs in child processes"
    written = journal.read_text().count("\n")
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 2, stderr[-2000:]
    assert "interrupted; finished rows are saved" in stderr
    gone, alive = psutil.wait_procs(engine, timeout=60)
    assert not alive, f"engine processes outlived the command: {alive}"
    assert not journal.exists()  # sealed into shards on the way out
    saved = len(all_rows(out))
    assert written <= saved < n

    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(r["index"] for r in all_rows(out)) == list(range(n))
