"""Writing an index into Milvus. A full build fills new collections and, once the manifest names them, switches
the index's alias to them; an incremental build inserts the rows of new and changed documents into the current
collections (born at its generation, so readers of the previous one do not see them) and lists the rows of changed
and removed documents as dead. Either way the manifest's atomic switch commits the build: one killed before it
leaves the index answering as before, and the next build deletes what it left behind."""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.documents import chunking
from qa.documents import loading as documents
from qa.documents.base import Document, hash_file
from qa.documents.chunking import ChunkingParams, Passage
from qa.index import building as indexing
from qa.index import manifest
from qa.index.lexical import tokenize
from qa.index.manifest import Changes, DocumentEntry, Manifest
from qa.index.stores.files.store import Store, passage_key
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
from qa.index.stores.milvus.store import MilvusStore
from qa.kernel.errors import CorpusError, IndexCorruptError, QAError

if TYPE_CHECKING:
    from qa.index.building import EmbeddingCache
    from qa.kernel.paths import Paths
    from qa.kernel.progress import Reporter
    from qa.models.embedding import Embedder

DRIFT = 0.01  # an incremental build that moves the average passage length further rewrites every BM25 weight


def write_generation(
    folder: Path,
    docs: list[Document],
    passages: list[Passage],
    vectors: np.ndarray,
    sentence_vectors: np.ndarray,
    reporter: Reporter,
    *,
    spec: str,
) -> tuple[dict[str, int], dict[str, Any]]:
    """A full build: new collections filled with every passage, and the generation folder describing them (what
    `indexing.commit` writes the manifest from); `publish` then points the alias at them."""
    index = folder.parent
    previous = _previous_state(index)
    born = max(time.time_ns(), previous.generation + 1 if previous else 0)
    base = previous.base if previous else _base(index)
    collection = f"{base}_{born:x}"
    uri = spec.split(":", 1)[1]
    bm25 = bm25_choice()
    tokens = tokenize([indexing.lexical_text(passage) for passage in passages])
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
        uri=state_uri(index, spec),
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
    return files, described(state)


def cached_index(
    folder: Path,
    embedder: Embedder,
    reporter: Reporter,
    source: Path,
    passages: int,
    make: Callable[[], tuple[list[Document], list[Passage]]],
    store: str,
    seed: Path | None,
    chunking: dict[str, int],
) -> MilvusStore:
    """`beir.cached_index` for an index kept in Milvus: built on first use from what `make` gives, reusing the
    vectors of the default store's copy in `seed`, and reused while it holds `passages` passages of this model."""
    from qa.evaluation.beir import cached_manifest

    opened = (lambda: _seed_from(seed, embedder)) if seed is not None else (lambda: None)
    found = cached_manifest(folder, embedder, reporter, source, passages, make, chunking, store, opened)
    return MilvusStore.open(folder, found)


def publish(index: Path, found: Manifest) -> None:
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


def build(
    paths: Paths,
    embedder: Embedder,
    reporter: Reporter,
    params: ChunkingParams,
    previous: Manifest | None,
    changes: Changes,
    began: float,
) -> indexing.BuildResult:
    """Bring an index kept in Milvus up to date: incrementally when the previous build is a usable Milvus one,
    else (or when BM25's average passage length drifted) a full build reusing every vector it can."""
    assert paths.store is not None
    state = _usable_state(paths, previous, params)
    if state is not None and previous is not None:
        result = _incremental(paths, embedder, reporter, params, previous, changes, state, began)
        if result is not None:
            return result
    uri = paths.store.split(":", 1)[1]
    client = connect(uri) if state is not None else None
    if client is not None and state is not None:
        load(client, state)
    seed = None if state is not None else _seed(paths, embedder)
    cache: EmbeddingCache | None = MilvusCache(client, state) if client is not None and state is not None else seed
    try:
        return indexing._rebuild(paths, embedder, reporter, params, changes, None, cache, began)
    finally:
        if client is not None:
            release(uri)
        if seed is not None:
            seed.close()


def _usable_state(paths: Paths, previous: Manifest | None, params: ChunkingParams) -> MilvusState | None:
    """The previous build's Milvus state when an incremental build can start from it."""
    if previous is None or previous.vector_index.get("kind") != "milvus" or previous.chunking != params.as_dict():
        return None
    try:
        state = read_state(paths.index, previous)
    except IndexCorruptError:
        return None
    assert paths.store is not None
    if resolved_uri(paths.index, state.uri) != paths.store.split(":", 1)[1] or state.bm25 != bm25_choice():
        return None
    return state


def _seed(paths: Paths, embedder: Embedder) -> Store | None:
    """The default store beside the Milvus one (in the --index folder), whose vectors a first build reuses."""
    return _seed_from(paths.root, embedder) if paths.root is not None else None


def _seed_from(folder: Path, embedder: Embedder) -> Store | None:
    """The default store in `folder` when the same model built it."""
    try:
        found = manifest.read_manifest(folder)
        if found is None or found.vector_index.get("kind") == "milvus":
            return None
        indexing.check_model(found, embedder, weights=False)
        return Store.open(folder, found)
    except QAError:
        return None


def _incremental(
    paths: Paths,
    embedder: Embedder,
    reporter: Reporter,
    params: ChunkingParams,
    previous: Manifest,
    changes: Changes,
    state: MilvusState,
    began: float,
) -> indexing.BuildResult | None:
    """Insert new and changed documents' rows, list replaced ones as dead; None when a full build must run."""
    from qa.documents.centrality import score_passages

    uri = resolved_uri(paths.index, state.uri)
    client = connect(uri)
    try:
        if not all(client.has_collection(name) for name in family(state.collection)):
            return None
        load(client, state)
        now = time.time_ns()
        state = collect(client, state, now)
        vocabulary = Vocabulary.load(paths.index / previous.generation)
        layout = Layout.load(paths.index / previous.generation)
        terms = dict(vocabulary.ids)
        frequencies = list(vocabulary.frequencies.tolist())
        replaced = [
            (first, first + count - 1)
            for doc_id in (*changes.changed, *changes.removed)
            if doc_id in layout.spans
            for _, first, count in [layout.spans[doc_id]]
        ]
        passages_count, sentence_count, token_count = state.passages, state.sentences, state.tokens
        for low, high in replaced:
            where = f"row >= {low} and row <= {high}"
            for item in query_all(client, state.collection, where, ["sparse", "dl", "sentence_count"]):
                for number in sparse_keys(item["sparse"]):
                    frequencies[number] -= 1
                passages_count, token_count = passages_count - 1, token_count - int(item["dl"])
                sentence_count -= int(item["sentence_count"])
        docs, fresh, entries = _read_touched(paths, previous, changes, params, reporter)
        tokens = tokenize([indexing.lexical_text(passage) for passage in fresh])
        count_terms(tokens, terms, frequencies)
        passages_count += len(fresh)
        token_count += sum(len(found) for found in tokens)
        if not passages_count:
            raise CorpusError(f"no passages: none of the documents in {paths.corpus} has readable text")
        if abs(token_count / passages_count - state.avgdl) > DRIFT * state.avgdl:
            return None  # BM25 weights of unchanged passages would drift: a full build recomputes them
        dimension = previous.dimension
        vectors, sentence_vectors, embedded = np.zeros((0, dimension)), np.zeros((0, dimension)), 0
        if fresh:
            cache = MilvusCache(client, state, (passage_key(passage) for passage in fresh))
            vectors, sentence_vectors, embedded = indexing._vectors(fresh, embedder, reporter, cache)
            fresh = score_passages(fresh, vectors, sentence_vectors)
        born = max(now, state.generation + 1)
        written = Batch(client, state.collection, born, state.bm25).write(
            docs, fresh, vectors, sentence_vectors, state.next_row, tokens, terms, state.avgdl, reporter
        )
    finally:
        release(uri)
    dead = (*state.dead, *((low, high, time.time_ns()) for low, high in replaced))
    state = dataclasses.replace(
        state,
        generation=born,
        next_row=state.next_row + len(fresh),
        passages=passages_count,
        sentences=sentence_count,
        tokens=token_count,
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
    generation = f"{indexing.GENERATION_PREFIX}{time.time_ns():x}"
    frequency_array = np.asarray(frequencies, dtype=np.int64)
    files = write_folder(paths.index / generation, state, layout, list(terms), frequency_array)
    written_manifest = manifest.built(
        embedder,
        began,
        dimension=previous.dimension,
        chunking=params.as_dict(),
        generation=generation,
        passages=passages_count,
        sentences=sentence_count,
        documents=entries,
        files=files,
        vector_index=described(state),
    )
    manifest.write(paths.index, written_manifest)
    indexing._collect_garbage(paths.index, {generation, previous.generation})
    indexed = sum(1 for entry in entries.values() if entry.passages)
    return indexing.BuildResult(indexed, passages_count, embedded, time.perf_counter() - began, changes, False)


def _read_touched(
    paths: Paths, previous: Manifest, changes: Changes, params: ChunkingParams, reporter: Reporter
) -> tuple[list[Document], list[Passage], dict[str, DocumentEntry]]:
    """The new and changed documents with their passages, and the manifest entries of every document."""
    touched = changes.touched
    reporter.start("reading", len(touched))
    docs: list[Document] = []
    passages: list[Passage] = []
    entries: dict[str, DocumentEntry] = {}
    for source in changes.sources:
        if source.id not in touched:
            entry = previous.documents[source.id]
            entries[source.id] = DocumentEntry(
                entry.content_hash, source.size, source.mtime_ns, entry.title, entry.passages
            )
            continue
        document = documents.load(source, reporter.warn)
        reporter.advance()
        found = chunking.chunk(document, params) if document else []
        digest = document.content_hash if document else changes.hashes.get(source.id) or hash_file(source.path)
        entries[source.id] = DocumentEntry(
            digest, source.size, source.mtime_ns, document.title if document else "", len(found)
        )
        if document is not None and found:
            docs.append(document)
            passages.extend(found)
    return docs, passages, entries


def _previous_state(index: Path) -> MilvusState | None:
    try:
        found = manifest.read_manifest(index)
        return read_state(index, found) if found and found.vector_index.get("kind") == "milvus" else None
    except QAError:
        return None


def _base(index: Path) -> str:
    """The prefix of a new index's collection names: one per index folder."""
    return f"qa_{hashlib.sha256(str(index.resolve()).encode('utf-8')).hexdigest()[:10]}"
