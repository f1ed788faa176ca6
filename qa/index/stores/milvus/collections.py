"""The three collections of a Milvus build: created and indexed, filled with the entities of passages, sentences and
documents, read back as an embedding cache, and cleaned of what builds replaced or left behind."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.documents.base import Document
from qa.documents.chunking import Passage
from qa.index import manifest
from qa.index.lexical import PARAMETERS as LEXICAL_PARAMETERS
from qa.index.stores.milvus.filters import literal, metadata_fields
from qa.index.stores.milvus.state import (
    BATCH,
    DOCUMENTS,
    PART_BITS,
    SENTENCE_BITS,
    SENTENCES,
    MilvusState,
    batches,
    query_all,
    term_weights,
)
from qa.index.stores.shared import approximate, ivf_lists, ivf_probes, passage_record
from qa.kernel.errors import IndexCorruptError, QAError

if TYPE_CHECKING:
    from pymilvus import MilvusClient

    from qa.kernel.progress import Reporter

BM25_ENV = "QA_MILVUS_BM25"  # "qa" (default): BM25 weights computed here as sparse vectors; "milvus": Milvus's BM25
GRACE_SECONDS = 60.0  # rows and collections are deleted once they were replaced this long ago (readers move on)
TEXT_PART = 16_000  # characters of a document's text per stored part (at most 64 KB of UTF-8)
VARCHAR_BYTES = 65_535
NAME_BYTES = 4_096
EMPTY_TERM = 2**32 - 2  # the one dimension of a passage without BM25 terms (Milvus stores no empty sparse vector)


def bm25_choice() -> str:
    """Which BM25 a new Milvus index uses."""
    found = os.environ.get(BM25_ENV, "qa").strip().lower() or "qa"
    if found not in {"qa", "milvus"}:
        raise QAError(f"${BM25_ENV} is {found!r}: use qa (BM25 computed by qa) or milvus (Milvus's BM25 function)")
    return found


def vector_index(count: int) -> dict[str, Any]:
    """The passage vectors' Milvus index, by the policy every store follows (`qa.index.stores.shared`): exact (FLAT)
    below APPROXIMATE_THRESHOLD passages, else IVF over 8-bit codes."""
    if not approximate(count):
        return {"index_type": "FLAT"}
    lists = ivf_lists(count)
    return {"index_type": "IVF_SQ8", "nlist": lists, "nprobe": ivf_probes(lists)}


def create_collections(
    client: MilvusClient, collection: str, dimension: int, bm25: str, dense: dict[str, Any] | None = None
) -> None:
    """The passage, sentence and document collections of one full build, indexed for inner product (`dense`, from
    `vector_index`, for the passage vectors; sentences are always searched exactly, within a few passages)."""
    dense = dense or {"index_type": "FLAT"}
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    passages = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    passages.add_field("row", DataType.INT64, is_primary=True)
    passages.add_field("doc_id", DataType.VARCHAR, max_length=NAME_BYTES)
    passages.add_field("born", DataType.INT64)
    passages.add_field("cache_key", DataType.VARCHAR, max_length=64)
    passages.add_field("sentence_count", DataType.INT64)
    passages.add_field("dl", DataType.INT64)
    passages.add_field("meta", DataType.JSON)
    passages.add_field("record", DataType.VARCHAR, max_length=VARCHAR_BYTES)
    passages.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
    passages.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    indexes = client.prepare_index_params()
    params = {"nlist": dense["nlist"]} if "nlist" in dense else {}
    indexes.add_index(field_name="vector", index_type=dense["index_type"], metric_type="IP", params=params)
    indexes.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    if bm25 == "milvus":
        passages.add_field("bm25_text", DataType.VARCHAR, max_length=VARCHAR_BYTES, enable_analyzer=True)
        passages.add_field("bm25", DataType.SPARSE_FLOAT_VECTOR)
        passages.add_function(
            Function(
                name="bm25",
                function_type=FunctionType.BM25,
                input_field_names=["bm25_text"],
                output_field_names=["bm25"],
            )
        )
        indexes.add_index(
            field_name="bm25",
            index_type="SPARSE_INVERTED_INDEX",
            metric_type="BM25",
            params={"bm25_k1": LEXICAL_PARAMETERS["k1"], "bm25_b": LEXICAL_PARAMETERS["b"]},
        )
    client.create_collection(collection, schema=passages, index_params=indexes)

    sentences = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    sentences.add_field("key", DataType.INT64, is_primary=True)
    sentences.add_field("row", DataType.INT64)
    sentences.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
    indexes = client.prepare_index_params()
    indexes.add_index(field_name="vector", index_type="FLAT", metric_type="IP")
    client.create_collection(collection + SENTENCES, schema=sentences, index_params=indexes)

    cards = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    cards.add_field("key", DataType.INT64, is_primary=True)
    cards.add_field("doc_id", DataType.VARCHAR, max_length=NAME_BYTES)
    cards.add_field("born", DataType.INT64)
    cards.add_field("first_row", DataType.INT64)
    cards.add_field("last_row", DataType.INT64)
    cards.add_field("part", DataType.INT64)
    cards.add_field("meta", DataType.JSON)
    for name in ("path", "title", "content_hash", "metadata", "page_starts", "text"):
        cards.add_field(name, DataType.VARCHAR, max_length=VARCHAR_BYTES)
    cards.add_field("body_start", DataType.INT64)
    cards.add_field("vector", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector field in every collection
    indexes = client.prepare_index_params()
    indexes.add_index(field_name="vector", index_type="FLAT", metric_type="IP")
    client.create_collection(collection + DOCUMENTS, schema=cards, index_params=indexes)


def _fits(text: str, what: str, limit: int = VARCHAR_BYTES) -> str:
    if len(text.encode("utf-8", "surrogatepass")) > limit:
        raise QAError(f"{what} is longer than Milvus's {limit:,}-byte text field: shorten it or use the default store")
    return text


class Batch:
    """The entities of some documents, written to the three collections of an index in Milvus."""

    def __init__(self, client: MilvusClient, collection: str, born: int, bm25: str) -> None:
        self.client = client
        self.collection = collection
        self.born = born
        self.bm25 = bm25

    def write(
        self,
        docs: Sequence[Document],
        passages: Sequence[Passage],
        vectors: np.ndarray,
        sentence_vectors: np.ndarray,
        first_row: int,
        tokens: Sequence[Sequence[str]],
        vocabulary: dict[str, int],
        avgdl: float,
        reporter: Reporter,
    ) -> list[tuple[str, int, int]]:
        """Insert the passages (physical rows from `first_row`, in order, grouped by document), their sentences and
        the documents' cards and texts; return each document's (id, first physical row, passage count)."""
        meta = {doc.id: metadata_fields(doc.metadata) for doc in docs}
        spans: dict[str, tuple[int, int]] = {}
        entities: list[dict[str, Any]] = []
        sentences: list[dict[str, Any]] = []
        offset = 0
        reporter.start("writing to Milvus", len(passages))
        for number, passage in enumerate(passages):
            row = first_row + number
            low, _ = spans.get(passage.doc_id, (row, row))
            spans[passage.doc_id] = (low, row)
            record = passage_record(passage, row, row << SENTENCE_BITS)
            del record["row"]
            entity: dict[str, Any] = {
                "row": row,
                "doc_id": _fits(passage.doc_id, "a document path", NAME_BYTES),
                "born": self.born,
                "cache_key": record["cache_key"],
                "sentence_count": len(passage.sentences),
                "dl": len(tokens[number]),
                "meta": meta[passage.doc_id],
                "record": _fits(json.dumps(record, ensure_ascii=False), f"passage {passage.id}"),
                "vector": vectors[number].astype(np.float32).tolist(),
                "sparse": term_weights(tokens[number], vocabulary, avgdl) or {EMPTY_TERM: 1e-30},
            }
            if self.bm25 == "milvus":
                entity["bm25_text"] = " ".join(tokens[number])
            entities.append(entity)
            for index in range(len(passage.sentences)):
                vector = sentence_vectors[offset + index].astype(np.float32).tolist()
                sentences.append({"key": (row << SENTENCE_BITS) + index, "row": row, "vector": vector})
            offset += len(passage.sentences)
            if len(entities) >= BATCH:
                self.flush_batch(entities, sentences)
            reporter.advance()
        self.flush_batch(entities, sentences)
        cards = [entity for doc in docs if doc.id in spans for entity in self._cards(doc, *spans[doc.id], meta[doc.id])]
        for start in range(0, len(cards), BATCH):
            self.client.insert(self.collection + DOCUMENTS, cards[start : start + BATCH])
        for name in (self.collection, self.collection + SENTENCES, self.collection + DOCUMENTS):
            self.client.flush(name)
            self.client.load_collection(name)
        return [(doc_id, low, high - low + 1) for doc_id, (low, high) in spans.items()]

    def flush_batch(self, entities: list[dict[str, Any]], sentences: list[dict[str, Any]]) -> None:
        """Insert the buffered passage and sentence entities."""
        if entities:
            self.client.insert(self.collection, entities)
        for start in range(0, len(sentences), BATCH):
            self.client.insert(self.collection + SENTENCES, sentences[start : start + BATCH])
        entities.clear()
        sentences.clear()

    def _cards(self, doc: Document, first: int, last: int, meta: dict[str, Any]) -> list[dict[str, Any]]:
        parts = [doc.text[start : start + TEXT_PART] for start in range(0, len(doc.text), TEXT_PART)] or [""]
        card = {
            "doc_id": doc.id,
            "born": self.born,
            "first_row": first,
            "last_row": last,
            "meta": meta,
            "path": _fits(str(doc.path), f"the path of {doc.id}"),
            "title": _fits(doc.title, f"the title of {doc.id}"),
            "content_hash": doc.content_hash,
            "metadata": _fits(json.dumps(doc.metadata, default=str, ensure_ascii=False), f"the metadata of {doc.id}"),
            "page_starts": _fits(json.dumps(doc.page_starts), f"the page list of {doc.id}"),
            "body_start": doc.body_start,
            "vector": [0.0, 0.0],
        }
        blank = dict.fromkeys(("path", "title", "content_hash", "metadata", "page_starts"), "")
        return [
            (card if number == 0 else card | blank | {"meta": {}, "body_start": 0})
            | {"key": (first << PART_BITS) + number, "part": number, "text": part}
            for number, part in enumerate(parts)
        ]


class MilvusCache:
    """An embedding cache over an index in Milvus (what `indexing` reads from a previous Store): the vectors of the
    visible passages with the given cache keys (all of them when `keys` is None), fetched on first use."""

    def __init__(self, client: MilvusClient, state: MilvusState, keys: Iterable[str] | None = None) -> None:
        self.client = client
        self.state = state
        self.keys = None if keys is None else sorted(set(keys))

    @cached_property
    def _found(self) -> list[tuple[str, int, int]]:
        """(cache key, row, sentence count) of every cached passage, in row order."""
        fields = ["cache_key", "row", "sentence_count"]
        if self.keys is None:
            items = list(query_all(self.client, self.state.collection, self.state.visible(), fields))
        else:
            items = []
            for start in range(0, len(self.keys), BATCH):
                chosen = ", ".join(literal(key) for key in self.keys[start : start + BATCH])
                where = f"{self.state.visible()} and cache_key in [{chosen}]"
                items.extend(query_all(self.client, self.state.collection, where, fields))
        unique = {item["cache_key"]: (int(item["row"]), int(item["sentence_count"])) for item in items}
        return sorted(((key, row, count) for key, (row, count) in unique.items()), key=lambda item: item[1])

    def cached_rows(self) -> dict[str, tuple[int, int, int]]:
        """Cache key -> (position in `vectors`, first position in `sentence_vectors`, sentence count)."""
        rows: dict[str, tuple[int, int, int]] = {}
        offset = 0
        for position, (key, _, count) in enumerate(self._found):
            rows[key] = (position, offset, count)
            offset += count
        return rows

    @cached_property
    def vectors(self) -> np.ndarray:
        """The cached passages' vectors, in `cached_rows` order."""
        rows = [row for _, row, _ in self._found]
        by_row: dict[int, list[float]] = {}
        for part in batches(rows):
            for item in self.client.get(self.state.collection, ids=part, output_fields=["row", "vector"]):
                by_row[int(item["row"])] = item["vector"]
        if len(by_row) < len(rows):
            raise IndexCorruptError(f"passage vectors are missing from Milvus: {manifest.FULL_REBUILD}")
        return np.asarray([by_row[row] for row in rows], dtype=np.float32).reshape(len(rows), -1)

    @cached_property
    def sentence_vectors(self) -> np.ndarray:
        """The cached passages' sentence vectors, in `cached_rows` order."""
        rows = [row for _, row, count in self._found if count]
        by_key: dict[int, list[float]] = {}
        for part in batches(rows, BATCH // 8):
            where = f"row in [{', '.join(map(str, part))}]"
            for item in query_all(self.client, self.state.sentence_collection, where, ["key", "vector"]):
                by_key[int(item["key"])] = item["vector"]
        keys = [(row << SENTENCE_BITS) + index for _, row, count in self._found for index in range(count)]
        if any(key not in by_key for key in keys):
            raise IndexCorruptError(f"sentence vectors are missing from Milvus: {manifest.FULL_REBUILD}")
        dimension = self.state.extra.get("dimension", 0)
        if not keys:
            return np.zeros((0, dimension), dtype=np.float32)
        return np.asarray([by_key[key] for key in keys], dtype=np.float32)


def collect(client: MilvusClient, state: MilvusState, now: int) -> MilvusState:
    """Delete what a killed build left (rows past `next_row`, collections nobody names) and what was replaced more
    than GRACE_SECONDS ago; the state without the entries deleted."""
    grace = int(GRACE_SECONDS * 1e9)
    for name, where in (
        (state.collection, f"row >= {state.next_row}"),
        (state.sentence_collection, f"row >= {state.next_row}"),
        (state.document_collection, f"first_row >= {state.next_row}"),
    ):
        client.delete(name, filter=where)
    drop_strays(client, state)
    dead = []
    for low, high, at in state.dead:
        if now - at < grace:
            dead.append((low, high, at))
            continue
        client.delete(state.collection, filter=f"row >= {low} and row <= {high}")
        client.delete(state.sentence_collection, filter=f"row >= {low} and row <= {high}")
        client.delete(state.document_collection, filter=f"first_row >= {low} and first_row <= {high}")
    return dataclasses.replace(state, dead=tuple(dead), retired=expire(client, state.retired, now))


def expire(client: MilvusClient, retired: Sequence[tuple[str, int]], now: int) -> tuple[tuple[str, int], ...]:
    """Drop the collections retired more than GRACE_SECONDS ago; the others."""
    kept = []
    for name, at in retired:
        if now - at < int(GRACE_SECONDS * 1e9):
            kept.append((name, at))
            continue
        for member in family(name):
            if client.has_collection(member):
                client.drop_collection(member)
    return tuple(kept)


def drop_strays(client: MilvusClient, state: MilvusState) -> None:
    """Drop collections of this index that no state names: what a full build killed before its commit left."""
    named = {state.collection, *(name for name, _ in state.retired)}
    for name in client.list_collections():
        family = name.removesuffix(SENTENCES).removesuffix(DOCUMENTS)
        if name.startswith(f"{state.base}_") and family not in named:
            client.drop_collection(name)


def family(collection: str) -> tuple[str, str, str]:
    """The passage collection and its sentence and document collections."""
    return (collection, collection + SENTENCES, collection + DOCUMENTS)


def sparse_keys(found: Any) -> list[int]:
    """The dimensions of a sparse vector as pymilvus returns it."""
    if isinstance(found, dict):
        return [int(key) for key, value in found.items() if value and int(key) != EMPTY_TERM]
    if hasattr(found, "tocoo"):
        return [int(key) for key in found.tocoo().col if int(key) != EMPTY_TERM]
    raise IndexCorruptError(f"unexpected sparse vector {type(found).__name__} from Milvus: {manifest.FULL_REBUILD}")
