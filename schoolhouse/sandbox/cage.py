"""The kernel's walls around model-written code: bubblewrap, a seccomp filter, an unprivileged uid.

    from schoolhouse.sandbox.cage import bwrap_command, unavailable
    unavailable()  # None where bubblewrap runs, else why not (one line)
    bwrap_command([python, child, fd], work=work_dir, keep_fds=[fd], seccomp_fd=seccomp)

bubblewrap (`bwrap`, Flatpak's sandbox, Debian's `bubblewrap`) starts the program in new user,
mount, PID, network, IPC, UTS and cgroup namespaces, as uid/gid 65534 inside (never root), with
every capability dropped, `no_new_privs`, no further user namespaces (`--disable-userns`), its
own session (no TIOCSTI into our terminal) and death with its parent. The file system it sees
is built from nothing: the system's library folders and the interpreter's prefix bound
read-only, a minimal /dev, an empty /tmp, and the per-run work dir, the only writable place;
no /proc and no /sys. Outside, the process keeps the caller's uid (the kernel maps the inside
uid to it): for a parent running as root that is uid 0, which owns every root-owned file, so
nothing of the host is bound writable and procfs, whose sysctl files judge writes by that
outside uid, is not mounted at all. A read-only bind made by bwrap cannot be made writable again by a process without
CAP_SYS_ADMIN, and the seccomp filter (libseccomp through `pyseccomp`, where installed) refuses
the calls that could try anyway or reach past the namespaces: the mount family, ptrace,
kexec, bpf, keyctl, unshare and setns, pidfd signals, and new processes (`fork`, `clone`
without CLONE_THREAD): threads are allowed, a fork bomb is not, even where the kernel ignores
RLIMIT_NPROC (a parent running as root). Calls of another architecture's table are killed.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

UID = GID = 65534  # nobody/nogroup: owns nothing inside
# Top-level system folders bound read-only (or recreated as the symlinks they are on merged /usr).
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64")
# Syscalls the code never needs and that could undo the cage or reach out of it: EPERM.
DENIED = (
    *("mount", "umount2", "pivot_root", "chroot", "mount_setattr", "move_mount", "open_tree"),
    *("fsopen", "fsconfig", "fsmount", "fspick", "unshare", "setns"),
    *("ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_open"),
    *("pidfd_send_signal", "pidfd_getfd", "kexec_load", "kexec_file_load", "bpf"),
    *("keyctl", "add_key", "request_key", "init_module", "finit_module", "delete_module"),
    *("userfaultfd", "perf_event_open", "open_by_handle_at", "name_to_handle_at", "acct"),
    *("quotactl", "swapon", "swapoff", "reboot", "syslog", "iopl", "ioperm", "personality"),
    *("mknod", "mknodat", "fork", "vfork"),
)
CLONE_THREAD = 0x00010000
SETID = 0o4000  # S_ISUID; S_ISGID is 0o2000
TMPFS_BYTES = 64 << 20  # the cage's /tmp and /dev/shm each
TIOCSTI = 0x5412


@functools.cache
def bwrap() -> str | None:
    return shutil.which("bwrap")


def read_only_binds() -> list[str]:
    """bwrap arguments for what the interpreter needs to start: the system's library folders
    and the interpreter's own prefix (a venv's python is a link into it)."""
    args: list[str] = []
    for top in SYSTEM:
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    executable = os.path.realpath(sys.executable)
    for folder in dict.fromkeys([os.path.realpath(sys.base_prefix), os.path.dirname(executable)]):
        if not any(folder == t or folder.startswith(t + "/") for t in SYSTEM):
            args += ["--ro-bind", folder, folder]
    return args


def bwrap_command(
    argv: list[str], *, work: Path, files: dict[str, Path], seccomp_fd: int | None
) -> list[str]:
    """`argv` under bwrap, `work` bound writable at its own path, each `files` source bound
    read-only at its key. argv[0] should be `interpreter()`."""
    command = [bwrap() or "bwrap", "--unshare-all", "--unshare-user", "--disable-userns"]
    command += ["--uid", str(UID), "--gid", str(GID), "--cap-drop", "ALL"]
    command += ["--die-with-parent", "--new-session", "--hostname", "sandbox"]
    command += read_only_binds()
    # No /proc: the sandbox's uid is the caller's outside (root, for a parent running as root),
    # and procfs judges writes to /proc/sys by that outside uid: a fresh procfs let it rewrite
    # the host's kernel.core_pattern. Python needs no /proc.
    # tmpfs pages are not the process's memory: RLIMIT_AS does not bound them, --size does
    tmpfs = ["--size", str(TMPFS_BYTES), "--tmpfs"]
    command += ["--dev", "/dev", *tmpfs, "/dev/shm", *tmpfs, "/tmp"]
    for inside, source in files.items():
        command += ["--ro-bind", str(source), inside]
    command += ["--bind", str(work), str(work), "--chdir", str(work)]
    if seccomp_fd is not None:
        command += ["--seccomp", str(seccomp_fd)]
    return [*command, *argv]


def interpreter() -> str:
    return os.path.realpath(sys.executable)


@functools.cache
def seccomp_program() -> bytes | None:
    """The compiled BPF filter (see the module docstring), or None without pyseccomp/libseccomp."""
    try:
        import pyseccomp as sc

        rules = sc.SyscallFilter(defaction=sc.ALLOW)
    except (ImportError, OSError, RuntimeError, AttributeError):  # no libseccomp.so.2
        return None
    for name in DENIED:
        try:
            rules.add_rule(sc.ERRNO(errno.EPERM), name)
        except (ValueError, RuntimeError, OSError):  # not a syscall of this architecture
            continue
    # a new process, not a thread; clone3 passes its flags in memory the filter cannot read, so
    # it answers ENOSYS and the C library falls back to clone
    rules.add_rule(sc.ERRNO(errno.EPERM), "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_THREAD, 0))
    rules.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    rules.add_rule(sc.ERRNO(errno.EPERM), "ioctl", sc.Arg(1, sc.MASKED_EQ, 0xFFFFFFFF, TIOCSTI))
    # no set-user-ID or set-group-ID file: outside, the work dir's files belong to the caller
    for name, arg in (("chmod", 1), ("fchmod", 1), ("fchmodat", 2), ("fchmodat2", 2)):
        with contextlib.suppress(ValueError, RuntimeError, OSError):
            rules.add_rule(sc.ERRNO(errno.EPERM), name, sc.Arg(arg, sc.MASKED_EQ, SETID, SETID))
            rules.add_rule(sc.ERRNO(errno.EPERM), name, sc.Arg(arg, sc.MASKED_EQ, 0o2000, 0o2000))
    with tempfile.TemporaryFile() as f:
        rules.export_bpf(f)
        f.seek(0)
        return f.read()


def seccomp_file():
    """An unnamed file holding the filter, positioned at its start (bwrap reads it from an fd),
    or a null context without one."""
    program = seccomp_program()
    if program is None:
        return contextlib.nullcontext()
    f = tempfile.TemporaryFile()  # noqa: SIM115 (the caller closes it)
    f.write(program)
    f.seek(0)
    return f


def describe() -> str:
    """How this machine's cage is built, for cards and job files."""
    return "bwrap+seccomp" if seccomp_program() is not None else "bwrap"


@functools.cache
def unavailable() -> str | None:
    """None when bwrap starts the interpreter in its cage on this machine (probed once), else
    the reason in one line."""
    if not sys.platform.startswith("linux"):
        return f"bubblewrap needs Linux, this is {sys.platform}"
    if bwrap() is None:
        return "bwrap is not installed (Debian/Ubuntu: apt-get install bubblewrap; or make sandbox)"
    with tempfile.TemporaryDirectory(prefix="schoolhouse-probe-") as d, seccomp_file() as f:
        fds = () if f is None else (f.fileno(),)
        argv = [interpreter(), "-I", "-S", "-c", "pass"]
        command = bwrap_command(argv, work=Path(d), files={}, seccomp_fd=(fds or (None,))[0])
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=30, pass_fds=fds)
        except (OSError, subprocess.TimeoutExpired) as e:
            return f"bwrap could not start: {e}"
    if done.returncode != 0:
        lines = (done.stderr or f"exit code {done.returncode}").strip().splitlines()
        return f"bwrap cannot build its sandbox here: {lines[-1]}"
    return None
