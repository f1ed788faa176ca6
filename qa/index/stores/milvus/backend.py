"""The Milvus backend as the store registry sees it: `--store milvus:PATH.db` (Milvus Lite, run in this process) or
`--store milvus:http://HOST:PORT` (a Milvus server). pymilvus is imported only when a store is opened or written."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.kernel.paths import Paths, StoreSpec

if TYPE_CHECKING:
    from qa.index.manifest import Manifest
    from qa.index.stores.base import Health, OpenCache, StoredIndex, StoreWriter
    from qa.index.stores.synthetic import Note, ScalePoint


class MilvusBackend:
    """Indexes kept in three Milvus collections, read at one generation (a StoreBackend)."""

    name = "milvus"
    kinds = frozenset({"milvus"})
    metavar = "milvus:URI"
    usage = "milvus:PATH.db (Milvus Lite) or milvus:http://HOST:PORT"
    help = (
        "Keep the index in Milvus: milvus:PATH.db (Milvus Lite, in process) or milvus:http://HOST:PORT "
        "(token from $QA_MILVUS_TOKEN)"
    )

    def spec(self, location: str) -> StoreSpec:
        """A Milvus Lite path made absolute, or a server's URL."""
        return StoreSpec.of(self.name, location)

    def open(self, index: Path, found: Manifest) -> StoredIndex:
        """The Milvus store at the generation `found` names."""
        from qa.index.stores.milvus.store import MilvusStore

        return MilvusStore.open(index, found)

    def writer(
        self, index: Path, spec: StoreSpec | None, previous: Manifest | None, chunking: dict[str, int]
    ) -> StoreWriter:
        """The writer of one build into the collections of `spec`."""
        from qa.index.stores.milvus.writer import MilvusWriter

        assert spec is not None, "a Milvus index is written to a store spec"
        return MilvusWriter(index, spec, previous, chunking)

    def cache(self, index: Path, found: Manifest) -> OpenCache | None:
        """None: a Milvus index's vectors are reused by builds of the same index only."""
        return None

    def status(self, index: Path, found: Manifest) -> dict[str, Any]:
        """URI, collection, alias and the rows Milvus holds (see `status.milvus_status`)."""
        from qa.index.stores.milvus.status import milvus_status

        return milvus_status(index, found)

    def health(self, index: Path, found: Manifest, verify: bool = False) -> Health:
        """The generation folder's files, then the collections and their counts (see `status.milvus_health`)."""
        from qa.index.stores.milvus.status import milvus_health

        return milvus_health(index, found, verify)

    def describe(self, report: dict[str, Any]) -> str:
        """The `qa status` line of the store part of the report."""
        from qa.index.stores.milvus.status import describe

        return describe(report)

    def bench_paths(self, corpus: Path, index: Path, spec: StoreSpec | None) -> Paths:
        """A Milvus Lite folder of the benchmark's own under `index`, or the server itself."""
        from qa.index.stores.milvus.bench import bench_paths

        assert spec is not None
        return bench_paths(corpus, index, spec)

    def real_samples(self, paths: Paths) -> tuple[np.ndarray, list[str]]:
        """Vectors and sentences of the benchmark index in Milvus."""
        from qa.index.stores.milvus.bench import real_samples

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
        """Synthetic collections of each size in Milvus, queried from a fresh process."""
        from qa.index.stores.milvus.bench import scale

        assert spec is not None
        return scale(real, sentences, questions, sizes, folder=folder, spec=spec, note=note)
