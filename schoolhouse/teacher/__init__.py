"""One teacher interface, real backends behind it.

    spec = resolve_teacher("embedded" | DIR | "URL[,URL]")   # checked, nothing started
    with teacher_for(spec, None, True, config) as teacher:    # started, closed when done
        for completion in teacher.generate(requests): ...

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
    "teacher_for",
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


@contextmanager
def teacher_for(
    spec: TeacherSpec,
    given: Teacher | None,
    needed: bool,
    config,
    options: dict | None = None,
    check: Callable[[Teacher], None] | None = None,
    opener: Callable[[TeacherSpec, dict], Teacher] | None = None,
) -> Iterator[Teacher | None]:
    """The given teacher; else, when there is work (`needed`), one opened from `spec` with the
    job config's engine settings (by `opener(spec, settings)` when given: a Ray cluster's
    actors under `--runner ray`), checked by `check` before any work, closed after. None when
    there is no work and no teacher was given."""
    if given is not None or not needed:
        yield given
        return
    settings = {"concurrency": config.concurrency, "kv_cache_gib": config.kv_cache_gib,
                "seed": config.seed}  # fmt: skip
    settings |= options or {}
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
