"""Writing one generation of the default store: the passage table (SQLite), the vectors (NumPy), FAISS and BM25,
synced to disk in the generation folder the build pipeline names."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.documents.base import Document
from qa.documents.chunking import Passage
from qa.index.lexical import LexicalIndex
from qa.index.stores.files.store import (
    FAISS,
    INSERT_DOCUMENT,
    INSERT_PASSAGE,
    LEXICAL,
    SCHEMA,
    SENTENCES,
    TABLE,
    VECTORS,
)
from qa.index.stores.shared import approximate, document_record, ivf_lists, ivf_probes, lexical_text, passage_record
from qa.kernel.progress import Reporter

if TYPE_CHECKING:
    import faiss

IVF_TRAIN_PER_LIST = 40
IVF_TRAIN_ITERATIONS = 10
IVF_SEED = 1234


def write_generation(
    folder: Path,
    docs: list[Document],
    passages: list[Passage],
    vectors: np.ndarray,
    sentence_vectors: np.ndarray,
    reporter: Reporter,
) -> tuple[dict[str, int], dict[str, Any]]:
    """Write one generation folder and sync it to disk; its files (with their sizes) and its `vector_index`."""
    folder.mkdir(parents=True)
    _write_table(folder / TABLE, docs, passages)
    reporter.advance()
    np.save(folder / VECTORS, vectors)
    np.save(folder / SENTENCES, sentence_vectors)
    reporter.advance()
    import faiss

    vector_index, described = make_vector_index(vectors)
    faiss.write_index(vector_index, str(folder / FAISS))
    reporter.advance()
    LexicalIndex.build([lexical_text(passage) for passage in passages]).save(folder / LEXICAL)
    reporter.advance()
    files: dict[str, int] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
            files[path.relative_to(folder).as_posix()] = path.stat().st_size
    return files, described


def make_vector_index(vectors: np.ndarray) -> tuple[faiss.Index, dict[str, Any]]:
    """Exact inner-product search below APPROXIMATE_THRESHOLD passages, else an IVF index of 8-bit codes."""
    import faiss

    count, dimension = vectors.shape
    if not approximate(count):
        flat = faiss.IndexFlatIP(dimension)
        flat.add(vectors)
        return flat, {"kind": "flat", "metric": "inner_product"}
    lists = ivf_lists(count)
    ivf = faiss.IndexIVFScalarQuantizer(
        faiss.IndexFlatIP(dimension), dimension, lists, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
    )
    ivf.cp.niter = IVF_TRAIN_ITERATIONS
    ivf.cp.seed = IVF_SEED
    sample = np.random.default_rng(IVF_SEED).choice(count, size=min(count, IVF_TRAIN_PER_LIST * lists), replace=False)
    ivf.train(np.ascontiguousarray(vectors[np.sort(sample)]))
    ivf.add(vectors)
    described = {"kind": "ivf", "metric": "inner_product", "storage": "sq8", "nlist": lists}
    ivf.nprobe = described["nprobe"] = ivf_probes(lists)
    return ivf, described


def _write_table(path: Path, docs: list[Document], passages: list[Passage]) -> None:
    connection = sqlite3.connect(path)
    try:
        connection.executescript(SCHEMA)
        connection.executemany(INSERT_DOCUMENT, [document_record(doc) for doc in docs])
        records = []
        sentence_row = 0
        for row, passage in enumerate(passages):
            records.append(passage_record(passage, row, sentence_row))
            sentence_row += len(passage.sentences)
        connection.executemany(INSERT_PASSAGE, records)
        connection.commit()
    finally:
        connection.close()
