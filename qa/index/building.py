"""The build side of the index: plan what changed, embed what is new, write a generation folder and switch the
manifest to it atomically; open the current index, building it first when needed."""

from __future__ import annotations

import dataclasses
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from qa.documents import chunking
from qa.documents import loading as documents
from qa.documents.base import Document, hash_file
from qa.documents.centrality import score_passages
from qa.documents.chunking import ChunkingParams, Passage
from qa.index import manifest
from qa.index.lexical import LexicalIndex
from qa.index.lock import locked
from qa.index.manifest import FULL_REBUILD, Changes, DocumentEntry, Manifest, read_manifest
from qa.index.stores.files.store import (
    FAISS,
    INSERT_DOCUMENT,
    INSERT_PASSAGE,
    LEXICAL,
    SCHEMA,
    SENTENCES,
    TABLE,
    VECTORS,
    Store,
    document_record,
    passage_key,
    passage_record,
)
from qa.kernel.errors import CorpusError, IndexCorruptError
from qa.kernel.paths import Paths
from qa.kernel.progress import Reporter, SilentReporter
from qa.models.embedding import Embedder, embed_with_sentences

if TYPE_CHECKING:
    import faiss

    from qa.engine.status import IndexStatus
    from qa.index.stores.milvus.store import MilvusStore

GENERATION_PREFIX = "g-"
APPROXIMATE_THRESHOLD = 200_000  # below: exact search; above: IVF over 8-bit codes (chosen by `qa bench --scale`)
IVF_TRAIN_PER_LIST = 40
IVF_TRAIN_ITERATIONS = 10
IVF_PROBE_SHARE = 1 / 32
IVF_SEED = 1234


@dataclass(frozen=True)
class BuildResult:
    """What one `qa index` did."""

    documents: int
    passages: int
    embedded: int
    seconds: float
    changes: Changes
    noop: bool


class EmbeddingCache(Protocol):
    """Vectors embedded before, found by `passage_key`: the previous index, whatever store holds it."""

    @property
    def vectors(self) -> np.ndarray:
        """Passage vectors, indexed by the rows `cached_rows` gives."""
        ...

    @property
    def sentence_vectors(self) -> np.ndarray:
        """Sentence vectors, indexed by the first sentence rows `cached_rows` gives."""
        ...

    def cached_rows(self) -> dict[str, tuple[int, int, int]]:
        """Cache key -> (row, first sentence row, sentence count)."""
        ...


def open_store(index: Path, found: Manifest | None = None) -> Store | MilvusStore:
    """Open the index in `index` from whichever store its manifest names."""
    found = found or manifest.read(index)
    if found.vector_index.get("kind") == "milvus":
        from qa.index.stores.milvus.store import MilvusStore

        return MilvusStore.open(index, found)
    return Store.open(index, found)


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


def build(
    paths: Paths,
    embedder: Embedder,
    reporter: Reporter,
    full: bool = False,
    params: ChunkingParams | None = None,
) -> BuildResult:
    """Bring the index up to date with the corpus, embedding only passages it has not seen."""
    params = params or ChunkingParams()
    began = time.perf_counter()
    with locked(paths.index, reporter):
        previous, changes = plan(paths, reporter, full)
        if previous is not None:  # the weights matter only when something is embedded (hashing them takes 0.1 s)
            check_model(previous, embedder, weights=changes.stale)
        same_chunking = previous is not None and previous.chunking == params.as_dict()
        if previous is not None and same_chunking and not changes.stale:
            _refresh_times(paths.index, previous, changes)
            return BuildResult(
                len(previous.indexed_ids), previous.passages, 0, time.perf_counter() - began, changes, True
            )
        if paths.store is not None:
            from qa.index.stores.milvus import writer as milvus_writer

            return milvus_writer.build(paths, embedder, reporter, params, previous, changes, began)
        old = Store.open(paths.index, previous) if previous is not None else None
        try:
            result = _rebuild(paths, embedder, reporter, params, changes, old if same_chunking else None, old, began)
        finally:
            if old is not None:
                old.close()
        return result


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


def _rebuild(
    paths: Paths,
    embedder: Embedder,
    reporter: Reporter,
    params: ChunkingParams,
    changes: Changes,
    kept: Store | None,
    cache: EmbeddingCache | None,
    began: float,
) -> BuildResult:
    keep = set(changes.unchanged) if kept is not None else set()
    fresh = [source for source in changes.sources if source.id not in keep]
    reporter.start("reading", len(fresh))
    loaded: dict[str, Document | None] = {}
    for source in fresh:
        loaded[source.id] = documents.load(source, reporter.warn)
        reporter.advance()
    docs: list[Document] = []
    passages: list[Passage] = []
    entries: dict[str, DocumentEntry] = {}
    for source in changes.sources:
        if source.id in keep and kept is not None:
            entry = kept.manifest.documents[source.id]
            entries[source.id] = DocumentEntry(
                entry.content_hash, source.size, source.mtime_ns, entry.title, entry.passages
            )
            if entry.passages:
                docs.append(kept.document(source.id))
                passages.extend(kept.passages(kept.rows_of(source.id)))
            continue
        document = loaded[source.id]
        digest = document.content_hash if document else changes.hashes.get(source.id) or hash_file(source.path)
        found = chunking.chunk(document, params) if document else []
        entries[source.id] = DocumentEntry(
            digest, source.size, source.mtime_ns, document.title if document else "", len(found)
        )
        if document is not None and found:
            docs.append(document)
            passages.extend(found)
    if not passages:
        raise CorpusError(f"no passages: none of the documents in {paths.corpus} has readable text")
    _, embedded = commit(
        paths.index, embedder, reporter, docs, passages, entries, params.as_dict(), cache, began, paths.store
    )
    return BuildResult(len(docs), len(passages), embedded, time.perf_counter() - began, changes, False)


def commit(
    index: Path,
    embedder: Embedder,
    reporter: Reporter,
    docs: list[Document],
    passages: list[Passage],
    entries: dict[str, DocumentEntry],
    chunking_params: dict[str, int],
    cache: EmbeddingCache | None = None,
    began: float | None = None,
    store: str | None = None,
) -> tuple[Manifest, int]:
    """Embed what the cache lacks, write a new generation (into `store`, "milvus:URI", when given), swap the manifest
    to it; return it and the count embedded."""
    began = time.perf_counter() if began is None else began
    vectors, sentence_vectors, embedded = _vectors(passages, embedder, reporter, cache)
    passages = score_passages(passages, vectors, sentence_vectors)
    generation = f"{GENERATION_PREFIX}{time.time_ns():x}"
    reporter.start("writing", 4)
    if store is not None:
        from qa.index.stores.milvus import writer as milvus_writer

        files, vector_index = milvus_writer.write_generation(
            index / generation, docs, passages, vectors, sentence_vectors, reporter, spec=store
        )
    else:
        files, vector_index = _write(index / generation, docs, passages, vectors, sentence_vectors, reporter)
    found = manifest.built(
        embedder,
        began,
        dimension=int(vectors.shape[1]),
        chunking=chunking_params,
        generation=generation,
        passages=len(passages),
        sentences=int(sentence_vectors.shape[0]),
        documents=entries,
        files=files,
        vector_index=vector_index,
    )
    replaced = _current_generation(index)
    manifest.write(index, found)
    if store is not None:
        from qa.index.stores.milvus import writer as milvus_writer

        milvus_writer.publish(index, found)
    _collect_garbage(index, {generation, replaced})
    return found, embedded


def _vectors(
    passages: list[Passage], embedder: Embedder, reporter: Reporter, cache: EmbeddingCache | None
) -> tuple[np.ndarray, np.ndarray, int]:
    """Passage and sentence vectors, reusing the previous index's vectors for identical passages."""
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


def _write(
    folder: Path,
    docs: list[Document],
    passages: list[Passage],
    vectors: np.ndarray,
    sentence_vectors: np.ndarray,
    reporter: Reporter,
) -> tuple[dict[str, int], dict[str, Any]]:
    """Write one generation folder and sync it to disk."""
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


def lexical_text(passage: Passage) -> str:
    """What BM25 indexes: the document title (unless the passage opens with it), then the passage text."""
    return passage.text if passage.text.startswith(passage.title) else f"{passage.title}\n{passage.text}"


def make_vector_index(vectors: np.ndarray) -> tuple[faiss.Index, dict[str, Any]]:
    """Exact inner-product search below APPROXIMATE_THRESHOLD passages, else an IVF index of 8-bit codes."""
    import faiss

    count, dimension = vectors.shape
    if count < APPROXIMATE_THRESHOLD:
        flat = faiss.IndexFlatIP(dimension)
        flat.add(vectors)
        return flat, {"kind": "flat", "metric": "inner_product"}
    lists = 2 ** round(np.log2(2 * np.sqrt(count)))
    ivf = faiss.IndexIVFScalarQuantizer(
        faiss.IndexFlatIP(dimension), dimension, lists, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
    )
    ivf.cp.niter = IVF_TRAIN_ITERATIONS
    ivf.cp.seed = IVF_SEED
    sample = np.random.default_rng(IVF_SEED).choice(count, size=min(count, IVF_TRAIN_PER_LIST * lists), replace=False)
    ivf.train(np.ascontiguousarray(vectors[np.sort(sample)]))
    ivf.add(vectors)
    described = {"kind": "ivf", "metric": "inner_product", "storage": "sq8", "nlist": lists}
    ivf.nprobe = described["nprobe"] = max(1, round(lists * IVF_PROBE_SHARE))
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


def _current_generation(index: Path) -> str | None:
    """The generation the manifest names, None when there is no readable manifest."""
    try:
        found = read_manifest(index)
    except IndexCorruptError:
        return None
    return found.generation if found else None


def _collect_garbage(index: Path, keep: set[str | None]) -> None:
    """Remove generation folders but the new one and the one it replaced (readers may hold it); also crashed builds'."""
    for path in index.iterdir():
        if path.is_dir() and path.name.startswith(GENERATION_PREFIX) and path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)


def open_current(
    paths: Paths, embedder: Embedder, reporter: Reporter, status: IndexStatus | None = None
) -> tuple[Store | MilvusStore, BuildResult | None]:
    """Open the index, first building it when it is missing or the corpus changed since; `status`, just read by
    the caller, saves reading the manifest and comparing the corpus again."""
    found = status.manifest if status is not None else read_manifest(paths.index)
    if found is not None:
        check_model(found, embedder)
        changes = status.changes if status is not None else None
        if changes is None:  # no status, or no corpus (comparing says what is wrong with it)
            changes = manifest.compare(paths.corpus, found, reporter.warn)
        if not changes.stale:
            return open_store(paths.index, found), None
        reporter.warn(f"the corpus changed since the index was built; updating {paths.index}")
    else:
        plan(paths, SilentReporter(), full=True)  # a missing or empty corpus fails before saying "building"
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
