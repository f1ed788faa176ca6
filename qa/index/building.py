"""The build pipeline of the index: plan what changed, read and embed what is new (reusing the vectors of
identical passages), have the store write a generation (or update its current one in place), switch the manifest to
it atomically and clean up what it replaced; open the current index, building it first when needed. Before building
on an index, its store checks its health: a damaged one is rebuilt from the corpus. Which store holds the index is
the registry's to say (`qa.index.stores.registry`): the pipeline never names a backend."""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import time
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from qa.documents import chunking
from qa.documents import loading as documents
from qa.documents.base import Document, hash_file
from qa.documents.centrality import score_passages
from qa.documents.chunking import ChunkingParams, Passage
from qa.index import manifest
from qa.index.lock import locked
from qa.index.manifest import FULL_REBUILD, Changes, DocumentEntry, Manifest, read_manifest
from qa.index.stores import registry
from qa.index.stores.base import (
    EmbeddingCache,
    Health,
    KeptStore,
    OpenCache,
    StoredIndex,
    StoreWriter,
    Update,
    Written,
)
from qa.index.stores.shared import passage_key, record_checksums
from qa.kernel.errors import CorpusError, IndexCorruptError, QAError
from qa.kernel.paths import Paths
from qa.kernel.progress import Reporter, SilentReporter
from qa.models.embedding import Embedder, embed_with_sentences

if TYPE_CHECKING:
    from qa.kernel.paths import StoreSpec

GENERATION_PREFIX = "g-"


@dataclass(frozen=True)
class BuildResult:
    """What one `qa index` did: `skipped` names the documents it read that gave no passages (empty, binary or
    text-less files), which `added` and `changed` leave out."""

    documents: int
    passages: int
    embedded: int
    seconds: float
    changes: Changes
    noop: bool
    skipped: tuple[str, ...] = ()
    health: Health | None = None  # the index's before the build (None: no index to check, or --full)

    @property
    def repaired(self) -> bool:
        """Whether the index was damaged, so this build rebuilt it."""
        return self.health is not None and self.health.damaged

    @property
    def added(self) -> list[str]:
        """New documents that were indexed."""
        return [doc_id for doc_id in self.changes.added if doc_id not in self.skipped]

    @property
    def changed(self) -> list[str]:
        """Changed documents that were indexed again."""
        return [doc_id for doc_id in self.changes.changed if doc_id not in self.skipped]


class KnownState(Protocol):
    """What a caller already read of the index (its manifest) and the corpus (the changes since), e.g. a status."""

    @property
    def manifest(self) -> Manifest | None:
        """The manifest, None when no index was built."""
        ...

    @property
    def changes(self) -> Changes | None:
        """The corpus changes since, None without a corpus."""
        ...

    @property
    def health(self) -> Health | None:
        """What is wrong with the index, None when no index was built."""
        ...


def open_store(index: Path, found: Manifest | None = None) -> StoredIndex:
    """Open the index in `index` from whichever store its manifest names."""
    return registry.open_index(index, found)


def writer_for(
    index: Path, store: StoreSpec | None, previous: Manifest | None, chunking: dict[str, int]
) -> StoreWriter:
    """The writer of one build into `index`, kept in `store` (None: the default store)."""
    return registry.backend_for(store).writer(index, store, previous, chunking)


def check_model(found: Manifest, embedder: Embedder, weights: bool = True) -> None:
    """Refuse an index built by another model, or (when `weights`) by the same name with other weights."""
    if found.model != embedder.name:
        raise IndexCorruptError(f"index was built with model {found.model!r}, not {embedder.name!r}: {FULL_REBUILD}")
    digest = getattr(embedder, "weights_sha256", None) if weights else None
    if found.weights_sha256 and digest and found.weights_sha256 != digest:
        raise IndexCorruptError(
            f"the weights of model {embedder.name!r} changed since the index was built: {FULL_REBUILD}"
        )


def plan(paths: Paths, reporter: Reporter, full: bool = False) -> tuple[Manifest | None, Changes]:
    """The manifest to build on (None for a full build) and what changed since it."""
    previous = None if full else read_manifest(paths.index)
    changes = manifest.compare(paths.corpus, previous, reporter.warn)
    if not changes.sources:
        raise CorpusError(f"corpus {paths.corpus} has no documents ({documents.KINDS}): add some or pass --corpus DIR")
    return previous, changes


def check_corpus(paths: Paths) -> None:
    """Fail, saying how to fix it, when the corpus folder is missing or holds no documents qa reads."""
    plan(paths, SilentReporter(), full=True)


def check_health(index: Path, found: Manifest, verify: bool = False) -> Health:
    """What the backend holding the index in `index` finds wrong with the generation `found` names: cheaply, or
    with `verify` its files' content too (see `StoreBackend.health`)."""
    return registry.backend_of(found).health(index, found, verify)


def build(
    paths: Paths,
    embedder: Embedder,
    reporter: Reporter,
    full: bool = False,
    params: ChunkingParams | None = None,
    verify: bool = False,
) -> BuildResult:
    """Bring the index up to date with the corpus, embedding only passages it has not seen: in place when the store
    can update its current generation, else into a new one. A damaged index (`check_health`, with `verify` its
    content too) is rebuilt from the corpus, trusting nothing of it."""
    params = params or ChunkingParams()
    began = time.perf_counter()
    if not paths.index.exists():
        check_corpus(paths)  # a first build on a missing or empty corpus creates nothing
    with locked(paths.index, reporter):
        previous, changes = plan(paths, reporter, full)
        health = check_health(paths.index, previous, verify) if previous is not None else None
        if health is not None and health.damaged:
            previous = None  # what changed is still told against its manifest
        elif previous is not None:  # the weights matter only when something is embedded (hashing them takes 0.1 s)
            check_model(previous, embedder, weights=changes.stale)
        same_chunking = previous is not None and previous.chunking == params.as_dict()
        if previous is not None and same_chunking and not changes.stale:
            _refresh_times(paths.index, previous, changes)
            seconds = time.perf_counter() - began
            return BuildResult(len(previous.indexed_ids), previous.passages, 0, seconds, changes, True, (), health)
        result = _write(paths, embedder, reporter, params, previous, changes, began)
        return dataclasses.replace(result, health=health)


def _write(
    paths: Paths,
    embedder: Embedder,
    reporter: Reporter,
    params: ChunkingParams,
    previous: Manifest | None,
    changes: Changes,
    began: float,
) -> BuildResult:
    """Update the store's generation in place when it can, else write a new one."""
    same_chunking = previous is not None and previous.chunking == params.as_dict()
    writer = writer_for(paths.index, paths.store, previous, params.as_dict())
    try:
        update = writer.update(previous, changes) if previous is not None and same_chunking else None
        if update is not None:
            assert previous is not None
            try:
                result = _update(paths, embedder, reporter, params, previous, changes, update, began)
            finally:
                update.close()
            if result is not None:
                return result
        cache = writer.cache
        seed = seed_cache(paths.root, embedder) if cache is None and paths.root is not None else None
        try:
            return _rebuild(paths, embedder, reporter, params, changes, writer, cache or seed, began)
        finally:
            if seed is not None:
                seed.close()
    finally:
        writer.close()


def seed_cache(folder: Path, embedder: Embedder) -> OpenCache | None:
    """The default store's index in `folder` (beside an index kept in another store), whose vectors a first build
    there reuses, when the same model built it."""
    try:
        found = read_manifest(folder)
        if found is None or registry.backend_of(found) is not registry.default_backend():
            return None
        check_model(found, embedder, weights=False)
        return registry.default_backend().cache(folder, found)
    except QAError:
        return None


def _refresh_times(index: Path, previous: Manifest, changes: Changes) -> None:
    """Record new modification times of files whose content did not change, so they are not hashed again."""
    entries = dict(previous.documents)
    moved = False
    for source in changes.sources:
        entry = entries.get(source.id)
        if entry is not None and (entry.mtime_ns != source.mtime_ns or entry.size != source.size):
            entries[source.id] = DocumentEntry(
                entry.content_hash, source.size, source.mtime_ns, entry.title, entry.passages
            )
            moved = True
    if moved:
        manifest.write(index, dataclasses.replace(previous, documents=entries))


def read_documents(
    changes: Changes,
    params: ChunkingParams,
    reporter: Reporter,
    keep: Collection[str] = (),
    previous: Manifest | None = None,
    kept: KeptStore | None = None,
) -> tuple[list[Document], list[Passage], dict[str, DocumentEntry]]:
    """Read and chunk every document of the corpus but those in `keep`, whose manifest entries come from `previous`
    (and their documents and passages from `kept`, when given); the documents with passages, in corpus order, their
    passages, and the manifest entry of every document."""
    reporter.start("reading", sum(1 for source in changes.sources if source.id not in keep))
    docs: list[Document] = []
    passages: list[Passage] = []
    entries: dict[str, DocumentEntry] = {}
    for source in changes.sources:
        if source.id in keep and previous is not None:
            entry = previous.documents[source.id]
            entries[source.id] = DocumentEntry(
                entry.content_hash, source.size, source.mtime_ns, entry.title, entry.passages
            )
            if kept is not None and entry.passages:
                docs.append(kept.document(source.id))
                passages.extend(kept.passages(kept.rows_of(source.id)))
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


def skipped(entries: dict[str, DocumentEntry], keep: Collection[str]) -> tuple[str, ...]:
    """The documents read (all but those in `keep`) that gave no passages, in corpus order."""
    return tuple(doc_id for doc_id, entry in entries.items() if doc_id not in keep and not entry.passages)


def _no_passages(paths: Paths) -> CorpusError:
    return CorpusError(f"no passages: none of the documents in {paths.corpus} has readable text")


def _rebuild(
    paths: Paths,
    embedder: Embedder,
    reporter: Reporter,
    params: ChunkingParams,
    changes: Changes,
    writer: StoreWriter,
    cache: EmbeddingCache | None,
    began: float,
) -> BuildResult:
    kept = writer.kept
    keep = set(changes.unchanged) if kept is not None else set()
    docs, passages, entries = read_documents(
        changes, params, reporter, keep, kept.manifest if kept is not None else None, kept
    )
    if not passages:
        raise _no_passages(paths)
    _, embedded = commit(
        paths.index, embedder, reporter, docs, passages, entries, params.as_dict(), writer, cache, began
    )
    seconds = time.perf_counter() - began
    return BuildResult(len(docs), len(passages), embedded, seconds, changes, False, skipped(entries, keep))


def _update(
    paths: Paths,
    embedder: Embedder,
    reporter: Reporter,
    params: ChunkingParams,
    previous: Manifest,
    changes: Changes,
    update: Update,
    began: float,
) -> BuildResult | None:
    """Apply the changes in place; None when the store says a full build must run instead."""
    docs, fresh, entries = read_documents(changes, params, reporter, set(changes.unchanged), previous)
    held = update.accept(fresh)
    if held == 0:
        raise _no_passages(paths)
    if held is None:
        return None
    dimension = previous.dimension
    vectors, sentence_vectors, embedded = np.zeros((0, dimension)), np.zeros((0, dimension)), 0
    if fresh:
        vectors, sentence_vectors, embedded = embed(fresh, embedder, reporter, update.cache(fresh))
        fresh = score_passages(fresh, vectors, sentence_vectors)
    generation = new_generation()
    with discarded_on_failure(paths.index / generation):
        written = update.write(paths.index / generation, docs, fresh, vectors, sentence_vectors, changes, reporter)
        switch(paths.index, embedder, began, params.as_dict(), generation, entries, written, dimension)
    collect_garbage(paths.index, {generation, previous.generation})
    indexed = sum(1 for entry in entries.values() if entry.passages)
    seconds = time.perf_counter() - began
    return BuildResult(
        indexed, written.passages, embedded, seconds, changes, False, skipped(entries, set(changes.unchanged))
    )


def new_generation() -> str:
    """The name of a new generation folder."""
    return f"{GENERATION_PREFIX}{time.time_ns():x}"


def commit(
    index: Path,
    embedder: Embedder,
    reporter: Reporter,
    docs: list[Document],
    passages: list[Passage],
    entries: dict[str, DocumentEntry],
    chunking_params: dict[str, int],
    writer: StoreWriter,
    cache: EmbeddingCache | None = None,
    began: float | None = None,
) -> tuple[Manifest, int]:
    """Embed what the cache lacks, have `writer` write a new generation, swap the manifest to it and publish it;
    return it and the count embedded."""
    began = time.perf_counter() if began is None else began
    vectors, sentence_vectors, embedded = embed(passages, embedder, reporter, cache)
    passages = score_passages(passages, vectors, sentence_vectors)
    generation = new_generation()
    reporter.start("writing", 4)
    replaced = _current_generation(index)
    with discarded_on_failure(index / generation):
        written = writer.write(index / generation, docs, passages, vectors, sentence_vectors, reporter)
        found = switch(index, embedder, began, chunking_params, generation, entries, written, int(vectors.shape[1]))
    writer.publish(index, found)
    collect_garbage(index, {generation, replaced})
    return found, embedded


@contextlib.contextmanager
def discarded_on_failure(folder: Path) -> Iterator[None]:
    """Remove the generation folder a build writes when the build fails before the manifest names it."""
    try:
        yield
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def switch(
    index: Path,
    embedder: Embedder,
    began: float,
    chunking_params: dict[str, int],
    generation: str,
    entries: dict[str, DocumentEntry],
    written: Written,
    dimension: int,
) -> Manifest:
    """Commit a build: the manifest of the generation `written` describes, replacing the old one atomically."""
    found = manifest.built(
        embedder,
        began,
        dimension=dimension,
        chunking=chunking_params,
        generation=generation,
        passages=written.passages,
        sentences=written.sentences,
        documents=entries,
        files=record_checksums(index / generation, written.files),
        vector_index=written.vector_index,
    )
    manifest.write(index, found)
    return found


def embed(
    passages: list[Passage], embedder: Embedder, reporter: Reporter, cache: EmbeddingCache | None
) -> tuple[np.ndarray, np.ndarray, int]:
    """Passage and sentence vectors, reusing the cache's vectors for identical passages; and the count embedded."""
    hashes = [passage_key(passage) for passage in passages]
    cached = cache.cached_rows() if cache is not None else {}
    todo = [index for index, digest in enumerate(hashes) if digest not in cached]
    reporter.start("embedding", len(todo))
    new_sentences: list[np.ndarray] = []
    if todo:  # nothing new to embed: the model is not even loaded
        new_vectors, new_sentences = embed_with_sentences(
            embedder, [passages[i].text for i in todo], [passages[i].sentences for i in todo], reporter.advance
        )
        dimension = new_vectors.shape[1]
    else:
        assert cache is not None
        dimension = cache.vectors.shape[1]
    vectors = np.zeros((len(passages), dimension), dtype=np.float32)
    sentence_blocks: list[np.ndarray] = []
    position = {index: order for order, index in enumerate(todo)}
    for index, digest in enumerate(hashes):
        if index in position:
            vectors[index] = new_vectors[position[index]]
            sentence_blocks.append(new_sentences[position[index]])
        else:
            assert cache is not None
            row, sentence_row, count = cached[digest]
            vectors[index] = cache.vectors[row]
            sentence_blocks.append(np.asarray(cache.sentence_vectors[sentence_row : sentence_row + count]))
    sentences = np.concatenate(sentence_blocks).astype(np.float32) if sentence_blocks else np.zeros((0, dimension))
    return vectors, sentences, len(todo)


def _current_generation(index: Path) -> str | None:
    """The generation the manifest names, None when there is no readable manifest."""
    try:
        found = read_manifest(index)
    except IndexCorruptError:
        return None
    return found.generation if found else None


def collect_garbage(index: Path, keep: set[str | None]) -> None:
    """Remove generation folders but the new one and the one it replaced (readers may hold it); also crashed builds'."""
    for path in index.iterdir():
        if path.is_dir() and path.name.startswith(GENERATION_PREFIX) and path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)


def open_current(
    paths: Paths, embedder: Embedder, reporter: Reporter, status: KnownState | None = None
) -> tuple[StoredIndex, BuildResult | None]:
    """Open the index, first building it when it is missing or the corpus changed since; `status`, just read by
    the caller, saves reading the manifest and comparing the corpus again."""
    found = status.manifest if status is not None else read_manifest(paths.index)
    if found is not None:
        if status is not None and status.health is not None and status.health.damaged:
            raise status.health.error(paths.index)  # without a status, opening the store checks it
        check_model(found, embedder)
        changes = status.changes if status is not None else None
        if changes is None:  # no status, or no corpus (comparing says what is wrong with it)
            changes = manifest.compare(paths.corpus, found, reporter.warn)
        if not changes.stale:
            return open_store(paths.index, found), None
        reporter.warn(f"the corpus changed since the index was built; updating {paths.index}")
    else:
        check_corpus(paths)  # a missing or empty corpus fails before saying "building"
        reporter.warn(f"no index in {paths.index} yet; building it from {paths.corpus}")
    result = build(paths, embedder, reporter)
    return open_store(paths.index), result


def count_to_embed(paths: Paths, previous: Manifest | None, changes: Changes, reporter: Reporter) -> int:
    """How many passages a build would embed: those of new or changed documents missing from the cache."""
    params = ChunkingParams()
    cache = open_store(paths.index, previous) if previous is not None else None
    try:
        same_chunking = previous is not None and previous.chunking == params.as_dict()
        touched = changes.touched if same_chunking else {source.id for source in changes.sources}
        cached = cache.cached_rows() if cache is not None else {}
        count = 0
        for source in changes.sources:
            if source.id in touched and (document := documents.load(source, reporter.warn)) is not None:
                count += sum(1 for passage in chunking.chunk(document, params) if passage_key(passage) not in cached)
        return count
    finally:
        if cache is not None:
            cache.close()
