"""Documents from files: JSONL, Parquet, schoolhouse dataset folders, text folders and WARC.

    reader = DocumentReader(max_bytes=1_000_000)
    for doc in reader.read("crawl.warc.gz", "shards/", "pages.jsonl"):
        ...
    reader.skipped   # Counter({"empty": 3, "too_large": 1, "warc_broken_record": 1})
    reader.repaired  # Counter({"invalid_utf8": 2})

Every reader is a generator and memory stays flat however large the input: JSONL line by line
(a line is read at most a bounded number of bytes at a time), Parquet by row batch, WARC record
by record. A bad document is counted and skipped and the rest is read; a file that cannot be
read at all (a truncated Parquet file) raises `ReadError` naming it. Decisions:

- Bytes that are not UTF-8 are decoded with U+FFFD replacements and counted in
  `repaired["invalid_utf8"]`; the document is kept (a mostly-garbage one fails the Gopher
  alpha-word filter later, where the drop is counted with the other quality drops).
- Empty or whitespace-only text is skipped as `empty`.
- Text over `max_bytes` (UTF-8) is skipped as `too_large`, never truncated: a cut document is
  not the document, and Gopher drops anything over 100,000 words (~600 KB of English) anyway.
- A JSONL line that is not a JSON object is skipped as `bad_json` and one without a string
  `text` as `missing_text`, logged with its file and line; `strict=True` raises `ReadError`
  naming the file and line instead.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from schoolhouse.datasets.records import Document, content_id

log = logging.getLogger(__name__)

TEXT_SUFFIXES = (".txt", ".md")
SUFFIXES = (".jsonl", ".jsonl.gz", ".parquet", ".warc", ".warc.gz", *TEXT_SUFFIXES)
SURROGATE = re.compile("[\ud800-\udfff]")
LOGGED_LINES = 10  # bad JSONL lines logged per file; the rest are only counted


class ReadError(ValueError):
    """A file that cannot be read at all (or, with strict=True, a bad line in one)."""


def suffix(path: Path) -> str:
    name = path.name.lower()
    return next((s for s in SUFFIXES if name.endswith(s)), path.suffix.lower())


class DocumentReader:
    """Reads documents from files and folders, counting what it skips and why."""

    def __init__(
        self,
        max_bytes: int = 1_000_000,
        text_key: str = "text",
        id_key: str = "id",
        strict: bool = False,
        batch_rows: int = 1024,
    ):
        self.max_bytes, self.strict, self.batch_rows = max_bytes, strict, batch_rows
        self.text_key, self.id_key = text_key, id_key
        self.skipped: Counter[str] = Counter()
        self.repaired: Counter[str] = Counter()
        self.documents = 0

    # -- dispatch ----------------------------------------------------------------------------
    def read(self, *paths: Path | str) -> Iterator[Document]:
        for path in map(Path, paths):
            if path.is_dir():
                yield from self.folder(path)
            elif not path.exists():
                raise ReadError(f"{path}: no such file or folder")
            else:
                yield from self.file(path)

    def file(self, path: Path) -> Iterator[Document]:
        kind = suffix(path)
        if kind in (".jsonl", ".jsonl.gz"):
            return self.jsonl(path)
        if kind == ".parquet":
            return self.parquet(path)
        if kind in (".warc", ".warc.gz"):
            return self.warc(path)
        if kind in TEXT_SUFFIXES:
            return self.text_file(path)
        raise ReadError(f"{path}: unknown format (expected one of {', '.join(SUFFIXES)})")

    def folder(self, root: Path) -> Iterator[Document]:
        """A schoolhouse dataset folder (its data/ shards), or every known file below `root`."""
        for path in folder_files(root):
            yield from self.file(path)

    # -- one document ------------------------------------------------------------------------
    def skip(self, reason: str) -> None:
        self.skipped[reason] += 1

    def decode(self, data: bytes) -> str:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            self.repaired["invalid_utf8"] += 1
            return data.decode("utf-8", errors="replace")

    def document(
        self, text: str, id: Any, source: str, metadata: dict[str, Any]
    ) -> Document | None:
        """The document, or None with the skip counted."""
        if not text.strip():
            self.skip("empty")
            return None
        size = len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
        if size > self.max_bytes:
            self.skip("too_large")
            return None
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:  # lone surrogates, e.g. from a "\ud800" JSON escape
                self.repaired["invalid_utf8"] += 1
                text = SURROGATE.sub("\ufffd", text)
        self.documents += 1
        doc_id = str(id) if id not in (None, "") else content_id(text)
        return Document(id=doc_id, text=text, source=source, metadata=metadata)

    # -- formats -----------------------------------------------------------------------------
    def jsonl(self, path: Path) -> Iterator[Document]:
        # JSON escapes a character in at most 6 bytes ("\u00e9" for a 2-byte "é"): a line past
        # this limit holds more than max_bytes of text and is skipped without being kept whole.
        limit = 6 * self.max_bytes + 65536
        opener = gzip.open if path.name.lower().endswith(".gz") else open
        bad = 0
        with opener(path, "rb") as f:
            for number, line in enumerate(_lines(f, limit), start=1):
                if line is None:
                    self.skip("too_large")
                    continue
                if not line.strip():
                    continue
                row, problem = self._parse(line)
                if problem:
                    if self.strict:
                        raise ReadError(f"{path}:{number}: {problem.replace('_', ' ')}")
                    bad += 1
                    if bad <= LOGGED_LINES:
                        log.warning("%s:%d: skipped (%s)", path, number, problem)
                    self.skip(problem)
                    continue
                text, doc_id = row.pop(self.text_key), row.pop(self.id_key, None)
                doc = self.document(text, doc_id, str(path), {"line": number, **row})
                if doc:
                    yield doc

    def _parse(self, line: bytes) -> tuple[dict, str | None]:
        try:
            row = json.loads(self.decode(line))
        except ValueError:
            return {}, "bad_json"
        if not isinstance(row, dict):
            return {}, "bad_json"
        if not isinstance(row.get(self.text_key), str):
            return row, "missing_text"
        return row, None

    def parquet(self, path: Path) -> Iterator[Document]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            shard = pq.ParquetFile(path)
        except (OSError, pa.ArrowException) as e:
            raise ReadError(f"{path}: not a readable Parquet file ({e})") from None
        names = shard.schema_arrow.names
        if self.text_key not in names:
            raise ReadError(f"{path}: no {self.text_key!r} column (columns: {', '.join(names)})")
        rows = 0
        batches = shard.iter_batches(batch_size=self.batch_rows)
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                return
            except (OSError, pa.ArrowException) as e:
                raise ReadError(f"{path}: Parquet data unreadable after row {rows} ({e})") from None
            for row in batch.to_pylist():
                rows += 1
                text, doc_id = row.pop(self.text_key), row.pop(self.id_key, None)
                if isinstance(text, bytes):
                    text = self.decode(text)
                doc = self.document(text or "", doc_id, str(path), {"row": rows - 1, **row})
                if doc:
                    yield doc

    def text_file(self, path: Path) -> Iterator[Document]:
        if path.stat().st_size > self.max_bytes:
            self.skip("too_large")
            return
        doc = self.document(self.decode(path.read_bytes()), None, str(path), {})
        if doc:
            yield doc

    def warc(self, path: Path) -> Iterator[Document]:
        from schoolhouse.datasets.warc import read_warc

        return read_warc(path, self)


def folder_files(root: Path) -> list[Path]:
    """The files `DocumentReader.folder` reads, in its order: a dataset folder's data/ shards, or
    every file with a known suffix below `root`. Hidden files and folders below `root` are never
    input: they hold a run's temp and staging shards (`.OUT.tmp-*/`) and marks (`.schoolhouse/`)."""
    shards = sorted(p for p in (root / "data").glob("*.parquet") if not p.name.startswith("."))
    if shards:
        return shards
    files = []
    for folder, subfolders, names in os.walk(root):  # symlinked folders are not entered
        subfolders[:] = [d for d in subfolders if not d.startswith(".")]
        files += [Path(folder, n) for n in names if not n.startswith(".")]
    return sorted(p for p in files if suffix(p) in SUFFIXES and p.is_file())


def input_files(*paths: Path | str) -> list[Path]:
    """Every file `DocumentReader.read(*paths)` reads, in its order: the shards of a parallel run."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files += folder_files(path)
        elif not path.exists():
            raise ReadError(f"{path}: no such file or folder")
        else:
            files.append(path)
    return files


def _lines(f, limit: int) -> Iterator[bytes | None]:
    """Lines of a binary file; None for a line longer than `limit`, which is read past in
    bounded chunks and never held whole."""
    while line := f.readline(limit):
        if len(line) == limit and not line.endswith(b"\n"):
            while (rest := f.readline(1 << 20)) and not rest.endswith(b"\n"):
                pass
            yield None
        else:
            yield line


def check_web_inputs(paths: list[Path]) -> None:
    """Every --web input is there and is what the web readers read (a known suffix, or a folder
    holding such files), and each of its files opens: a ValueError naming the first that is
    not. Parquet files are read to their schema (a `text` column), other files to one byte."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for path in map(Path, paths):
        if path.is_dir():
            files = folder_files(path)
            if not files:
                raise ValueError(
                    f"--web {path}: no file the web readers read in this folder (a dataset "
                    f"folder's data/*.parquet, or files ending {', '.join(SUFFIXES)})"
                )
        elif not path.exists():
            raise ValueError(f"--web {path}: no such file or folder")
        elif suffix(path) not in SUFFIXES:
            raise ValueError(
                f"--web {path}: unknown format (expected a folder or one of {', '.join(SUFFIXES)})"
            )
        else:
            files = [path]
        for file in files:
            if suffix(file) != ".parquet":
                try:
                    with open(file, "rb") as f:
                        f.read(1)
                except OSError as e:
                    raise ValueError(f"--web {file}: cannot be read ({e.strerror or e})") from None
                continue
            try:
                names = pq.read_schema(file).names
            except (OSError, pa.ArrowException) as e:
                raise ValueError(f"--web {file}: not a readable Parquet file ({e})") from None
            if "text" not in names:
                raise ValueError(f"--web {file}: no 'text' column (columns: {', '.join(names)})")
