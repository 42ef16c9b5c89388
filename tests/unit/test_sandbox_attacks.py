"""Hostile solutions (issue 16) through `schoolhouse sandbox check`, as CI runs it (often as root).

Each attack must be stopped with a reason, leave nothing outside its work dir (the CLI's TMPDIR
is empty afterwards, canary files on the host are untouched and none is created) and the parent
must survive to print its JSON line. The escapes the guard stops first run again with the guard
left out (`guard=False`): the kernel's cage alone must hold them too."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from schoolhouse.sandbox import isolation, run_tests

pytestmark = pytest.mark.skipif(
    isolation() != "bwrap", reason="bubblewrap cannot run on this machine (make sandbox)"
)
ROOT = Path(__file__).resolve().parents[2]
ADD = "def add(a, b):\n    return a + b\n"
PASSES = "assert add(1, 2) == 3\n"
# A folder the cage binds read-only: a write there would land on the host.
READ_ONLY = os.path.realpath(sys.base_prefix)
SECRET = "hf_do_not_leak_0123456789"


@pytest.fixture
def host(tmp_path):
    """Host paths an escape would touch: a canary to keep, a file that must not appear."""
    canary = tmp_path / "canary.txt"
    canary.write_text("keep me")
    (tmp_path / "tmp").mkdir()
    return {
        "canary": canary,
        "created": [tmp_path / "escaped.txt", Path(READ_ONLY) / f"escaped-{os.getpid()}"],
        "tmp": tmp_path / "tmp",
        "dir": tmp_path,
    }


def check(host, solution: str, tests: str = "assert True\n", *flags: str):
    (host["dir"] / "solution.py").write_text(solution)
    (host["dir"] / "tests.py").write_text(tests)
    env = {**os.environ, "HF_TOKEN": SECRET, "TMPDIR": str(host["tmp"])}
    done = subprocess.run(
        [sys.executable, "-m", "schoolhouse.cli", "sandbox", "check", "solution.py", "tests.py"]
        + list(flags),
        cwd=host["dir"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.count("\n") == 1, done  # the parent survived to print one JSON line
    result = json.loads(done.stdout)
    assert done.returncode == (0 if result["passed"] else 1)
    assert_no_trace(host)
    assert SECRET not in done.stdout + done.stderr
    return result, done


def assert_no_trace(host):
    assert host["canary"].read_text() == "keep me"
    for path in host["created"]:
        assert not path.exists(), path
    assert list(host["tmp"].iterdir()) == []  # the run's temp folder is gone


def kernel_alone(host, solution: str, tests: str = "assert True\n", **limits):
    result = run_tests(solution, tests, mode="bwrap", guard=False, **limits)
    assert not result.passed, result
    assert_no_trace(host)
    return result


def write_everywhere(host) -> str:
    return (
        "".join(
            f"try:\n    open({str(p)!r}, 'w').write('x')\nexcept OSError as e:\n    err = e\n"
            for p in host["created"]
        )
        + "raise err\n"
    )


def test_a_correct_solution_passes(host):
    result, _ = check(host, ADD, PASSES)
    assert result["passed"] and result["reason"] is None
    assert result["sandbox"].startswith("bwrap")


def test_patching_the_guard_globals(host):
    patch = (
        "import sys\n"
        "m = sys.modules['__main__']\n"
        "m.BLOCKED = m.NATIVE = frozenset()\n"
        "m.inside = lambda *a: True\n"
        "f = sys._getframe()\n"
        "while f.f_back:\n    f = f.f_back\n"
        "f.f_globals.update(BLOCKED=frozenset(), NATIVE=frozenset(), WRITES={})\n"
        "f.f_globals['inside'] = lambda *a: True\n"
    )
    result, _ = check(host, patch + write_everywhere(host))
    assert (result["reason"], result["detail"].split()[0]) == ("sandbox_violation", "open")
    result, _ = check(host, patch + "import os\nos.fork()\n")
    assert (result["reason"], result["detail"]) == ("sandbox_violation", "os.fork")
    assert kernel_alone(host, write_everywhere(host)).reason == "test_failed"


def test_the_guard_fooled_through_the_standard_library(host):
    """Code can make os.path.realpath lie to the guard; the cage still holds the write."""
    fool = (
        "import os, posixpath\n"
        "here = os.getcwd()\n"
        "posixpath._joinrealpath = lambda path, rest, *a: (here + '/x', True)\n"
    )
    result, _ = check(host, fool + write_everywhere(host))
    assert result["reason"] == "test_failed", result  # the guard saw nothing; the kernel refused
    assert result["detail"] in ("OSError", "FileNotFoundError", "PermissionError")


def test_dir_fd_traversal(host):
    attack = (
        "import os\n"
        "w = os.open('.', os.O_RDONLY)\n"
        "os.chdir('/usr/lib')\n"
        "print(os.read(os.open('../../../etc/shadow', os.O_RDONLY, dir_fd=w), 4096))\n"
    )
    result, _ = check(host, attack)
    assert (result["reason"], result["detail"]) == ("sandbox_violation", "os.chdir /usr/lib")
    no_chdir = attack.replace("os.chdir('/usr/lib')\n", "")
    result, _ = check(host, no_chdir)
    assert result["reason"] == "sandbox_violation"
    assert result["detail"].startswith("relative path ../../../etc/shadow")
    # in the cage there is no /etc to reach
    result = kernel_alone(host, no_chdir)
    assert "FileNotFoundError" in result.stderr_tail and "root:" not in result.stdout_tail


CTYPES = "c = __import__('ctyp' + 'es')\nlibc = c.CDLL(None, use_errno=True)\n"
SETATTR = (
    "class A(c.Structure):\n"
    "    _fields_ = [(f, c.c_uint64) for f in ('set', 'clear', 'propagation', 'userns_fd')]\n"
    "r = libc.syscall(c.c_long(442), c.c_long(-100), b'/', c.c_long(0x8000),"
    " c.byref(A(clear=1)), c.c_long(32))\n"
    "assert r != 0, 'mount_setattr cleared read-only on /'\n"
)
REMOUNT = (
    "r = libc.mount(b'none', b'/', None, c.c_ulong(32 | 4096), None)\n"
    "assert r != 0, 'remounted / read-write'\n"
)


@pytest.mark.parametrize("attack", [SETATTR, REMOUNT], ids=["mount_setattr", "remount"])
def test_undoing_the_read_only_mounts(host, attack):
    result, _ = check(host, CTYPES + attack + write_everywhere(host))
    assert (result["reason"], result["detail"]) == ("sandbox_violation", "import _ctypes")
    # without the guard ctypes loads: the kernel refuses the call and the write
    result = kernel_alone(host, CTYPES + attack + "raise OSError(c.get_errno(), 'refused')\n")
    assert (result.reason, result.detail) == ("test_failed", "PermissionError")
    kernel_alone(host, write_everywhere(host))


def test_the_mount_command(host):
    attack = "import os\nos.execv('/usr/bin/mount', ['mount', '-o', 'remount,bind,rw', '/'])\n"
    result, _ = check(host, attack)
    assert (result["reason"], result["detail"]) == ("sandbox_violation", "os.exec")
    if Path("/usr/bin/mount").exists():  # it runs, unprivileged, and fails: no pass either
        assert kernel_alone(host, attack).reason == "crashed"


@pytest.mark.parametrize("call", ["mknod", "mkfifo"])
def test_device_nodes_and_fifos_outside(host, call):
    path = host["created"][1]
    result, _ = check(host, f"import os\nos.{call}({str(path)!r})\n")
    assert (result["reason"], result["detail"]) == ("sandbox_violation", f"os.{call}")
    result = kernel_alone(host, f"import os\nos.{call}({str(path)!r})\n")
    assert (result.reason, result.detail) == ("test_failed", "PermissionError")


def test_kernel_settings_and_set_id_files(host):
    """Outside, the cage runs as its caller: for a root parent, uid 0, which procfs lets write
    /proc/sys. The cage mounts no /proc; the value written back is the current one, so even a
    failure of this test changes nothing."""
    current = Path("/proc/sys/kernel/core_pattern").read_text()
    attack = f"open('/proc/sys/kernel/core_pattern', 'w').write({current!r})\n"
    result, _ = check(host, attack)
    assert result["reason"] == "sandbox_violation"
    result = kernel_alone(host, attack)
    assert (result.reason, result.detail) == ("test_failed", "FileNotFoundError")
    setuid = "import os\nopen('tool', 'w').close()\nos.chmod('tool', 0o4755)\n"
    result = kernel_alone(host, setuid)
    assert (result.reason, result.detail) == ("test_failed", "PermissionError")
    assert Path("/proc/sys/kernel/core_pattern").read_text() == current


def test_signalling_the_parent(host):
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        attack = (
            "import os, signal\n"
            f"fd = os.pidfd_open({sleeper.pid})\n"
            "signal.pidfd_send_signal(fd, signal.SIGKILL)\n"
        )
        result, _ = check(host, attack)
        assert (result["reason"], result["detail"]) == ("sandbox_violation", "os.pidfd_open")
        result = kernel_alone(host, attack)
        assert (result.reason, result.detail) == ("test_failed", "PermissionError")
        result = kernel_alone(host, f"import os\nos.kill({sleeper.pid}, 9)\n")
        assert result.detail == "ProcessLookupError"  # not in its PID namespace
        for target in ("os.getppid()", 1):  # the cage's own init ignores it
            run_tests(f"import os\nos.kill({target}, 9)\n", "assert True\n", guard=False)
        assert sleeper.poll() is None  # still running
    finally:
        sleeper.send_signal(signal.SIGKILL)
        sleeper.wait()


def test_listing_host_folders(host):
    for folder in ("/root", "/etc", str(host["dir"])):
        result, _ = check(host, f"import os\nprint(os.listdir({folder!r}))\n")
        assert result["reason"] == "sandbox_violation"
        assert result["detail"].startswith("os.listdir")
    result = run_tests(
        "import os\nprint(sorted(os.listdir('/')))\n", "assert True\n", mode="bwrap", guard=False
    )
    seen = set(eval(result.stdout_tail))  # the cage's own root: system folders, nothing else
    allowed = {"usr", "bin", "sbin", "lib", "lib32", "lib64", "proc", "dev", "tmp", "opt"}
    assert seen <= allowed | {READ_ONLY.split("/")[1]}, seen
    assert Path("/etc").name not in seen


@pytest.mark.parametrize(
    ("bomb", "reasons"),
    [
        ("import os\nwhile True:\n    os.fork()\n", {"sandbox_violation"}),
        (
            "import threading, time\n"
            "while True:\n    threading.Thread(target=time.sleep, args=(30,)).start()\n",
            {"test_failed", "memory_exceeded", "timeout"},
        ),
        ("x = bytearray(10 ** 11)\n", {"memory_exceeded"}),
        ("xs = []\nwhile True:\n    xs.append(' ' * 10 ** 6)\n", {"memory_exceeded"}),
    ],
    ids=["fork", "threads", "huge", "growing"],
)
def test_bombs(host, bomb, reasons):
    result, _ = check(host, bomb, "assert True\n", "--timeout-s", "5")
    assert result["reason"] in reasons, result
    if "fork" in bomb:
        assert kernel_alone(host, bomb, timeout_s=5).reason == "test_failed"


def test_no_writable_place_but_the_work_dir(host):
    """tmpfs folders of the cage (no RLIMIT_AS on their pages) are read-only, /dev among them."""
    fill = "for i in range(200):\n    open(f'{}/f{{i}}', 'wb').write(b'x' * (1 << 20))\n"
    for folder in ("/tmp", "/dev/shm", "/dev", ""):
        result = kernel_alone(host, fill.format(folder))
        assert "Read-only file system" in result.stderr_tail, result


# 16 MB files stay under the per-file limit: only a cap on the total stops them (1.9 GB in under
# a second without one). The folder's own size says whether it is the cage's tmpfs.
MANY_FILES = (
    "import os\n"
    "s = os.statvfs('.')\n"
    "print(s.f_blocks * s.f_frsize, flush=True)\n"
    "for i in range(16):\n"
    "    with open(f'f{i}', 'wb') as f:\n"
    "        f.write(b'x' * (16 << 20))\n"
    "    print((i + 1) * 16 << 20, flush=True)\n"
)


def test_many_files_under_the_file_limit_fill_only_a_capped_work_dir(host):
    result, done = check(host, MANY_FILES, "assert True\n", "--show-output")
    assert (result["reason"], result["detail"]) == ("output_exceeded", "OSError ENOSPC"), result
    assert "No space left on device" in done.stderr
    result = kernel_alone(host, MANY_FILES, disk_mb=64)
    assert (result.reason, result.detail) == ("output_exceeded", "OSError ENOSPC")
    size, *written = map(int, result.stdout_tail.split())
    assert size == 64 << 20 and written[-1] <= 64 << 20, result  # not the host's disk


def test_threads_past_max_processes(host):
    """RLIMIT_NPROC binds any uid but 0, so the child never runs as uid 0 outside (512 threads
    started under a limit of 16 where it did)."""
    threads = (
        "import threading, time\n"
        "threading.stack_size(1 << 16)\n"  # small stacks: the address-space limit stops none
        "started = 0\n"
        "try:\n"
        "    for _ in range(512):\n"
        "        threading.Thread(target=time.sleep, args=(5,), daemon=True).start()\n"
        "        started += 1\n"
        "finally:\n"
        "    print(started, flush=True)\n"
    )
    result, done = check(host, threads, "assert True\n", "--show-output")
    assert (result["reason"], result["detail"]) == ("test_failed", "RuntimeError"), result
    assert "can't start new thread" in done.stderr
    for limit in (16, 4):
        result = kernel_alone(host, threads, max_processes=limit)
        assert 0 < int(result.stdout_tail) <= limit, result
    # in a user namespace uid 0 is not even mapped (EINVAL)
    assert kernel_alone(host, "import os\nos.setuid(0)\n").detail in ("PermissionError", "OSError")


def test_network(host):
    attack = "s = __import__('so' + 'cket')\ns.create_connection(('1.1.1.1', 80), timeout=2)\n"
    result, _ = check(host, attack)
    assert result["reason"] == "sandbox_violation" and result["detail"].startswith("socket.")
    assert kernel_alone(host, attack).reason == "test_failed"


def test_ctypes_and_subprocess(host):
    touch = f"__import__('sub' + 'process').run(['/usr/bin/touch', {str(host['created'][0])!r}])\n"
    result, _ = check(host, touch)
    assert (result["reason"], result["detail"]) == ("sandbox_violation", "subprocess.Popen")
    assert kernel_alone(host, touch).reason == "test_failed"  # no new process
    result, _ = check(host, "import ctypes\n")
    assert result["reason"] == "unsafe_import"
    result, _ = check(host, CTYPES)
    assert result["reason"] == "sandbox_violation"


def test_environment_secrets(host):
    probe = (
        "import os\n"
        "print(dict(os.environ))\n"
        "for pid in ('self', '1', str(os.getppid())):\n"
        "    try:\n        print(open(f'/proc/{pid}/environ').read())\n"
        "    except OSError as e:\n        print(e)\n"
    )
    result, done = check(host, probe, "assert 'HF_TOKEN' not in os.environ\n", "--show-output")
    assert result["reason"] == "sandbox_violation"  # /proc/1 is not its own
    result, done = check(host, ADD + "import os\nprint(dict(os.environ))\n", "assert 'HF_TOKEN' not in os.environ\n", "--show-output")  # fmt: skip
    assert result["passed"] and "HOME" in done.stderr
    result = run_tests(probe, "assert True\n", mode="bwrap", guard=False)
    assert result.passed and SECRET not in result.stdout_tail


def test_usage_errors_exit_2(host):
    (host["dir"] / "solution.py").write_bytes(b"\xff\xfe")
    (host["dir"] / "tests.py").write_text("assert True\n")
    for args in (["solution.py"], ["solution.py", "missing.py"], ["solution.py", "tests.py"]):
        done = subprocess.run(
            [sys.executable, "-m", "schoolhouse.cli", "sandbox", "check", *args],
            cwd=host["dir"],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 2 and done.stdout == "", done
    done = subprocess.run(
        [sys.executable, "-m", "schoolhouse.cli", "sandbox", "check", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0 and "SOLUTION" in done.stdout
