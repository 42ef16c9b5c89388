"""The program inside the sandbox: set limits, install the guard, run a solution and its tests.

    python -I -B -u sandbox_child.py STATUS_FD < job.json

`schoolhouse.sandbox` starts it in a fresh working directory; nothing imports this file. It reads
the whole job first, then sets resource limits, installs an audit hook (PEP 578) and only then
runs model code. It reports on STATUS_FD, one line each:

    violation EVENT      the guard blocked an operation (written at once: it cannot be undone)
    fail REASON DETAIL   the code raised; REASON is test_failed, memory_exceeded, output_exceeded
    pass NONCE           every test ran; the parent's nonce shows that this program wrote the
                         line, so `os._exit(0)` in a solution is not a pass

Standard library only: it runs before, and apart from, anything the project installs.
"""

import contextlib
import errno
import gc
import json
import os
import resource
import sys

# Operations model code never needs. Each is an audit event of CPython 3.11
# (https://docs.python.org/3.11/library/audit_events.html).
BLOCKED = frozenset(
    {
        # new processes: os.spawn* and multiprocessing go through os.fork or _posixsubprocess
        "os.system",
        "os.fork",
        "os.forkpty",
        "os.exec",
        "os.posix_spawn",
        "os.spawn",
        "subprocess.Popen",
        # signals to other processes (the parent, when it runs as the same user)
        "os.kill",
        "os.killpg",
        "signal.pthread_kill",
        # the network, and Unix sockets on the file system, which no network namespace hides
        "socket.connect",
        "socket.bind",
        "socket.sendto",
        "socket.sendmsg",
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "socket.gethostbyaddr",
        # native code, and finding objects the guard no longer lets code import
        "ctypes.dlopen",
        "ctypes.dlsym",
        "ctypes.dlsym/handle",
        "ctypes.cdata",
        "ctypes.call_function",
        "gc.get_objects",
        "gc.get_referrers",
        "gc.get_referents",
        "resource.setrlimit",
        "resource.prlimit",
    }
)
# Extension modules that reach raw memory (ctypes.memmove raises no audit event: with it, code can
# switch the guard off) or fork without an event. numpy imports ctypes, so numpy cannot be used.
NATIVE = frozenset(
    {"_ctypes", "_posixsubprocess", "_testcapi", "_testinternalcapi", "_xxsubinterpreters"}
)
# Events that change the file system, and which of their arguments are paths.
WRITES = {
    "os.remove": (0,),
    "os.rename": (0, 1),
    "os.rmdir": (0,),
    "os.mkdir": (0,),
    "os.symlink": (1,),
    "os.link": (0, 1),
    "os.chmod": (0,),
    "os.chown": (0,),
    "os.truncate": (0,),
    "os.utime": (0,),
    "os.setxattr": (0,),
    "os.removexattr": (0,),
    "shutil.rmtree": (0,),
    "sqlite3.connect": (0,),
}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
# Readable besides the working directory and the interpreter's own folders.
SYSTEM_READS = ("/usr", "/lib", "/lib64", "/dev/null", "/dev/zero", "/dev/urandom", "/dev/random")
# mount_setattr(2), Linux 5.12: one call makes a whole mount tree read-only. The number is the same
# on every architecture that uses the generic syscall table (x86-64 and arm64 included).
SYS_MOUNT_SETATTR, AT_FDCWD, AT_RECURSIVE, MOUNT_ATTR_RDONLY, MS_BIND = 442, -100, 0x8000, 1, 4096


def report(fd: int, line: str) -> None:
    with contextlib.suppress(OSError):
        os.write(fd, (line + "\n").encode())


def own_tasks() -> int:
    """Threads this user runs now: RLIMIT_NPROC counts them all, not only the sandbox's."""
    uid, count = os.getuid(), 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        if fields.get("Uid", "-1").split()[0] == str(uid):
            count += int(fields.get("Threads", "1"))
    return count


def set_limits(limits: dict) -> None:
    cpu = limits["cpu_s"]
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # SIGXCPU at the soft limit; SIGKILL a second later if it is caught
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits["memory_bytes"],) * 2)
    # Python ignores SIGXFSZ, so a write past this size raises OSError(EFBIG) instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_bytes"],) * 2)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits["open_files"],) * 2)
    # the kernel never applies RLIMIT_NPROC to uid 0: there the guard and the PID namespace hold
    nproc = own_tasks() + limits["processes"]
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))


def make_read_only(work: str) -> None:
    """Every mount read-only but the working directory. The parent started us as root of new user
    and mount namespaces, so this changes our view of the file system only."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)

    class MountAttr(ctypes.Structure):
        _fields_ = [(f, ctypes.c_uint64) for f in ("set", "clear", "propagation", "userns_fd")]

    def call(result: int, what: str) -> None:
        if result != 0:
            code = ctypes.get_errno()
            raise OSError(code, f"{what}: {os.strerror(code)}")

    def setattr_(path: str, flags: int, attr: MountAttr) -> int:
        args = (SYS_MOUNT_SETATTR, AT_FDCWD, path.encode(), flags, ctypes.byref(attr), 32)
        return libc.syscall(*(ctypes.c_long(a) if isinstance(a, int) else a for a in args))

    call(libc.mount(work.encode(), work.encode(), None, ctypes.c_ulong(MS_BIND), None), "bind")
    os.chdir(work)  # the old working directory still points below the new mount
    call(setattr_("/", AT_RECURSIVE, MountAttr(set=MOUNT_ATTR_RDONLY)), "read-only /")
    call(setattr_(work, 0, MountAttr(clear=MOUNT_ATTR_RDONLY)), "writable work dir")
    # forget ctypes (this frame's objects go when it returns): the guard lets nothing import it
    for name in [m for m in sys.modules if m.split(".")[0] in ("ctypes", "_ctypes")]:
        del sys.modules[name]
    gc.collect()


def as_path(value) -> str | None:
    if isinstance(value, int):
        return None  # a file descriptor: its path was checked when it was opened
    return os.path.realpath(os.fsdecode(value))


def inside(path: str, roots) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


class Guard:
    """The audit hook. It raises PermissionError for a forbidden operation and reports it."""

    def __init__(self, status_fd: int, work: str):
        self.status_fd, self.work = status_fd, work
        self.writable = (work, "/dev/null")
        found = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, *sys.path]
        self.readable = (work, f"/proc/{os.getpid()}", os.path.realpath(__file__), *SYSTEM_READS)
        self.readable += tuple({os.path.realpath(p) for p in found if p})
        self.reported: set[str] = set()

    def __call__(self, event: str, args: tuple) -> None:
        if event in BLOCKED:
            self.block(event)
        elif event == "open":
            self.check_open(*args[:3])
        elif event in WRITES:
            for i in WRITES[event]:
                path = as_path(args[i])  # sqlite3's ":memory:" resolves inside the work dir
                if path is not None and not inside(path, self.writable):
                    self.block(f"{event} {path}")
        elif event == "import" and args[0].rpartition(".")[2] in NATIVE:
            # also raised by importlib.util.module_from_spec, under any package name
            self.block(f"import {args[0]}")

    def check_open(self, file, mode, flags) -> None:
        path = as_path(file)
        if path is None:
            return
        writes = (flags or 0) & WRITE_FLAGS or any(c in (mode or "") for c in "wax+")
        if writes and not inside(path, self.writable):
            self.block(f"open {path} for writing")
        if not inside(path, self.readable):
            self.block(f"open {path}")
        # a directory opened outside would anchor os.open(..., dir_fd=) writes the hook cannot see
        if not inside(path, (self.work,)) and os.path.isdir(path):
            self.block(f"open directory {path}")

    def block(self, what: str) -> None:
        name = what.split()[0]
        if name not in self.reported:
            self.reported.add(name)
            report(self.status_fd, f"violation {what}")
        raise PermissionError(f"blocked by the sandbox: {what}")


def run(job: dict, status_fd: int) -> None:
    import linecache
    import traceback

    def blocked(*args, **kwargs):
        raise PermissionError("blocked by the sandbox: _posixsubprocess.fork_exec")

    if job["guard"]:
        # subprocess forks in _posixsubprocess without an audit event: load it once, patched
        import _posixsubprocess

        _posixsubprocess.fork_exec = blocked
        sys.addaudithook(Guard(status_fd, os.path.realpath(os.getcwd())))
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    try:
        for filename, source in (("solution.py", job["solution"]), ("tests.py", job["tests"])):
            linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
            exec(compile(source, filename, "exec"), namespace)
        for name in job["test_functions"]:
            namespace[name]()
        sys.stdout.flush()
    except BaseException as e:  # SystemExit and KeyboardInterrupt too: the tests did not finish
        if isinstance(e, MemoryError):
            reason = "memory_exceeded"
        elif isinstance(e, OSError) and e.errno == errno.EFBIG:
            reason = "output_exceeded"
        else:
            reason = "test_failed"
        report(status_fd, f"fail {reason} {type(e).__name__}")
        try:
            traceback.print_exception(type(e), e, e.__traceback__.tb_next)  # from model code on
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:
            pass
        os._exit(1)
    report(status_fd, f"pass {job['nonce']}")
    os._exit(0)  # threads the code left running must not keep the sandbox alive


def main() -> None:
    status_fd = int(sys.argv[1])
    job = json.loads(sys.stdin.buffer.read())
    if job["read_only"]:
        try:
            make_read_only(os.path.realpath(os.getcwd()))
        except OSError as e:
            report(status_fd, f"fail setup {e}")
            os._exit(125)
    set_limits(job["limits"])
    run(job, status_fd)


if __name__ == "__main__":
    main()
