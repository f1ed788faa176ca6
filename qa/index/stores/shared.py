"""What every store backend shares, public so that each backend reads the same thing: the record format of passages
and documents (and the embedding cache's key), the text BM25 indexes, the vector-index policy (exact search
below APPROXIMATE_THRESHOLD passages, else IVF over 8-bit codes with about 2·sqrt(N) lists, 1/32 of them probed), and
the checks of a generation folder's files against its manifest (sizes, array headers, checksums)."""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from qa.documents.base import Document
from qa.documents.chunking import Passage
from qa.index.stores.base import Health
from qa.kernel.files import write_atomic

CHECKSUMS = "checksums.json"  # in a generation folder: the sha256 of each of its files

APPROXIMATE_THRESHOLD = 200_000  # below: exact search; above: IVF over 8-bit codes (chosen by `qa bench --scale`)
IVF_PROBE_SHARE = 1 / 32


def approximate(count: int) -> bool:
    """Whether an index of `count` passages searches approximately (IVF) rather than exactly."""
    return count >= APPROXIMATE_THRESHOLD


def ivf_lists(count: int) -> int:
    """The number of IVF lists for `count` passages: about 2·sqrt(N), rounded to a power of two."""
    return int(2 ** round(np.log2(2 * np.sqrt(count))))


def ivf_probes(lists: int) -> int:
    """How many of `lists` IVF lists a search probes."""
    return max(1, round(lists * IVF_PROBE_SHARE))


def passage_key(passage: Passage) -> str:
    """Key of the embedding cache: the same text cut into the same sentences has the same vectors."""
    content = f"{passage.text}\0{json.dumps(passage.sentences)}"
    return hashlib.sha256(content.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def passage_record(passage: Passage, row: int, sentence_row: int) -> dict[str, Any]:
    """The table row of a passage, by column name."""
    return {
        "row": row,
        "id": passage.id,
        "doc_id": passage.doc_id,
        "title": passage.title,
        "text": passage.text,
        "start": passage.start,
        "end": passage.end,
        "first_paragraph": passage.paragraphs[0],
        "last_paragraph": passage.paragraphs[1],
        "citation": passage.citation,
        "heading": passage.heading,
        "page": passage.page,
        "sentences": json.dumps(passage.sentences),
        "sentence_row": sentence_row,
        "cache_key": passage_key(passage),
        "kind": passage.kind,
        "centrality": passage.centrality,
        "key_sentence": passage.key_sentence,
    }


def record_passage(record: Mapping[str, Any] | sqlite3.Row) -> Passage:
    """The passage a table row holds."""
    return Passage(
        id=record["id"],
        doc_id=record["doc_id"],
        title=record["title"],
        text=record["text"],
        start=record["start"],
        end=record["end"],
        paragraphs=(record["first_paragraph"], record["last_paragraph"]),
        citation=record["citation"],
        sentences=tuple((start, end) for start, end in json.loads(record["sentences"])),
        heading=record["heading"],
        page=record["page"],
        kind=record["kind"],
        centrality=record["centrality"],
        key_sentence=record["key_sentence"],
    )


def document_record(doc: Document) -> tuple[Any, ...]:
    """The table row of a document, in DOCUMENT_COLUMNS order."""
    return (
        doc.id,
        str(doc.path),
        doc.title,
        doc.text,
        doc.content_hash,
        doc.body_start,
        json.dumps(doc.metadata, default=str, ensure_ascii=False),
        json.dumps(doc.page_starts),
    )


def lexical_text(passage: Passage) -> str:
    """What BM25 indexes: the document title (unless the passage opens with it), then the passage text."""
    return passage.text if passage.text.startswith(passage.title) else f"{passage.title}\n{passage.text}"


def checksum(path: Path) -> str:
    """The sha256 of a file, as `record_checksums` keeps it."""
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def record_checksums(folder: Path, files: Mapping[str, int]) -> dict[str, int]:
    """Write the sha256 of each file of a generation folder beside them (CHECKSUMS, synced), for `qa index
    --verify`; the files with it. Kept in the folder rather than the manifest, so that a qa reading an older
    manifest format goes on reading the index."""
    digests = {name: checksum(folder / name) for name in files}
    write_atomic(folder / CHECKSUMS, json.dumps(digests, indent=1, sort_keys=True))
    return {**files, CHECKSUMS: (folder / CHECKSUMS).stat().st_size}


def generation_health(folder: Path, files: Mapping[str, int], verify: bool = False) -> Health:
    """The files of a generation folder against the manifest: each there and of its recorded size; with `verify`,
    each file's content against its recorded checksum too (read whole: the cost of `qa index --verify`; nothing
    to compare in a folder written before checksums were recorded)."""
    began = time.perf_counter()
    if not folder.is_dir():
        return Health((f"generation folder {folder.name} is missing",))
    problems: list[str] = []
    for name, size in files.items():
        path = folder / name
        if not path.is_file():
            problems.append(f"{name} is missing")
        elif (actual := path.stat().st_size) < size:
            problems.append(f"{name} is truncated to {actual:,} of {size:,} bytes")
        elif actual != size:
            problems.append(f"{name} has {actual:,} bytes, not {size:,}")
    if problems or not verify or CHECKSUMS not in files:
        return Health(tuple(problems))
    try:
        digests = json.loads((folder / CHECKSUMS).read_text(encoding="utf-8"))
        recorded = {str(name): str(digest) for name, digest in digests.items() if name in files}
    except (OSError, ValueError, AttributeError):
        return Health((f"{CHECKSUMS} is unreadable",))
    problems = [
        f"{name} does not match its checksum" for name, digest in recorded.items() if checksum(folder / name) != digest
    ]
    read = sum(files[name] for name in recorded)
    return Health(tuple(problems), len(recorded), read, time.perf_counter() - began)


def array_problem(path: Path, shape: tuple[int, ...] | None = None, dtype: str | None = None) -> str | None:
    """What is wrong with a .npy file, from its header alone: unreadable, not of `shape` (any when None) and
    `dtype`, or of another length than its header says; None when nothing is."""
    readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    try:
        with path.open("rb") as stream:
            version = np.lib.format.read_magic(stream)
            found, _, kind = readers[version](stream)
            start = stream.tell()
    except (OSError, ValueError, KeyError, SyntaxError):
        return f"{path.name} is not a readable NumPy array"
    if shape is not None and tuple(found) != shape:
        return f"{path.name} holds a {_dimensions(found)} array, not {_dimensions(shape)}"
    if dtype is not None and kind != np.dtype(dtype):
        return f"{path.name} holds {kind} numbers, not {np.dtype(dtype)}"
    expected = start + math.prod(found) * kind.itemsize
    size = path.stat().st_size
    if size != expected:
        return f"{path.name} is truncated" if size < expected else f"{path.name} has {size - expected:,} bytes too many"
    return None


def _dimensions(shape: tuple[int, ...]) -> str:
    return "×".join(str(size) for size in shape) or "scalar"
