"""Writing an index into Milvus. A full build fills new collections and, once the manifest names them, switches
the index's alias to them; an incremental build inserts the rows of new and changed documents into the current
collections (born at its generation, so readers of the previous one do not see them) and lists the rows of changed
and removed documents as dead. Either way the manifest's atomic switch commits the build: one killed before it
leaves the index answering as before, and the next build deletes what it left behind."""

from __future__ import annotations

import dataclasses
import hashlib
import time
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from qa.documents.base import Document
from qa.documents.chunking import Passage
from qa.index import manifest
from qa.index.lexical import tokenize
from qa.index.manifest import Changes, Manifest
from qa.index.stores.base import EmbeddingCache, Written
from qa.index.stores.milvus.collections import (
    Batch,
    MilvusCache,
    bm25_choice,
    collect,
    create_collections,
    drop_strays,
    expire,
    family,
    sparse_keys,
    vector_index,
)
from qa.index.stores.milvus.state import (
    Layout,
    MilvusState,
    Vocabulary,
    connect,
    count_terms,
    described,
    load,
    query_all,
    read_state,
    release,
    resolved_uri,
    state_uri,
    write_folder,
)
from qa.index.stores.shared import lexical_text, passage_key
from qa.kernel.errors import IndexCorruptError, QAError
from qa.kernel.paths import StoreSpec

if TYPE_CHECKING:
    from pymilvus import MilvusClient

    from qa.kernel.progress import Reporter

DRIFT = 0.01  # an incremental build that moves the average passage length further rewrites every BM25 weight


class MilvusWriter:
    """One build of an index kept in Milvus (a StoreWriter): incremental when the previous build is a usable Milvus
    one, else a full build whose embedding cache is the previous build's collections."""

    kept = None  # a full build in Milvus reads every document again

    def __init__(self, index: Path, spec: StoreSpec, previous: Manifest | None, chunking: dict[str, int]) -> None:
        self.index = index
        self.spec = spec
        self.state = _usable_state(index, spec, previous, chunking)
        self._client: MilvusClient | None = None

    @cached_property
    def cache(self) -> EmbeddingCache | None:
        """The previous build's vectors in Milvus (None when there is no usable previous build)."""
        if self.state is None:
            return None
        self._client = connect(self.spec.location)
        load(self._client, self.state)
        return MilvusCache(self._client, self.state)

    def update(self, previous: Manifest, changes: Changes) -> MilvusUpdate | None:
        """Begin an incremental build: clean up, read what replaced and removed documents held; None when the
        collections are gone."""
        if self.state is None:
            return None
        return MilvusUpdate.begin(self.index, previous, changes, self.state)

    def write(
        self,
        folder: Path,
        docs: list[Document],
        passages: list[Passage],
        vectors: np.ndarray,
        sentence_vectors: np.ndarray,
        reporter: Reporter,
    ) -> Written:
        """A full build: new collections filled with every passage, and the generation folder describing them;
        `publish` then points the alias at them."""
        index = folder.parent
        previous = _previous_state(index)
        born = max(time.time_ns(), previous.generation + 1 if previous else 0)
        base = previous.base if previous else _base(index)
        collection = f"{base}_{born:x}"
        uri = self.spec.location
        bm25 = bm25_choice()
        tokens = tokenize([lexical_text(passage) for passage in passages])
        terms: dict[str, int] = {}
        frequencies: list[int] = []
        count_terms(tokens, terms, frequencies)
        total = sum(len(found) for found in tokens)
        avgdl = total / len(passages) if passages else 0.0
        retired: tuple[tuple[str, int], ...] = ()
        client = connect(uri)
        try:
            if previous is not None:
                drop_strays(client, previous)
                retired = (*expire(client, previous.retired, time.time_ns()), (previous.collection, time.time_ns()))
            dense = vector_index(len(passages))
            create_collections(client, collection, int(vectors.shape[1]), bm25, dense)
            layout = Layout.of(
                Batch(client, collection, born, bm25).write(
                    docs, passages, vectors, sentence_vectors, 0, tokens, terms, avgdl, reporter
                )
            )
        finally:
            release(uri)
        state = MilvusState(
            uri=state_uri(index, self.spec),
            base=base,
            collection=collection,
            generation=born,
            next_row=len(passages),
            passages=len(passages),
            sentences=int(sentence_vectors.shape[0]),
            tokens=total,
            avgdl=avgdl,
            bm25=bm25,
            retired=retired,
            extra={"dimension": int(vectors.shape[1]), "vector_index": dense},
        )
        files = write_folder(folder, state, layout, list(terms), np.asarray(frequencies, dtype=np.int64))
        return Written(files, described(state), state.passages, state.sentences)

    def publish(self, index: Path, found: Manifest) -> None:
        """After the manifest switched to a full build: point the index's alias at its passage collection."""
        state = read_state(index, found)
        uri = resolved_uri(index, state.uri)
        from pymilvus.exceptions import MilvusException

        client = connect(uri)
        try:
            if state.base in client.list_aliases(state.collection).get("aliases", []):
                return
            try:
                client.alter_alias(state.collection, state.base)
            except MilvusException:  # no such alias yet
                client.create_alias(state.collection, state.base)
        finally:
            release(uri)

    def close(self) -> None:
        """Release the client the embedding cache took."""
        if self._client is not None:
            self._client = None
            release(self.spec.location)


class MilvusUpdate:
    """An incremental build in Milvus (an Update): new and changed documents' rows inserted, replaced ones listed
    as dead, the BM25 vocabulary and counts carried over."""

    def __init__(self, index: Path, client: MilvusClient, uri: str, state: MilvusState, now: int) -> None:
        self.index = index
        self.client = client
        self.uri = uri
        self.state = state
        self.now = now
        self.terms: dict[str, int] = {}
        self.frequencies: list[int] = []
        self.layout: Layout | None = None
        self.replaced: list[tuple[int, int]] = []
        self.passages, self.sentences, self.tokens = state.passages, state.sentences, state.tokens
        self.fresh_tokens: list[list[str]] = []

    @classmethod
    def begin(cls, index: Path, previous: Manifest, changes: Changes, state: MilvusState) -> MilvusUpdate | None:
        """Connect, clean up what earlier builds left, and take out what replaced and removed documents held."""
        uri = resolved_uri(index, state.uri)
        client = connect(uri)
        try:
            if not all(client.has_collection(name) for name in family(state.collection)):
                release(uri)
                return None
            load(client, state)
            now = time.time_ns()
            update = cls(index, client, uri, collect(client, state, now), now)
            update._take_out(previous, changes)
        except BaseException:
            release(uri)
            raise
        return update

    def _take_out(self, previous: Manifest, changes: Changes) -> None:
        vocabulary = Vocabulary.load(self.index / previous.generation)
        self.layout = layout = Layout.load(self.index / previous.generation)
        self.terms = dict(vocabulary.ids)
        self.frequencies = list(vocabulary.frequencies.tolist())
        self.replaced = [
            (first, first + count - 1)
            for doc_id in (*changes.changed, *changes.removed)
            if doc_id in layout.spans
            for _, first, count in [layout.spans[doc_id]]
        ]
        for low, high in self.replaced:
            where = f"row >= {low} and row <= {high}"
            for item in query_all(self.client, self.state.collection, where, ["sparse", "dl", "sentence_count"]):
                for number in sparse_keys(item["sparse"]):
                    self.frequencies[number] -= 1
                self.passages, self.tokens = self.passages - 1, self.tokens - int(item["dl"])
                self.sentences -= int(item["sentence_count"])

    def accept(self, fresh: list[Passage]) -> int | None:
        """Count the new passages' terms in: the passages the index will hold, None when BM25's average passage
        length drifted too far (a full build recomputes every weight)."""
        self.fresh_tokens = tokenize([lexical_text(passage) for passage in fresh])
        count_terms(self.fresh_tokens, self.terms, self.frequencies)
        self.passages += len(fresh)
        self.sentences += sum(len(passage.sentences) for passage in fresh)
        self.tokens += sum(len(found) for found in self.fresh_tokens)
        if not self.passages:
            return 0
        if abs(self.tokens / self.passages - self.state.avgdl) > DRIFT * self.state.avgdl:
            return None
        return self.passages

    def cache(self, fresh: list[Passage]) -> EmbeddingCache:
        """The vectors Milvus holds for any of these passages."""
        return MilvusCache(self.client, self.state, (passage_key(passage) for passage in fresh))

    def write(
        self,
        folder: Path,
        docs: list[Document],
        fresh: list[Passage],
        vectors: np.ndarray,
        sentence_vectors: np.ndarray,
        changes: Changes,
        reporter: Reporter,
    ) -> Written:
        """Insert the new rows (born at a new generation), list the replaced ones as dead, write the folder."""
        state, layout = self.state, self.layout
        assert layout is not None
        born = max(self.now, state.generation + 1)
        written = Batch(self.client, state.collection, born, state.bm25).write(
            docs, fresh, vectors, sentence_vectors, state.next_row, self.fresh_tokens, self.terms, state.avgdl, reporter
        )
        dead = (*state.dead, *((low, high, time.time_ns()) for low, high in self.replaced))
        state = dataclasses.replace(
            state,
            generation=born,
            next_row=state.next_row + len(fresh),
            passages=self.passages,
            sentences=self.sentences,
            tokens=self.tokens,
            dead=dead,
        )
        new = {doc_id: (doc_id, first, count) for doc_id, first, count in written}
        touched = changes.touched
        layout = Layout.of(
            [
                new[source.id] if source.id in new else (source.id, *layout.spans[source.id][1:])
                for source in changes.sources
                if source.id in new or (source.id not in touched and source.id in layout.spans)
            ]
        )
        frequency_array = np.asarray(self.frequencies, dtype=np.int64)
        files = write_folder(folder, state, layout, list(self.terms), frequency_array)
        return Written(files, described(state), self.passages, self.sentences)

    def close(self) -> None:
        """Release the client."""
        release(self.uri)


def _usable_state(
    index: Path, spec: StoreSpec, previous: Manifest | None, chunking: dict[str, int]
) -> MilvusState | None:
    """The previous build's Milvus state when an incremental build can start from it."""
    if previous is None or previous.vector_index.get("kind") != "milvus" or previous.chunking != chunking:
        return None
    try:
        state = read_state(index, previous)
    except IndexCorruptError:
        return None
    if resolved_uri(index, state.uri) != spec.location or state.bm25 != bm25_choice():
        return None
    return state


def _previous_state(index: Path) -> MilvusState | None:
    try:
        found = manifest.read_manifest(index)
        return read_state(index, found) if found and found.vector_index.get("kind") == "milvus" else None
    except QAError:
        return None


def _base(index: Path) -> str:
    """The prefix of a new index's collection names: one per index folder."""
    return f"qa_{hashlib.sha256(str(index.resolve()).encode('utf-8')).hexdigest()[:10]}"
