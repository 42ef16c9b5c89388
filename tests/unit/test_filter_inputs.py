"""`schoolhouse filter` on inputs with nothing in them, and on bytes that are not UTF-8 (issue 16)."""

import json

import pytest

from schoolhouse.config import WebFilterConfig
from schoolhouse.jobs import filter_web


def test_an_empty_input_is_an_error_and_leaves_no_folder(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    out = tmp_path / "web"
    with pytest.raises(ValueError, match="no document to filter"):
        filter_web(WebFilterConfig(inputs=[empty], out=out, dedup="exact"), log=lambda m: None)
    assert not out.exists() and not list(tmp_path.glob(".web.tmp-*"))


def test_bytes_that_are_not_utf8_are_counted_on_the_summary_and_the_card(tmp_path):
    good = {"id": "a", "text": "A plain document about gardens and the seasons. " * 5}
    source = tmp_path / "pages.jsonl"
    source.write_bytes(
        (json.dumps(good) + "\n").encode()
        + b'{"id": "b", "text": "caf\xe9 and the garden in spring. '
        + b"More words here. " * 5
        + b'"}\n'
    )
    out = tmp_path / "web"
    summary = filter_web(
        WebFilterConfig(inputs=[source], out=out, dedup="exact"), log=lambda m: None
    )
    assert summary.documents == 2 and summary.to_dict()["repaired"] == {"invalid_utf8": 1}
    card = (out / "README.md").read_text()
    assert "invalid_utf8 1" in card
    # the card names the dedup that ran: exact only here
    assert "exact duplicates (normalized text); the first" in card and "MinHash" not in card
