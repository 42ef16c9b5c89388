"""Labeled documents: any dataset with `text` and `score` (0-5) columns, teacher's or human."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..readers import DocumentReader
from ..records import Document


class LabelError(ValueError):
    """Labeled data that cannot train or evaluate a classifier; the message names file and row."""


@dataclass
class Labeled:
    ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    teachers: set[str] = field(default_factory=set)
    paths: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def y(self) -> np.ndarray:
        return np.asarray(self.scores, dtype=np.float64)

    @property
    def sha(self) -> str:
        """A hash of every (id, text, score), in order: which data a model was trained on."""
        digest = hashlib.sha256()
        for doc_id, text, score in zip(self.ids, self.texts, self.scores, strict=True):
            digest.update(f"{doc_id}\0{text}\0{score:g}\n".encode("utf-8", "replace"))
        return digest.hexdigest()

    @property
    def source(self) -> str:
        """Who gave the labels: the teacher(s) that annotation rows name, else the column."""
        if self.teachers:
            return "teacher: " + ", ".join(sorted(self.teachers))
        return "the `score` column (human or other labels)"

    def select(self, index) -> Labeled:
        return Labeled(
            [self.ids[i] for i in index],
            [self.texts[i] for i in index],
            [self.scores[i] for i in index],
            self.teachers,
            self.paths,
        )


def where(doc: Document) -> str:
    """`file:line` for JSONL, `file row N` for Parquet."""
    if "line" in doc.metadata:
        return f"{doc.source}:{doc.metadata['line']}"
    if "row" in doc.metadata:
        return f"{doc.source} row {doc.metadata['row']}"
    return doc.source


def check_score(doc: Document) -> float:
    if "score" not in doc.metadata:
        raise LabelError(
            f"{where(doc)}: no 'score' column; labeled data needs text and score (0-5) columns"
        )
    score = doc.metadata["score"]
    if isinstance(score, bool) or not isinstance(score, int | float) or math.isnan(score):
        raise LabelError(f"{where(doc)}: score {score!r} is not a number from 0 to 5")
    if not 0 <= score <= 5:
        raise LabelError(f"{where(doc)}: score {score!r} is outside 0-5")
    return float(score)


def read_labeled(paths: list[Path]) -> Labeled:
    """Every labeled document of `paths` (an annotations folder reads its data/ shards only)."""
    reader = DocumentReader(strict=True)
    labeled = Labeled(paths=[str(p) for p in paths])
    for doc in reader.read(*paths):
        labeled.scores.append(check_score(doc))
        labeled.ids.append(doc.id)
        labeled.texts.append(doc.text)
        if isinstance(doc.metadata.get("teacher"), str):
            labeled.teachers.add(doc.metadata["teacher"])
    if not labeled:
        raise LabelError(f"{', '.join(map(str, paths))}: no labeled document")
    return labeled
