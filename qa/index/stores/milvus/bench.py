"""`qa bench --store milvus:URI`: the benchmark index kept in Milvus (a Milvus Lite folder of its own in the bench
folder, or collections of its own on a server), and synthetic corpora searched in Milvus."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.index.stores import synthetic
from qa.kernel.measuring import own_peak_rss_mb, percentile_ms
from qa.kernel.paths import Paths, StoreSpec, is_remote, resolve

if TYPE_CHECKING:
    from qa.index.stores.synthetic import ScalePoint

_PROBE = "import sys\nfrom qa.index.stores.milvus.bench import probe\nprobe(sys.argv[1])\n"
VECTORS = "scale_vectors"
KEYWORDS = "scale_keywords"


def bench_paths(corpus: Path, index: Path, spec: StoreSpec) -> Paths:
    """Where the benchmark index goes: for Milvus Lite a folder of its own under `index` (the user's is never
    touched), for a server the server itself."""
    return resolve(corpus, index, spec if spec.remote else StoreSpec.of(spec.kind, str(index / "milvus.db")))


def real_samples(paths: Paths) -> tuple[np.ndarray, list[str]]:
    """Passage and sentence vectors of the benchmark index, and its sentences (what synthetic ones are drawn like)."""
    from qa.index.stores.milvus.collections import MilvusCache
    from qa.index.stores.milvus.store import MilvusStore

    store = MilvusStore.open(paths.index)
    try:
        cache = MilvusCache(store.client, store.state)
        return synthetic.samples(cache.vectors, cache.sentence_vectors, store.passages(range(store.size)))
    finally:
        store.close()


def scale(
    real: np.ndarray,
    sentences: Sequence[str],
    questions: Sequence[str],
    sizes: Sequence[int],
    *,
    folder: Path,
    spec: StoreSpec,
    note: Callable[[str], None] = lambda _: None,
) -> list[ScalePoint]:
    """The scale benchmark in Milvus: per size, a collection of synthetic passage vectors (indexed as the Milvus store
    would index that many) and one of BM25 sparse vectors, built here and queried from a fresh process."""
    from qa.index.stores.milvus.collections import vector_index
    from qa.index.stores.milvus.state import connect, release

    uri = spec.location
    if not is_remote(uri):
        uri = str(folder / "scale.db")
    rng = np.random.default_rng(synthetic.SEED)
    queries, seen = synthetic.held_out_queries(real, rng)
    points: list[ScalePoint] = []
    for size in sizes:
        note(f"scale {size:,} in Milvus: synthesising vectors, exact top {synthetic.RECALL_K}")
        vectors = synthetic.synthesize(seen, size, rng)
        truth = synthetic.exact_top(vectors, queries)
        dense = vector_index(size)
        texts = synthetic.synthetic_texts(sentences, size, rng)
        client = connect(uri)
        try:
            for name in (VECTORS, KEYWORDS):
                if client.has_collection(name):
                    client.drop_collection(name)
            note(f"scale {size:,} in Milvus: inserting and indexing the vectors ({dense['index_type']})")
            build_s = _build_vectors(client, vectors, dense)
            del vectors
            note(f"scale {size:,} in Milvus: BM25 weights and their sparse index")
            lexical_s, vocabulary = _build_keywords(client, texts)
            del texts
        finally:
            release(uri)
        settings = {"uri": uri, "dense": dense, "questions": list(questions), "vocabulary": vocabulary, "size": size}
        place = folder / f"milvus-scale-{size}"
        place.mkdir(parents=True)
        np.save(place / "queries.npy", queries)
        np.save(place / "truth.npy", truth)
        (place / "probe.json").write_text(json.dumps(settings), encoding="utf-8")
        note(f"scale {size:,} in Milvus: querying from a fresh process")
        done = subprocess.run([sys.executable, "-c", _PROBE, str(place)], check=True, capture_output=True, text=True)
        measured: dict[str, Any] = json.loads(done.stdout)
        shutil.rmtree(place)
        points.append(
            synthetic.ScalePoint(
                passages=size,
                build_s=round(build_s, 2),
                query_p50_ms=measured["query_p50_ms"],
                recall_at_10=measured["recall_at_10"],
                index_mb=_folder_mb(Path(uri)) if not is_remote(uri) else 0.0,
                rss_mb=measured["rss_mb"],
                vector_index={"kind": "milvus", **dense},
                lexical_build_s=round(lexical_s, 2),
                lexical_p50_ms=measured["lexical_p50_ms"],
            )
        )
        client = connect(uri)
        try:
            for name in (VECTORS, KEYWORDS):
                client.drop_collection(name)
        finally:
            release(uri)
    return points


def _build_vectors(client: Any, vectors: np.ndarray, dense: dict[str, Any]) -> float:
    from pymilvus import DataType, MilvusClient

    began = time.perf_counter()
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("row", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=int(vectors.shape[1]))
    indexes = client.prepare_index_params()
    params = {"nlist": dense["nlist"]} if "nlist" in dense else {}
    indexes.add_index(field_name="vector", index_type=dense["index_type"], metric_type="IP", params=params)
    client.create_collection(VECTORS, schema=schema, index_params=indexes)
    for start in range(0, len(vectors), 2_000):
        block = vectors[start : start + 2_000]
        client.insert(VECTORS, [{"row": start + i, "vector": row.tolist()} for i, row in enumerate(block)])
    client.flush(VECTORS)
    client.load_collection(VECTORS)
    return time.perf_counter() - began


def _build_keywords(client: Any, texts: list[str]) -> tuple[float, dict[str, list[float]]]:
    """BM25 weights as the Milvus store computes them, inserted and indexed; the vocabulary (term -> id, df)."""
    from pymilvus import DataType, MilvusClient

    from qa.index.lexical import tokenize
    from qa.index.stores.milvus.state import count_terms, term_weights

    began = time.perf_counter()
    tokens = tokenize(texts)
    ids: dict[str, int] = {}
    frequencies: list[int] = []
    count_terms(tokens, ids, frequencies)
    avgdl = sum(len(found) for found in tokens) / max(1, len(tokens))
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("row", DataType.INT64, is_primary=True)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    indexes = client.prepare_index_params()
    indexes.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    client.create_collection(KEYWORDS, schema=schema, index_params=indexes)
    for start in range(0, len(tokens), 2_000):
        block = tokens[start : start + 2_000]
        client.insert(
            KEYWORDS,
            [
                {"row": start + i, "sparse": term_weights(found, ids, avgdl) or {2**32 - 2: 1e-30}}
                for i, found in enumerate(block)
            ],
        )
    client.flush(KEYWORDS)
    client.load_collection(KEYWORDS)
    return time.perf_counter() - began, {term: [number, frequencies[number]] for term, number in ids.items()}


def _folder_mb(path: Path) -> float:
    return round(sum(item.stat().st_size for item in path.rglob("*") if item.is_file()) / 2**20, 1)


def probe(folder: str) -> None:
    """In a fresh process: connect, search each query vector and each question's BM25 vector, print JSON figures."""
    from qa.index.lexical import tokenize
    from qa.index.stores.milvus.state import Vocabulary, connect
    from qa.kernel.settings import CANDIDATES

    place = Path(folder)
    settings = json.loads((place / "probe.json").read_text(encoding="utf-8"))
    queries, truth = np.load(place / "queries.npy"), np.load(place / "truth.npy")
    client = connect(settings["uri"])
    for name in (VECTORS, KEYWORDS):
        client.load_collection(name)
    probes = settings["dense"].get("nprobe")
    extra = {"search_params": {"params": {"nprobe": probes}}} if probes else {}
    dense: list[float] = []
    rows = np.zeros((len(queries), synthetic.RECALL_K), dtype=np.int64)
    for number, query in enumerate(queries):
        began = time.perf_counter()
        hits = client.search(
            VECTORS, data=[query.tolist()], anns_field="vector", limit=CANDIDATES, output_fields=["row"], **extra
        )[0]
        dense.append(time.perf_counter() - began)
        rows[number] = [int(hit.id) for hit in hits[: synthetic.RECALL_K]]
    vocabulary = Vocabulary(
        {term: int(number) for term, (number, _) in settings["vocabulary"].items()},
        np.asarray([frequency for _, frequency in sorted(settings["vocabulary"].values())], dtype=np.int64),
    )
    keyword: list[float] = []
    for question in settings["questions"]:
        began = time.perf_counter()
        weights = vocabulary.query(tokenize([question])[0], settings["size"])
        if weights:
            client.search(KEYWORDS, data=[weights], anns_field="sparse", limit=CANDIDATES, output_fields=["row"])
        keyword.append(time.perf_counter() - began)
    figures = {
        "query_p50_ms": round(percentile_ms(dense, 50), 3),
        "recall_at_10": round(synthetic.recall_at(rows, truth), 4),
        "lexical_p50_ms": round(percentile_ms(keyword, 50), 3),
        "rss_mb": own_peak_rss_mb(),
    }
    print(json.dumps(figures))
