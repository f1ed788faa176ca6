"""`qa bench --scale`: search at synthetic corpus sizes, built from real MiniLM vectors and sentences of the corpus,
its recall against exact search, latency, memory and index size measured in a fresh process."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.answering.retrieval import CANDIDATES
from qa.documents.chunking import Passage
from qa.index import building
from qa.index.lexical import LexicalIndex
from qa.index.stores.files.store import FAISS, LEXICAL, Store, configure_vector_index
from qa.kernel.measuring import own_peak_rss_mb, percentile_ms
from qa.kernel.paths import Paths

SCALE_SIZES = (10_000, 100_000, 1_000_000)
SCALE_QUERIES = 200
RECALL_K = 10
NOISE = 0.7
SEED = 7
_BLOCK = 100_000
Note = Callable[[str], None]
_PROBE = "import sys\nfrom qa.benchmarks.scaling import probe\nprobe(sys.argv[1])\n"


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


def real_samples(paths: Paths) -> tuple[np.ndarray, list[str]]:
    """Passage and sentence vectors of the benchmark index, and its sentences."""
    store = Store.open(paths.index)
    try:
        return samples(store.vectors, store.sentence_vectors, store.passages(range(store.size)))
    finally:
        store.close()


def samples(
    vectors: np.ndarray, sentence_vectors: np.ndarray, passages: Sequence[Passage]
) -> tuple[np.ndarray, list[str]]:
    """Passage and sentence vectors together (what synthetic vectors are drawn like), and the sentences' texts."""
    real = np.concatenate([np.asarray(vectors), np.asarray(sentence_vectors)]).astype(np.float32)
    return real, [passage.text[start:end] for passage in passages for start, end in passage.sentences]


def scale(
    real: np.ndarray,
    sentences: Sequence[str],
    questions: Sequence[str],
    sizes: Sequence[int],
    *,
    folder: Path,
    note: Note = lambda _: None,
) -> list[ScalePoint]:
    """Build and query synthetic corpora of each size; a tenth of `real` is held out to draw the queries from."""
    rng = np.random.default_rng(SEED)
    order = rng.permutation(len(real))
    held_out, seen = real[order[: max(1, len(real) // 10)]], real[order[max(1, len(real) // 10) :]]
    queries = synthesize(held_out, SCALE_QUERIES, rng)
    points: list[ScalePoint] = []
    for size in sizes:
        note(f"scale {size:,}: synthesising vectors, exact top {RECALL_K}")
        vectors = synthesize(seen, size, rng)
        truth = exact_top(vectors, queries)
        note(f"scale {size:,}: building the vector index")
        began = time.perf_counter()
        built, described = building.make_vector_index(vectors)
        build_s = time.perf_counter() - began
        del vectors
        note(f"scale {size:,}: building BM25")
        texts = synthetic_texts(sentences, size, rng)
        began = time.perf_counter()
        lexical = LexicalIndex.build(texts)
        lexical_s = time.perf_counter() - began
        del texts
        note(f"scale {size:,}: querying from a fresh process")
        place = folder / f"scale-{size}"
        measured = _probe_saved(place, built, described, lexical, queries=queries, truth=truth, questions=questions)
        points.append(
            ScalePoint(
                passages=size,
                build_s=round(build_s, 2),
                query_p50_ms=measured["query_p50_ms"],
                recall_at_10=measured["recall_at_10"],
                index_mb=measured["index_mb"],
                rss_mb=measured["rss_mb"],
                vector_index=described,
                lexical_build_s=round(lexical_s, 2),
                lexical_p50_ms=measured["lexical_p50_ms"],
            )
        )
        del built, lexical
    return points


def _probe_saved(
    folder: Path,
    built: Any,
    described: dict[str, Any],
    lexical: LexicalIndex,
    *,
    queries: np.ndarray,
    truth: np.ndarray,
    questions: Sequence[str],
) -> dict[str, Any]:
    """Save one size's indexes, query them from a fresh process as `qa ask` would load them, then delete them."""
    import faiss

    folder.mkdir(parents=True)
    faiss.write_index(built, str(folder / FAISS))
    lexical.save(folder / LEXICAL)
    np.save(folder / "queries.npy", queries)
    np.save(folder / "truth.npy", truth)
    settings = {"vector_index": described, "questions": list(questions), "passages": lexical.size}
    (folder / "probe.json").write_text(json.dumps(settings), encoding="utf-8")
    found = subprocess.run([sys.executable, "-c", _PROBE, str(folder)], check=True, capture_output=True, text=True)
    measured: dict[str, Any] = json.loads(found.stdout)
    measured["index_mb"] = round((folder / FAISS).stat().st_size / 2**20, 1)
    shutil.rmtree(folder)
    return measured


def probe(folder: str) -> None:
    """In a fresh process: load the saved indexes, query them one question at a time, print JSON figures."""
    import faiss

    place = Path(folder)
    settings = json.loads((place / "probe.json").read_text(encoding="utf-8"))
    vector_index = configure_vector_index(faiss.read_index(str(place / FAISS)), settings["vector_index"])
    lexical = LexicalIndex.load(place / LEXICAL, settings["passages"])
    queries, truth = np.load(place / "queries.npy"), np.load(place / "truth.npy")
    dense: list[float] = []
    rows = np.zeros((len(queries), RECALL_K), dtype=np.int64)
    for number, query in enumerate(queries):
        began = time.perf_counter()
        _, found = vector_index.search(query.reshape(1, -1), CANDIDATES)
        dense.append(time.perf_counter() - began)
        rows[number] = found[0, :RECALL_K]
    keyword: list[float] = []
    for question in settings["questions"]:
        began = time.perf_counter()
        scores = lexical.scores(question)
        np.argpartition(-scores, min(CANDIDATES, len(scores) - 1))[:CANDIDATES]
        keyword.append(time.perf_counter() - began)
    figures = {
        "query_p50_ms": round(percentile_ms(dense, 50), 3),
        "recall_at_10": round(recall_at(rows, truth), 4),
        "lexical_p50_ms": round(percentile_ms(keyword, 50), 3),
        "rss_mb": own_peak_rss_mb(),
    }
    print(json.dumps(figures))
