"""One cached index for fixed lists of documents (a BEIR corpus, a SQuAD file): built once from what a caller
makes of one source file, through the same store seam as any build, and reused while it holds the same number of
passages made by the same model."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path

from qa.documents.base import Document, hash_bytes
from qa.documents.chunking import Passage
from qa.index import building, manifest
from qa.index.lock import locked
from qa.index.manifest import DocumentEntry
from qa.index.stores.base import StoredIndex
from qa.kernel.errors import QAError
from qa.kernel.paths import StoreSpec
from qa.kernel.progress import Reporter
from qa.models.embedding import Embedder

Make = Callable[[], tuple[list[Document], list[Passage]]]


def keyed_folder(parent: Path, name: str, source: Path, embedder: Embedder) -> Path:
    """A cache folder under `parent` keyed by the source file (path, size, mtime) and the model."""
    stat = source.stat()
    key = f"{source.resolve()}:{stat.st_size}:{stat.st_mtime_ns}:{embedder.name}"
    return parent / f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def cached_index(
    folder: Path,
    embedder: Embedder,
    reporter: Reporter,
    source: Path,
    passages: int,
    make: Make,
    chunking: dict[str, int],
    store: StoreSpec | None = None,
    seed: Path | None = None,
) -> StoredIndex:
    """The index in `folder` of the documents and passages `make` gives from the one file `source`: read while it
    holds `passages` passages made by this model, else built under the index's lock (kept in `store` when given,
    reusing the vectors of the default store's copy in `seed`)."""
    try:
        found: manifest.Manifest | None = manifest.read(folder)
    except QAError:
        found = None
    if found is not None and found.model == embedder.name and found.passages == passages:
        return building.open_store(folder, found)
    with locked(folder, reporter):
        began = time.perf_counter()
        docs, made = make()
        stat = source.stat()
        entry = DocumentEntry(hash_bytes(source.read_bytes()), stat.st_size, stat.st_mtime_ns, "", len(made))
        cache = building.seed_cache(seed, embedder) if seed is not None else None
        writer = building.writer_for(folder, store, None, chunking)
        try:
            found, _ = building.commit(
                folder, embedder, reporter, docs, made, {source.name: entry}, chunking, writer, cache, began
            )
        finally:
            writer.close()
            if cache is not None:
                cache.close()
    return building.open_store(folder, found)
