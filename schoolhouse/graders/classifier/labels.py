"""Labeled documents: any dataset with `text` and `score` (0-5) columns, teacher's or human.

An annotations folder also has `score_expected`, the score's mean under the teacher's own
distribution (G-Eval): finer-grained and steadier than one sampled digit, so it is the label
whenever every row has it (`scores="auto"`). Rows that mix the two are refused rather than
silently blended: a sampled 2 and an expected 2.4 are not the same measurement.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...datasets.readers import DocumentReader
from ...datasets.records import Document


class LabelError(ValueError):
    """Labeled data that cannot train or evaluate a classifier; the message names file and row."""


@dataclass
class Labeled:
    ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    teachers: set[str] = field(default_factory=set)
    paths: list[str] = field(default_factory=list)
    kind: str = "sampled"  # which score column the labels are: "sampled" or "expected"

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
        if self.teachers:  # which of its scores: `kind` (classifier.json's `label_scores`)
            return "teacher: " + ", ".join(sorted(self.teachers))
        if self.kind == "expected":
            return "the `score_expected` column"
        return "the `score` column (human or other labels)"

    def select(self, index) -> Labeled:
        return Labeled(
            [self.ids[i] for i in index],
            [self.texts[i] for i in index],
            [self.scores[i] for i in index],
            self.teachers,
            self.paths,
            self.kind,
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


def check_expected(doc: Document) -> float | None:
    value = doc.metadata.get("score_expected")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 5:
        raise LabelError(f"{where(doc)}: score_expected {value!r} is not a number from 0 to 5")
    return float(value)


SCORE_KINDS = ("auto", "expected", "sampled")


def read_labeled(paths: list[Path], scores: str = "auto") -> Labeled:
    """Every labeled document of `paths` (an annotations folder reads its data/ shards only).
    `scores`: "sampled" reads `score`; "expected" reads `score_expected` and refuses a row
    without it; "auto" reads `score_expected` when every row has it, `score` when none has."""
    if scores not in SCORE_KINDS:
        raise LabelError(f"scores {scores!r}: choose one of {', '.join(SCORE_KINDS)}")
    reader = DocumentReader(strict=True)
    labeled = Labeled(paths=[str(p) for p in paths])
    expected: list[float | None] = []
    first_with = first_without = None
    for doc in reader.read(*paths):
        labeled.scores.append(check_score(doc))
        expected.append(check_expected(doc))
        if expected[-1] is None:
            first_without = first_without or where(doc)
        else:
            first_with = first_with or where(doc)
        labeled.ids.append(doc.id)
        labeled.texts.append(doc.text)
        if isinstance(doc.metadata.get("teacher"), str):
            labeled.teachers.add(doc.metadata["teacher"])
    if not labeled:
        raise LabelError(f"{', '.join(map(str, paths))}: no labeled document")
    if scores == "sampled" or (scores == "auto" and first_with is None):
        return labeled
    if first_without is not None:
        have = sum(e is not None for e in expected)
        raise LabelError(
            f"{first_without}: no score_expected, while {have} of {len(expected)} rows have one"
            + (f" (first: {first_with})" if first_with else "")
            + ": expected and sampled scores are different measurements; pass --scores sampled "
            "to train on every row's sampled score, or re-annotate with --logprobs"
        )
    labeled.scores, labeled.kind = [float(e) for e in expected], "expected"
    return labeled
