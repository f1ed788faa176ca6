"""BEIR benchmarks: read a BEIR folder, index it once in a cache folder, and score runs with ir-measures."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.answering.retrieval import Mode, Searcher, Settings
from qa.documents.base import Document
from qa.documents.chunking import Passage, split_sentences
from qa.index.cached import cached_index, keyed_folder
from qa.index.stores.base import PassageStore
from qa.kernel.errors import InputError
from qa.kernel.paths import StoreSpec
from qa.kernel.progress import Reporter
from qa.models.embedding import Embedder

if TYPE_CHECKING:
    import numpy as np

    from qa.engine.engine import Engine

DEPTH = 100
MEASURES = ("nDCG@10", "R@100", "RR@10")
CORPUS = "corpus.jsonl"
QUERIES = "queries.jsonl"
CHUNKING = {"beir": 1}


@dataclass(frozen=True)
class Benchmark:
    """A BEIR data set: documents (id, title, text), the queries judged in one split, and their judgements."""

    name: str
    folder: Path
    corpus: list[tuple[str, str, str]]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def load(folder: Path, split: str = "test") -> Benchmark:
    """Read corpus.jsonl, queries.jsonl and qrels/<split>.tsv; only judged queries are kept."""
    qrels_path = folder / "qrels" / f"{split}.tsv"
    for path in (folder / CORPUS, folder / QUERIES, qrels_path):
        if not path.is_file():
            raise InputError(f"{path} is missing: --beir takes a BEIR folder (corpus.jsonl, queries.jsonl, qrels/)")
    try:
        corpus = [
            (str(raw["_id"]), str(raw.get("title") or ""), str(raw.get("text") or ""))
            for raw in _json_lines(folder / CORPUS)
        ]
        all_queries = {str(raw["_id"]): str(raw["text"]) for raw in _json_lines(folder / QUERIES)}
        qrels: dict[str, dict[str, int]] = {}
        with qrels_path.open(encoding="utf-8", newline="") as stream:
            for row in csv.reader(stream, delimiter="\t"):
                if len(row) < 3 or not row[-1].strip().lstrip("-").isdigit():
                    continue  # header line
                query_id, doc_id, relevance = row[0], row[-2], int(row[-1])
                qrels.setdefault(query_id, {})[doc_id] = relevance
    except (KeyError, ValueError, TypeError) as error:
        raise InputError(f"{folder} is not a readable BEIR folder ({type(error).__name__}: {error})") from error
    queries = {query_id: all_queries[query_id] for query_id in qrels if query_id in all_queries}
    if not corpus or not queries:
        raise InputError(f"{folder} has no documents or no judged queries for split {split!r}")
    return Benchmark(folder.resolve().name, folder, corpus, queries, qrels)


def _json_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def cache_folder(index_root: Path, benchmark: Benchmark, embedder: Embedder) -> Path:
    """Where the benchmark's index is kept: one folder per data set, corpus file and model."""
    return keyed_folder(index_root / "beir", benchmark.name, benchmark.folder / CORPUS, embedder)


def open_index(
    index_root: Path,
    benchmark: Benchmark,
    embedder: Embedder,
    reporter: Reporter,
    store: StoreSpec | None = None,
    root: Path | None = None,
) -> PassageStore:
    """The benchmark's index, built on first use: title + text as one passage per document, no chunking; kept in
    `store` when given, reusing the vectors of the default store's copy under `root`."""
    folder = cache_folder(index_root, benchmark, embedder)
    source, count = benchmark.folder / CORPUS, len(benchmark.corpus)
    seed = cache_folder(root, benchmark, embedder) if store is not None and root is not None else None
    return cached_index(folder, embedder, reporter, source, count, lambda: _documents(benchmark), CHUNKING, store, seed)


def _documents(benchmark: Benchmark) -> tuple[list[Document], list[Passage]]:
    docs: list[Document] = []
    passages: list[Passage] = []
    for doc_id, title, body in benchmark.corpus:
        text = f"{title}\n{body}" if title else body
        docs.append(Document(doc_id, benchmark.folder / CORPUS, title or doc_id, text, ""))
        passages.append(
            Passage(
                id=doc_id,
                doc_id=doc_id,
                title=title or doc_id,
                text=text,
                start=0,
                end=len(text),
                paragraphs=(1, 1),
                citation=title or doc_id,
                sentences=tuple(split_sentences(text)),
            )
        )
    return docs, passages


def embed_queries(searcher: Searcher, benchmark: Benchmark) -> np.ndarray | None:
    """The vectors of the judged queries, in `benchmark.queries` order (None without a model): embedded once for
    every mode that needs them."""
    if searcher.embedder is None:
        return None
    return searcher.embedder.embed(list(benchmark.queries.values()))


def run(
    searcher: Searcher, benchmark: Benchmark, settings: Settings, reporter: Reporter, vectors: np.ndarray | None
) -> dict[str, dict[str, float]]:
    """The top DEPTH documents of every judged query, as {query id: {doc id: score}}; `vectors` are the queries'
    (`embed_queries`), which lexical mode ignores."""
    ids = list(benchmark.queries)
    ranked: dict[str, dict[str, float]] = {}
    reporter.start(f"queries ({settings.mode})", len(ids))
    for position, query_id in enumerate(ids):
        vector = vectors[position] if vectors is not None else None
        ranking = searcher.rank(benchmark.queries[query_id], settings, vector)
        rows = ranking.rows[:DEPTH]
        ranked[query_id] = {
            passage.doc_id: ranking.fused[row] for row, passage in zip(rows, searcher.store.passages(rows), strict=True)
        }
        reporter.advance()
    return ranked


def measure(qrels: dict[str, dict[str, int]], ranked: dict[str, dict[str, float]]) -> dict[str, float]:
    """nDCG@10, Recall@100 and MRR@10 averaged over the judged queries, computed by ir-measures."""
    import ir_measures

    measures = [ir_measures.parse_measure(name) for name in MEASURES]
    judged = {query_id: ranked.get(query_id, {}) for query_id in qrels}
    scores = ir_measures.calc_aggregate(measures, qrels, judged)
    names = {"nDCG@10": "ndcg@10", "R@100": "recall@100", "RR@10": "mrr@10"}
    return {names[str(measure)]: round(float(value), 4) for measure, value in scores.items()}


def evaluate(
    engine: Engine, folder: Path, split: str, settings: Settings, modes: Sequence[Mode], reporter: Reporter
) -> tuple[dict[str, Any], str]:
    """The `qa eval --beir` report: each mode's measures on the benchmark, and the key its runs are saved under."""
    benchmark = load(folder, split)
    opened = open_index(engine.paths.index, benchmark, engine.embedder, reporter, engine.paths.store, engine.paths.root)
    searcher = engine.searcher(opened)
    vectors = embed_queries(searcher, benchmark) if any(mode != "lexical" for mode in modes) else None
    results = {
        mode: measure(benchmark.qrels, run(searcher, benchmark, replace(settings, mode=mode), reporter, vectors))
        for mode in modes
    }
    data = {
        "beir": benchmark.name,
        "split": split,
        "queries": len(benchmark.queries),
        "documents": len(benchmark.corpus),
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "modes": results,
    }
    return data, f"beir-{benchmark.name}-{split}"
