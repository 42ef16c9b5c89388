"""One rule for every `--out`: a new path, or this same job's own folder to resume or redo.

    with locked(out):                      # a second run on the same --out is refused
        check_new_or_own(out, "pretrain")  # a folder another command made is refused
        ...
    in_place(out, write, "merge")          # both, then a per-run temp folder renamed into place

No command deletes or overwrites a folder it did not create. A folder a command wrote carries
`.schoolhouse/owner.json` naming the command and, where the command records them, the settings
it was made with (`check_new_or_own(..., settings=)` refuses a rerun with other ones, naming the
flags); a dataset folder's `.schoolhouse/job.json` (`folder.DatasetFolder`) is its job's.
Anything else that exists and is not an empty folder is refused with a one-line error naming it,
before anything is written.

The lock is `fcntl.flock` on the folder itself, held for the run and released by the kernel when
the process ends, however it ends: nothing is written outside the folder. A folder (and parent
folders) that `locked` had to create is removed again when the run fails while they still hold
nothing but marks, so a refused or failed run leaves the disk as it found it. Temp folders have
unique names (`mkdtemp`) beside `out`; the run that made one removes it, and one that a killed
run left is removed by the next run that takes the lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

OWNER = Path(".schoolhouse") / "owner.json"


class OutError(ValueError):
    """The --out path cannot take this run; nothing there was changed."""


def _mark_of(folder: Path) -> dict:
    try:
        found = json.loads((folder / OWNER).read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def owner(folder: Path) -> str | None:
    """The command that made `folder`, from its mark; None when unmarked or unreadable."""
    return _mark_of(folder).get("command")


def settings_of(folder: Path) -> dict | None:
    """The settings `folder` was made with, where its command recorded them."""
    return _mark_of(folder).get("settings")


def mark(folder: Path, command: str, settings: dict | None = None) -> None:
    """Sign `folder` as `command`'s (atomically: a kill never leaves half a mark)."""
    path = folder / OWNER
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"command": command} | ({"settings": settings} if settings is not None else {})
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(body, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)


# Where and how fast a run works, never what it makes: every rerun may change these.
WHERE = ("runner", "actors", "workers", "device", "concurrency", "kv_cache_gib")


def flag(key: str) -> str:
    """The command-line flag of a settings key: `vocab_size` -> `--vocab-size`. Keys that
    record what a job is or read (`kind`, a file's `*_sha`) are no flags: named as they are."""
    if key == "kind" or key.endswith(("_sha", "_hash")):
        return key
    return "--" + key.replace("_", "-")


def settings_differ(out: Path, saved: dict, now: dict, may_change: tuple[str, ...] = ()) -> str:
    """'' when `now` may reuse a folder made with `saved`, else a one-line reason naming the
    flags that differ. `WHERE` and the keys in `may_change` may differ on a rerun; the reason
    names the command's own ones."""
    free = set(WHERE) | set(may_change)
    keys = sorted(k for k in saved.keys() | now.keys()
                  if k not in free and saved.get(k) != now.get(k))  # fmt: skip
    if not keys:
        return ""
    shown = ", ".join(f"{flag(k)} {saved.get(k)!r} there, {now.get(k)!r} now" for k in keys)
    own = [flag(k) for k in may_change if k not in WHERE]
    may = f" ({', '.join(own)} may change)" if own else ""
    return (
        f"{out} was made with other settings ({shown}): rerun with the same settings to "
        f"resume{may}, or choose a new --out"
    )


def check_run(
    out: Path,
    command: str,
    now: dict,
    saved: dict | None = None,
    may_change: tuple[str, ...] = (),
    error: type[Exception] = OutError,
    also_own: Callable[[Path], bool] | None = None,
) -> None:
    """The one settings check of every run folder (dataset folders, pretrain, the pipeline,
    the experiment, self-training), before anything is written: a folder that records the
    settings it was made with (`saved`: its own settings file, else its mark's) takes a rerun
    whose settings `now` equal them but for `WHERE` and `may_change`; any other folder must be
    new, empty, or `command`'s (`check_new_or_own`). Raises `error` with a one-line reason that
    names every flag that differs."""
    out = Path(out)
    try:
        if saved is None:
            check_new_or_own(out, command, also_own, settings=now, may_change=may_change)
            return
        if not out.is_dir() or out.is_symlink():
            raise OutError(
                f"{out} exists and is not a folder this command made: choose a new --out"
            )
        reason = settings_differ(out, saved, now, may_change)
        if reason:
            raise OutError(reason)
    except OutError as e:
        if error is OutError:
            raise
        raise error(str(e)) from None


def holds_only(*names: str) -> Callable[[Path], bool]:
    """`also_own` for a command whose folders, made before marks existed, hold exactly `names`."""
    return lambda folder: {p.name for p in folder.iterdir()} == set(names)


def check_new_or_own(
    out: Path,
    command: str,
    also_own: Callable[[Path], bool] | None = None,
    *,
    settings: dict | None = None,
    may_change: tuple[str, ...] = (),
):
    """Raise OutError unless `out` does not exist, is an empty folder, or was made by
    `command` (its mark, or `also_own(out)` for folders made before marks existed) with the
    same `settings` where both this run and the folder's mark have them."""
    out = Path(out)
    if not out.exists() and not out.is_symlink():
        if out.parent.exists() and not out.parent.is_dir():
            raise OutError(f"{out.parent} is not a folder: choose another --out")
        return
    if not out.is_dir() or out.is_symlink():
        raise OutError(f"{out} exists and is not a folder this command made: choose a new --out")
    if not any(out.iterdir()):
        return
    if owner(out) == command:
        saved = settings_of(out)
        if settings is not None and saved is not None:
            reason = settings_differ(out, saved, settings, may_change)
            if reason:
                raise OutError(reason)
        return
    if also_own and also_own(out):
        return
    made_by = owner(out)
    by = f"`schoolhouse {made_by}`" if made_by else "something other than schoolhouse"
    raise OutError(
        f"{out} already exists and was made by {by}, not `schoolhouse {command}`: "
        "refusing to overwrite it; choose a new --out"
    )


def _make(out: Path) -> list[Path]:
    """Create `out` and its missing parents; return those this call created, outermost first."""
    missing = [p for p in (out, *out.parents) if not p.exists() and not p.is_symlink()]
    missing.reverse()
    for p in missing:
        try:
            p.mkdir()
        except FileExistsError:
            pass  # another run made it in between: not ours to remove
        except NotADirectoryError:
            raise OutError(f"{p.parent} is not a folder: choose another --out") from None
    return missing


def holds_nothing(folder: Path) -> bool:
    """Empty, or nothing but its mark (`.schoolhouse/owner.json` records who made it)."""
    try:
        entries = list(folder.iterdir())
        if not entries:
            return True
        marks = folder / OWNER.parent
        return entries == [marks] and all(p.name == OWNER.name or p.name.startswith(".")
                                          for p in marks.iterdir())  # fmt: skip
    except OSError:
        return False


def _unmake(created: list[Path]) -> None:
    """Remove the folders `_make` created, innermost first, while they hold nothing."""
    for p in reversed(created):
        if p.is_dir() and holds_nothing(p):
            shutil.rmtree(p, ignore_errors=True)
        else:
            break


@contextlib.contextmanager
def locked(out: Path, *, file: bool = False) -> Iterator[None]:
    """Hold the lock of `out`, or raise OutError at once. `out` (a folder, or with `file` a
    file that is replaced by renaming onto it) is created with missing parents to hold the
    lock; a run that fails while what it created holds nothing (but marks) removes it again."""
    out = Path(out)
    if out.is_symlink() or (out.exists() and out.is_dir() == file):
        what = "a folder" if file else "not a folder this command made"
        raise OutError(f"{out} exists and is {what}: choose a new --out")
    existed = out.exists()
    created = _make(out.parent if file else out)
    try:
        if file:
            fd = os.open(out, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
        else:
            fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as e:
        _unmake(created)
        raise OutError(f"{out}: cannot open it ({e.strerror}): choose another --out") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutError(
                f"{out} is being written by another run: wait for it to finish or choose a "
                "new --out"
            ) from None
        clear_stale(out)
        try:
            yield
        except BaseException:
            if file and not existed and out.is_file() and out.stat().st_size == 0:
                out.unlink()  # the empty file that held the lock
            _unmake(created)
            raise
    finally:
        os.close(fd)  # releases the lock


def clear_stale(out: Path) -> None:
    """Remove the temp folders a killed run on `out` left beside it. Only under `out`'s lock:
    every run that could own one has ended, however it ended."""
    for stale in out.parent.glob(f".{glob.escape(out.name)}.tmp-*"):
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)


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
