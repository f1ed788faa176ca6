"""The read side of the index: one built generation's passage table, vectors, FAISS and BM25, and the schema that
maps passages to table rows."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.documents.base import Document
from qa.documents.chunking import Passage
from qa.index import manifest
from qa.index.lexical import LexicalIndex
from qa.index.manifest import FULL_REBUILD, Manifest
from qa.index.stores.shared import generation_health, record_passage
from qa.kernel.errors import IndexCorruptError, InputError, QAError

if TYPE_CHECKING:
    import faiss

    from qa.kernel.filters import Filter

SMALL_SELECTION = 20_000  # below: a filtered dense search scans the selected vectors; above: FAISS with a selector


TABLE = "passages.sqlite"
VECTORS = "vectors.npy"
SENTENCES = "sentences.npy"
FAISS = "vectors.faiss"
LEXICAL = "bm25"

DOCUMENT_COLUMNS = ("id", "path", "title", "text", "content_hash", "body_start", "metadata", "page_starts")
PASSAGE_COLUMNS: dict[str, str] = {  # name -> SQL type: the one list that INSERT, SELECT and the schema follow
    "row": "INTEGER PRIMARY KEY",
    "id": "TEXT",
    "doc_id": "TEXT",
    "title": "TEXT",
    "text": "TEXT",
    "start": "INTEGER",
    "end": "INTEGER",
    "first_paragraph": "INTEGER",
    "last_paragraph": "INTEGER",
    "citation": "TEXT",
    "heading": "TEXT",
    "page": "INTEGER",
    "sentences": "TEXT",
    "sentence_row": "INTEGER",
    "cache_key": "TEXT",
    "kind": "TEXT",
    "centrality": "REAL",
    "key_sentence": "INTEGER",
}
_LATER_COLUMNS = {"kind": "'text'", "centrality": "0.0", "key_sentence": "-1"}  # what tables built before them hold
_PASSAGE_NAMES = ", ".join(f'"{name}"' for name in PASSAGE_COLUMNS)
SCHEMA = f"""
CREATE TABLE documents (
    id TEXT PRIMARY KEY, path TEXT, title TEXT, text TEXT, content_hash TEXT,
    body_start INTEGER, metadata TEXT, page_starts TEXT
);
CREATE TABLE passages ({", ".join(f'"{name}" {kind}' for name, kind in PASSAGE_COLUMNS.items())});
CREATE INDEX passages_doc ON passages (doc_id);
"""
INSERT_PASSAGE = f"INSERT INTO passages ({_PASSAGE_NAMES}) VALUES ({', '.join(f':{name}' for name in PASSAGE_COLUMNS)})"
INSERT_DOCUMENT = f"INSERT INTO documents VALUES ({', '.join('?' * len(DOCUMENT_COLUMNS))})"


def configure_vector_index(loaded: faiss.Index, described: dict[str, Any]) -> faiss.Index:
    """Ready a loaded index for one question at a time: the manifest's search parameters, a single thread."""
    import faiss

    faiss.omp_set_num_threads(1)  # one query per search: a second thread only adds hand-off waits (40x on a busy box)
    if described.get("kind") == "ivf":
        faiss.extract_index_ivf(loaded).nprobe = int(described["nprobe"])
    return loaded


class Store:
    """A read-only view of one built generation: passages, documents, vectors and search structures."""

    def __init__(self, folder: Path, found: Manifest) -> None:
        self.folder = folder
        self.manifest = found
        self._lock = threading.Lock()
        self._keyword_cache: tuple[tuple[str, ...], np.ndarray] | None = None
        try:
            self._connection = sqlite3.connect(f"file:{folder / TABLE}?mode=ro", uri=True, check_same_thread=False)
            self._connection.row_factory = sqlite3.Row
            self._connection.execute("SELECT count(*) FROM passages").fetchone()
            present = {row["name"] for row in self._connection.execute("PRAGMA table_info(passages)")}
        except sqlite3.Error as error:
            raise IndexCorruptError(f"index table in {folder} is unreadable: {FULL_REBUILD}") from error
        self._select = ", ".join(
            f'"{name}"' if name in present else f'{_LATER_COLUMNS[name]} AS "{name}"' for name in PASSAGE_COLUMNS
        )

    @classmethod
    def open(cls, index: Path, found: Manifest | None = None) -> Store:
        """Open the generation the manifest names, checking that its files are whole."""
        found = found or manifest.read(index)
        health = generation_health(index / found.generation, found.files)
        if health.damaged:
            raise health.error(index)
        return cls(index / found.generation, found)

    def load(self) -> None:
        """Open every file now, so that a later build's clean-up cannot take them away from this reader."""
        self.vectors, self.sentence_vectors, self.sentence_starts, self.vector_index, self.lexical  # noqa: B018

    def close(self) -> None:
        """Release the passage table."""
        self._connection.close()

    def _query(self, sql: str, parameters: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return self._connection.execute(sql, parameters).fetchall()
            except sqlite3.Error as error:
                raise IndexCorruptError(f"index table in {self.folder} is unreadable: {FULL_REBUILD}") from error

    @cached_property
    def vectors(self) -> np.ndarray:
        """Passage vectors, one row per passage (memory-mapped)."""
        return self._array(VECTORS)

    @cached_property
    def sentence_vectors(self) -> np.ndarray:
        """Sentence vectors of all passages in passage order (memory-mapped)."""
        return self._array(SENTENCES)

    def _array(self, name: str) -> np.ndarray:
        try:
            array: np.ndarray = np.load(self.folder / name, mmap_mode="r")
        except (OSError, ValueError) as error:
            raise IndexCorruptError(f"index file {self.folder / name} is unreadable: {FULL_REBUILD}") from error
        return array

    @cached_property
    def vector_index(self) -> faiss.Index:
        """The FAISS index over passage vectors."""
        import faiss

        try:
            loaded = faiss.read_index(str(self.folder / FAISS))
        except RuntimeError as error:
            raise IndexCorruptError(f"index file {self.folder / FAISS} is unreadable: {FULL_REBUILD}") from error
        if loaded.ntotal != self.manifest.passages:
            raise IndexCorruptError(
                f"vector index holds {loaded.ntotal} passages, not {self.manifest.passages}: {FULL_REBUILD}"
            )
        return configure_vector_index(loaded, self.manifest.vector_index)

    @cached_property
    def lexical(self) -> LexicalIndex:
        """The BM25 index over passage texts."""
        try:
            return LexicalIndex.load(self.folder / LEXICAL, self.manifest.passages)
        except (OSError, EOFError, ValueError, KeyError) as error:
            raise IndexCorruptError(f"keyword index in {self.folder} is unreadable: {FULL_REBUILD}") from error

    @property
    def size(self) -> int:
        """Number of passages."""
        return self.manifest.passages

    def rows_of(self, doc_id: str) -> range:
        """Passage rows of one document (contiguous), empty when unknown."""
        found = self._query("SELECT min(row), max(row) FROM passages WHERE doc_id = ?", (doc_id,))
        low, high = found[0]
        return range(0) if low is None else range(low, high + 1)

    def passages(self, rows: Sequence[int]) -> list[Passage]:
        """Passages at the given rows, in that order."""
        if not rows:
            return []
        by_row: dict[int, Passage] = {}
        wanted = list(rows)
        for start in range(0, len(wanted), 900):
            part = wanted[start : start + 900]
            marks = ", ".join("?" * len(part))
            for record in self._query(f"SELECT {self._select} FROM passages WHERE row IN ({marks})", part):
                by_row[record["row"]] = record_passage(record)
        try:
            return [by_row[row] for row in rows]
        except KeyError as error:
            raise IndexCorruptError(f"passage row {error} is missing from {self.folder}: {FULL_REBUILD}") from error

    @cached_property
    def sentence_starts(self) -> np.ndarray:
        """First sentence row of every passage, with the total sentence count appended."""
        starts = [start for (start,) in self._query("SELECT sentence_row FROM passages ORDER BY row")]
        return np.array([*starts, self.manifest.sentences], dtype=np.int64)

    def sentence_rows(self, row: int) -> range:
        """Rows of `sentence_vectors` that belong to the passage at `row`."""
        return range(int(self.sentence_starts[row]), int(self.sentence_starts[row + 1]))

    def select(self, doc: str | None, found: Filter | None) -> np.ndarray | None:
        """The rows a search may return (sorted), or None for all; errors when `doc` is not indexed."""
        if doc is None and not found:
            return None
        if doc is not None:
            doc_rows = self.rows_of(doc)
            if not doc_rows:
                raise InputError(f"no document {doc!r} in the index: qa status --json lists document ids")
            if not found:  # the document alone: no metadata to read
                return np.arange(doc_rows.start, doc_rows.stop)
        records = self._query("SELECT id, metadata FROM documents ORDER BY id")
        admitted = [
            doc_id
            for doc_id, metadata in records
            if (doc is None or doc_id == doc) and (not found or found.admits(doc_id, json.loads(metadata)))
        ]
        spans = [self.rows_of(doc_id) for doc_id in admitted]
        rows = [np.arange(span.start, span.stop) for span in spans if span]
        return np.sort(np.concatenate(rows)) if rows else np.zeros(0, dtype=np.int64)

    def dense(self, query: np.ndarray, count: int, rows: np.ndarray | None) -> dict[int, float]:
        """The `count` rows (among `rows`) whose passage vectors are closest to the query, with their cosines."""
        if rows is not None and len(rows) <= SMALL_SELECTION:
            if not len(rows):
                return {}
            sims = np.asarray(self.vectors[rows]) @ query
            order = np.argsort(-sims)[:count]
            return {int(rows[i]): float(sims[i]) for i in order}
        import faiss

        count = min(count, self.size if rows is None else len(rows))
        parameters = None
        if rows is not None:
            selector = faiss.IDSelectorBatch(np.ascontiguousarray(rows, dtype=np.int64))
            parameters = (
                faiss.SearchParametersIVF(sel=selector, nprobe=int(self.manifest.vector_index["nprobe"]))  # type: ignore[call-arg]
                if self.manifest.vector_index.get("kind") == "ivf"
                else faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
            )
        scores, found = self.vector_index.search(query.reshape(1, -1).astype(np.float32), count, params=parameters)
        return {int(row): float(score) for row, score in zip(found[0], scores[0], strict=True) if row >= 0}

    def similarities(self, rows: Sequence[int], query: np.ndarray) -> dict[int, float]:
        """The cosine between the query and the passage vector of each row."""
        if not rows:
            return {}
        sims = np.asarray(self.vectors[list(rows)]) @ query
        return dict(zip((int(row) for row in rows), sims.tolist(), strict=True))

    def keyword(self, terms: list[str], count: int, rows: np.ndarray | None) -> dict[int, float]:
        """The `count` rows (among `rows`) with the highest positive BM25 scores for the query's terms."""
        scores = self._keyword_all(terms)
        if rows is not None:
            if not len(rows):
                return {}
            scores = scores[rows]
        count = min(count, len(scores))
        best = np.argpartition(-scores, count - 1)[:count]
        ids = rows if rows is not None else None
        return {int(ids[i] if ids is not None else i): float(scores[i]) for i in best if scores[i] > 0}

    def keyword_scores(self, terms: list[str], rows: Sequence[int]) -> dict[int, float]:
        """The BM25 score of each row for the query's terms."""
        scores = self._keyword_all(terms)
        return {int(row): float(scores[row]) for row in rows}

    def _keyword_all(self, terms: list[str]) -> np.ndarray:
        """BM25 scores of every passage, computed once per query (keyed by the terms)."""
        key = tuple(terms)
        with self._lock:
            cached = self._keyword_cache
        if cached is not None and cached[0] == key:
            return cached[1]
        scores = self.lexical.token_scores(terms)
        with self._lock:
            self._keyword_cache = (key, scores)
        return scores

    def unknown_names(self, question: str) -> list[str]:
        """Names in the question of which no word occurs in any indexed passage."""
        return self.lexical.unknown_names(question)

    def sentence_scores(self, row: int, query: np.ndarray) -> np.ndarray:
        """The cosine between the query and each sentence of the passage at `row`."""
        sentences = self.sentence_rows(row)
        scores: np.ndarray = np.asarray(self.sentence_vectors[sentences.start : sentences.stop]) @ query
        return scores

    def best_sentence_scores(self, rows: Sequence[int], query: np.ndarray) -> dict[int, float]:
        """For each passage row, the highest cosine between the query and one of its sentences."""
        return {row: float(scores.max()) if len(scores := self.sentence_scores(row, query)) else 0.0 for row in rows}

    def cached_rows(self) -> dict[str, tuple[int, int, int]]:
        """Cache key -> (row, first sentence row, sentence count): the embedding cache."""
        records = self._query("SELECT cache_key, row, sentence_row, sentences FROM passages")
        return {digest: (row, sentence_row, len(json.loads(spans))) for digest, row, sentence_row, spans in records}

    def document(self, doc_id: str) -> Document:
        """The stored document with this id."""
        found = self._query(f"SELECT {', '.join(DOCUMENT_COLUMNS)} FROM documents WHERE id = ?", (doc_id,))
        if not found:
            raise QAError(f"no document {doc_id!r} in the index: qa status --json lists the documents")
        doc, path, title, text, content_hash, body_start, metadata, page_starts = tuple(found[0])
        return Document(
            id=doc,
            path=Path(path),
            title=title,
            text=text,
            content_hash=content_hash,
            body_start=body_start,
            metadata=json.loads(metadata),
            page_starts=tuple(json.loads(page_starts)),
        )

    def document_ids(self) -> list[str]:
        """Ids of the indexed documents, sorted."""
        return [doc for (doc,) in self._query("SELECT id FROM documents ORDER BY id")]
