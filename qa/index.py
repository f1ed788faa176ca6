"""The on-disk index: passage table, vectors, FAISS and BM25 in one generation folder named by the manifest."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qa import chunking, documents, manifest
from qa.chunking import ChunkingParams, Passage
from qa.embedding import Embedder, embed_with_sentences
from qa.errors import CorpusError, IndexCorruptError, QAError
from qa.lexical import PARAMETERS as LEXICAL_PARAMETERS
from qa.lexical import LexicalIndex
from qa.manifest import FULL_REBUILD, Changes, DocumentEntry, Manifest, read_manifest
from qa.paths import Paths
from qa.progress import Reporter, SilentReporter

if TYPE_CHECKING:
    import faiss

    from qa.status import IndexStatus

TABLE = "passages.sqlite"
VECTORS = "vectors.npy"
SENTENCES = "sentences.npy"
FAISS = "vectors.faiss"
LEXICAL = "bm25"
LOCK = ".lock"
GENERATION_PREFIX = "g-"
LOCK_WAIT_SECONDS = 600.0
APPROXIMATE_THRESHOLD = 200_000  # below: exact search; above: IVF over 8-bit codes (chosen by `qa bench --scale`)
IVF_TRAIN_PER_LIST = 40
IVF_TRAIN_ITERATIONS = 10
IVF_PROBE_SHARE = 1 / 32
IVF_SEED = 1234

_SCHEMA = """
CREATE TABLE documents (
    id TEXT PRIMARY KEY, path TEXT, title TEXT, text TEXT, content_hash TEXT,
    body_start INTEGER, metadata TEXT, page_starts TEXT
);
CREATE TABLE passages (
    row INTEGER PRIMARY KEY, id TEXT, doc_id TEXT, title TEXT, text TEXT, start INTEGER, "end" INTEGER,
    first_paragraph INTEGER, last_paragraph INTEGER, citation TEXT, heading TEXT, page INTEGER,
    sentences TEXT, sentence_row INTEGER, cache_key TEXT
);
CREATE INDEX passages_doc ON passages (doc_id);
"""
_PASSAGE_COLUMNS = (
    'row, id, doc_id, title, text, start, "end", first_paragraph, last_paragraph, citation, heading, page, '
    "sentences, sentence_row, cache_key"
)


@dataclass(frozen=True)
class BuildResult:
    """What one `qa index` did."""

    documents: int
    passages: int
    embedded: int
    seconds: float
    changes: Changes
    noop: bool


def passage_key(passage: Passage) -> str:
    """Key of the embedding cache: the same text cut into the same sentences has the same vectors."""
    content = f"{passage.text}\0{json.dumps(passage.sentences)}"
    return hashlib.sha256(content.encode("utf-8", "surrogatepass")).hexdigest()[:32]


@contextlib.contextmanager
def locked(index: Path, reporter: Reporter) -> Iterator[None]:
    """Hold the index's build lock; a second builder waits, saying so, then fails clearly."""
    import filelock

    index.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(str(index / LOCK))
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        reporter.warn(f"another qa index is building {index}; waiting for it to finish")
        try:
            lock.acquire(timeout=LOCK_WAIT_SECONDS)
        except filelock.Timeout as error:
            raise QAError(
                f"{index} stayed locked for {LOCK_WAIT_SECONDS:.0f} s by another qa index; try again"
            ) from error
    try:
        yield
    finally:
        lock.release()


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
        raise CorpusError(
            f"corpus {paths.corpus} has no documents (.md, .txt, .html or .pdf): add some or pass --corpus DIR"
        )
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
    cache: Store | None,
    began: float,
) -> BuildResult:
    keep = set(changes.unchanged) if kept is not None else set()
    fresh = [source for source in changes.sources if source.id not in keep]
    reporter.start("reading", len(fresh))
    loaded: dict[str, documents.Document | None] = {}
    for source in fresh:
        loaded[source.id] = documents.load(source, reporter.warn)
        reporter.advance()
    docs: list[documents.Document] = []
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
        digest = (
            document.content_hash if document else changes.hashes.get(source.id) or documents.hash_file(source.path)
        )
        found = chunking.chunk(document, params) if document else []
        entries[source.id] = DocumentEntry(
            digest, source.size, source.mtime_ns, document.title if document else "", len(found)
        )
        if document is not None and found:
            docs.append(document)
            passages.extend(found)
    if not passages:
        raise CorpusError(f"no passages: none of the documents in {paths.corpus} has readable text")
    _, embedded = commit(paths.index, embedder, reporter, docs, passages, entries, params.as_dict(), cache, began)
    return BuildResult(len(docs), len(passages), embedded, time.perf_counter() - began, changes, False)


def commit(
    index: Path,
    embedder: Embedder,
    reporter: Reporter,
    docs: list[documents.Document],
    passages: list[Passage],
    entries: dict[str, DocumentEntry],
    chunking_params: dict[str, int],
    cache: Store | None = None,
    began: float | None = None,
) -> tuple[Manifest, int]:
    """Embed what the cache lacks, write a new generation, swap the manifest to it; return it and the count embedded."""
    began = time.perf_counter() if began is None else began
    vectors, sentence_vectors, embedded = _vectors(passages, embedder, reporter, cache)
    generation = f"{GENERATION_PREFIX}{time.time_ns():x}"
    reporter.start("writing", 4)
    files, vector_index = _write(index / generation, docs, passages, vectors, sentence_vectors, reporter)
    found = Manifest(
        model=embedder.name,
        weights_sha256=getattr(embedder, "weights_sha256", None),
        dimension=int(vectors.shape[1]),
        chunking=chunking_params,
        generation=generation,
        built_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        build_seconds=round(time.perf_counter() - began, 3),
        passages=len(passages),
        sentences=int(sentence_vectors.shape[0]),
        documents=entries,
        files=files,
        vector_index=vector_index,
        lexical=LEXICAL_PARAMETERS,
    )
    replaced = _current_generation(index)
    manifest.write(index, found)
    _collect_garbage(index, {generation, replaced})
    return found, embedded


def _vectors(
    passages: list[Passage], embedder: Embedder, reporter: Reporter, cache: Store | None
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
    docs: list[documents.Document],
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


def configure_vector_index(loaded: faiss.Index, described: dict[str, Any]) -> faiss.Index:
    """Ready a loaded index for one question at a time: the manifest's search parameters, a single thread."""
    import faiss

    faiss.omp_set_num_threads(1)  # one query per search: a second thread only adds hand-off waits (40x on a busy box)
    if described.get("kind") == "ivf":
        faiss.extract_index_ivf(loaded).nprobe = int(described["nprobe"])
    return loaded


def _write_table(path: Path, docs: list[documents.Document], passages: list[Passage]) -> None:
    connection = sqlite3.connect(path)
    try:
        connection.executescript(_SCHEMA)
        connection.executemany(
            "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    doc.id,
                    str(doc.path),
                    doc.title,
                    doc.text,
                    doc.content_hash,
                    doc.body_start,
                    json.dumps(doc.metadata, default=str, ensure_ascii=False),
                    json.dumps(doc.page_starts),
                )
                for doc in docs
            ],
        )
        rows = []
        sentence_row = 0
        for row, passage in enumerate(passages):
            rows.append(
                (
                    row,
                    passage.id,
                    passage.doc_id,
                    passage.title,
                    passage.text,
                    passage.start,
                    passage.end,
                    passage.paragraphs[0],
                    passage.paragraphs[1],
                    passage.citation,
                    passage.heading,
                    passage.page,
                    json.dumps(passage.sentences),
                    sentence_row,
                    passage_key(passage),
                )
            )
            sentence_row += len(passage.sentences)
        connection.executemany(f"INSERT INTO passages ({_PASSAGE_COLUMNS}) VALUES ({', '.join('?' * 15)})", rows)
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


class Store:
    """A read-only view of one built generation: passages, documents, vectors and search structures."""

    def __init__(self, folder: Path, found: Manifest) -> None:
        self.folder = folder
        self.manifest = found
        self._lock = threading.Lock()
        try:
            self._connection = sqlite3.connect(f"file:{folder / TABLE}?mode=ro", uri=True, check_same_thread=False)
            self._connection.execute("SELECT count(*) FROM passages").fetchone()
        except sqlite3.Error as error:
            raise IndexCorruptError(f"index table in {folder} is unreadable: {FULL_REBUILD}") from error

    @classmethod
    def open(cls, index: Path, found: Manifest | None = None) -> Store:
        """Open the generation the manifest names, checking that its files are whole."""
        found = found or manifest.read(index)
        folder = index / found.generation
        for name, size in found.files.items():
            path = folder / name
            if not path.is_file():
                raise IndexCorruptError(f"index file {path} is missing: {FULL_REBUILD}")
            if path.stat().st_size != size:
                raise IndexCorruptError(f"index file {path} is truncated or changed: {FULL_REBUILD}")
        return cls(folder, found)

    def load(self) -> None:
        """Open every file now, so that a later build's clean-up cannot take them away from this reader."""
        self.vectors, self.sentence_vectors, self.sentence_starts, self.vector_index, self.lexical  # noqa: B018

    def close(self) -> None:
        """Release the passage table."""
        self._connection.close()

    def _query(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
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
        except (OSError, ValueError, KeyError) as error:
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
            for record in self._query(f"SELECT {_PASSAGE_COLUMNS} FROM passages WHERE row IN ({marks})", part):
                by_row[record[0]] = _passage(record)
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

    def document(self, doc_id: str) -> documents.Document:
        """The stored document with this id."""
        found = self._query(
            "SELECT id, path, title, text, content_hash, body_start, metadata, page_starts FROM documents WHERE id = ?",
            (doc_id,),
        )
        if not found:
            raise QAError(f"no document {doc_id!r} in the index: qa status --json lists the documents")
        doc, path, title, text, content_hash, body_start, metadata, page_starts = found[0]
        return documents.Document(
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


def _passage(record: tuple[Any, ...]) -> Passage:
    _, passage_id, doc_id, title, text, start, end, first, last, citation, heading, page, sentences, _, _ = record
    return Passage(
        id=passage_id,
        doc_id=doc_id,
        title=title,
        text=text,
        start=start,
        end=end,
        paragraphs=(first, last),
        citation=citation,
        sentences=tuple((s, e) for s, e in json.loads(sentences)),
        heading=heading,
        page=page,
    )


def open_current(
    paths: Paths, embedder: Embedder, reporter: Reporter, status: IndexStatus | None = None
) -> tuple[Store, BuildResult | None]:
    """Open the index, first building it when it is missing or the corpus changed since; `status`, just read by
    the caller, saves reading the manifest and comparing the corpus again."""
    found = status.manifest if status is not None else read_manifest(paths.index)
    if found is not None:
        check_model(found, embedder)
        changes = status.changes if status is not None else None
        if changes is None:  # no status, or no corpus (comparing says what is wrong with it)
            changes = manifest.compare(paths.corpus, found, reporter.warn)
        if not changes.stale:
            return Store.open(paths.index, found), None
        reporter.warn(f"the corpus changed since the index was built; updating {paths.index}")
    else:
        plan(paths, SilentReporter(), full=True)  # a missing or empty corpus fails before saying "building"
        reporter.warn(f"no index in {paths.index} yet; building it from {paths.corpus}")
    result = build(paths, embedder, reporter)
    return Store.open(paths.index), result


def count_to_embed(paths: Paths, previous: Manifest | None, changes: Changes, reporter: Reporter) -> int:
    """How many passages a build would embed: those of new or changed documents missing from the cache."""
    params = ChunkingParams()
    cache = Store.open(paths.index, previous) if previous is not None else None
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
