"""What every part of the documents layer shares: a corpus file (`Source`), a loaded `Document`, content hashes and
how citations name the parts of paged documents."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PART_LABELS = {".epub": "ch."}  # what citations call the parts of paged documents: EPUB chapters; else PDF pages
PAGE_SEPARATOR = "\n\n"

Warn = Callable[[str], None]


@dataclass(frozen=True)
class Source:
    """A file in the corpus, as listed before it is read."""

    id: str
    path: Path
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Document:
    """A loaded document: its full text and where its body starts."""

    id: str
    path: Path
    title: str
    text: str
    content_hash: str
    body_start: int = 0
    metadata: Mapping[str, Any] = field(default_factory=dict)
    page_starts: tuple[int, ...] = ()

    @property
    def part_label(self) -> str:
        """What citations call a part of this paged document: "ch." (EPUB chapters) or "p." (PDF pages)."""
        return part_label(self.id)

    def page_of(self, offset: int) -> int | None:
        """The 1-based page (or chapter) that holds `offset`, for paged documents."""
        if not self.page_starts:
            return None
        page = 0
        for number, start in enumerate(self.page_starts):
            if start <= offset:
                page = number
        return page + 1


def part_label(doc_id: str) -> str:
    """What citations call a part of the paged document with this id (or path): "ch." or "p."."""
    return PART_LABELS.get(os.path.splitext(doc_id)[1].lower(), "p.")


def hash_bytes(data: bytes) -> str:
    """The content hash recorded for a document."""
    return hashlib.sha256(data).hexdigest()


def hash_file(path: Path) -> str:
    """The content hash of a file, or "" when it cannot be read (so it counts as changed next time)."""
    try:
        return hash_bytes(path.read_bytes())
    except OSError:
        return ""
