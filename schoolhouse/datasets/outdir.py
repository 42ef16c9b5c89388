"""One rule for every `--out`: a new path, or this same job's own folder to resume or redo.

    with locked(out):                      # a second run on the same --out is refused
        check_new_or_own(out, "pretrain")  # a folder another command made is refused
        ...
    in_place(out, write, "merge")          # both, then a per-run temp folder renamed into place

No command deletes or overwrites a folder it did not create. A folder a command wrote carries
`.schoolhouse/owner.json` naming the command; a dataset folder's `.schoolhouse/job.json`
(`folder.DatasetFolder`) is its job's. Anything else that exists and is not an empty folder is
refused with a one-line error naming it. The lock is `fcntl.flock` on a hidden sibling file,
`.NAME.lock`, held for the run and released by the kernel when the process ends, however it
ends; the file stays (removing it would let two runs lock two different files). Temp folders
have unique names (`mkdtemp`) and only the run that made one removes it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

OWNER = Path(".schoolhouse") / "owner.json"


class OutError(ValueError):
    """The --out path cannot take this run; nothing there was changed."""


def owner(folder: Path) -> str | None:
    """The command that made `folder`, from its mark; None when unmarked or unreadable."""
    try:
        return json.loads((folder / OWNER).read_text()).get("command")
    except (OSError, ValueError, AttributeError):
        return None


def mark(folder: Path, command: str) -> None:
    (folder / OWNER).parent.mkdir(parents=True, exist_ok=True)
    (folder / OWNER).write_text(json.dumps({"command": command}) + "\n")


def holds_only(*names: str) -> Callable[[Path], bool]:
    """`also_own` for a command whose folders, made before marks existed, hold exactly `names`."""
    return lambda folder: {p.name for p in folder.iterdir()} == set(names)


def check_new_or_own(out: Path, command: str, also_own: Callable[[Path], bool] | None = None):
    """Raise OutError unless `out` does not exist, is an empty folder, or was made by
    `command` (its mark, or `also_own(out)` for folders made before marks existed)."""
    out = Path(out)
    if not out.exists() and not out.is_symlink():
        return
    if not out.is_dir() or out.is_symlink():
        raise OutError(f"{out} exists and is not a folder this command made: choose a new --out")
    if not any(out.iterdir()) or owner(out) == command or (also_own and also_own(out)):
        return
    made_by = owner(out)
    by = f"`schoolhouse {made_by}`" if made_by else "something other than schoolhouse"
    raise OutError(
        f"{out} already exists and was made by {by}, not `schoolhouse {command}`: "
        "refusing to overwrite it; choose a new --out"
    )


@contextlib.contextmanager
def locked(out: Path) -> Iterator[None]:
    """Hold the lock of `out` (creating its parent folders), or raise OutError at once."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    lock = out.parent / f".{out.name}.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutError(
                f"{out} is being written by another run (lock {lock}): wait for it to finish "
                "or choose a new --out"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)  # releases the lock


def temp_sibling(out: Path) -> Path:
    """A new hidden folder next to `out`, unique to this run (same file system: rename works)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))


def in_place(
    out: Path,
    write: Callable[[Path], None],
    command: str,
    also_own: Callable[[Path], bool] | None = None,
) -> None:
    """Write a whole folder through a per-run temp sibling and rename it into place. An
    existing `out` is replaced only when `command` made it; anything else is refused before
    `write` runs."""
    out = Path(out)
    with locked(out):
        check_new_or_own(out, command, also_own)
        tmp = temp_sibling(out)
        try:
            write(tmp)
            mark(tmp, command)
            if out.exists() and any(out.iterdir()):
                old = temp_sibling(out)
                os.rename(out, old / "old")  # ours (checked above, under the lock)
                try:
                    os.rename(tmp, out)
                except OSError:
                    os.rename(old / "old", out)
                    raise
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.rename(tmp, out)  # onto nothing, or onto an empty folder
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
