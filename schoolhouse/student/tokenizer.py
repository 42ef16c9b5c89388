"""A byte-level BPE trained on the student's own data with the `tokenizers` library.

Byte-level, so any text round-trips (no unknown token); TinyStories students do well with a few
thousand tokens (Eldan & Li 2023 use GPT-Neo's 50k only for convenience).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

EOT = "<|endoftext|>"  # separates documents in the token stream


class Tokenizer:
    def __init__(self, inner):
        self.inner = inner
        self.eot = inner.token_to_id(EOT)

    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int) -> Tokenizer:
        from tokenizers import Tokenizer as HFTokenizer
        from tokenizers import decoders, models, pre_tokenizers, trainers

        if vocab_size < 257 + 1:
            raise ValueError(f"--vocab-size {vocab_size}: need at least 258 (256 bytes + {EOT})")
        inner = HFTokenizer(models.BPE())
        inner.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        inner.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            special_tokens=[EOT],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        inner.train_from_iterator(texts, trainer=trainer)
        return cls(inner)

    @classmethod
    def from_str(cls, data: str) -> Tokenizer:
        from tokenizers import Tokenizer as HFTokenizer

        return cls(HFTokenizer.from_str(data))

    @classmethod
    def load(cls, path: Path) -> Tokenizer:
        return cls.from_str(Path(path).read_text())

    def to_str(self) -> str:
        return self.inner.to_str()

    def save(self, path: Path) -> None:
        from ..datasets.folder import write_atomic

        write_atomic(Path(path), self.to_str())

    @property
    def vocab_size(self) -> int:
        return self.inner.get_vocab_size()

    @property
    def hash(self) -> str:
        return hashlib.sha256(self.to_str().encode()).hexdigest()[:16]

    def encode(self, text: str) -> list[int]:
        return self.inner.encode(text).ids

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self.inner.encode_batch(texts)]

    def decode(self, ids: Iterable[int]) -> str:
        return self.inner.decode([int(i) for i in ids if i != self.eot])
