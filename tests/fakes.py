"""A small deterministic embedder for unit tests: hashed bag of words, no model."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

_WORD = re.compile(r"\w+")


class FakeEmbedder:
    """Embeds a text as the normalised sum of one pseudo-random vector per lower-cased word."""

    def __init__(self, dimension: int = 64, name: str = "fake-hash-64") -> None:
        self.name = name
        self.dimension = dimension
        self.calls: list[int] = []

    def _word(self, word: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
        return np.random.default_rng(seed).standard_normal(self.dimension).astype(np.float32)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(len(texts))
        rows = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                rows[row] += self._word(word)
            norm = np.linalg.norm(rows[row])
            if norm > 0:
                rows[row] /= norm
        return rows
