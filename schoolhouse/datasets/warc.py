"""WARC and WARC.gz files: one document per HTML or plain-text HTTP response.

FastWARC parses the records and Resiliparse extracts the main text of each page (one project,
ChatNoir's, both C++ under Python; DCLM extracts its web text with Resiliparse). Records that are
not responses (requests, metadata, warcinfo) are not documents and are passed over silently.
Skipped responses are counted on the reader:

    warc_broken_record      the WARC library stopped on it (a corrupt gzip member, a bad header);
                            reading goes on from the next record boundary
    warc_digest_mismatch    its WARC-Block-Digest does not match its bytes (corrupt or cut)
    warc_truncated_record   its body is shorter than its headers say, or its HTTP is unreadable
    http_status             not a 2xx response (redirects and error pages are not documents)
    unsupported_content_type  neither HTML nor plain text (images, PDF, scripts)
    html_parse_error        Resiliparse could not parse the page
    too_large               a body over HTML_PER_TEXT * max_bytes, passed over without decoding
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from schoolhouse.datasets.records import Document

if TYPE_CHECKING:
    from schoolhouse.datasets.readers import DocumentReader

HTML_TYPES = ("text/html", "application/xhtml+xml")
TEXT_TYPES = ("text/plain",)
HTML_PER_TEXT = 8  # markup weighs a few times the text it carries: bound the page, not the text
GZIP_MEMBER = b"\x1f\x8b\x08"  # each record of a .warc.gz is its own gzip member
WARC_LINE = b"\nWARC/1."  # each record of a .warc starts with its version line
SCAN_CHUNK = 1 << 20


def read_warc(path: Path, reader: DocumentReader) -> Iterator[Document]:
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    with open(path, "rb") as f:
        gzipped = f.read(2) == GZIP_MEMBER[:2]
        pos: int | None = 0
        counted_at = None  # a restart offset whose failure was already counted
        while pos is not None:
            f.seek(pos)
            current, completed = None, False
            try:
                records = ArchiveIterator(f, record_types=WarcRecordType.response, parse_http=False)
                for record in records:
                    current, completed = record.stream_pos, False
                    doc = _document(record, reader, str(path))
                    completed, counted_at = True, None
                    if doc:
                        yield doc
                return
            except (OSError, ValueError):  # what FastWARC raises on bytes it cannot parse
                pass
            if current is None or not completed:  # this record (or the restart point) is bad
                broken = pos if current is None else current
                if broken != counted_at:
                    reader.skip("warc_broken_record")
                pos, counted_at = _next_boundary(f, broken + 1, gzipped), None
            else:  # the bytes after a good record are bad: the next boundary may be the bad
                reader.skip("warc_broken_record")  # record itself, or the one after it
                pos = counted_at = _next_boundary(f, current + 1, gzipped)


def _document(record, reader: DocumentReader, source: str) -> Document | None:
    """The record's document, or None with the reason counted. Raises what the WARC library
    raises where it cannot read the record at all."""
    if record.content_length > HTML_PER_TEXT * reader.max_bytes:
        reader.skip("too_large")
        return None
    if "WARC-Block-Digest" in record.headers and not record.verify_block_digest(consume=False):
        reader.skip("warc_digest_mismatch")
        return None
    try:
        record.parse_http(auto_decode="all")
    except OSError:  # a chunked or compressed body cut short
        reader.skip("warc_truncated_record")
        return None
    if record.http_headers is None:
        reader.skip("warc_truncated_record")
        return None
    status = record.http_headers.status_code
    if status is None or not 200 <= status < 300:
        reader.skip("http_status")
        return None
    content_type = (record.http_content_type or "text/html").lower()
    if content_type not in HTML_TYPES + TEXT_TYPES:
        reader.skip("unsupported_content_type")
        return None
    body = record.reader.read()
    if len(body) < record.content_length:
        reader.skip("warc_truncated_record")
        return None
    try:
        text = _text(body, record.http_charset, html=content_type in HTML_TYPES)
    except ValueError:  # Resiliparse's HTMLParserException
        reader.skip("html_parse_error")
        return None
    metadata = {
        "url": record.headers.get("WARC-Target-URI"),
        "date": record.headers.get("WARC-Date"),
        "content_type": content_type,
    }
    return reader.document(text, record.record_id, source, metadata)


def _text(body: bytes, charset: str | None, html: bool) -> str:
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.encoding import bytes_to_str, detect_encoding

    encoding = charset or detect_encoding(body, from_html_meta=html)
    decoded = bytes_to_str(body, encoding, errors="replace")
    if not html:
        return decoded
    return extract_plain_text(
        decoded, main_content=True, alt_texts=False, links=False, form_fields=False
    )


def _next_boundary(f, start: int, gzipped: bool) -> int | None:
    """Offset of the first record start at or after `start`, read in bounded chunks."""
    magic = GZIP_MEMBER if gzipped else WARC_LINE
    skip = 0 if gzipped else 1  # WARC_LINE starts with the newline before the record
    f.seek(start)
    offset, tail = start, b""
    while chunk := f.read(SCAN_CHUNK):
        window = tail + chunk
        found = window.find(magic)
        if found >= 0:
            return offset - len(tail) + found + skip
        tail = window[-(len(magic) - 1) :]
        offset += len(chunk)
    return None
