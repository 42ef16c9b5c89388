"""The kernel's walls around model-written code: bubblewrap, a seccomp filter, an unprivileged uid.

    from schoolhouse.sandbox.cage import bwrap_command, unavailable
    unavailable()  # None where bubblewrap runs, else why not (one line)
    bwrap_command([python, child, fd], work=work_dir, files={}, seccomp_fd=seccomp, disk_bytes=n)

bubblewrap (`bwrap`, Flatpak's sandbox, Debian's `bubblewrap`) starts the program in new mount,
PID, network, IPC, UTS and cgroup namespaces, with every capability dropped, `no_new_privs`, its
own session (no TIOCSTI into our terminal) and death with its parent. The program never runs
as a uid the kernel exempts from limits:
- A caller that is not root: bwrap also makes a user namespace, the program is uid/gid 65534
  inside (never root) and the caller's own uid outside, with no further user namespaces
  (`--disable-userns`).
- A caller that is root: a user namespace would map the program to uid 0 outside, which
  RLIMIT_NPROC never binds (512 threads started under a limit of 16). So bwrap makes none, and
  keeps only CAP_SETUID and CAP_SETGID, with which the child, before any model code runs,
  leaves uid 0 for `fresh_uid()`, a uid of its own, and loses every capability.
The file system it sees is built from nothing: the system's library folders and the
interpreter's prefix bound read-only, a minimal /dev, an empty /tmp and /dev/shm, all read-only,
and the work dir, the only writable place: a tmpfs of `disk_bytes`, so that many files under
the per-file limit cannot fill the host's disk; no /proc and no /sys. A root-owned file is
never writable from inside: nothing of the host is bound writable, and procfs, whose sysctl
files judge writes by the outside uid, is not mounted at all. A read-only mount cannot be made
writable again by a process without CAP_SYS_ADMIN, and the seccomp filter (libseccomp through
`pyseccomp`, where installed) refuses the calls that could try anyway or reach past the
namespaces: the mount family, ptrace, kexec, bpf, keyctl, unshare and setns, pidfd signals, and
new processes (`fork`, `clone` without CLONE_THREAD): threads are allowed, a fork bomb is not.
Calls of another architecture's table are killed.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

UID = GID = 65534  # nobody/nogroup: owns nothing inside a user namespace
# For a root caller: RLIMIT_NPROC counts a uid's threads across the whole machine, so each run
# takes its own uid, at random from a range above the accounts and container ranges systemd
# hands out (its nspawn ranges end below 0x70000000): runs at the same time do not share a count.
FRESH_UIDS = range(0x70000000, 0x70000000 + (1 << 24))
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
            args += [*parent_dirs(folder), "--ro-bind", folder, folder]
    return args


def parent_dirs(path: str) -> list[str]:
    """bwrap arguments that make `path`'s parents as folders anyone may pass through (bwrap
    makes them 0700, and the child does not own them where it leaves uid 0)."""
    parents = reversed(Path(path).parents)
    return [arg for p in parents if p != Path("/") for arg in ("--perms", "0755", "--dir", str(p))]


def drops_root() -> bool:
    """Whether the cage runs without a user namespace and the child leaves uid 0 itself."""
    return os.geteuid() == 0


def fresh_uid() -> int:
    """A uid (also the gid) for one run of a root caller's child; see FRESH_UIDS."""
    return FRESH_UIDS[secrets.randbelow(len(FRESH_UIDS))]


def bwrap_command(
    argv: list[str],
    *,
    work: Path,
    files: dict[str, Path],
    seccomp_fd: int | None,
    disk_bytes: int,
) -> list[str]:
    """`argv` under bwrap in a fresh tmpfs of `disk_bytes` at `work`'s path, each `files`
    source bound read-only at its key. argv[0] should be `interpreter()`. For a root caller
    (`drops_root()`) argv must leave uid 0 before it runs anything else."""
    command = [bwrap() or "bwrap", "--unshare-ipc", "--unshare-pid", "--unshare-net"]
    command += ["--unshare-uts", "--unshare-cgroup-try", "--cap-drop", "ALL"]
    if drops_root():
        command += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        command += ["--unshare-user", "--disable-userns", "--uid", str(UID), "--gid", str(GID)]
    command += ["--die-with-parent", "--new-session", "--hostname", "sandbox"]
    command += read_only_binds()
    # No /proc: procfs judges writes to /proc/sys by the outside uid (root's, for a user
    # namespace of a root caller): a fresh procfs let the child rewrite the host's
    # kernel.core_pattern. Python needs no /proc.
    command += ["--dev", "/dev", "--tmpfs", "/dev/shm", "--tmpfs", "/tmp"]
    for inside, source in files.items():
        command += [*parent_dirs(inside), "--ro-bind", str(source), inside]
    # tmpfs pages are not the process's memory: RLIMIT_AS does not bound them, --size does;
    # 01777 like /tmp, as the child's uid does not own what bwrap mounts for a root caller
    command += [*parent_dirs(str(work))]
    command += ["--perms", "01777", "--size", str(disk_bytes), "--tmpfs", str(work)]
    # /dev is a tmpfs of no size: every place but the work dir read-only (the mounts below
    # each, devices and the work dir, keep their own flags)
    for place in ("/dev/shm", "/dev", "/tmp", "/"):
        command += ["--remount-ro", place]
    command += ["--chdir", str(work)]
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
        ids = (fresh_uid(),) * 3  # for a root caller, the child's first step too
        leave_root = f"import os; os.setgroups([]); os.setresgid(*{ids}); os.setresuid(*{ids})"
        argv = [interpreter(), "-I", "-S", "-c", leave_root if drops_root() else "pass"]
        seccomp_fd = (fds or (None,))[0]
        command = bwrap_command(
            argv, work=Path(d) / "work", files={}, seccomp_fd=seccomp_fd, disk_bytes=1 << 20
        )
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=30, pass_fds=fds)
        except (OSError, subprocess.TimeoutExpired) as e:
            return f"bwrap could not start: {e}"
    if done.returncode != 0:
        lines = (done.stderr or f"exit code {done.returncode}").strip().splitlines()
        return f"bwrap cannot build its sandbox here: {lines[-1]}"
    return None
