"""The index manifest, and how the corpus has changed since it was written."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.documents import loading as documents
from qa.documents.base import Source, hash_file
from qa.index.lexical import PARAMETERS as LEXICAL_PARAMETERS
from qa.kernel.errors import IndexCorruptError, IndexMissingError
from qa.kernel.files import write_atomic

if TYPE_CHECKING:
    from qa.models.embedding import Embedder

FORMAT_VERSION = 2
MANIFEST = "manifest.json"
FULL_REBUILD = "run qa index --full"


@dataclass(frozen=True)
class DocumentEntry:
    """What the manifest remembers of one indexed document."""

    content_hash: str
    size: int
    mtime_ns: int
    title: str
    passages: int


@dataclass(frozen=True)
class Manifest:
    """Everything needed to trust, reuse and describe a built index."""

    model: str
    weights_sha256: str | None
    dimension: int
    chunking: dict[str, int]
    generation: str
    built_at: str
    build_seconds: float
    passages: int
    sentences: int
    documents: dict[str, DocumentEntry]
    files: dict[str, int]
    vector_index: dict[str, Any] = field(default_factory=dict)
    lexical: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    @property
    def indexed_ids(self) -> list[str]:
        """Ids of the documents that gave passages (skipped files are remembered too, with none), sorted."""
        return sorted(doc_id for doc_id, entry in self.documents.items() if entry.passages)

    def to_json(self) -> str:
        """The manifest as indented JSON."""
        return json.dumps(asdict(self), indent=2, sort_keys=True)


def built(
    embedder: Embedder,
    began: float,
    *,
    dimension: int,
    chunking: dict[str, int],
    generation: str,
    passages: int,
    sentences: int,
    documents: dict[str, DocumentEntry],
    files: dict[str, int],
    vector_index: dict[str, Any],
) -> Manifest:
    """The manifest of a build that began at `began` (perf_counter) with this embedder, stamped now."""
    return Manifest(
        model=embedder.name,
        weights_sha256=getattr(embedder, "weights_sha256", None),
        dimension=dimension,
        chunking=chunking,
        generation=generation,
        built_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        build_seconds=round(time.perf_counter() - began, 3),
        passages=passages,
        sentences=sentences,
        documents=documents,
        files=files,
        vector_index=vector_index,
        lexical=LEXICAL_PARAMETERS,
    )


def read(index: Path) -> Manifest:
    """Read and check the manifest of the index in `index`."""
    path = index / MANIFEST
    if not path.exists():
        raise IndexMissingError(f"no index in {index}: run qa index")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        raw["documents"] = {key: DocumentEntry(**value) for key, value in raw["documents"].items()}
        manifest = Manifest(**raw)
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
        raise IndexCorruptError(f"index manifest {path} is broken ({type(error).__name__}): {FULL_REBUILD}") from error
    if manifest.format_version != FORMAT_VERSION:
        raise IndexCorruptError(
            f"index in {index} has format {manifest.format_version}, this qa reads {FORMAT_VERSION}: {FULL_REBUILD}"
        )
    return manifest


def read_manifest(index: Path) -> Manifest | None:
    """The current manifest, or None when no index was built yet."""
    try:
        return read(index)
    except IndexMissingError:
        return None


def write(index: Path, manifest: Manifest) -> None:
    """Replace the manifest atomically: readers see the old one or the new one, never a mix."""
    write_atomic(index / MANIFEST, manifest.to_json())


@dataclass(frozen=True)
class Changes:
    """How the corpus differs from an index: document ids added, changed, removed and kept."""

    added: list[str]
    changed: list[str]
    removed: list[str]
    unchanged: list[str]
    sources: list[Source]
    hashes: dict[str, str]

    @property
    def stale(self) -> bool:
        """Whether the index no longer matches the corpus."""
        return bool(self.added or self.changed or self.removed)

    @property
    def touched(self) -> set[str]:
        """Ids of documents that must be read and embedded again."""
        return set(self.added) | set(self.changed)


def compare(corpus: Path, manifest: Manifest | None, warn: Callable[[str], None]) -> Changes:
    """Compare the corpus with the manifest; files are hashed only when size or mtime moved."""
    sources = documents.scan(corpus, warn)
    known = manifest.documents if manifest else {}
    added: list[str] = []
    changed: list[str] = []
    unchanged: list[str] = []
    hashes: dict[str, str] = {}
    for source in sources:
        entry = known.get(source.id)
        if entry is None:
            added.append(source.id)
            continue
        if entry.content_hash and entry.size == source.size and entry.mtime_ns == source.mtime_ns:
            hashes[source.id] = entry.content_hash
            unchanged.append(source.id)
            continue
        digest = hash_file(source.path)
        hashes[source.id] = digest
        (unchanged if digest and digest == entry.content_hash else changed).append(source.id)
    present = {source.id for source in sources}
    removed = sorted(doc_id for doc_id in known if doc_id not in present)
    return Changes(added, changed, removed, unchanged, sources, hashes)
