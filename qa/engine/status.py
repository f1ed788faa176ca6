"""What an index holds, whether it still matches its corpus, and whether it is whole: shared by `qa status`, the MCP
server and the terminal app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from qa.index import manifest
from qa.index.manifest import Changes, Manifest, read_manifest
from qa.index.stores import registry
from qa.index.stores.base import Health
from qa.kernel.paths import Paths


@dataclass(frozen=True)
class IndexStatus:
    """The manifest of the index (None when none was built), the corpus changes since (None without a corpus) and
    what its store's cheap checks found wrong with it (None when none was built)."""

    paths: Paths
    manifest: Manifest | None
    changes: Changes | None
    store: dict[str, Any] = field(default_factory=dict)  # the store's own report (another store than files)
    health: Health | None = None

    @property
    def damaged(self) -> bool:
        """Whether the index is damaged (`qa index` repairs it)."""
        return self.health is not None and self.health.damaged

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
            "damaged": self.damaged,
            "damage": list(self.health.problems) if self.health is not None else [],
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
    if found is None:
        return IndexStatus(paths, found, changes)
    backend = registry.backend_of(found)
    return IndexStatus(paths, found, changes, backend.status(paths.index, found), backend.health(paths.index, found))
