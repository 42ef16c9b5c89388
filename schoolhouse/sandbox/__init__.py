"""Run model-written Python, a solution and its assert tests, in a sandbox.

    from schoolhouse.sandbox import run_many, run_tests
    run_tests("def add(a, b):\\n    return a + b\\n", "assert add(1, 2) == 3\\n")
    # SandboxResult(passed=True, reason=None, detail='', duration_s=0.1, ...)
    run_many([(solution, tests), ...], workers=2)  # results in order; it never raises for bad code

Three layers; each stops what the one before it cannot see:
1. Static (`ast`, no process started): syntax_error, no_tests, unsafe_import.
2. Kernel, the boundary (`schoolhouse.sandbox.cage`): the child, `python -I -S -B -u`, runs under bubblewrap
   with no capabilities and never as uid 0 (as 65534 in a user namespace; for a root caller,
   as a uid of its own that it takes before any model code runs), in new mount, PID, network,
   IPC, UTS and cgroup namespaces, behind a seccomp filter (no mount calls, ptrace, bpf, new
   namespaces, pidfd signals, new processes or set-ID files). It sees the system's library
   folders and the interpreter read-only, no /proc, an empty read-only /tmp and /dev/shm, and
   its own fresh working directory, the only writable place: a tmpfs of disk_mb, gone
   afterwards; no network; an environment built from nothing (no HF_TOKEN, no other secret of
   the parent). Resource limits: CPU time, address space, file size, processes and threads,
   open files, no core file, set by the child itself before any model code runs (not in a
   `preexec_fn`, unsafe in a threaded parent such as `run_many`). A wall-clock timeout kills
   bwrap, and with it the PID namespace.
3. Guard (`child.py`): an audit hook (PEP 578) blocks sockets, new processes, ctypes and
   other raw-memory modules, signals, writes outside the working directory and reads outside the
   interpreter's and the system's library folders, and names what it blocked. A second layer
   only: PEP 578 says plainly that audit hooks are not a sandbox.

Where bwrap cannot run (`isolation() == "guard"`: not installed, or no user namespaces), model
code is refused (`SandboxUnavailable`) unless the caller asks for the guard alone with
`unsafe_no_sandbox=True` (`--unsafe-no-sandbox` on the command line), which cards record.

Reasons, checked in this order:
    syntax_error, no_tests, unsafe_import   static: nothing ran
    sandbox_violation  the guard blocked an operation (`detail` names the first), even when the
                       code caught the error and its tests went on to pass
    timeout            past the wall clock (timeout_s + STARTUP_S) or the CPU-time limit
    memory_exceeded    MemoryError under the address-space limit
    output_exceeded    stdout, stderr or a file grew past file_mb (`detail`: OSError EFBIG), or
                       the work dir's files together past disk_mb (OSError ENOSPC)
    test_failed        the code raised (`detail`: AssertionError, NameError, SystemExit, ...)
    crashed            it ended without the child's report: a signal, os._exit, a broken interpreter

Limits it does not close:
- For a root caller, bwrap itself and the cage's init run as root (without the capabilities
  the child keeps only until it leaves uid 0), and the child is in no user namespace of its
  own: without pyseccomp/libseccomp it could make one, as any user of the machine can.
- With `unsafe_no_sandbox` the guard is the only wall: it stops model code that stumbles into
  the network or the disk, not code written to escape. Disk use is then bounded per file only,
  and for a root caller processes and threads are not bounded at all (the kernel never applies
  RLIMIT_NPROC to uid 0, and starting a thread raises no audit event).
- The tests run in the same interpreter as the solution, so code written to cheat (reading the
  child's frames for its nonce, an object whose __eq__ is always True) can forge a pass. The
  sandbox makes an accidental pass (sys.exit(0), os._exit(0)) impossible, not a deliberate one.
- disk_mb bounds the bytes in the work dir, not the number of empty files (kernel memory, not
  the disk): only time bounds those. Outside the cage the child writes its stdout, stderr and
  status to the host's temp dir, file_mb each at most.
- numpy, and anything else that imports ctypes, cannot be imported.
"""

from .run import (
    MAX_TIMEOUT_S,
    SandboxResult,
    SandboxUnavailable,
    isolation,
    mode_label,
    require_isolation,
    run_many,
    run_tests,
)

__all__ = [
    "MAX_TIMEOUT_S",
    "SandboxResult",
    "SandboxUnavailable",
    "isolation",
    "mode_label",
    "require_isolation",
    "run_many",
    "run_tests",
]
