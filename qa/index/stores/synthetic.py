"""What the backends' scale benchmarks (`qa bench --scale`) share: synthetic corpora drawn like the real one (unit
vectors blended from real MiniLM vectors plus noise shaped by their covariance, passages of real sentences), exact
top k by brute force and recall against it, and the figures of one size."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from qa.documents.chunking import Passage

SCALE_QUERIES = 200
RECALL_K = 10
NOISE = 0.7
SEED = 7
_BLOCK = 100_000
Note = Callable[[str], None]


@dataclass(frozen=True)
class ScalePoint:
    """Search at one synthetic corpus size: vector and keyword index, each built and queried."""

    passages: int
    build_s: float
    query_p50_ms: float
    recall_at_10: float
    index_mb: float
    rss_mb: float
    vector_index: dict[str, Any]
    lexical_build_s: float
    lexical_p50_ms: float


def synthesize(real: np.ndarray, count: int, rng: np.random.Generator, noise: float = NOISE) -> np.ndarray:
    """Unit vectors like `real`: a random blend of two real vectors plus noise shaped by their covariance."""
    dimension = real.shape[1]
    centred = real - real.mean(axis=0)
    shape = np.linalg.cholesky(np.cov(centred.T) + 1e-6 * np.eye(dimension)).astype(np.float32)
    out = np.empty((count, dimension), dtype=np.float32)
    for start in range(0, count, _BLOCK):
        size = min(_BLOCK, count - start)
        first, second = rng.integers(len(real), size=(2, size))
        weight = rng.uniform(0.6, 1.0, size=(size, 1)).astype(np.float32)
        blend = weight * real[first] + (1 - weight) * real[second]
        blend += noise * (rng.standard_normal((size, dimension), dtype=np.float32) @ shape.T)
        out[start : start + size] = blend / np.linalg.norm(blend, axis=1, keepdims=True)
    return out


def synthetic_texts(sentences: Sequence[str], count: int, rng: np.random.Generator) -> list[str]:
    """Passages of three to six real sentences drawn at random."""
    lengths = rng.integers(3, 7, size=count)
    picks = rng.integers(len(sentences), size=int(lengths.sum()))
    texts: list[str] = []
    offset = 0
    for length in lengths:
        texts.append(" ".join(sentences[i] for i in picks[offset : offset + length]))
        offset += length
    return texts


def recall_at(found: np.ndarray, truth: np.ndarray, k: int = RECALL_K) -> float:
    """Mean share of each query's true top k that the approximate top k found."""
    shares = [len(set(row[:k].tolist()) & set(exact[:k].tolist())) / k for row, exact in zip(found, truth, strict=True)]
    return float(np.mean(shares))


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int = RECALL_K) -> np.ndarray:
    """Row ids of each query's exact top k by inner product."""
    import faiss

    _, rows = faiss.knn(queries, vectors, k, metric=faiss.METRIC_INNER_PRODUCT)
    return np.asarray(rows)


def samples(
    vectors: np.ndarray, sentence_vectors: np.ndarray, passages: Sequence[Passage]
) -> tuple[np.ndarray, list[str]]:
    """Passage and sentence vectors together (what synthetic vectors are drawn like), and the sentences' texts."""
    real = np.concatenate([np.asarray(vectors), np.asarray(sentence_vectors)]).astype(np.float32)
    return real, [passage.text[start:end] for passage in passages for start, end in passage.sentences]


def held_out_queries(real: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic queries drawn from a tenth of `real` held out, and the rest (what passages are drawn from)."""
    order = rng.permutation(len(real))
    held_out, seen = real[order[: max(1, len(real) // 10)]], real[order[max(1, len(real) // 10) :]]
    return synthesize(held_out, SCALE_QUERIES, rng), seen
