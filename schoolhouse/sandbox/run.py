"""How a solution and its tests run: the static check, the cage (`cage.py`), the child (`child.py`)
and the verdict read from its output; the package's docstring describes the three layers."""

from __future__ import annotations

import ast
import contextlib
import json
import math
import os
import secrets
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from . import cage

CHILD = Path(__file__).with_name("child.py")
CHILD_INSIDE = "/opt/schoolhouse/sandbox/child.py"  # where the cage shows it
STARTUP_S = 2.0  # namespace setup and interpreter start, added to timeout_s for the wall clock
TAIL_CHARS = 2000
# Modules that exist to reach the network, start processes or run native code: no exercise needs
# them, and rejecting them here saves a process and gives a clear reason. A judgment call, not the
# boundary: os, shutil, pathlib, importlib and asyncio stay allowed, and what they could do is
# left to the guard and the kernel (os.system and shutil.rmtree outside the work dir are blocked).
UNSAFE_MODULES = frozenset(
    {
        *("socket", "_socket", "ssl", "socketserver", "asyncio.subprocess"),
        *("http.client", "http.server", "urllib.request", "xmlrpc", "ftplib", "smtplib"),
        *("poplib", "imaplib", "nntplib", "telnetlib", "webbrowser"),
        *("requests", "httpx", "urllib3", "aiohttp", "paramiko"),
        *("subprocess", "_posixsubprocess", "multiprocessing", "concurrent.futures.process"),
        *("pty", "ctypes", "_ctypes", "cffi"),
    }
)
MAX_TIMEOUT_S = 24 * 3600.0  # past a day, a timeout is a typo (or inf), not a choice
# The child's verdicts on its status line; anything else written there is ignored.
CHILD_REASONS = frozenset({"test_failed", "memory_exceeded", "output_exceeded"})
ENV = {
    "PATH": "/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    # threads count against the process limit: one per numeric library
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


@dataclass(frozen=True, slots=True)
class SandboxResult:
    passed: bool
    reason: str | None  # None when passed
    detail: str = ""  # the exception, blocked operation or signal behind the reason
    duration_s: float = 0.0
    stdout_tail: str = ""
    stderr_tail: str = ""


class SandboxUnavailable(RuntimeError):
    """bwrap cannot run here and the caller did not accept the guard alone."""


class _Rejected(Exception):
    def __init__(self, reason: str, detail: str = ""):
        self.reason, self.detail = reason, detail


def run_tests(
    solution: str,
    tests: str,
    *,
    timeout_s: float = 10.0,
    memory_mb: int = 512,
    file_mb: int = 16,
    max_processes: int = 16,
    open_files: int = 64,
    disk_mb: int = 128,
    mode: str | None = None,
    guard: bool = True,
    unsafe_no_sandbox: bool = False,
) -> SandboxResult:
    """Run `solution`, then `tests` (asserts, and any top-level `test_*` functions they define).

    Limits: timeout_s of CPU time (timeout_s + STARTUP_S of wall clock), memory_mb of address
    space, file_mb per file and per output stream, disk_mb for the work dir's files together
    (a tmpfs: it takes memory, not disk; not bounded with the guard alone), max_processes more
    processes or threads than the child's uid already runs, open_files descriptors. `mode` is
    "bwrap" or "guard" (None: `isolation()`, and "guard" only with `unsafe_no_sandbox`, else
    SandboxUnavailable); `guard=False` leaves the audit hook out, which only a test of the
    kernel layer should want. ValueError for a timeout_s past MAX_TIMEOUT_S, inf or nan."""
    if not 0 < timeout_s <= MAX_TIMEOUT_S:  # also false for nan
        raise ValueError(f"timeout_s must be more than 0 and at most {MAX_TIMEOUT_S:g}")
    mode = mode or require_isolation(unsafe_no_sandbox)
    start = time.monotonic()
    try:
        test_functions = _static_check(solution, tests)
    except _Rejected as r:
        return SandboxResult(False, r.reason, r.detail, time.monotonic() - start)
    nonce = secrets.token_hex(16)
    job = {
        "solution": solution,
        "tests": tests,
        "test_functions": test_functions,
        "nonce": nonce,
        "guard": guard,
        # the uid a root caller's child takes before it runs model code (see cage)
        "uid": cage.fresh_uid() if mode == "bwrap" and cage.drops_root() else None,
        "limits": {
            "cpu_s": math.ceil(timeout_s),
            "memory_bytes": memory_mb << 20,
            "file_bytes": file_mb << 20,
            "processes": max_processes,
            "open_files": open_files,
        },
    }
    with tempfile.TemporaryDirectory(
        prefix="schoolhouse-sandbox-", ignore_cleanup_errors=True
    ) as d:
        root = Path(d)
        work = root / "work"
        work.mkdir()
        with (
            open(root / "stdout", "w+b") as out,
            open(root / "stderr", "w+b") as err,
            open(root / "status", "w+b") as status,
            cage.seccomp_file() if mode == "bwrap" else contextlib.nullcontext() as seccomp,
        ):
            fds = [status.fileno()]
            # -S: no site module, so no .pth file in the interpreter's site-packages runs code
            # before the guard is installed (and startup is ~5x faster where one is slow)
            python, child = sys.executable, str(CHILD)
            if mode == "bwrap":
                python, child = cage.interpreter(), CHILD_INSIDE
            command = [python, "-I", "-S", "-B", "-u", child, str(status.fileno())]
            if mode == "bwrap":
                fds += [seccomp.fileno()] if seccomp is not None else []
                command = cage.bwrap_command(
                    command,
                    work=work,
                    files={CHILD_INSIDE: CHILD},
                    seccomp_fd=seccomp.fileno() if seccomp is not None else None,
                    disk_bytes=disk_mb << 20,
                )
            env = {**ENV, "HOME": str(work), "TMPDIR": str(work)}
            timed_out, rc = _spawn(command, work, env, out, err, fds, json.dumps(job), timeout_s)
            status.seek(0)
            lines = status.read(1 << 16).decode(errors="replace").splitlines()
            stdout, stderr = _tail(out), _tail(err)
    wrapped = mode == "bwrap"
    reason, detail = _verdict(lines, nonce, rc, timed_out, wrapped)
    return SandboxResult(reason is None, reason, detail, time.monotonic() - start, stdout, stderr)


def run_many(
    items: Iterable[tuple[str, str]], *, workers: int = 2, **limits
) -> list[SandboxResult]:
    """`run_tests` over (solution, tests) pairs, `workers` children at a time; results in order.
    Threads are enough: each only waits on its child process."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda item: run_tests(*item, **limits), items))


def isolation() -> str:
    """The kernel layer this machine allows: "bwrap" when bubblewrap builds its cage here
    (probed once per process), else "guard", the in-interpreter layer alone."""
    return "bwrap" if cage.unavailable() is None else "guard"


def require_isolation(unsafe_no_sandbox: bool = False) -> str:
    """The mode to run model code in: "bwrap", or "guard" when the caller accepts it; else
    SandboxUnavailable, whose message says why and what to do, in one line."""
    why = cage.unavailable()
    if why is None:
        return "bwrap"
    if unsafe_no_sandbox:
        return "guard"
    raise SandboxUnavailable(
        f"refusing to run model-written code without a sandbox: {why}; install bubblewrap and "
        "allow unprivileged user namespaces, or pass --unsafe-no-sandbox to run it guarded "
        "only by an audit hook"
    )


def mode_label(mode: str) -> str:
    """How a mode is recorded on cards and job files."""
    return cage.describe() if mode == "bwrap" else "unsafe-no-sandbox (audit-hook guard only)"


def _static_check(solution: str, tests: str) -> list[str]:
    """The top-level `test_*` functions of `tests`, to call after they are defined. Raises
    _Rejected with syntax_error, no_tests or unsafe_import."""
    try:
        trees = [ast.parse(solution), ast.parse(tests)]
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:  # too deeply nested
        raise _Rejected("syntax_error", str(e) or type(e).__name__) from None
    if not _runs_an_assert(trees[1]):
        raise _Rejected("no_tests")
    for name in (name for tree in trees for name in _imports(tree)):
        parts = name.split(".")
        if any(".".join(parts[:i]) in UNSAFE_MODULES for i in range(1, len(parts) + 1)):
            raise _Rejected("unsafe_import", name)
    return [
        node.name
        for node in trees[1].body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test")
    ]


def _runs_an_assert(tree: ast.Module) -> bool:
    """An assert at the top level, in a `test*` function (the child calls those) or in a function
    the top level calls (HumanEval's `check(candidate)`): one that can run, not only exist."""
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    top = [stmt for stmt in tree.body if not isinstance(stmt, (*functions, ast.ClassDef))]
    called = {
        n.func.id
        for n in ast.walk(ast.Module(top, []))
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
    }
    for stmt in tree.body:
        if isinstance(stmt, ast.ClassDef):
            continue
        if isinstance(stmt, functions):
            test = isinstance(stmt, ast.FunctionDef) and stmt.name.startswith("test")
            if not (test or stmt.name in called):
                continue
        if any(isinstance(node, ast.Assert) for node in ast.walk(stmt)):
            return True
    return False


def _imports(tree: ast.AST) -> Iterator[str]:
    """Module names an AST imports, including __import__("x") and import_module("x")."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name in ("__import__", "import_module") and isinstance(node.args[0].value, str):
                yield node.args[0].value


def _spawn(command, work, env, out, err, fds, job: str, timeout_s: float) -> tuple[bool, int]:
    """Start the child, feed it the job, wait; then kill its process group, whatever it started."""
    try:
        proc = subprocess.Popen(
            command,
            cwd=work,
            env=env,
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=err,
            pass_fds=tuple(fds),
            start_new_session=True,  # its own process group, killed as one
        )
    except OSError as e:
        err.write(f"cannot start the sandbox: {e}\n".encode())
        return False, 127
    threading.Thread(target=_feed, args=(proc.stdin, job.encode()), daemon=True).start()
    # A pidfd turns readable when the child exits, before it is reaped: its zombie keeps the group
    # id from being reused until killpg below has run.
    pidfd = os.pidfd_open(proc.pid)
    try:
        exited, _, _ = select.select([pidfd], [], [], timeout_s + STARTUP_S)
    finally:
        os.close(pidfd)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    return not exited, proc.wait()


def _feed(pipe, data: bytes) -> None:
    with contextlib.suppress(OSError), pipe:  # BrokenPipeError: it died before reading
        pipe.write(data)


def _verdict(lines, nonce, rc, timed_out, wrapped) -> tuple[str | None, str]:
    violations = [line.split(" ", 1)[1] for line in lines if line.startswith("violation ")]
    if violations:
        return "sandbox_violation", violations[0]
    if timed_out:
        return "timeout", "wall clock"
    if rc == 0 and f"pass {nonce}" in lines:
        return None, ""
    for line in reversed(lines):
        reason, _, detail = line.removeprefix("fail ").partition(" ")
        if line.startswith("fail ") and reason in CHILD_REASONS:
            return reason, detail
    # a signal: negative from Popen, 128 + N from the namespace's shell
    signum = -rc if rc < 0 else rc - 128 if wrapped and rc > 128 else 0
    if signum in (signal.SIGXCPU, signal.SIGKILL):  # the soft and the hard CPU-time limit
        return "timeout", "cpu time" if signum == signal.SIGXCPU else "SIGKILL"
    if signum:
        try:
            return "crashed", signal.Signals(signum).name
        except ValueError:
            return "crashed", f"signal {signum}"
    return "crashed", f"exit code {rc}"


def _tail(f) -> str:
    size = f.seek(0, os.SEEK_END)
    f.seek(max(0, size - 4 * TAIL_CHARS))
    return f.read().decode(errors="replace")[-TAIL_CHARS:]
