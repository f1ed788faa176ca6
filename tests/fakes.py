"""A small deterministic embedder for unit tests: hashed bag of words, no model."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from qa.models.embedding import Embedder
from qa.models.verifier.model import Candidate

_WORD = re.compile(r"\w+")


class FakeEmbedder:
    """Embeds a text as the normalised sum of one pseudo-random vector per lower-cased word."""

    def __init__(self, dimension: int = 64, name: str = "fake-hash-64") -> None:
        self.name = name
        self.dimension = dimension
        self.calls: list[int] = []
        self._ids: dict[str, int] = {}
        self._vectors: list[np.ndarray] = []

    def _word(self, word: str) -> int:
        """Row of the word's vector, drawn once per word (cached: big corpora stay fast)."""
        found = self._ids.get(word)
        if found is None:
            seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
            self._vectors.append(np.random.default_rng(seed).standard_normal(self.dimension).astype(np.float32))
            found = self._ids[word] = len(self._vectors) - 1
        return found

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(len(texts))
        ids = [[self._word(word) for word in _WORD.findall(text.lower())] for text in texts]
        table = np.stack(self._vectors) if self._vectors else np.zeros((0, self.dimension), dtype=np.float32)
        rows = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, words in enumerate(ids):
            if words:
                rows[row] = table[words].sum(axis=0)
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        np.divide(rows, norms, out=rows, where=norms > 0)
        return rows


class SlowEmbedder(FakeEmbedder):
    """A FakeEmbedder that notes each call in a file, then sleeps: lets tests kill or race a real build process."""

    def __init__(self, signal: Path, seconds: float, name: str = "fake-hash-64") -> None:
        super().__init__(name=name)
        self.signal = signal
        self.seconds = seconds

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        with self.signal.open("a") as stream:
            stream.write(f"{len(texts)}\n")
        time.sleep(self.seconds)
        return super().embed(texts)


def given(embedder: Embedder) -> Callable[[str | None], Embedder]:
    """An embedder factory that always returns `embedder`: the seam through which tests hand the engine a fake."""
    return lambda model: embedder


class FakeVerifier:
    """A deterministic verifier: the probability that a sentence answers is the share of the question's longer
    words (4+ letters) it contains, so tests can predict which sentence wins and when an answer abstains."""

    name = "fake-verifier"

    def __init__(self) -> None:
        self.batches: list[int] = []

    def verify(self, question: str, candidates: Sequence[Candidate]) -> np.ndarray:
        self.batches.append(len(candidates))
        words = {word for word in _WORD.findall(question.lower()) if len(word) >= 4}
        if not words:
            return np.zeros(len(candidates))
        found = [set(_WORD.findall(candidate.sentence.lower())) for candidate in candidates]
        return np.array([len(words & sentence) / len(words) for sentence in found])
