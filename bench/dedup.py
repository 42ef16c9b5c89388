"""Near-dedup speed and recall: schoolhouse's numpy MinHash against datasketch's, same documents.

    python bench/dedup.py [--docs 5000] [--words 400] [--near 0.1] [--changes 3]

Builds distinct documents from the sentences of the real pages in tests/fixtures/web (each a
random draw of sentences), plants edited copies (`--changes` words replaced) and exact copies,
then feeds all of them, shuffled, to `Deduplicator` and to datasketch's MinHash + MinHashLSH
with the same shingles and bands (if datasketch is installed). Prints docs/s, the recall on
planted near duplicates and the share of distinct documents wrongly dropped.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def corpus(n: int, words: int, near: float, changes: int, seed: int = 0):
    """(id, text, original id or None) rows, shuffled."""
    rng = random.Random(seed)
    pages = (ROOT / "tests/fixtures/web/documents.jsonl").read_text().splitlines()
    text = " ".join(json.loads(p)["text"] for p in pages)
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", text) if len(s.split()) >= 5]
    rows = []
    for i in range(n):
        body, size = [], 0
        while size < words:
            s = rng.choice(sentences)
            body.append(s)
            size += len(s.split())
        rows.append((f"d{i}", " ".join(body), None))
    for j, (doc_id, body, _) in enumerate(rng.sample(rows, int(n * near))):
        tokens = body.split()
        for k in rng.sample(range(len(tokens)), changes):
            tokens[k] = rng.choice(sentences).split()[0]
        rows.append((f"near{j}", " ".join(tokens), doc_id))
    rows.sort(key=lambda r: (r[2] is not None, rng.random()))  # originals first, then copies
    return rows


def run_ours(rows):
    from schoolhouse.graders.dedup import Deduplicator

    class Doc:
        __slots__ = ("id", "text")

        def __init__(self, id, text):
            self.id, self.text = id, text

    dedup = Deduplicator()
    started = time.perf_counter()
    dropped = {r[0] for r in rows if not dedup.check(Doc(r[0], r[1])).kept}
    return time.perf_counter() - started, dropped


def run_datasketch(rows):
    from datasketch import MinHash, MinHashLSH

    from schoolhouse.graders.dedup import normalize

    lsh = MinHashLSH(num_perm=128, params=(16, 8))
    started = time.perf_counter()
    dropped = set()
    for doc_id, text, _ in rows:
        words = normalize(text).split()
        shingles = {" ".join(words[i : i + 5]).encode() for i in range(max(1, len(words) - 4))}
        m = MinHash(num_perm=128)
        m.update_batch(list(shingles))
        if lsh.query(m):
            dropped.add(doc_id)
        else:
            lsh.insert(doc_id, m)
    return time.perf_counter() - started, dropped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=5000, help="distinct documents")
    parser.add_argument("--words", type=int, default=400, help="words per document")
    parser.add_argument("--near", type=float, default=0.1, help="share given an edited copy")
    parser.add_argument("--changes", type=int, default=3, help="words replaced in a copy")
    args = parser.parse_args()
    rows = corpus(args.docs, args.words, args.near, args.changes)
    planted = {r[0] for r in rows if r[2] is not None}
    distinct = {r[0] for r in rows if r[2] is None}
    print(f"{len(rows)} documents, {len(planted)} planted near duplicates ({args.changes} words)")
    runners = [("schoolhouse (numpy)", run_ours), ("datasketch", run_datasketch)]
    for name, runner in runners:
        try:
            seconds, dropped = runner(rows)
        except ImportError as e:
            print(f"{name}: not installed ({e.name})")
            continue
        recall = len(dropped & planted) / len(planted)
        wrong = len(dropped & distinct) / len(distinct)
        print(
            f"{name:22s} {len(rows) / seconds:8.0f} docs/s  "
            f"recall {recall:.3f}  distinct dropped {wrong:.4f}"
        )


if __name__ == "__main__":
    main()
