"""Start vLLM's OpenAI-compatible server on a teacher model and wait until it answers.

    schoolhouse teacher serve --port 8000      # prints http://127.0.0.1:8000/v1

`vllm serve` itself looks up the `vllm` distribution, which the CPU build is not named, so the
server module is started directly.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from .base import TeacherError
from .engine import CPU_ENGINE_ARGS, configure_cpu_engine, is_cpu_build
from .http import STEERING_PROCESSOR
from .steering import STEERING_ENV


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def server_command(
    model: Path | str, name: str, host: str, port: int, extra: list[str] | tuple[str, ...] = ()
) -> list[str]:
    return [
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(model),
        "--served-model-name",
        name,
        "--host",
        host,
        "--port",
        str(port),
        "--enforce-eager",
        "--dtype",
        "bfloat16",
        # lexical steering for requests that ask for it (steering_vllm.py); idle otherwise
        "--logits-processors",
        STEERING_PROCESSOR,
        *extra,
    ]


def cpu_server_args() -> list[str]:
    args = []
    for key, value in CPU_ENGINE_ARGS.items():
        flag = "--" + key.replace("_", "-")
        args += (
            [flag, str(value)]
            if not isinstance(value, bool)
            else [flag if value else "--no-" + flag[2:]]
        )
    return args


def start_server(
    model: Path | str,
    name: str,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    kv_cache_gib: float = 4,
    extra: list[str] | tuple[str, ...] = (),
    log: Path | None = None,
    startup_timeout: float = 300,
) -> tuple[subprocess.Popen, str]:
    """Start the server in a child process; return it with its base URL once /v1/models answers."""
    port = port or free_port(host)
    env = dict(os.environ)
    for key, value in STEERING_ENV.items():  # the processor's interface is the V1 runner's
        env.setdefault(key, value)
    if is_cpu_build():
        configure_cpu_engine(kv_cache_gib, env)
        extra = [*cpu_server_args(), *extra]
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 (the child owns it)
    proc = subprocess.Popen(
        server_command(model, name, host, port, extra),
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://{host}:{port}/v1"
    deadline = time.monotonic() + startup_timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            where = f"; see {log}" if log else ""
            raise TeacherError(
                f"the vLLM server exited with code {proc.returncode} at start{where}"
            )
        try:
            if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(1)
    stop_server(proc)
    raise TeacherError(f"the vLLM server did not answer at {url} within {startup_timeout:.0f} s")


def stop_server(proc: subprocess.Popen, timeout: float = 30) -> None:
    import signal

    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        except ProcessLookupError:
            pass
