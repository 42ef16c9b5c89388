import gzip
import io
import json
import logging
import tracemalloc
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from schoolhouse.datasets.readers import DocumentReader, ReadError
from schoolhouse.datasets.records import content_id

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "web"
MB = 1 << 20


def fixture_rows(name: str = "documents.jsonl") -> list[dict]:
    return [json.loads(line) for line in (FIXTURES / name).read_text().splitlines()]


def write_jsonl(path: Path, lines: list[bytes | str]) -> Path:
    path.write_bytes(b"".join((x.encode() if isinstance(x, str) else x) + b"\n" for x in lines))
    return path


def test_jsonl_keeps_ids_text_and_other_fields():
    reader = DocumentReader()
    docs = list(reader.read(FIXTURES / "bad.jsonl"))
    rows = fixture_rows("bad.jsonl")
    assert [d.text for d in docs] == [r["text"] for r in rows]
    assert docs[0].id == content_id(rows[0]["text"]) and docs[0].id.startswith("sha1-")
    assert docs[0].metadata == {"line": 1, "expect": rows[0]["expect"], "source": rows[0]["source"]}
    assert docs[0].source == str(FIXTURES / "bad.jsonl")
    ids = [d.id for d in DocumentReader().read(FIXTURES / "documents.jsonl")]
    assert ids == [r["id"] for r in fixture_rows()]
    assert reader.documents == len(rows) and not reader.skipped


def test_jsonl_gz_is_read(tmp_path):
    path = tmp_path / "docs.jsonl.gz"
    path.write_bytes(gzip.compress((FIXTURES / "documents.jsonl").read_bytes()))
    assert len(list(DocumentReader().read(path))) == len(fixture_rows())


def test_bad_jsonl_lines_are_counted_and_named(tmp_path, caplog):
    text = fixture_rows()[0]["text"]
    path = write_jsonl(
        tmp_path / "mixed.jsonl",
        [json.dumps({"text": text}), '{"text": "cut sh', "", '{"body": "no text key"}', "[1, 2]"],
    )
    reader = DocumentReader()
    with caplog.at_level(logging.WARNING, logger="schoolhouse.datasets.readers"):
        docs = list(reader.read(path))
    assert [d.text for d in docs] == [text]
    assert reader.skipped == {"bad_json": 2, "missing_text": 1}
    assert f"{path}:2: skipped (bad_json)" in caplog.text
    assert f"{path}:4: skipped (missing_text)" in caplog.text
    with pytest.raises(ReadError, match=rf"{path}:2: bad json"):
        list(DocumentReader(strict=True).read(path))


def test_invalid_utf8_is_replaced_and_counted(tmp_path):
    # Latin-1 bytes inside UTF-8 files, as scrapers write them: "Pythön" as b"Pyth\xf6n".
    text = fixture_rows()[1]["text"].replace("Python", "Pythön")
    latin1 = json.dumps({"text": text}, ensure_ascii=False).encode().replace("ö".encode(), b"\xf6")
    path = write_jsonl(tmp_path / "latin1.jsonl", [latin1])
    latin1 = text.encode("latin-1", "replace")
    (tmp_path / "page.txt").write_bytes(latin1)
    (tmp_path / "lone.jsonl").write_text('{"text": "half a pair \\ud800 here"}\n')
    reader = DocumentReader()
    docs = list(reader.read(path, tmp_path / "page.txt", tmp_path / "lone.jsonl"))
    assert len(docs) == 3 and reader.repaired == {"invalid_utf8": 3}
    assert "Pyth\ufffdn" in docs[1].text and docs[2].text == "half a pair \ufffd here"
    for doc in docs:
        doc.text.encode("utf-8")  # strict: whatever a reader yields can be written as UTF-8


def test_empty_documents_are_skipped(tmp_path):
    path = write_jsonl(
        tmp_path / "e.jsonl", ['{"text": ""}', '{"text": " \\n\\t "}', '{"text": "x"}']
    )
    (tmp_path / "blank.md").write_text("\n\n   \n")
    reader = DocumentReader()
    assert [d.text for d in reader.read(path, tmp_path / "blank.md")] == ["x"]
    assert reader.skipped == {"empty": 3}


def test_a_50_mb_document_is_skipped_without_being_held(tmp_path):
    page = fixture_rows()[0]["text"]
    huge = (page + "\n") * (50 * MB // len(page))
    path = write_jsonl(
        tmp_path / "huge.jsonl", [json.dumps({"text": page}), json.dumps({"text": huge}), "{}"]
    )
    (tmp_path / "huge.txt").write_text(huge)
    del huge
    reader = DocumentReader(max_bytes=MB)
    tracemalloc.start()
    docs = list(reader.read(path, tmp_path / "huge.txt"))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert [d.text for d in docs] == [page]
    assert reader.skipped == {"too_large": 2, "missing_text": 1}
    assert peak < 16 * MB, f"peak {peak / MB:.0f} MB while reading a 50 MB line"


def write_parquet(path: Path, rows: list[dict], row_group_size: int = 8) -> Path:
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=row_group_size)
    return path


def test_parquet_is_read_batch_by_batch(tmp_path):
    rows = [{"id": r["id"], "text": r["text"], "lang": "en"} for r in fixture_rows()]
    rows[3]["id"] = None
    rows[5]["text"] = "  "
    path = write_parquet(tmp_path / "docs.parquet", rows)
    reader = DocumentReader(batch_rows=5)
    docs = list(reader.read(path))
    assert len(docs) == len(rows) - 1 and reader.skipped == {"empty": 1}
    assert docs[0].id == rows[0]["id"] and docs[0].metadata == {"row": 0, "lang": "en"}
    assert docs[3].id == content_id(rows[3]["text"])


def test_truncated_or_corrupt_parquet_fails_naming_the_file(tmp_path):
    rows = [{"text": r["text"]} for r in fixture_rows()]
    data = write_parquet(tmp_path / "good.parquet", rows).read_bytes()
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ReadError, match=rf"{cut}: not a readable Parquet file"):
        list(DocumentReader().read(cut))
    garbled = bytearray(data)
    garbled[100:4000] = b"\x00" * 3900  # the footer survives, the first pages do not
    bad = tmp_path / "garbled.parquet"
    bad.write_bytes(garbled)
    with pytest.raises(ReadError, match=rf"{bad}: Parquet data unreadable"):
        list(DocumentReader().read(bad))
    write_parquet(tmp_path / "no_text.parquet", [{"body": "x"}])
    with pytest.raises(ReadError, match="no 'text' column"):
        list(DocumentReader().read(tmp_path / "no_text.parquet"))


def test_a_schoolhouse_dataset_folder_reads_only_its_kept_rows(tmp_path):
    from schoolhouse.datasets.folder import DatasetFolder

    schema = pa.schema([("id", pa.string()), ("index", pa.int64()), ("text", pa.string())])
    folder = DatasetFolder(
        tmp_path / "stories", schema, schema.append(pa.field("reason", pa.string()))
    )
    folder.open({"job": "test"})
    rows = fixture_rows()[:6]
    for i, r in enumerate(rows):
        folder.append(
            {"id": r["id"], "index": i, "text": r["text"], "reason": "x" if i % 2 else None}
        )
    folder.close()
    docs = list(DocumentReader().read(tmp_path / "stories"))
    assert [d.id for d in docs] == [r["id"] for r in rows[::2]]


def test_a_text_folder_reads_txt_and_md_in_order(tmp_path):
    rows = fixture_rows()[:3]
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "1-two.md").write_text(rows[1]["text"])
    (tmp_path / "a.txt").write_text(rows[0]["text"])
    (tmp_path / "b" / "2-three.txt").write_text(rows[2]["text"])
    (tmp_path / "logo.png").write_bytes(b"\x89PNG")
    (tmp_path / ".hidden.txt").write_text("editor swap file")
    docs = list(DocumentReader().read(tmp_path))
    assert [d.text for d in docs] == [r["text"] for r in rows]
    assert docs[1].source == str(tmp_path / "b" / "1-two.md")
    assert docs[0].id == content_id(rows[0]["text"])


def test_hidden_folders_below_the_input_are_not_read(tmp_path):
    """A killed run's staging shards, marks, a VCS folder: never input, at any depth."""
    root = tmp_path / ".cache" / "web"  # hidden above the input: the user's choice, read
    (root / "pages").mkdir(parents=True)
    (root / "pages" / "a.txt").write_text("the page")
    stage = root / ".out.tmp-k1ll3d" / ".stage"
    stage.mkdir(parents=True)
    pq.write_table(pa.table({"id": ["staged"], "text": ["a staged copy"]}),
                   stage / "shard-00000.parquet")  # fmt: skip
    (root / ".schoolhouse").mkdir()
    write_jsonl(root / ".schoolhouse" / "job.jsonl", ['{"text": "a mark"}'])
    (root / "pages" / ".git").mkdir()
    (root / "pages" / ".git" / "b.txt").write_text("a tracked copy")
    assert [d.text for d in DocumentReader().read(root)] == ["the page"]


def test_unknown_files_and_missing_paths_fail(tmp_path):
    (tmp_path / "page.pdf").write_bytes(b"%PDF")
    with pytest.raises(ReadError, match="page.pdf: unknown format"):
        list(DocumentReader().read(tmp_path / "page.pdf"))
    with pytest.raises(ReadError, match="no such file"):
        list(DocumentReader().read(tmp_path / "nope.jsonl"))


# -- WARC ------------------------------------------------------------------------------------
def record(kind: str, url: str, block: bytes):
    from fastwarc.warc import WarcRecord, WarcRecordType

    rec = WarcRecord()
    rec.init_headers(getattr(WarcRecordType, kind))
    rec.headers["WARC-Target-URI"] = url
    rec.set_bytes_content(block)
    rec.is_http = kind in ("request", "response")
    return rec


def response(url: str, body: bytes, content_type="text/html; charset=utf-8", status="200 OK"):
    head = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n\r\n".encode()
    return record("response", url, head + body)


def serialize(rec, digest: bool = True) -> bytes:
    out = io.BytesIO()
    rec.write(out, checksum_data=digest)
    return out.getvalue()


def warc_records() -> list[tuple[str, bytes]]:
    """(what the reader should make of it, its bytes) for a crawl with every kind of trouble."""
    appetite = (FIXTURES / "pages" / "appetite.html").read_bytes()
    whatnow = (FIXTURES / "pages" / "whatnow.html").read_bytes()
    plain = fixture_rows()[20]["text"].encode()
    flipped = bytearray(serialize(response("http://docs/flipped", whatnow)))
    flipped[len(flipped) // 2] ^= 0x20  # one bit of the page changed on disk
    return [
        ("skip", serialize(record("warcinfo", "", b"software: test\r\n"))),
        ("appetite", serialize(response("http://docs/appetite", appetite))),
        ("skip", serialize(record("request", "http://docs/x", b"GET /x HTTP/1.1\r\n\r\n"))),
        ("unsupported_content_type", serialize(response("http://docs/i.png", b"\x89PNG", "image/png"))),
        ("http_status", serialize(response("http://docs/gone", b"<p>Not Found</p>", status="404 Not Found"))),
        ("warc_broken_record", serialize(response("http://docs/broken", whatnow))),
        ("plain", serialize(response("http://docs/notes.txt", plain, "text/plain"))),
        ("warc_digest_mismatch", bytes(flipped)),
        ("whatnow", serialize(response("http://docs/whatnow", whatnow))),
        ("empty", serialize(response("http://docs/blank", b"<html><body> </body></html>"))),
        ("warc_truncated_record", serialize(response("http://docs/cut", appetite), digest=False)),
    ]  # fmt: skip


def test_warc_gz_yields_pages_and_counts_every_broken_record(tmp_path):
    members = [gzip.compress(data) for _, data in warc_records()]
    broken = [what for what, _ in warc_records()].index("warc_broken_record")
    member = bytearray(members[broken])
    member[len(member) // 2 : len(member) // 2 + 64] = b"\x00" * 64  # a corrupt deflate stream
    members[broken] = bytes(member)
    members[-1] = gzip.compress(warc_records()[-1][1][:-3000])  # the crawl was cut off
    path = tmp_path / "crawl.warc.gz"
    path.write_bytes(b"".join(members))

    reader = DocumentReader()
    docs = list(reader.read(path))
    assert [d.metadata["url"] for d in docs] == [
        "http://docs/appetite",
        "http://docs/notes.txt",
        "http://docs/whatnow",
    ]
    assert docs[0].text.startswith("1. Whetting Your Appetite")
    assert "Python is just the language for you." in docs[0].text
    assert "Navigation" not in docs[0].text and "©" not in docs[0].text  # main content only
    assert docs[1].text == fixture_rows()[20]["text"]
    assert docs[0].id.startswith("<urn:uuid:") and docs[0].metadata["content_type"] == "text/html"
    assert reader.skipped == {
        "unsupported_content_type": 1,
        "http_status": 1,
        "warc_broken_record": 1,
        "warc_digest_mismatch": 1,
        "empty": 1,
        "warc_truncated_record": 1,
    }


def test_plain_warc_with_a_garbled_header_reads_on(tmp_path):
    records = [data for what, data in warc_records() if what in ("appetite", "plain", "whatnow")]
    records[1] = b"GARBAGE!" + records[1][8:]  # the "WARC/1.1" line of the middle record
    path = tmp_path / "crawl.warc"
    path.write_bytes(b"".join(records))
    reader = DocumentReader()
    urls = [d.metadata["url"] for d in reader.read(path)]
    assert urls == ["http://docs/appetite", "http://docs/whatnow"]
    assert reader.skipped == {"warc_broken_record": 1}


def test_an_oversized_warc_page_is_skipped_unread(tmp_path):
    page = (FIXTURES / "pages" / "whatnow.html").read_bytes()
    path = tmp_path / "big.warc.gz"
    path.write_bytes(gzip.compress(serialize(response("http://docs/big", page))))
    reader = DocumentReader(max_bytes=1000)
    assert list(reader.read(path)) == [] and reader.skipped == {"too_large": 1}
