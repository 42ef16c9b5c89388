"""The sandbox against hostile code: each attack is contained, named, and this process survives.

Attacks run through every layer that stops them: both together, the guard alone (what
--unsafe-no-sandbox gets), and the kernel alone (bubblewrap, seccomp and limits, no audit hook).
The hostile solutions of issue 16 run end to end through `schoolhouse sandbox check` in
test_sandbox_attacks.py."""

import os
import socket
from pathlib import Path

import pytest

from schoolhouse.sandbox import isolation, run_many, run_tests
from schoolhouse.sandbox.cage import seccomp_program

ADD = "def add(a, b):\n    return a + b\n"
IMPORTLIB = "import importlib\n"
LAYERS = [
    pytest.param({}, id="both"),
    pytest.param({"mode": "guard"}, id="guard"),
    pytest.param({"mode": "bwrap", "guard": False}, id="kernel"),
]


@pytest.fixture(params=LAYERS)
def layer(request):
    if request.param.get("mode") != "guard" and isolation() != "bwrap":
        pytest.skip("bubblewrap cannot run on this machine")
    return request.param


def blocked_reason(layer):
    """The guard names what it blocked; the kernel alone makes the operation fail."""
    return "test_failed" if layer.get("guard") is False else "sandbox_violation"


def test_a_correct_solution_passes_and_its_work_dir_is_removed():
    result = run_tests(ADD + "import os\nprint(os.getcwd())\n", "assert add(1, 2) == 3\n")
    assert (result.passed, result.reason) == (True, None)
    work = Path(result.stdout_tail.strip())
    assert work.name == "work" and not work.exists()


@pytest.mark.parametrize(
    ("solution", "tests", "reason", "detail"),
    [
        (ADD, "assert add(1, 2) == 4\n", "test_failed", "AssertionError"),
        (ADD, "assert ad(1, 2) == 3\n", "test_failed", "NameError"),
        (ADD, "def test_add():\n    assert add(2, 2) == 5\n", "test_failed", "AssertionError"),
        (ADD + "import sys\nsys.exit(0)\n", "assert add(1, 2) == 3\n", "test_failed", "SystemExit"),
        # exiting with 0 before the tests run is not a pass
        (ADD + "import os\nos._exit(0)\n", "assert add(1, 2) == 3\n", "crashed", "exit code 0"),
        ("def add(a, b)\n    return a + b\n", "assert add(1, 2) == 3\n", "syntax_error", None),
        (ADD, "print(add(1, 2))\n", "no_tests", None),
        # an assert that can never run is no test
        (ADD, "def helper():\n    assert add(1, 2) == 4\n", "no_tests", None),
        (ADD, "def check(f):\n    assert f(1, 2) == 4\n\ncheck(add)\n", "test_failed", None),
        ("import socket\n" + ADD, "assert add(1, 2) == 3\n", "unsafe_import", "socket"),
        (ADD, "from subprocess import run\nassert add(1, 2) == 3\n", "unsafe_import", None),
        ("import ctypes.util\n" + ADD, "assert add(1, 2) == 3\n", "unsafe_import", None),
        ("s = __import__('socket')\n" + ADD, "assert add(1, 2) == 3\n", "unsafe_import", None),
        (
            IMPORTLIB + "importlib.import_module('multiprocessing')\n",
            "assert 1\n",
            "unsafe_import",
            None,
        ),
    ],
)
def test_failures_are_named(solution, tests, reason, detail):
    result = run_tests(solution, tests)
    assert (result.passed, result.reason) == (False, reason), result
    if detail:
        assert result.detail == detail


def test_ordinary_imports_pass():
    solution = "import os, math, urllib.parse, collections\n" + ADD
    assert run_tests(solution, "assert add(1, 2) == 3\n").passed


def test_fork_bomb(layer):
    if layer.get("guard") is False and os.geteuid() == 0 and seccomp_program() is None:
        pytest.skip("without seccomp, and RLIMIT_NPROC ignored for uid 0, only the guard stops it")
    bomb = "import os\nfork = getattr(os, 'fo' + 'rk')\nwhile True:\n    fork()\n"
    result = run_tests(bomb, "assert True\n", timeout_s=5, **layer)
    assert result.reason == blocked_reason(layer), result
    assert layer.get("guard") is False or result.detail == "os.fork"


@pytest.mark.parametrize("mode", [None, "guard"])
def test_subprocess_past_the_static_check(mode):
    spawn = "sp = __import__('sub' + 'process')\nsp.run(['/bin/touch', 'spawned'])\n"
    result = run_tests(spawn, "assert True\n", mode=mode)
    assert (result.reason, result.detail) == ("sandbox_violation", "subprocess.Popen")


@pytest.mark.parametrize("mode", [None, "guard"])
@pytest.mark.parametrize(
    "attack",
    [
        # ctypes.memmove writes raw memory without an audit event: it could switch the guard off
        "c = __import__('ctyp' + 'es')\nc.memmove(c.create_string_buffer(8), b'x', 1)\n",
        # a fresh copy of the extension, under another name, past the import system
        "import importlib.util as u\n"
        "so = u.find_spec('_ctypes').origin\n"
        "u.module_from_spec(u.spec_from_file_location('x._ctypes', so))\n",
    ],
)
def test_raw_memory_past_the_static_check(mode, attack):
    result = run_tests(attack, "assert True\n", mode=mode)
    assert result.reason == "sandbox_violation", result
    assert result.detail.startswith("import ") and result.detail.endswith("_ctypes")


def test_infinite_loop_times_out():
    result = run_tests("while True:\n    pass\n", "assert True\n", timeout_s=1)
    assert result.reason == "timeout"


def test_sleeping_times_out_on_the_wall_clock():
    result = run_tests("import time\ntime.sleep(60)\n", "assert True\n", timeout_s=0.5)
    assert (result.reason, result.detail) == ("timeout", "wall clock")
    assert result.duration_s < 10


@pytest.mark.parametrize(
    "hog", ["x = bytearray(10 ** 11)\n", "xs = []\nwhile True:\n    xs.append(' ' * 10 ** 6)\n"]
)
def test_huge_allocation(hog):
    result = run_tests(hog, "assert True\n", memory_mb=128)
    assert result.reason == "memory_exceeded", result


def test_writing_outside_the_work_dir(layer, tmp_path):
    target, kept = tmp_path / "escaped.txt", tmp_path / "kept.txt"
    kept.write_text("keep me")
    for attack in (f"open({str(target)!r}, 'w').write('x')\n", f"os.remove({str(kept)!r})\n"):
        result = run_tests("import os\n" + attack, "assert True\n", **layer)
        assert result.reason == blocked_reason(layer), result
    assert not target.exists()
    assert kept.read_text() == "keep me"


def test_no_connection_reaches_a_local_listener(layer):
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        attack = (
            "s = __import__('so' + 'cket')\n"  # past the static check
            f"s.socket().connect(('127.0.0.1', {port}))\n"
        )
        result = run_tests(attack, "assert True\n", **layer)
        assert result.reason == blocked_reason(layer), result
        assert layer.get("guard") is False or result.detail == "socket.connect"
        server.settimeout(0.2)
        with pytest.raises(TimeoutError):
            server.accept()


def test_the_kernel_alone_leaves_only_a_loopback():
    if isolation() != "bwrap":
        pytest.skip("bubblewrap cannot run on this machine")
    probe = "s = __import__('so' + 'cket')\nprint(*[name for _, name in s.if_nameindex()])\n"
    result = run_tests(probe, "assert True\n", guard=False)
    assert result.stdout_tail.split() == ["lo"]


def test_secrets_of_the_parent_are_not_visible(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_not_for_the_sandbox")
    result = run_tests(
        "import os\nprint(dict(os.environ))\n", "assert 'HF_TOKEN' not in os.environ\n"
    )
    assert result.passed, result
    assert "hf_not_for_the_sandbox" not in result.stdout_tail
    parent = "import os\nprint(open(f'/proc/{os.getppid()}/environ').read())\n"
    for layer in ({}, {"mode": "guard"}):
        result = run_tests(parent, "assert True\n", **layer)
        assert result.reason == "sandbox_violation"
        assert "hf_not_for_the_sandbox" not in result.stdout_tail


def test_an_output_flood_is_cut_off():
    flood = "while True:\n    print('x' * 10_000)\n"
    result = run_tests(flood, "assert True\n", file_mb=1)
    assert result.reason == "output_exceeded", result
    assert len(result.stdout_tail) <= 2000


@pytest.mark.parametrize("value", ["inf", "nan", "1e308", "-inf", "0", "-1"])
def test_a_timeout_that_cannot_be_kept_is_a_usage_error(value, tmp_path):
    from click.testing import CliRunner

    from schoolhouse.cli import main

    (tmp_path / "s.py").write_text(ADD)
    (tmp_path / "t.py").write_text("assert add(1, 2) == 3\n")
    files = [str(tmp_path / "s.py"), str(tmp_path / "t.py")]
    done = CliRunner().invoke(main, ["sandbox", "check", *files, "--timeout-s", value])
    assert done.exit_code == 2 and done.output.count("\n") == 1, done.output
    assert done.output.startswith("error: --timeout-s: must be more than 0"), done.output
    with pytest.raises(ValueError, match="timeout_s"):
        run_tests(ADD, "assert add(1, 2) == 3\n", timeout_s=float(value))


def test_run_many_keeps_the_order():
    items = [(ADD, "assert add(1, 2) == 3\n"), (ADD, "assert add(1, 2) == 0\n"), ("def", "")] * 2
    results = run_many(items, workers=2)
    assert [r.reason for r in results] == [None, "test_failed", "syntax_error"] * 2


def test_without_bwrap_model_code_is_refused_unless_unsafe_is_asked(monkeypatch, tmp_path):
    from click.testing import CliRunner

    from schoolhouse import sandbox
    from schoolhouse.cli import main
    from schoolhouse.config import ExercisesConfig
    from schoolhouse.lessons.exercises import ExercisesKind

    monkeypatch.setattr(sandbox.cage, "unavailable", lambda: "bwrap is not installed")
    with pytest.raises(sandbox.SandboxUnavailable, match="--unsafe-no-sandbox"):
        run_tests(ADD, "assert add(1, 2) == 3\n")
    assert run_tests(ADD, "assert add(1, 2) == 3\n", unsafe_no_sandbox=True).passed
    (tmp_path / "s.py").write_text(ADD)
    (tmp_path / "t.py").write_text("assert add(1, 2) == 3\n")
    files = [str(tmp_path / "s.py"), str(tmp_path / "t.py")]
    refused = CliRunner().invoke(main, ["sandbox", "check", *files])
    assert refused.exit_code == 2 and "bwrap is not installed" in refused.output
    unsafe = CliRunner().invoke(main, ["sandbox", "check", *files, "--unsafe-no-sandbox"])
    assert unsafe.exit_code == 0 and '"sandbox": "unsafe-no-sandbox' in unsafe.output
    config = ExercisesConfig(n=1, out=tmp_path / "out")
    with pytest.raises(sandbox.SandboxUnavailable):
        ExercisesKind.load(config, None)
    kind = ExercisesKind.load(config.model_copy(update={"unsafe_no_sandbox": True}), None)
    assert kind.sandbox_mode == "guard" and "unsafe" in kind.job_info()["sandbox"]
    assert "--unsafe-no-sandbox" in kind.sandbox_text()
