"""Real teachers, started once per test session (a cold start costs ~30-45 s on 2 cores)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from schoolhouse.teacher.serve import free_port


@pytest.fixture(scope="session")
def engine_teacher():
    """The embedded teacher in an in-process vLLM engine."""
    from schoolhouse.teacher import resolve_teacher

    teacher = resolve_teacher("embedded").open(kv_cache_gib=1)
    yield teacher
    teacher.close()


@pytest.fixture(scope="session")
def teacher_server(tmp_path_factory):
    """`schoolhouse teacher serve`, run as a user runs it; yields the base URL it prints."""
    log = tmp_path_factory.mktemp("server") / "vllm.log"
    cmd = [
        sys.executable,
        "-m",
        "schoolhouse.cli",
        "teacher",
        "serve",
        "--port",
        str(free_port()),
        "--kv-cache-gib",
        "1",
        "--log",
        str(log),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    url = proc.stdout.readline().strip()  # printed once the server answers
    if not url.startswith("http://127.0.0.1:"):
        proc.kill()
        pytest.fail(
            f"teacher serve printed {url!r}; exit {proc.wait()}; log:\n"
            f"{log.read_text()[-3000:] if log.exists() else ''}"
        )
    yield url
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()


def cli(*args, **kw) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run(
        [sys.executable, "-m", "schoolhouse.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        **kw,
    )
