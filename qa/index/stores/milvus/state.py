"""One generation of an index kept in Milvus, as the files beside its manifest record it (the state, the layout of
rows, the BM25 vocabulary), and the Milvus client shared within a process."""

from __future__ import annotations

import json
import logging
import math
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.index.lexical import K1, B
from qa.index.manifest import FULL_REBUILD, Manifest
from qa.kernel.errors import IndexCorruptError, InputError, QAError
from qa.kernel.paths import StoreSpec, is_remote

if TYPE_CHECKING:
    from pymilvus import MilvusClient

TOKEN_ENV = "QA_MILVUS_TOKEN"
STATE = "milvus.json"
TERMS = "terms.txt"
FREQUENCIES = "df.npy"
LAYOUT = "layout.json"
SENTENCES = "_s"  # suffix of the sentence collection's name
DOCUMENTS = "_d"  # suffix of the document collection's name
SENTENCE_BITS = 16  # a sentence's key is its passage row shifted by this, plus its number in the passage
PART_BITS = 16  # a document part's key is its first passage row shifted by this, plus the part number
MAX_LIMIT = 16_384  # Milvus's largest top-k and query window
BATCH = 1_000  # rows per `in [...]` list and per insert
# pymilvus pings every 10 s even when idle, which a Milvus Lite server (gRPC's defaults) answers with GOAWAY
KEEPALIVE = {"grpc.keepalive_time_ms": 120_000, "grpc.keepalive_permit_without_calls": False}

_CLIENTS: dict[str, tuple[MilvusClient, int]] = {}
_CLIENTS_LOCK = threading.Lock()


@dataclass(frozen=True)
class MilvusState:
    """One generation of an index kept in Milvus, as its state file records it."""

    uri: str  # a Milvus Lite folder relative to the index folder, or a server's URL
    base: str  # prefix of this index's collection names, and the alias of its current passage collection
    collection: str  # the passage collection; the sentence and document collections add SENTENCES and DOCUMENTS
    generation: int  # rows born after it are not yet visible
    next_row: int  # the first row number no build has committed
    passages: int
    sentences: int
    tokens: int  # BM25 tokens of the visible passages
    avgdl: float  # the average passage length the stored BM25 weights were computed with
    bm25: str  # "qa": sparse vectors from qa's BM25; "milvus": Milvus's own BM25 function
    dead: tuple[tuple[int, int, int], ...] = ()  # rows [first, last] of replaced documents, and when (ns)
    retired: tuple[tuple[str, int], ...] = ()  # passage collections replaced by a full build, and when (ns)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def sentence_collection(self) -> str:
        """The collection of sentence vectors."""
        return self.collection + SENTENCES

    @property
    def document_collection(self) -> str:
        """The collection of document cards and texts."""
        return self.collection + DOCUMENTS

    def visible(self, first: str = "row") -> str:
        """The filter that keeps what this generation holds: born by it, not replaced by it."""
        return self._unreplaced(f"born <= {self.generation}", first)

    def committed(self, first: str = "row") -> str:
        """The same for a collection whose entities carry no birth (the sentences'): rows committed by this
        generation, not replaced by it."""
        return self._unreplaced(f"{first} < {self.next_row}", first)

    def _unreplaced(self, found: str, first: str) -> str:
        if self.dead:
            ranges = " or ".join(f"({first} >= {low} and {first} <= {high})" for low, high, _ in self.dead)
            found += f" and not ({ranges})"
        return found

    def to_json(self) -> str:
        """The state file's content."""
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> MilvusState:
        """Read a state file's content."""
        raw = json.loads(text)
        raw["dead"] = tuple(tuple(item) for item in raw.get("dead", ()))
        raw["retired"] = tuple(tuple(item) for item in raw.get("retired", ()))
        return cls(**raw)


@dataclass(frozen=True)
class Vocabulary:
    """The BM25 terms of one generation: a term's id (its sparse dimension) and how many passages hold it."""

    ids: dict[str, int]
    frequencies: np.ndarray

    @classmethod
    def load(cls, folder: Path) -> Vocabulary:
        """Read a generation folder's terms and document frequencies."""
        terms = (folder / TERMS).read_text(encoding="utf-8").split("\n") if (folder / TERMS).stat().st_size else []
        return cls({term: number for number, term in enumerate(terms)}, np.load(folder / FREQUENCIES))

    def known(self) -> set[str]:
        """Terms some visible passage holds."""
        return {term for term, number in self.ids.items() if self.frequencies[number] > 0}

    def query(self, terms: Sequence[str], passages: int) -> dict[int, float]:
        """The sparse query vector whose inner product with a passage's weights is its BM25 score (Lucene idf)."""
        weights: dict[int, float] = {}
        for term in terms:
            number = self.ids.get(term)
            if number is None or not self.frequencies[number]:
                continue
            frequency = float(self.frequencies[number])
            weights[number] = weights.get(number, 0.0) + math.log(1 + (passages - frequency + 0.5) / (frequency + 0.5))
        return weights


@dataclass(frozen=True)
class Layout:
    """Where each document's passages are: in document order, the first physical row and the passage count; the
    store's rows number them 0..size-1 in that order."""

    doc_ids: tuple[str, ...]
    physical: np.ndarray
    counts: np.ndarray

    @classmethod
    def of(cls, spans: Sequence[tuple[str, int, int]]) -> Layout:
        """A layout from (doc id, first physical row, passage count) in document order."""
        return cls(
            tuple(doc_id for doc_id, _, _ in spans),
            np.asarray([first for _, first, _ in spans], dtype=np.int64),
            np.asarray([count for _, _, count in spans], dtype=np.int64),
        )

    @classmethod
    def load(cls, folder: Path) -> Layout:
        """Read a generation folder's layout."""
        raw = json.loads((folder / LAYOUT).read_text(encoding="utf-8"))
        return cls.of([(doc_id, int(first), int(count)) for doc_id, first, count in raw])

    def to_json(self) -> str:
        """The layout file's content."""
        spans = zip(self.doc_ids, self.physical.tolist(), self.counts.tolist(), strict=True)
        return json.dumps([[doc_id, first, count] for doc_id, first, count in spans], ensure_ascii=False)

    @cached_property
    def starts(self) -> np.ndarray:
        """The first row of each document."""
        return np.concatenate([[0], np.cumsum(self.counts)[:-1]]).astype(np.int64) if len(self.counts) else self.counts

    @cached_property
    def _by_physical(self) -> np.ndarray:
        return np.argsort(self.physical, kind="stable")

    @cached_property
    def spans(self) -> dict[str, tuple[int, int, int]]:
        """Doc id -> (first row, first physical row, passage count)."""
        return {
            doc_id: (int(start), int(first), int(count))
            for doc_id, start, first, count in zip(self.doc_ids, self.starts, self.physical, self.counts, strict=True)
        }

    def to_physical(self, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        """The physical rows of the given rows."""
        found = np.asarray(rows, dtype=np.int64)
        at = np.searchsorted(self.starts, found, side="right") - 1
        if len(found) and (at.min() < 0 or np.any(found - self.starts[at] >= self.counts[at])):
            raise IndexCorruptError(f"rows {found.tolist()[:5]} lie outside the index: {FULL_REBUILD}")
        physical: np.ndarray = self.physical[at] + (found - self.starts[at])
        return physical

    def to_rows(self, physical: Sequence[int] | np.ndarray) -> np.ndarray:
        """The rows of the given physical rows."""
        found = np.asarray(physical, dtype=np.int64)
        ordered = self.physical[self._by_physical]
        at = np.searchsorted(ordered, found, side="right") - 1
        documents_at = self._by_physical[np.maximum(at, 0)]
        if len(found) and (at.min() < 0 or np.any(found - self.physical[documents_at] >= self.counts[documents_at])):
            raise IndexCorruptError(f"Milvus rows {found.tolist()[:5]} belong to no document: {FULL_REBUILD}")
        rows: np.ndarray = self.starts[documents_at] + (found - self.physical[documents_at])
        return rows

    def row(self, physical: int) -> int:
        """The row of one physical row."""
        return int(self.to_rows([physical])[0])


def term_weights(tokens: Sequence[str], ids: dict[str, int], avgdl: float) -> dict[int, float]:
    """A passage's sparse BM25 vector: the term-frequency part of each term's score (bm25s's Lucene variant)."""
    counts: dict[int, int] = {}
    for token in tokens:
        counts[ids[token]] = counts.get(ids[token], 0) + 1
    norm = K1 * (1 - B + B * len(tokens) / avgdl) if avgdl > 0 else K1
    return {number: count / (count + norm) for number, count in counts.items()}


def count_terms(tokens: Iterable[Sequence[str]], ids: dict[str, int], frequencies: list[int]) -> None:
    """Add passages' tokens to a vocabulary: a new term takes the next id, and each passage holding a term adds one
    to its document frequency."""
    for found in tokens:
        for term in set(found):
            number = ids.setdefault(term, len(ids))
            if number == len(frequencies):
                frequencies.append(0)
            frequencies[number] += 1


def connect(uri: str) -> MilvusClient:
    """A client for a Milvus Lite folder (absolute path ending .db) or a server URL, shared within this process."""
    with _CLIENTS_LOCK:
        found = _CLIENTS.get(uri)
        if found is not None:
            _CLIENTS[uri] = (found[0], found[1] + 1)
            return found[0]
    from pymilvus import MilvusClient  # configures its loggers when first imported: quieten them after
    from pymilvus.exceptions import MilvusException

    for name in ("pymilvus", "pymilvus.milvus_client", "milvus_lite", "grpc._server"):
        logging.getLogger(name).setLevel(logging.CRITICAL)  # their error lines would break `qa ask --json` output

    try:
        if is_remote(uri):
            client = MilvusClient(uri=uri, token=os.environ.get(TOKEN_ENV, ""), timeout=10, grpc_options=KEEPALIVE)
        else:
            if not uri.endswith(".db"):
                raise InputError(f"a Milvus Lite store is a path ending in .db, not {uri!r}")
            Path(uri).parent.mkdir(parents=True, exist_ok=True)
            client = MilvusClient(uri, grpc_options=KEEPALIVE)
    except MilvusException as error:
        if is_remote(uri):
            raise QAError(f"cannot reach Milvus at {uri}: {error.message}") from error
        raise QAError(
            f"cannot open Milvus Lite at {uri} ({error.message}): another process may hold it; to share it, run "
            f"milvus-lite server --data-dir {uri} --host 127.0.0.1 and pass --store milvus:http://127.0.0.1:19530"
        ) from error
    with _CLIENTS_LOCK:
        _CLIENTS[uri] = (client, 1)
    return client


def release(uri: str) -> None:
    """Give back a client from `connect`; the last one closes it (and stops an in-process Milvus Lite)."""
    with _CLIENTS_LOCK:
        found = _CLIENTS.get(uri)
        if found is None:
            return
        if found[1] > 1:
            _CLIENTS[uri] = (found[0], found[1] - 1)
            return
        del _CLIENTS[uri]
    found[0].close()
    if not is_remote(uri):
        from milvus_lite.server_manager import server_manager_instance

        server_manager_instance.release_server(uri)


def state_uri(index: Path, spec: StoreSpec) -> str:
    """How a state file records the store: a Milvus Lite folder relative to the index folder, or the URL."""
    uri = spec.location
    return uri if is_remote(uri) else os.path.relpath(uri, index.resolve())


def resolved_uri(index: Path, recorded: str) -> str:
    """The URI a state file's `uri` names, for an index in `index`."""
    return recorded if is_remote(recorded) else str((index.resolve() / recorded).resolve())


def read_state(index: Path, found: Manifest) -> MilvusState:
    """The state file of the generation the manifest names."""
    path = index / found.generation / STATE
    try:
        return MilvusState.from_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError, KeyError) as error:
        raise IndexCorruptError(f"Milvus state {path} is unreadable: {FULL_REBUILD}") from error


def load(client: MilvusClient, state: MilvusState) -> None:
    """Load a generation's collections into memory (Milvus searches only loaded collections)."""
    from pymilvus.exceptions import MilvusException

    for name in (state.collection, state.sentence_collection, state.document_collection):
        try:
            client.load_collection(name)
        except MilvusException as error:
            message = f"Milvus collection {name} cannot be loaded ({error.message}): {FULL_REBUILD}"
            raise IndexCorruptError(message) from error


def query_all(client: MilvusClient, collection: str, expression: str, fields: list[str]) -> Iterator[dict[str, Any]]:
    """Every entity the filter admits, through a query iterator (a plain query stops at MAX_LIMIT)."""
    iterator = client.query_iterator(collection, batch_size=MAX_LIMIT // 4, filter=expression, output_fields=fields)
    try:
        while batch := iterator.next():
            yield from batch
    finally:
        iterator.close()


def batches(items: Sequence[int], size: int = BATCH) -> Iterator[list[int]]:
    """The items in lists of at most `size`."""
    for start in range(0, len(items), size):
        yield [int(item) for item in items[start : start + size]]


def write_folder(
    folder: Path, state: MilvusState, layout: Layout, terms: list[str], frequencies: np.ndarray
) -> dict[str, int]:
    """Write a generation folder (the state, the layout, the BM25 terms and frequencies), synced; its files and
    their sizes."""
    folder.mkdir(parents=True)
    (folder / STATE).write_text(state.to_json(), encoding="utf-8")
    (folder / LAYOUT).write_text(layout.to_json(), encoding="utf-8")
    (folder / TERMS).write_text("\n".join(terms), encoding="utf-8")
    np.save(folder / FREQUENCIES, frequencies)
    files: dict[str, int] = {}
    for name in (STATE, LAYOUT, TERMS, FREQUENCIES):
        with (folder / name).open("rb") as handle:
            os.fsync(handle.fileno())
        files[name] = (folder / name).stat().st_size
    return files


def described(state: MilvusState) -> dict[str, Any]:
    """The manifest's `vector_index` for an index in Milvus."""
    return {
        "kind": "milvus",
        "collection": state.collection,
        "alias": state.base,
        **state.extra.get("vector_index", {"index_type": "FLAT"}),
        "metric": "inner_product",
        "bm25": state.bm25,
        "avgdl": round(state.avgdl, 4) if math.isfinite(state.avgdl) else None,
    }
