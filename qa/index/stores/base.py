"""The seam between the index and where it is stored. Reading: what any store of an index offers a search
(`PassageStore`). Writing: what a build asks of a store (`StoreWriter`: write a generation, apply incremental changes
in place, the embedding cache of the previous build, publish). And what a backend is (`StoreBackend`: its spec, its
reader and writer, its own status and its scale benchmark), registered in `qa.index.stores.registry`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from qa.kernel.errors import IndexCorruptError

if TYPE_CHECKING:
    from qa.documents.base import Document
    from qa.documents.chunking import Passage
    from qa.index.manifest import Changes, Manifest
    from qa.index.stores.synthetic import Note, ScalePoint
    from qa.kernel.filters import Filter
    from qa.kernel.paths import Paths, StoreSpec
    from qa.kernel.progress import Reporter


class PassageStore(Protocol):
    """What answering needs from an index, whatever engine holds it: candidates by vector and by keyword (drawn
    from a selection of rows when filtered), passage rows, sentence vectors and documents. Rows are integers
    numbering the passages in document order, each document's rows contiguous."""

    @property
    def size(self) -> int:
        """Number of passages."""
        ...

    @property
    def manifest(self) -> Manifest:
        """The manifest of the generation being read."""
        ...

    def select(self, doc: str | None, found: Filter | None) -> np.ndarray | None:
        """The rows a search may return (sorted), or None for all; errors when `doc` is not indexed."""
        ...

    def dense(self, query: np.ndarray, count: int, rows: np.ndarray | None) -> dict[int, float]:
        """The `count` rows (among `rows`) whose passage vectors are closest to the query, with their cosines."""
        ...

    def similarities(self, rows: Sequence[int], query: np.ndarray) -> dict[int, float]:
        """The cosine between the query and the passage vector of each row."""
        ...

    def keyword(self, terms: list[str], count: int, rows: np.ndarray | None) -> dict[int, float]:
        """The `count` rows (among `rows`) with the highest positive BM25 scores for the query's terms."""
        ...

    def keyword_scores(self, terms: list[str], rows: Sequence[int]) -> dict[int, float]:
        """The BM25 score of each row for the query's terms."""
        ...

    def sentence_scores(self, row: int, query: np.ndarray) -> np.ndarray:
        """The cosine between the query and each sentence of the passage at `row`."""
        ...

    def best_sentence_scores(self, rows: Sequence[int], query: np.ndarray) -> dict[int, float]:
        """For each row, the highest cosine between the query and one of its sentences."""
        ...

    def passages(self, rows: Sequence[int]) -> list[Passage]:
        """Passages at the given rows, in that order."""
        ...

    def unknown_names(self, question: str) -> list[str]:
        """Names in the question of which no word occurs in any indexed passage."""
        ...

    def document(self, doc_id: str) -> Document:
        """The stored document with this id."""
        ...

    def document_ids(self) -> list[str]:
        """Ids of the indexed documents, sorted."""
        ...

    def load(self) -> None:
        """Open what the store reads now, so that the first question is as fast as the next."""
        ...

    def close(self) -> None:
        """Release what the store holds open."""
        ...


class StoredIndex(PassageStore, Protocol):
    """A store opened on one generation, as a build reads it too: each document's rows and the keys of its
    embedding cache."""

    def rows_of(self, doc_id: str) -> range:
        """Passage rows of one document (contiguous), empty when unknown."""
        ...

    def cached_rows(self) -> dict[str, tuple[int, int, int]]:
        """Cache key -> (row, first sentence row, sentence count)."""
        ...


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


class OpenCache(EmbeddingCache, Protocol):
    """An embedding cache opened on a built index, to be closed after use."""

    def close(self) -> None:
        """Release what the cache holds open."""
        ...


class KeptStore(Protocol):
    """The previous generation, from which a full build copies the documents that did not change."""

    @property
    def manifest(self) -> Manifest:
        """The manifest of that generation."""
        ...

    def rows_of(self, doc_id: str) -> range:
        """Passage rows of one document (contiguous), empty when unknown."""
        ...

    def document(self, doc_id: str) -> Document:
        """The stored document with this id."""
        ...

    def passages(self, rows: Sequence[int]) -> list[Passage]:
        """Passages at the given rows, in that order."""
        ...


REPAIR = "run qa index to repair"


@dataclass(frozen=True)
class Health:
    """What a backend found wrong with the generation a manifest names (no problems: whole). The cheap checks read
    no more than file sizes, array headers and counts; `verified_files` and `verified_bytes` count what a content
    check read to compare checksums (0: none)."""

    problems: tuple[str, ...] = ()
    verified_files: int = 0
    verified_bytes: int = 0
    seconds: float = 0.0

    @property
    def damaged(self) -> bool:
        """Whether anything is wrong."""
        return bool(self.problems)

    @property
    def summary(self) -> str:
        """The problems in a few words: the first three, and how many more."""
        shown = "; ".join(self.problems[:3])
        more = len(self.problems) - 3
        return f"{shown} and {more} more" if more > 0 else shown

    def adding(self, problems: Sequence[str]) -> Health:
        """This health with more problems."""
        return replace(self, problems=(*self.problems, *problems))

    def error(self, index: Path) -> IndexCorruptError:
        """The error that opening the damaged index in `index` raises."""
        return IndexCorruptError(f"index in {index} is damaged ({self.summary}): {REPAIR}")

    def as_json(self) -> dict[str, Any]:
        """Whether it is damaged, the problems, and what a content check read."""
        return {
            "damaged": self.damaged,
            "problems": list(self.problems),
            "verified_files": self.verified_files,
            "verified_bytes": self.verified_bytes,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class Written:
    """What a store wrote of one generation: the files of its generation folder (with their sizes), its
    `vector_index` entry of the manifest, and the passages and sentences the generation holds."""

    files: dict[str, int]
    vector_index: dict[str, Any]
    passages: int
    sentences: int


class Update(Protocol):
    """An incremental build applied in place by a store, begun by `StoreWriter.update` (which has read what the
    changed and removed documents held); the build pipeline reads the new and changed documents between the steps."""

    def accept(self, fresh: list[Passage]) -> int | None:
        """Count the passages of new and changed documents in: how many passages the updated index holds, None when
        only a full build keeps the index right."""
        ...

    def cache(self, fresh: list[Passage]) -> EmbeddingCache:
        """The vectors the store already holds for any of these passages."""
        ...

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
        """Add the new passages (invisible to readers until the manifest names `folder`), mark the replaced ones."""
        ...

    def close(self) -> None:
        """Release what the update holds."""
        ...


class StoreWriter(Protocol):
    """What one build asks of the store it writes: the previous generation to copy unchanged documents from and
    its embedding cache (None: none), an update in place, a new generation, and publishing it once the manifest
    names it. The build pipeline owns planning, the manifest switch and clean-up."""

    @property
    def kept(self) -> KeptStore | None:
        """The previous generation, when a full build may copy unchanged documents from it."""
        ...

    @property
    def cache(self) -> EmbeddingCache | None:
        """The vectors of the previous generation, reused for identical passages."""
        ...

    def update(self, previous: Manifest, changes: Changes) -> Update | None:
        """Begin an incremental build on the previous generation; None when this store cannot (a full build runs)."""
        ...

    def write(
        self,
        folder: Path,
        docs: list[Document],
        passages: list[Passage],
        vectors: np.ndarray,
        sentence_vectors: np.ndarray,
        reporter: Reporter,
    ) -> Written:
        """A full build: every passage, and the generation folder `folder` describing them."""
        ...

    def publish(self, index: Path, found: Manifest) -> None:
        """After the manifest switched to a full build's generation: make it the store's current one."""
        ...

    def close(self) -> None:
        """Release what the writer holds."""
        ...


class StoreBackend(Protocol):
    """A kind of store, registered with `qa.index.stores.registry.register_backend`. `name` is the KIND of the
    --store KIND:LOCATION that selects it (the default backend is selected by no --store); `kinds` are the
    `vector_index` kinds of the manifests it writes, by which an index finds its reader."""

    name: str
    kinds: frozenset[str]
    metavar: str  # how --store help names it ("" for the default backend)
    usage: str  # what --store takes for it, as errors say
    help: str  # the --store help sentence

    def spec(self, location: str) -> StoreSpec:
        """The spec of a store of this kind at `location` (a path made absolute)."""
        ...

    def open(self, index: Path, found: Manifest) -> StoredIndex:
        """Open the generation `found` names, checking that its files are whole."""
        ...

    def writer(
        self, index: Path, spec: StoreSpec | None, previous: Manifest | None, chunking: dict[str, int]
    ) -> StoreWriter:
        """The writer of one build into `index` (kept in `spec`), on top of `previous` when there is one."""
        ...

    def cache(self, index: Path, found: Manifest) -> OpenCache | None:
        """The embedding cache of the built index in `index`, for a build elsewhere to reuse (None: none)."""
        ...

    def status(self, index: Path, found: Manifest) -> dict[str, Any]:
        """The store's own part of `qa status --json` (empty: nothing to add)."""
        ...

    def health(self, index: Path, found: Manifest, verify: bool = False) -> Health:
        """What is wrong with the generation `found` names, cheaply (its files there and of their sizes, array
        shapes and counts against the manifest's); with `verify`, also every file's content against the checksum
        the build recorded. What cannot be reached now is no damage."""
        ...

    def describe(self, report: dict[str, Any]) -> str:
        """The `qa status` line for the store's part of the report."""
        ...

    def bench_paths(self, corpus: Path, index: Path, spec: StoreSpec | None) -> Paths:
        """Where `qa bench` keeps its benchmark index under `index` (never the user's)."""
        ...

    def real_samples(self, paths: Paths) -> tuple[np.ndarray, list[str]]:
        """Passage and sentence vectors of the index in `paths`, and its sentences (to draw scale corpora like)."""
        ...

    def scale(
        self,
        real: np.ndarray,
        sentences: Sequence[str],
        questions: Sequence[str],
        sizes: Sequence[int],
        *,
        folder: Path,
        spec: StoreSpec | None,
        note: Note,
    ) -> list[ScalePoint]:
        """Build and query synthetic corpora of each size in this store, from a fresh process."""
        ...
