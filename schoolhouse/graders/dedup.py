"""Exact and MinHash near-duplicate detection over a stream of documents.

    dedup = Deduplicator()
    for doc in docs:                  # any records with .id and .text
        verdict = dedup.check(doc)    # Verdict(reason=None) for a kept document, or
        ...                           # Verdict("near_duplicate", duplicate_of="<earlier id>")

A document is compared with the documents kept before it, so the first of a group is kept and
the rest name it. Only kept documents enter the index: memory grows with them (~2 KB each),
not with the stream. Used as a filter (`dedup(doc)`), it belongs last in a pipeline, since a
document it lets through is indexed as kept.

Text is normalized first (NFKC, case-folded, punctuation to spaces, whitespace collapsed), so
exact duplicates differing only in case, spacing or punctuation are caught by a hash of it.

Near duplicates: 5-word shingles (as FineWeb and Lee et al. 2022), MinHash with 128 hash
functions, LSH with 16 bands of 8 rows (FineWeb, Penedo et al. 2024, uses 14 x 8). Two documents
whose shingle sets have Jaccard similarity J share a band with probability 1 - (1 - J^8)^16:

    J    0.5   0.6   0.7   0.75  0.8   0.85  0.9
    P    0.06  0.24  0.61  0.81  0.95  0.99  1.00

so the threshold sits near 0.7-0.8. A band collision alone is not proof: on real text (licence
files quoting the same BSD clauses, J 0.62-0.67) the curve's tail collides about half the time.
So a collision is verified: the MinHash estimate of J against the colliding document must reach
`min_jaccard` (0.75 by default; 128 hashes estimate J within ~0.04), which keeps each kept
document's signature (512 bytes). `min_jaccard=None` trusts a collision alone, as FineWeb does.
The MinHash is numpy, vectorized over a document's shingles: hash functions are multiply-shift
(Dietzfelbinger et al. 1997) on 64-bit shingle hashes; `bench/filter.py` compares it with
datatrove's MinHash on the same documents.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numpy as np

PUNCTUATION = re.compile(r"[^\w\s]+")
WORD_CACHE = 1 << 21  # distinct words whose hashes are remembered before the cache restarts
CHUNK = 2048  # shingles hashed at once: CHUNK x num_perm x 8 bytes of scratch (2 MB)


class Record(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def text(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Verdict:
    reason: str | None = None  # None (kept), "exact_duplicate" or "near_duplicate"
    duplicate_of: str | None = None  # the id of the kept document it duplicates

    @property
    def kept(self) -> bool:
        return self.reason is None


def normalize(text: str) -> str:
    text = text.lower() if text.isascii() else unicodedata.normalize("NFKC", text).casefold()
    return " ".join(PUNCTUATION.sub(" ", text).split())


class MinHasher:
    """MinHash signatures of word shingles, deterministic for a given seed."""

    def __init__(self, ngram: int = 5, num_perm: int = 128, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.ngram, self.num_perm, self.seed = ngram, num_perm, seed
        self.position = rng.integers(1, 2**63, ngram, dtype=np.uint64) | np.uint64(1)
        self.a = rng.integers(1, 2**63, num_perm, dtype=np.uint64) | np.uint64(1)
        self.b = rng.integers(0, 2**63, num_perm, dtype=np.uint64)
        self._words: dict[str, int] = {}

    def _hash_words(self, words: list[str]) -> np.ndarray:
        cache = self._words
        try:
            return np.array([cache[w] for w in words], dtype=np.uint64)
        except KeyError:
            pass
        missing = {w for w in words if w not in cache}
        if len(cache) + len(missing) > WORD_CACHE:
            cache.clear()
            missing = set(words)
        salt = b"%d" % self.seed
        for word in missing:
            digest = hashlib.blake2b(word.encode(), digest_size=8, salt=salt).digest()
            cache[word] = int.from_bytes(digest, "little")
        return np.array([cache[w] for w in words], dtype=np.uint64)

    def shingles(self, words: list[str]) -> np.ndarray:
        """64-bit hashes of the distinct `ngram`-word shingles (one shingle if fewer words)."""
        hashes = self._hash_words(words)
        n = min(self.ngram, len(hashes))
        if n == 0:
            return hashes
        windows = len(hashes) - n + 1
        mixed = np.zeros(windows, dtype=np.uint64)
        for j in range(n):  # position-weighted sum: "a b c" and "c b a" differ
            mixed += hashes[j : j + windows] * self.position[j]
        mixed ^= mixed >> np.uint64(29)
        return np.unique(mixed)

    def signature(self, words: list[str]) -> np.ndarray:
        """The minimum of each hash function over the shingles, top 32 bits kept."""
        shingles = self.shingles(words)
        lowest = np.full(self.num_perm, np.iinfo(np.uint64).max, dtype=np.uint64)
        scratch = np.empty((min(CHUNK, len(shingles)), self.num_perm), dtype=np.uint64)
        for start in range(0, len(shingles), CHUNK):
            chunk = shingles[start : start + CHUNK, None]
            values = scratch[: len(chunk)]
            np.multiply(chunk, self.a, out=values)
            values += self.b
            np.minimum(lowest, values.min(axis=0), out=lowest)
        return (lowest >> np.uint64(32)).astype(np.uint32)


class Fingerprint(NamedTuple):
    digest: bytes  # blake2b-128 of the normalized text: exact duplicates share it
    keys: list[int]  # one per LSH band; empty when near dedup is off or the text is empty
    signature: np.ndarray | None  # the MinHash signature (uint32), None with no keys


class Deduplicator:
    """Tells, for each document fed to it, whether it duplicates an earlier kept one."""

    name = "dedup"

    def __init__(
        self,
        exact: bool = True,
        near: bool = True,
        ngram: int = 5,
        bands: int = 16,
        rows: int = 8,
        min_jaccard: float | None = 0.75,
        seed: int = 0,
    ):
        self.exact, self.near, self.bands, self.rows = exact, near, bands, rows
        self.min_jaccard = min_jaccard
        self.hasher = MinHasher(ngram, bands * rows, seed)
        self.counts: Counter[str] = Counter()
        self._exact: dict[bytes, str] = {}
        # band key -> the kept document with it, or a list of them when a collision failed the
        # Jaccard check (rare: an int per key keeps memory down)
        self._bands: list[dict[int, int | list[int]]] = [{} for _ in range(bands)]
        self._band_mix = np.random.default_rng(seed + 1).integers(
            1, 2**63, rows, dtype=np.uint64
        ) | np.uint64(1)
        self._ids: list[str] = []
        self._signatures = np.empty((0, bands * rows), dtype=np.uint32)

    def __call__(self, record: Record):
        verdict = self.check(record)
        return True if verdict.kept else (False, verdict.reason)

    def check(self, record: Record, fingerprint: Fingerprint | None = None) -> Verdict:
        """The verdict on `record` (its `fingerprint` when already computed), which is indexed
        when kept."""
        verdict = self._check(record, fingerprint)
        self.counts[verdict.reason or "kept"] += 1
        return verdict

    def fingerprint(self, text: str) -> Fingerprint:
        """What `check` compares: the normalized text's digest and, for near dedup, its MinHash
        signature and band keys. Computed anywhere (a worker, another node) with the same
        settings, it is the same value."""
        text = normalize(text)
        return self._near(text, hashlib.blake2b(text.encode(), digest_size=16).digest())

    def _near(self, text: str, digest: bytes) -> Fingerprint:
        if not (self.near and text):
            return Fingerprint(digest, [], None)
        signature = self.hasher.signature(text.split())
        return Fingerprint(digest, self._band_keys(signature), signature)

    def collision_keys(self, fingerprint: Fingerprint) -> np.ndarray:
        """64-bit keys such that two documents can be duplicates of each other only if they
        share one: the digest's first 8 bytes and each band key mixed with its band. A document
        sharing no key with any other is kept by `check` whatever else it is fed, and changes no
        other verdict (it enters no bucket another document looks in): so only the documents
        that share a key need the sequential pass, which is how the cluster runner dedups
        (`cluster/webfilter.py`). A chance collision only adds a document to that pass."""
        keys = [int.from_bytes(fingerprint.digest[:8], "little")] if self.exact else []
        for band, key in enumerate(fingerprint.keys):
            keys.append((key * 0x9E3779B97F4A7C15 + band + 1) & 0xFFFFFFFFFFFFFFFF)
        return np.array(keys, dtype=np.uint64)

    def _check(self, record: Record, fingerprint: Fingerprint | None = None) -> Verdict:
        if fingerprint is None:
            text = normalize(record.text)
            digest = hashlib.blake2b(text.encode(), digest_size=16).digest()
        else:
            digest = fingerprint.digest
        if self.exact and digest in self._exact:
            return Verdict("exact_duplicate", self._exact[digest])
        # the MinHash only when the digest did not settle it
        digest, keys, signature = fingerprint or self._near(text, digest)
        if keys:
            for band, key in zip(self._bands, keys, strict=True):
                found = band.get(key)
                for index in [found] if isinstance(found, int) else found or ():
                    if self._similar(signature, index):
                        return Verdict("near_duplicate", self._ids[index])
        self._keep(record.id, digest, keys, signature)
        return Verdict()

    def _band_keys(self, signature: np.ndarray) -> list[int]:
        rows = signature.reshape(self.bands, self.rows).astype(np.uint64)
        return (rows * self._band_mix).sum(axis=1).tolist()

    def _similar(self, signature: np.ndarray, index: int) -> bool:
        if self.min_jaccard is None:
            return True
        return float(np.mean(self._signatures[index] == signature)) >= self.min_jaccard

    def _keep(self, id: str, digest: bytes, keys: list[int], signature) -> None:
        if self.exact:
            self._exact.setdefault(digest, id)
        if not keys:
            return
        index = len(self._ids)
        self._ids.append(id)
        for band, key in zip(self._bands, keys, strict=True):
            found = band.get(key)
            if found is None:
                band[key] = index
            elif self.min_jaccard is not None:  # a collision that failed the check
                band[key] = [found, index] if isinstance(found, int) else [*found, index]
        if self.min_jaccard is not None:
            if index == len(self._signatures):  # grow by doubling
                grown = np.empty((max(64, 2 * index), signature.size), dtype=np.uint32)
                grown[:index] = self._signatures
                self._signatures = grown
            self._signatures[index] = signature
