"""One teacher interface, real backends behind it.

    spec = resolve_teacher("embedded" | DIR | "URL[,URL]")   # checked, nothing started
    with opened(spec, settings_of(config)) as teacher:        # started, closed when done
        for completion in teacher.generate(requests): ...

Every place that starts a teacher does it through `opened`: the job skeleton (`jobrun.py`),
the main job, self-training, the experiment's and the student's grader.

Embedded teachers: `embedded` (SmolLM2-135M-Instruct, stories) and `embedded-coder`
(Qwen2.5-Coder-0.5B-Instruct, code).

Resolving a spec checks it (the folder holds a model, the servers answer) without starting an
engine, so bad input fails in a second, before any work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .base import Completion, Request, Sampling, Teacher, TeacherError, request_seed
from .embedded import EMBEDDED

__all__ = [
    "Completion",
    "Request",
    "Sampling",
    "Teacher",
    "TeacherError",
    "TeacherSpec",
    "request_seed",
    "resolve_teacher",
    "Lent",
    "opened",
    "settings_of",
]


@dataclass(frozen=True)
class TeacherSpec:
    kind: str  # "embedded" | "folder" | "http"
    target: str  # embedded name, folder path, or comma-separated base URLs
    name: str  # what rows record as the teacher

    def open(self, **options) -> Teacher:
        if self.kind == "http":
            from .http import HTTPTeacher

            http_keys = {"concurrency", "timeout", "retries", "backoff", "api_key"}
            return HTTPTeacher(
                self.target.split(","),
                self.name,
                **{k: v for k, v in options.items() if k in http_keys},
            )
        from .engine import EngineTeacher

        folder = self.target
        if self.kind == "embedded":
            from .embedded import model_dir

            folder = model_dir(self.target)
        engine_keys = {"kv_cache_gib", "window", "seed", "max_model_len", "gpu_memory_utilization",
                       "dtype"}  # fmt: skip
        return EngineTeacher(
            folder, self.name, **{k: v for k, v in options.items() if k in engine_keys}
        )


# the settings a job config may carry that reach the engine or the HTTP client
SETTINGS = ("concurrency", "kv_cache_gib", "seed")

Opener = Callable[[TeacherSpec, dict], Teacher]


def settings_of(config, **more) -> dict:
    """The teacher settings a job config carries (those of `SETTINGS` it has), with `more`."""
    return {k: getattr(config, k) for k in SETTINGS if getattr(config, k, None) is not None} | more


class Lent:
    """A teacher lent to one job by its owner (the main job's engine, shared by its steps):
    the job uses it as its own, and its `close` leaves it open for the owner to close."""

    def __init__(self, teacher: Teacher):
        self._teacher = teacher

    def __getattr__(self, name: str):
        return getattr(self._teacher, name)

    def close(self) -> None:
        pass


@contextmanager
def opened(
    spec: TeacherSpec | str,
    settings: dict | None = None,
    *,
    given: Teacher | None = None,
    needed: bool = True,
    check: Callable[[Teacher], None] | None = None,
    opener: Opener | None = None,
) -> Iterator[Teacher | None]:
    """A teacher's one lifetime: the `given` teacher (never closed here); else, when there is
    work (`needed`), one opened from `spec` (a spec string is resolved first) with `settings`
    (engine and HTTP settings, `settings_of(config)`), by `opener(spec, settings)` when one is
    handed in (the composition layer's Ray actors under `--runner ray`), checked by `check`
    before any work and closed after, however the work ends. None when there is no work and
    no teacher was given."""
    if given is not None or not needed:
        yield given
        return
    if isinstance(spec, str):
        spec = resolve_teacher(spec)
    settings = dict(settings or {})
    teacher = opener(spec, settings) if opener is not None else spec.open(**settings)
    try:
        if check is not None:
            check(teacher)
        yield teacher
    finally:
        teacher.close()


def resolve_teacher(spec: str) -> TeacherSpec:
    spec = spec.strip()
    if spec in EMBEDDED:
        from .embedded import part_paths

        model = EMBEDDED[spec]
        part_paths(model)  # the packages that ship it are installed
        return TeacherSpec("embedded", spec, f"{model.hub_id} (embedded GGUF {model.sha256[:12]})")
    if spec.startswith(("http://", "https://")):
        urls = [u.strip().rstrip("/") for u in spec.split(",") if u.strip()]
        bad = [u for u in urls if not u.startswith(("http://", "https://"))]
        if bad:
            raise TeacherError(f"--teacher: {bad[0]!r} is not an http(s) URL")
        from .http import HTTPTeacher

        probe = HTTPTeacher(urls)  # every server answers /models, or this raises
        probe.close()
        return TeacherSpec("http", ",".join(urls), probe.name)
    folder = Path(spec).expanduser()
    if not folder.is_dir():
        raise TeacherError(
            f"--teacher: {spec!r} is neither 'embedded', an http(s) URL, "
            "nor an existing model folder"
        )
    if not (folder / "config.json").is_file():
        raise TeacherError(
            f"--teacher: {folder} has no config.json; point it at a Hugging Face "
            "model folder (config.json + safetensors)"
        )
    return TeacherSpec("folder", str(folder.resolve()), folder.resolve().name)
