"""The default backend as the store registry sees it: a generation folder of files beside the manifest (a SQLite
passage table, NumPy vectors, FAISS and BM25), selected by no --store at all."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.index.stores.base import Health, Written
from qa.kernel.paths import Paths, StoreSpec

if TYPE_CHECKING:
    from qa.documents.base import Document
    from qa.documents.chunking import Passage
    from qa.index.manifest import Changes, Manifest
    from qa.index.stores.base import StoredIndex, Update
    from qa.index.stores.files.store import Store
    from qa.index.stores.synthetic import Note, ScalePoint
    from qa.kernel.progress import Reporter


class FilesWriter:
    """One build of the default store (a StoreWriter): a new generation folder each time, copying unchanged
    documents and reusing vectors from the previous generation."""

    def __init__(self, index: Path, previous: Manifest | None, chunking: dict[str, int]) -> None:
        from qa.index.stores.files.store import Store

        self._old: Store | None = Store.open(index, previous) if previous is not None else None
        self.kept: Store | None = self._old if previous is not None and previous.chunking == chunking else None
        self.cache: Store | None = self._old

    def update(self, previous: Manifest, changes: Changes) -> Update | None:
        """Files are never changed in place: every build writes a new generation."""
        return None

    def write(
        self,
        folder: Path,
        docs: list[Document],
        passages: list[Passage],
        vectors: np.ndarray,
        sentence_vectors: np.ndarray,
        reporter: Reporter,
    ) -> Written:
        """Write the generation folder, synced."""
        from qa.index.stores.files.writing import write_generation

        files, described = write_generation(folder, docs, passages, vectors, sentence_vectors, reporter)
        return Written(files, described, len(passages), int(sentence_vectors.shape[0]))

    def publish(self, index: Path, found: Manifest) -> None:
        """Nothing to do: the manifest naming the folder is the switch."""

    def close(self) -> None:
        """Close the previous generation."""
        if self._old is not None:
            self._old.close()


class FilesBackend:
    """The default store (a StoreBackend)."""

    name = "files"
    kinds = frozenset({"flat", "ivf"})
    metavar = ""
    usage = ""
    help = ""

    def spec(self, location: str) -> StoreSpec:
        """The default store is named by no spec; this one would name files at `location`."""
        return StoreSpec.of(self.name, location)

    def open(self, index: Path, found: Manifest) -> StoredIndex:
        """The generation folder `found` names, once the cheap checks found it whole."""
        from qa.index.stores.files.health import files_health
        from qa.index.stores.files.store import Store

        health = files_health(index, found)
        if health.damaged:
            raise health.error(index)
        return Store.open(index, found)

    def writer(
        self, index: Path, spec: StoreSpec | None, previous: Manifest | None, chunking: dict[str, int]
    ) -> FilesWriter:
        """The writer of one build into `index`."""
        return FilesWriter(index, previous, chunking)

    def cache(self, index: Path, found: Manifest) -> Store:
        """The generation folder `found` names: its vectors are the cache."""
        from qa.index.stores.files.store import Store

        return Store.open(index, found)

    def status(self, index: Path, found: Manifest) -> dict[str, Any]:
        """Nothing beyond the manifest: the files are the index."""
        return {}

    def health(self, index: Path, found: Manifest, verify: bool = False) -> Health:
        """Files, sizes, array headers and counts against the manifest; with `verify`, checksums too."""
        from qa.index.stores.files.health import files_health

        return files_health(index, found, verify)

    def describe(self, report: dict[str, Any]) -> str:
        """The files of the index, as `qa status` would name them."""
        return "files"

    def bench_paths(self, corpus: Path, index: Path, spec: StoreSpec | None) -> Paths:
        """The benchmark index in `index` itself."""
        return Paths(corpus=corpus, index=index)

    def real_samples(self, paths: Paths) -> tuple[np.ndarray, list[str]]:
        """Vectors and sentences of the benchmark index."""
        from qa.index.stores.files.scaling import real_samples

        return real_samples(paths)

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
        """FAISS and BM25 at each size, queried from a fresh process."""
        from qa.index.stores.files.scaling import scale

        return scale(real, sentences, questions, sizes, folder=folder, note=note)
