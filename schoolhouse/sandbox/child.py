"""The program inside the sandbox: set limits, install the guard, run a solution and its tests.

    python -I -S -B -u child.py STATUS_FD < job.json

`schoolhouse.sandbox` starts it in a fresh working directory; nothing imports this file. It reads
the whole job first, then leaves uid 0 where the job names a uid (a root caller's cage), sets
resource limits, installs an audit hook (PEP 578) and only then runs model code. It reports on
STATUS_FD, one line each:

    violation EVENT      the guard blocked an operation (written at once: it cannot be undone)
    fail REASON DETAIL   the code raised; REASON is test_failed, memory_exceeded, output_exceeded
    pass NONCE           every test ran; the parent's nonce shows that this program wrote the
                         line, so `os._exit(0)` in a solution is not a pass

Standard library only: it runs before, and apart from, anything the project installs.
"""

import contextlib
import errno
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


def report(fd: int, line: str) -> None:
    with contextlib.suppress(OSError):
        os.write(fd, (line + "\n").encode())


def own_tasks() -> int:
    """Threads this user runs now: RLIMIT_NPROC counts them all, not only the sandbox's."""
    uid, count = os.getuid(), 0
    try:
        pids = [pid for pid in os.listdir("/proc") if pid.isdigit()]
    except OSError:  # the bwrap cage mounts no /proc: its PID namespace holds its init and us
        return 2
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        if fields.get("Uid", "-1").split()[0] == str(uid):
            count += int(fields.get("Threads", "1"))
    return count


def leave_root(uid: int) -> None:
    """Become `uid` (and gid), a uid no other process has: the kernel never applies RLIMIT_NPROC
    to uid 0. Leaving uid 0 also empties every capability set, CAP_SETUID's included."""
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)


def set_limits(limits: dict, tasks: int) -> None:
    """`tasks`: the threads this uid runs already, which RLIMIT_NPROC counts too."""
    cpu = limits["cpu_s"]
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # SIGXCPU at the soft limit; SIGKILL a second later if it is caught
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits["memory_bytes"],) * 2)
    # Python ignores SIGXFSZ, so a write past this size raises OSError(EFBIG) instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_bytes"],) * 2)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits["open_files"],) * 2)
    # the kernel never applies RLIMIT_NPROC to uid 0: in the guard's mode as root nothing holds
    nproc = tasks + limits["processes"]
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))


def make_guard(status_fd: int, work: str):
    """The audit hook: it raises PermissionError for a forbidden operation and reports it.

    Its data and helpers are bound here, in its closure, so that code which rebinds this
    module's globals (`sys.modules[...].BLOCKED = frozenset()`, `inside`) or the builtins it
    uses changes nothing it checks; the function itself is referenced from nowhere the code can
    reach. The standard library it calls (os.path.realpath, os.write) can still be patched by
    code written to do so: this is the second layer, the kernel's cage is the boundary."""
    blocked, native, writes, write_flags = BLOCKED, NATIVE, WRITES, WRITE_FLAGS
    writable = (work, "/dev/null")
    found = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, *sys.path]
    readable = (work, f"/proc/{os.getpid()}", os.path.realpath(__file__), *SYSTEM_READS)
    readable += tuple({os.path.realpath(p) for p in found if p})
    reported: set[str] = set()
    realpath, fsdecode, isdir, isabs = (
        os.path.realpath,
        os.fsdecode,
        os.path.isdir,
        os.path.isabs,
    )
    _any, _isinstance, _int = any, isinstance, int
    _permission_error, _report = PermissionError, report

    def block(what: str) -> None:
        name = what.split()[0]
        if name not in reported:
            reported.add(name)
            _report(status_fd, f"violation {what}")
        raise _permission_error(f"blocked by the sandbox: {what}")

    def as_path(value) -> str | None:
        if _isinstance(value, _int):
            return None  # a file descriptor: its path was checked when it was opened
        text = fsdecode(value)
        # the kernel resolves a relative path against dir_fd, which the event does not carry
        if not isabs(text) and ".." in text.split("/"):
            block(f"relative path {text}")
        return realpath(text)

    def inside(path: str, roots) -> bool:
        return _any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)

    def check_open(file, mode, flags) -> None:
        path = as_path(file)
        if path is None:
            return
        wants_write = (flags or 0) & write_flags or _any(c in (mode or "") for c in "wax+")
        if wants_write and not inside(path, writable):
            block(f"open {path} for writing")
        if not inside(path, readable):
            block(f"open {path}")
        # a directory opened outside would anchor os.open(..., dir_fd=) writes the hook cannot see
        if not inside(path, (work,)) and isdir(path):
            block(f"open directory {path}")

    def guard(event: str, args: tuple) -> None:
        if event in blocked:
            block(event)
        elif event == "open":
            check_open(*args[:3])
        elif event in writes:
            for i in writes[event]:
                path = as_path(args[i])  # sqlite3's ":memory:" resolves inside the work dir
                if path is not None and not inside(path, writable):
                    block(f"{event} {path}")
        elif event in ("os.listdir", "os.scandir"):
            path = as_path(args[0] if args[0] is not None else ".")
            if path is not None and not inside(path, readable):
                block(f"{event} {path}")
        elif event == "os.chdir":
            path = as_path(args[0])
            if path is None or not inside(path, (work,)):
                block(f"os.chdir {path if path is not None else 'to a descriptor'}")
        elif event == "import" and args[0].rpartition(".")[2] in native:
            # also raised by importlib.util.module_from_spec, under any package name
            block(f"import {args[0]}")

    def refuse(name: str):
        def refused(*args, **kwargs):
            block(name)

        return refused

    return guard, refuse


def close_unaudited(refuse) -> None:
    """Functions that raise no audit event: a FIFO or device node anywhere, a pidfd to signal
    the parent. The kernel refuses them too; here they are named."""
    import posix
    import signal

    for module, name in [
        *((m, n) for m in (os, posix) for n in ("mknod", "mkfifo", "pidfd_open")),
        (signal, "pidfd_send_signal"),
    ]:
        if hasattr(module, name):
            setattr(module, name, refuse(f"{module.__name__}.{name}"))


def run(job: dict, status_fd: int) -> None:
    import linecache
    import traceback

    def blocked(*args, **kwargs):
        raise PermissionError("blocked by the sandbox: _posixsubprocess.fork_exec")

    if job["guard"]:
        # subprocess forks in _posixsubprocess without an audit event: load it once, patched
        import _posixsubprocess

        _posixsubprocess.fork_exec = blocked
        guard, refuse = make_guard(status_fd, os.path.realpath(os.getcwd()))
        close_unaudited(refuse)
        sys.addaudithook(guard)
    # the code's own __main__, not this program's module
    main_module = type(sys)("__main__")
    sys.modules["__main__"] = main_module
    namespace = main_module.__dict__
    namespace["__builtins__"] = __builtins__
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
        elif isinstance(e, OSError) and e.errno in (errno.EFBIG, errno.ENOSPC):
            reason = "output_exceeded"  # one file past file_mb; all of them past disk_mb
        else:
            reason = "test_failed"
        detail = type(e).__name__
        if reason == "output_exceeded":
            detail += f" {errno.errorcode[e.errno]}"
        report(status_fd, f"fail {reason} {detail}")
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
    if job["uid"] is not None:
        leave_root(job["uid"])
    set_limits(job["limits"], 1 if job["uid"] is not None else own_tasks())
    run(job, status_fd)


if __name__ == "__main__":
    main()
