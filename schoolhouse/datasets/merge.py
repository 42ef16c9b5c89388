"""Merge: the kept rows of several datasets as one training set, each row naming its source."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .folder import ShardWriter

SHARD_ROWS = 100_000  # rows per output shard
MERGED_SCHEMA = pa.schema(
    [("id", pa.string()), ("text", pa.string()), ("source", pa.string()),
     ("source_id", pa.string()), ("source_path", pa.string())]
)  # fmt: skip


def merge(sources: dict[str, Path], out: Path, seed: int) -> dict:
    """The kept rows of several datasets as one training set, each row naming where it came
    from; shuffled by seed. Written through a hidden sibling and renamed into place."""
    import random

    from .outdir import check_new_or_own, holds_only, in_place

    ours = holds_only("data", "merge.json", "README.md")  # a merge from before folders were marked
    check_new_or_own(out, "merge", ours)  # before reading anything

    rows, parts = [], {}
    for name, folder in sources.items():
        table = pa.concat_tables(pq.read_table(p, columns=["id", "text"])
                                 for p in sorted(folder.glob("*.parquet")))  # fmt: skip
        texts = table.column("text").to_pylist()
        for row_id, text in zip(table.column("id").to_pylist(), texts, strict=True):
            rows.append({"id": f"{name}/{row_id}", "text": text, "source": name,
                         "source_id": row_id, "source_path": str(folder.parent)})  # fmt: skip
        parts[name] = {"path": str(folder.parent), "rows": len(texts),
                       "words": sum(len(t.split()) for t in texts)}  # fmt: skip
    random.Random(seed).shuffle(rows)
    meta = {"sources": parts, "rows": len(rows), "seed": seed}

    def write(tmp: Path) -> None:
        shards = ShardWriter(tmp / "data", MERGED_SCHEMA, SHARD_ROWS)
        for row in rows:
            shards.add(row)
        shards.flush()
        (tmp / "merge.json").write_text(json.dumps(meta, indent=2))
        size = sum(p.stat().st_size for p in (tmp / "data").glob("*.parquet"))
        (tmp / "README.md").write_text(merged_card(meta, size))

    in_place(out, write, "merge", also_own=ours)
    return meta


def merged_card(meta: dict, size: int = 0) -> str:
    """The card; `dataset_info` gives `datasets` a cache key that differs between two mixes in
    folders of the same name (see card.yaml_header)."""
    lines = "\n".join(
        f"| {name} | `{p['path']}` | {p['rows']:,} | {p['words']:,} |"
        for name, p in meta["sources"].items()
    )
    return f"""---
license: other
tags: [synthetic, schoolhouse, training-mix]
configs:
- config_name: default
  data_files: data/*.parquet
dataset_info:
- config_name: default
  download_size: {size}
---
# Training mix

{meta["rows"]:,} rows: what the pipeline's generators and web filter kept, shuffled together
(seed {meta["seed"]}) for pretraining a small student. Made by `schoolhouse pipeline`.

| source | dataset | rows | words |
|---|---|---|---|
{lines}

## Columns
`id` (`source/source_id`), `text`, `source`, `source_id` (the row's id in its dataset) and
`source_path` (that dataset's folder, whose card says how its rows were made and checked).

## Limitations
Each source dataset's card lists its checks and drop reasons; the rows keep their sources'
licenses.
"""
