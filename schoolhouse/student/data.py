"""The student's data: texts from dataset folders, Parquet or JSONL, tokenized once into memory-mapped
shards cached by a hash of the inputs and the tokenizer, with a held-out validation split.

Which documents are held out depends only on each document's text (a hash), so the split is the
same however the inputs are ordered, and a document that is also in `--anneal-data` is held out
there too. A batch is a pure function of (seed, step, micro-step): a resumed run reads exactly the
batches an uninterrupted one would have read.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .tokenizer import Tokenizer

HELDOUT_DOCS = 1000  # held-out texts kept beside the run for GPT-Eval


class DataError(ValueError):
    """An input cannot be used as training data; the message names the file and the fix."""


def source_files(source: Path) -> list[Path]:
    """The files behind one `--data` argument: a dataset folder, a folder of shards, or a file."""
    source = Path(source)
    if not source.exists():
        raise DataError(f"{source}: no such file or folder")
    if source.is_file():
        if source.suffix not in (".parquet", ".jsonl", ".json"):
            raise DataError(f"{source}: expected a .parquet or .jsonl file or a dataset folder")
        return [source]
    folder = source / "data" if (source / "data").is_dir() else source
    files = sorted(folder.glob("*.parquet")) or sorted(folder.glob("*.jsonl"))
    if not files:
        raise DataError(
            f"{source}: no Parquet or JSONL files (a dataset folder keeps them in data/)"
        )
    return files


def read_texts(sources: list[Path]) -> Iterator[str]:
    """Every non-empty `text` value of every source, streamed in order; a file that cannot be
    read is a DataError naming it (and the line, in JSONL)."""
    for source in sources:
        for path in source_files(source):
            if path.suffix == ".parquet":
                yield from _parquet_texts(path)
            else:
                yield from _jsonl_texts(path)


def _parquet_texts(path: Path) -> Iterator[str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as e:
        raise DataError(f"{path}: not a readable Parquet file ({e})") from e
    if "text" not in pf.schema_arrow.names:
        raise DataError(f"{path}: no `text` column (columns: {', '.join(pf.schema_arrow.names)})")
    batches = pf.iter_batches(columns=["text"], batch_size=4096)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except (OSError, pa.ArrowException) as e:  # a damaged page after a sound footer
            raise DataError(f"{path}: Parquet data unreadable ({e})") from None
        yield from (t for t in batch.column(0).to_pylist() if t and t.strip())


def _jsonl_texts(path: Path) -> Iterator[str]:
    with open(path, "rb") as f:
        for line_no, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise DataError(
                    f"{path}:{line_no}: not UTF-8 text ({e.reason} at byte {e.start} of the line)"
                ) from None
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{path}:{line_no}: not valid JSON ({e.msg})") from None
            if not isinstance(row, dict) or "text" not in row:
                raise DataError(f"{path}:{line_no}: no `text` field")
            if isinstance(row["text"], str) and row["text"].strip():
                yield row["text"]


def fingerprint(sources: list[Path]) -> str:
    """A hash of the inputs' bytes, in the order given."""
    h = hashlib.sha256()
    for source in sources:
        for path in source_files(source):
            h.update(path.name.encode())
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
    return h.hexdigest()[:16]


def heldout_key(text: str) -> float:
    """A document's place in [0, 1): those under --val-fraction are held out."""
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest) / 2**64


def is_heldout(text: str, fraction: float) -> bool:
    return heldout_key(text) < fraction


def val_fraction_for(
    texts: Iterable[str], min_chars: int, floor: float = 0.05, cap: float = 0.5
) -> float:
    """The smallest validation fraction (at least `floor`) whose held-out documents hold
    `min_chars` characters: a small dataset still gets a validation split to measure on."""
    total = 0
    for key, chars in sorted((heldout_key(t), len(t)) for t in texts):
        total += chars
        if total >= min_chars:
            return min(cap, max(floor, key + 1e-9))
    return cap


def cache_root() -> Path:
    return Path(os.environ.get("SCHOOLHOUSE_CACHE", "~/.cache/schoolhouse")).expanduser() / "tokens"


@dataclass
class Tokens:
    """A token stream on disk, documents separated by the end-of-text token."""

    path: Path
    dtype: str

    def array(self) -> np.ndarray:
        if self.path.stat().st_size == 0:
            return np.zeros(0, dtype=self.dtype)
        return np.memmap(self.path, dtype=self.dtype, mode="r")

    def __len__(self) -> int:
        return self.path.stat().st_size // np.dtype(self.dtype).itemsize


def tokenize(
    sources: list[Path], tokenizer: Tokenizer, val_fraction: float, *, progress: bool = False
) -> tuple[Tokens, Tokens, Path]:
    """Tokenize `sources` once into (train, val) streams plus held-out texts; cached."""
    key = hashlib.sha256(
        f"{fingerprint(sources)}|{tokenizer.hash}|{val_fraction}".encode()
    ).hexdigest()[:20]
    folder = cache_root() / key
    dtype = "uint16" if tokenizer.vocab_size <= 2**16 else "uint32"
    if not (folder / "meta.json").is_file():
        folder.parent.mkdir(parents=True, exist_ok=True)
        # this run's own temp folder (a pid can repeat on another machine sharing the cache)
        tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", suffix=".tmp", dir=folder.parent))
        try:
            _write_tokens(sources, tokenizer, val_fraction, tmp, dtype, progress)
            with contextlib.suppress(OSError):  # another process finished the same cache first
                os.replace(tmp, folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)  # ours; gone already once renamed
    return Tokens(folder / "train.bin", dtype), Tokens(folder / "val.bin", dtype), folder


def _write_tokens(sources, tokenizer, val_fraction, folder: Path, dtype: str, progress: bool):
    from tqdm import tqdm

    counts = {"train": [0, 0], "val": [0, 0]}  # docs, tokens
    bar = tqdm(desc="tokenizing", unit=" docs", disable=not progress)
    with (
        open(folder / "train.bin", "wb") as train,
        open(folder / "val.bin", "wb") as val,
        open(folder / "heldout.jsonl", "w") as heldout,
    ):
        batch: list[str] = []

        def flush():
            for text, ids in zip(batch, tokenizer.encode_batch(batch), strict=True):
                split = "val" if is_heldout(text, val_fraction) else "train"
                arr = np.array([*ids, tokenizer.eot], dtype=dtype)
                arr.tofile(val if split == "val" else train)
                counts[split][0] += 1
                counts[split][1] += len(arr)
                if split == "val" and counts["val"][0] <= HELDOUT_DOCS:
                    heldout.write(json.dumps({"text": text}) + "\n")
            bar.update(len(batch))
            batch.clear()

        for text in read_texts(sources):
            batch.append(text)
            if len(batch) == 1024:
                flush()
        flush()
    bar.close()
    meta = {k: {"docs": d, "tokens": t} for k, (d, t) in counts.items()}
    (folder / "meta.json").write_text(json.dumps(meta | {"dtype": dtype}, indent=2))


def draw(tokens: np.ndarray, rng: np.random.Generator, batch: int, seq_len: int):
    """`batch` random windows of seq_len+1 tokens: (inputs, targets) as int64 arrays."""
    starts = rng.integers(0, len(tokens) - seq_len - 1, size=batch)
    windows = np.stack([tokens[s : s + seq_len + 1] for s in starts]).astype(np.int64)
    return windows[:, :-1], windows[:, 1:]


class Batches:
    """Training batches as a pure function of (step, micro): the data order survives a resume."""

    def __init__(
        self,
        train: np.ndarray,
        batch_size: int,
        seq_len: int,
        seed: int,
        anneal: np.ndarray | None = None,
        anneal_mix: float = 0.0,
        rank: int = 0,
    ):
        for name, arr in (("training", train), ("annealing", anneal)):
            if arr is not None and len(arr) < seq_len + 2:
                raise DataError(
                    f"the {name} data has {len(arr)} tokens, fewer than one sequence of "
                    f"{seq_len + 1}: add data or lower --seq-len"
                )
        self.train, self.anneal, self.anneal_mix = train, anneal, anneal_mix
        self.batch_size, self.seq_len, self.seed, self.rank = batch_size, seq_len, seed, rank

    def get(self, step: int, micro: int, annealing: bool = False):
        rng = np.random.default_rng([self.seed, step, micro, self.rank])
        x, y = draw(self.train, rng, self.batch_size, self.seq_len)
        if annealing and self.anneal is not None and self.anneal_mix > 0:
            # MiniCPM (Hu et al. 2024): mix the best data into the decay phase only
            mask = rng.random(self.batch_size) < self.anneal_mix
            if mask.any():
                ax, ay = draw(self.anneal, rng, int(mask.sum()), self.seq_len)
                x[mask], y[mask] = ax, ay
        return x, y


def eval_windows(tokens: np.ndarray, seq_len: int, max_windows: int):
    """Consecutive, non-overlapping windows over the validation stream (the same every time)."""
    n = min(max_windows, (len(tokens) - 1) // seq_len)
    if n < 1:
        raise DataError(
            f"the validation split has {len(tokens)} tokens, fewer than one sequence of "
            f"{seq_len + 1}: add data, raise --val-fraction or lower --seq-len"
        )
    idx = np.arange(n)[:, None] * seq_len + np.arange(seq_len + 1)[None, :]
    windows = np.asarray(tokens[idx], dtype=np.int64)
    return windows[:, :-1], windows[:, 1:]
