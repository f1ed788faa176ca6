"""The health of a generation of the default store, from what can be read cheaply: its files against the manifest
(there, of their sizes), the shapes in the NumPy headers, the counts in the FAISS header and the SQLite header's page
count; with `verify`, every file's content against the checksum the build recorded."""

from __future__ import annotations

from pathlib import Path

from qa.index.manifest import Manifest
from qa.index.stores.base import Health
from qa.index.stores.files.store import FAISS, SENTENCES, TABLE, VECTORS
from qa.index.stores.shared import array_problem, generation_health

SQLITE_MAGIC = b"SQLite format 3\x00"


def files_health(index: Path, found: Manifest, verify: bool = False) -> Health:
    """What is wrong with the generation folder `found` names (see the module)."""
    folder = index / found.generation
    health = generation_health(folder, found.files, verify)
    if health.damaged:
        return health
    shapes = {
        VECTORS: (found.passages, found.dimension),
        SENTENCES: (found.sentences, found.dimension),
    }
    problems = [
        problem
        for name in found.files
        if name.endswith(".npy")
        and (problem := array_problem(folder / name, *((shapes[name], "float32") if name in shapes else ())))
    ]
    if FAISS in found.files and (problem := faiss_problem(folder / FAISS, found.passages, found.dimension)):
        problems.append(problem)
    if TABLE in found.files and (problem := sqlite_problem(folder / TABLE)):
        problems.append(problem)
    return health.adding(problems)


def faiss_problem(path: Path, passages: int, dimension: int) -> str | None:
    """What the header of a FAISS index file says is wrong: its dimension and vector count (flat and IVF indexes
    begin alike: four letters, the dimension as int32, the count as int64)."""
    head = _head(path, 16)
    if len(head) < 16 or not head[:4].isalpha():
        return f"{path.name} is not a readable FAISS index"
    found_dimension = int.from_bytes(head[4:8], "little", signed=True)
    count = int.from_bytes(head[8:16], "little", signed=True)
    if (count, found_dimension) != (passages, dimension):
        return f"{path.name} holds {count:,} vectors of {found_dimension}, not {passages:,} of {dimension}"
    return None


def sqlite_problem(path: Path) -> str | None:
    """What the header of the passage table says is wrong: not SQLite, or another size than its page count."""
    head = _head(path, 100)
    if len(head) < 100 or not head.startswith(SQLITE_MAGIC):
        return f"{path.name} is not a SQLite database"
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65_536 if page_size == 1 else page_size
    pages = int.from_bytes(head[28:32], "big")
    counted = pages and head[24:28] == head[92:96]  # the page count is valid only then
    if counted and path.stat().st_size != page_size * pages:
        return f"{path.name} holds {path.stat().st_size:,} bytes, not the {pages} pages of {page_size} its header says"
    return None


def _head(path: Path, size: int) -> bytes:
    """The first `size` bytes of a file (fewer, or none when it cannot be read)."""
    try:
        with path.open("rb") as stream:
            return stream.read(size)
    except OSError:
        return b""
