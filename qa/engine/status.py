"""What an index holds and whether it still matches its corpus: shared by `qa status` and the terminal app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from qa.index import manifest
from qa.index.manifest import Changes, Manifest, read_manifest
from qa.index.stores import registry
from qa.kernel.paths import Paths


@dataclass(frozen=True)
class IndexStatus:
    """The manifest of the index (None when none was built) and the corpus changes since (None without a corpus)."""

    paths: Paths
    manifest: Manifest | None
    changes: Changes | None
    store: dict[str, Any] = field(default_factory=dict)  # the store's own report (another store than files)

    @property
    def built(self) -> bool:
        """Whether an index was built."""
        return self.manifest is not None

    @property
    def stale(self) -> bool:
        """Whether the index is missing or no longer matches the corpus."""
        return self.changes.stale if self.changes is not None else True

    @property
    def documents(self) -> int:
        """Indexed documents that gave passages."""
        if self.manifest is None:
            return 0
        return len(self.manifest.indexed_ids)

    @property
    def passages(self) -> int:
        """Indexed passages."""
        return self.manifest.passages if self.manifest is not None else 0

    def as_json(self) -> dict[str, Any]:
        """The object `qa status --json` prints."""
        report: dict[str, Any] = {
            "corpus": str(self.paths.corpus),
            "index": str(self.paths.index),
            "built": self.built,
            "stale": self.stale,
            "documents": self.documents,
            "passages": self.passages,
        }
        found, changes = self.manifest, self.changes
        if found is None:
            return report
        return (
            report
            | {
                "model": found.model,
                "dimension": found.dimension,
                "vector_index": found.vector_index.get("kind"),
                "built_at": found.built_at,
                "build_seconds": found.build_seconds,
                "added": changes.added if changes else [],
                "changed": changes.changed if changes else [],
                "removed": changes.removed if changes else [],
                "document_ids": found.indexed_ids,
            }
            | ({"store": self.store} if self.store else {})
        )


def index_status(paths: Paths, warn: Callable[[str], None]) -> IndexStatus:
    """Read the manifest and compare it with the corpus; raises IndexCorruptError for a broken manifest."""
    found = read_manifest(paths.index)
    changes = manifest.compare(paths.corpus, found, warn) if found is not None and paths.corpus.is_dir() else None
    store: dict[str, Any] = {}
    if found is not None:
        store = registry.backend_of(found).status(paths.index, found)
    return IndexStatus(paths, found, changes, store)
