"""`qa bench --scale` for the default store: synthetic corpora indexed by FAISS and BM25 as a build would index them,
queried from a fresh process as `qa ask` would load them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qa.index.lexical import LexicalIndex
from qa.index.stores.files import writing
from qa.index.stores.files.store import FAISS, LEXICAL, Store, configure_vector_index
from qa.index.stores.synthetic import (
    RECALL_K,
    SEED,
    Note,
    ScalePoint,
    exact_top,
    held_out_queries,
    recall_at,
    samples,
    synthesize,
    synthetic_texts,
)
from qa.kernel.measuring import own_peak_rss_mb, percentile_ms
from qa.kernel.paths import Paths
from qa.kernel.settings import CANDIDATES

_PROBE = "import sys\nfrom qa.index.stores.files.scaling import probe\nprobe(sys.argv[1])\n"


def real_samples(paths: Paths) -> tuple[np.ndarray, list[str]]:
    """Passage and sentence vectors of the benchmark index, and its sentences."""
    store = Store.open(paths.index)
    try:
        return samples(store.vectors, store.sentence_vectors, store.passages(range(store.size)))
    finally:
        store.close()


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
    queries, seen = held_out_queries(real, rng)
    points: list[ScalePoint] = []
    for size in sizes:
        note(f"scale {size:,}: synthesising vectors, exact top {RECALL_K}")
        vectors = synthesize(seen, size, rng)
        truth = exact_top(vectors, queries)
        note(f"scale {size:,}: building the vector index")
        began = time.perf_counter()
        built, described = writing.make_vector_index(vectors)
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
