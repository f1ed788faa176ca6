"""The Milvus-backed PassageStore: passages with their vectors and BM25 weights, sentence vectors and document cards in
three Milvus collections (a Milvus Lite folder run in this process, or a Milvus server), read at one generation.

Entities are never rewritten: a build inserts new ones (`born` = its generation, keyed by a new physical row) and
lists the physical rows of changed or removed documents as dead in its state file, so a reader pinned to a
generation sees exactly that generation whatever a build is doing; dead rows are deleted once no reader can still
want them (`writer`). The rows this store hands out keep the seam's contract (0..size-1 in document order,
each document's contiguous): a generation's layout maps them to the physical rows, which a full build numbers the
same way and an incremental one appends to. The manifest stays authoritative: it names the generation folder, which
holds the state (`milvus.json`), the layout and the BM25 vocabulary with its document frequencies.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.documents.base import Document
from qa.documents.chunking import Passage
from qa.index import manifest
from qa.index.lexical import Lexicon, unknown_names
from qa.index.manifest import FULL_REBUILD, Manifest
from qa.index.stores.milvus.filters import Selection, filter_expression, literal, rows_expression
from qa.index.stores.milvus.state import (
    MAX_LIMIT,
    SENTENCE_BITS,
    Layout,
    MilvusState,
    Vocabulary,
    batches,
    connect,
    load,
    query_all,
    read_state,
    release,
    resolved_uri,
)
from qa.index.stores.shared import generation_health, record_passage
from qa.kernel.errors import IndexCorruptError, InputError, QAError

if TYPE_CHECKING:
    from qa.kernel.filters import Filter

SENTENCE_PREFETCH = 64  # passages whose sentence scores one search fetches


class MilvusStore:
    """A PassageStore reading an index kept in Milvus. Thread-safe; a question pins the generation it starts on
    (`select` is where every question starts), and a newer build's generation is taken up at the next question."""

    def __init__(self, index: Path, found: Manifest) -> None:
        self.folder = index
        self._local = threading.local()
        self._lock = threading.Lock()
        self._stamp = _stamp(index)
        self.uri = resolved_uri(index, read_state(index, found).uri)
        self.client = connect(self.uri)
        self._closed = False
        try:
            self._view = self._open_view(found)
        except BaseException:
            self.close()
            raise

    @classmethod
    def open(cls, index: Path, found: Manifest | None = None) -> MilvusStore:
        """Open the generation the manifest names, checking that its files are whole."""
        return cls(index, found or manifest.read(index))

    def _open_view(self, found: Manifest) -> _View:
        folder = self.folder / found.generation
        health = generation_health(folder, found.files)
        if health.damaged:
            raise health.error(self.folder)
        try:
            vocabulary = Vocabulary.load(folder)
            layout = Layout.load(folder)
        except (OSError, ValueError, TypeError) as error:
            raise IndexCorruptError(f"Milvus index files in {folder} are unreadable: {FULL_REBUILD}") from error
        state = read_state(self.folder, found)
        load(self.client, state)
        return _View(found, state, vocabulary, layout)

    @property
    def manifest(self) -> Manifest:
        """The manifest of the generation read now."""
        return self._current().manifest

    @property
    def state(self) -> MilvusState:
        """The Milvus state of the generation read now."""
        return self._current().state

    def _current(self) -> _View:
        pinned: _View | None = getattr(self._local, "view", None)
        return pinned or self._view

    def _follow(self) -> _View:
        """The newest generation: reread when the manifest file changed (a build finished), else the one held."""
        stamp = _stamp(self.folder)
        with self._lock:
            if stamp == self._stamp:
                return self._view
        try:
            found = manifest.read(self.folder)
            view = self._open_view(found) if found.vector_index.get("kind") == "milvus" else None
        except QAError:
            view = None  # a build half-way through its clean-up: keep the generation held
        with self._lock:
            if view is not None and view.manifest.model == self._view.manifest.model:
                self._view, self._stamp = view, stamp
            return self._view

    def load(self) -> None:
        """Ready the collections now, so the first question is as fast as the next (opening loaded them)."""
        self.client.query(self.state.collection, filter="row < 0", output_fields=["row"])

    def close(self) -> None:
        """Give back the Milvus client."""
        if not self._closed:
            self._closed = True
            release(self.uri)

    @property
    def size(self) -> int:
        """Number of passages."""
        return self.state.passages

    def _search(self, collection: str, data: list[Any], vectors: str, limit: int, where: str, **extra: Any) -> Any:
        """One query's hits; only the row comes back (Milvus Lite would return every field when asked for none)."""
        extra.setdefault("output_fields", ["row"])
        hits = self.client.search(
            collection, data=data, anns_field=vectors, limit=min(limit, MAX_LIMIT), filter=where, **extra
        )
        return hits[0] if hits else []

    def _scored(self, view: _View, hits: Any) -> dict[int, float]:
        """Rows and scores of search hits on the passage collection."""
        physical = [int(hit.id) for hit in hits]
        rows = view.layout.to_rows(physical).tolist()
        return {row: float(hit["distance"]) for row, hit in zip(rows, hits, strict=True)}

    def select(self, doc: str | None, found: Filter | None) -> np.ndarray | None:
        """The rows a search may return (sorted), or None for all; errors when `doc` is not indexed. The filter is
        pushed down as a Milvus expression, which this question's searches reuse."""
        view = self._follow()
        self._local.view = view
        if doc is None and not found:
            return None
        if doc is not None and doc not in view.layout.spans:
            raise InputError(f"no document {doc!r} in the index: qa status --json lists document ids")
        state = view.state
        expression = filter_expression(doc, found, lambda: self._metadata(state))
        where = f"part == 0 and {state.visible('first_row')} and ({expression})"
        admitted = query_all(self.client, state.document_collection, where, ["doc_id"])
        spans = [view.layout.spans[item["doc_id"]] for item in admitted if item["doc_id"] in view.layout.spans]
        parts = [np.arange(start, start + count, dtype=np.int64) for start, _, count in spans]
        rows = np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)
        return Selection.of(rows, expression)

    def _metadata(self, state: MilvusState) -> dict[str, dict[str, Any]]:
        """Every visible document's metadata, for filters that cannot be pushed down."""
        where = f"part == 0 and {state.visible('first_row')}"
        found = query_all(self.client, state.document_collection, where, ["doc_id", "metadata"])
        return {item["doc_id"]: json.loads(item["metadata"]) for item in found}

    def _where(self, view: _View, rows: np.ndarray | None) -> str:
        if rows is None:
            return view.state.visible()
        pushed = getattr(rows, "expression", None)
        return f"{view.state.visible()} and ({pushed or rows_expression(view.layout.to_physical(rows))})"

    def dense(self, query: np.ndarray, count: int, rows: np.ndarray | None) -> dict[int, float]:
        """The `count` rows (among `rows`) whose passage vectors are closest to the query, with their cosines."""
        if rows is not None and not len(rows):
            return {}
        view = self._current()
        probes = view.state.extra.get("vector_index", {}).get("nprobe")
        extra = {"search_params": {"params": {"nprobe": probes}}} if probes else {}
        hits = self._search(view.state.collection, [_floats(query)], "vector", count, self._where(view, rows), **extra)
        return self._scored(view, hits)

    def similarities(self, rows: Sequence[int], query: np.ndarray) -> dict[int, float]:
        """The cosine between the query and the passage vector of each row (computed here, exactly, whatever
        the index: an approximate one may not reach every row)."""
        if not len(rows):
            return {}
        view = self._current()
        physical = view.layout.to_physical(rows).tolist()
        vectors: dict[int, list[float]] = {}
        for part in batches(physical):
            for item in self.client.get(view.state.collection, ids=part, output_fields=["row", "vector"]):
                vectors[int(item["row"])] = item["vector"]
        missing = [row for row, key in zip(rows, physical, strict=True) if key not in vectors]
        if missing:
            raise IndexCorruptError(f"passage rows {missing[:5]} are missing from Milvus: {FULL_REBUILD}")
        scores = np.asarray([vectors[key] for key in physical], dtype=np.float32) @ np.asarray(query, np.float32)
        return {int(row): float(score) for row, score in zip(rows, scores.tolist(), strict=True)}

    def _keyword_search(self, view: _View, terms: list[str], limit: int, where: str) -> dict[int, float]:
        if view.state.bm25 == "milvus":
            if not terms:
                return {}
            hits = self._search(view.state.collection, [" ".join(terms)], "bm25", limit, where)
            for hit in hits:  # Milvus Lite reports BM25 scores negated (as distances); servers report them as they are
                hit["distance"] = abs(float(hit["distance"]))
        else:
            weights = view.vocabulary.query(terms, view.state.passages)
            if not weights:
                return {}
            hits = self._search(view.state.collection, [weights], "sparse", limit, where)
        return {row: score for row, score in self._scored(view, hits).items() if score > 0}

    def keyword(self, terms: list[str], count: int, rows: np.ndarray | None) -> dict[int, float]:
        """The `count` rows (among `rows`) with the highest positive BM25 scores for the query's terms."""
        if rows is not None and not len(rows):
            return {}
        view = self._current()
        found = self._keyword_search(view, terms, count, self._where(view, rows))
        # fewer hits than asked for: every other row (of the selection) scores 0, so `keyword_scores` asks no more
        self._local.keyword = (view, tuple(terms), found, len(found) < min(count, MAX_LIMIT))
        return found

    def keyword_scores(self, terms: list[str], rows: Sequence[int]) -> dict[int, float]:
        """The BM25 score of each row for the query's terms (those `keyword` just found are not asked again)."""
        view = self._current()
        found: dict[int, float] = {}
        complete = False
        cached = getattr(self._local, "keyword", None)
        if cached is not None and cached[0] is view and cached[1] == tuple(terms):
            found, complete = dict(cached[2]), cached[3]
        missing = [int(row) for row in rows if int(row) not in found]
        if missing and not complete:
            for part in batches(view.layout.to_physical(missing).tolist()):
                found.update(self._keyword_search(view, terms, len(part), _in("row", part)))
        return {int(row): found.get(int(row), 0.0) for row in rows}

    def unknown_names(self, question: str) -> list[str]:
        """Names in the question of which no word occurs in any indexed passage."""
        view = self._current()
        if view.known is None:
            view.known = Lexicon(view.vocabulary.known())
        return unknown_names(question, view.known)

    def sentence_scores(self, row: int, query: np.ndarray) -> np.ndarray:
        """The cosine between the query and each sentence of the passage at `row`. One search serves the passages
        the question last fetched (those it highlights), not one search each."""
        view = self._current()
        vector = np.asarray(query, dtype=np.float32).tobytes()
        cached = getattr(self._local, "sentences", None)
        if cached is None or cached[0] is not view or cached[1] != vector or int(row) not in cached[2]:
            recent: list[int] = getattr(self._local, "recent", [])
            wanted = sorted({int(row), *recent[:SENTENCE_PREFETCH]})
            physical = view.layout.to_physical(wanted).tolist()
            where = _in("row", physical)
            hits = self._search(view.state.sentence_collection, [_floats(query)], "vector", MAX_LIMIT, where)
            numbered: dict[int, dict[int, float]] = {key: {} for key in physical}
            mask = (1 << SENTENCE_BITS) - 1
            for hit in hits:
                numbered[int(hit.id) >> SENTENCE_BITS][int(hit.id) & mask] = float(hit["distance"])
            table: dict[int, np.ndarray] = {}
            for number, key in zip(wanted, physical, strict=True):
                found = np.zeros(max(numbered[key], default=-1) + 1, dtype=np.float32)
                for sentence, score in numbered[key].items():
                    found[sentence] = score
                table[number] = found
            cached = (view, vector, table)
            self._local.sentences = cached
        scores: np.ndarray = cached[2][int(row)]
        return scores

    def best_sentence_scores(self, rows: Sequence[int], query: np.ndarray) -> dict[int, float]:
        """For each row, the highest cosine between the query and one of its sentences (0 when it has none)."""
        view = self._current()
        best: dict[int, float] = {}
        for part in batches(view.layout.to_physical(rows).tolist()):
            hits = self._search(
                view.state.sentence_collection,
                [_floats(query)],
                "vector",
                len(part),
                _in("row", part),
                group_by_field="row",
                group_size=1,
            )
            for hit in hits:
                row = view.layout.row(int(hit["entity"]["row"]))
                best[row] = max(best.get(row, -math.inf), float(hit["distance"]))
        return {int(row): best.get(int(row), 0.0) for row in rows}

    def passages(self, rows: Sequence[int]) -> list[Passage]:
        """Passages at the given rows, in that order."""
        view = self._current()
        physical = view.layout.to_physical(rows).tolist() if len(rows) else []
        by_row: dict[int, Passage] = {}
        for part in batches(physical):
            for item in self.client.get(view.state.collection, ids=part, output_fields=["row", "record"]):
                by_row[int(item["row"])] = _passage(item, view.layout.row(int(item["row"])))
        self._local.recent = [int(row) for row in rows]  # what `sentence_scores` fetches with the next row asked
        try:
            return [by_row[row] for row in physical]
        except KeyError as error:
            raise IndexCorruptError(f"passage row {error} is missing from Milvus: {FULL_REBUILD}") from error

    def rows_of(self, doc_id: str) -> range:
        """Rows of one document (contiguous), empty when unknown."""
        start, _, count = self._current().layout.spans.get(doc_id, (0, 0, 0))
        return range(start, start + count)

    def cached_rows(self) -> dict[str, tuple[int, int, int]]:
        """Cache key -> (physical row, first sentence key, sentence count) of every visible passage."""
        state = self.state
        found = query_all(self.client, state.collection, state.visible(), ["row", "cache_key", "sentence_count"])
        return {
            item["cache_key"]: (int(item["row"]), int(item["row"]) << SENTENCE_BITS, int(item["sentence_count"]))
            for item in found
        }

    def document(self, doc_id: str) -> Document:
        """The stored document with this id."""
        state = self.state
        where = f"doc_id == {literal(doc_id)} and {state.visible('first_row')}"
        parts = sorted(query_all(self.client, state.document_collection, where, ["*"]), key=lambda item: item["part"])
        if not parts:
            raise QAError(f"no document {doc_id!r} in the index: qa status --json lists the documents")
        card = parts[0]
        return Document(
            id=card["doc_id"],
            path=Path(card["path"]),
            title=card["title"],
            text="".join(part["text"] for part in parts),
            content_hash=card["content_hash"],
            body_start=int(card["body_start"]),
            metadata=json.loads(card["metadata"]),
            page_starts=tuple(json.loads(card["page_starts"])),
        )

    def document_ids(self) -> list[str]:
        """Ids of the indexed documents, sorted."""
        return sorted(self._current().layout.doc_ids)

    def count(self) -> int:
        """Passages the collection holds for this generation (what `qa status` checks against the manifest)."""
        state = self.state
        found = self.client.query(state.collection, filter=state.visible(), output_fields=["count(*)"])
        return int(found[0]["count(*)"]) if found else 0

    def alias_target(self) -> str | None:
        """The collection the index's alias points at (None when there is none)."""
        from pymilvus.exceptions import MilvusException

        try:
            return str(self.client.describe_alias(self.state.base)["collection_name"])
        except MilvusException:
            return None


@dataclass
class _View:
    """A generation as a reader holds it: its manifest, Milvus state, layout and BM25 vocabulary."""

    manifest: Manifest
    state: MilvusState
    vocabulary: Vocabulary
    layout: Layout
    known: Lexicon | None = None


def _stamp(index: Path) -> tuple[int, int, int]:
    try:
        found = (index / manifest.MANIFEST).stat()
    except OSError:
        return (0, 0, 0)
    return (found.st_ino, found.st_mtime_ns, found.st_size)


def _floats(vector: np.ndarray) -> list[float]:
    return [float(value) for value in np.asarray(vector, dtype=np.float32).ravel()]


def _in(name: str, values: Iterable[int]) -> str:
    return f"{name} in [{', '.join(str(int(value)) for value in values)}]"


def _passage(item: dict[str, Any], row: int) -> Passage:
    try:
        return record_passage(json.loads(item["record"]) | {"row": row})
    except (KeyError, ValueError, TypeError) as error:
        raise IndexCorruptError(f"a passage in Milvus is unreadable ({error}): {FULL_REBUILD}") from error
