"""List answers: consecutive passages that are items of one list come back as one result with their paragraph
range ("¶14–21"), not as one item each."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from qa.documents.base import part_label
from qa.documents.chunking import Passage, Span, citation, passage_id
from qa.index.stores.base import PassageStore

MAX_ITEMS = 12  # a run of list passages is followed at most this far either way
_ITEM = re.compile(r"(?m)^[ \t]*(?:[-*+•]|\d{1,3}[.)])[ \t]*\S")
_RECOMMENDS = re.compile(r"\b(?:recommend|propos|suggest|should|must|urge)", re.IGNORECASE)


@dataclass(frozen=True)
class Entry:
    """A result before it becomes a hit: its row, passage, highlighted span and score."""

    row: int
    passage: Passage
    highlight: Span | None
    score: float


@dataclass(frozen=True)
class Gathered:
    """One result after gathering: the entries it stands for (best first) and the passage it shows."""

    members: tuple[int, ...]
    passage: Passage
    highlight: Span | None


def is_item(passage: Passage) -> bool:
    """Whether the passage holds an item of a bulleted or numbered list."""
    return passage.kind == "text" and bool(_ITEM.search(passage.text))


def is_recommendation_list(passage: Passage) -> bool:
    """Whether the passage is a gathered list (two items or more) that recommends, proposes or suggests."""
    items = len(_ITEM.findall(passage.text))
    return items >= 2 and bool(_RECOMMENDS.search(passage.text))


def results(store: PassageStore, entries: Sequence[Entry], exhaustive: bool) -> int:
    """How many results `gather` makes of the entries (without reading any document to merge them)."""
    return len(_groups(store, entries, exhaustive))


def gather(store: PassageStore, entries: Sequence[Entry], exhaustive: bool) -> list[Gathered]:
    """The entries with list items of one run merged into one result where two or more of them were found (or,
    when the question asks for all of them, wherever one was), in the order of their best member."""
    gathered: list[Gathered] = []
    for members, run in _groups(store, entries, exhaustive):
        if run is None:
            entry = entries[members[0]]
            gathered.append(Gathered(members, entry.passage, entry.highlight))
            continue
        merged = _merge(store, run)
        best = entries[members[0]]
        shift = best.passage.start - merged.start
        span = (best.highlight[0] + shift, best.highlight[1] + shift) if best.highlight else None
        gathered.append(Gathered(members, merged, span))
    return gathered


def _groups(
    store: PassageStore, entries: Sequence[Entry], exhaustive: bool
) -> list[tuple[tuple[int, ...], list[Passage] | None]]:
    """The results as (entries they stand for, best first; the run of list passages to merge, or None)."""
    runs: dict[tuple[int, int], list[Passage]] = {}
    run_of: dict[int, tuple[int, int]] = {}
    for index, entry in enumerate(entries):
        key = next((key for key in runs if entry.row in range(*key)), None)
        if key is None and is_item(entry.passage):
            key, members = _run(store, entry.row, entry.passage)
            runs[key] = members
        if key is not None:
            run_of[index] = key
    groups: list[tuple[tuple[int, ...], list[Passage] | None]] = []
    placed: set[tuple[int, int]] = set()
    for index in range(len(entries)):
        key = run_of.get(index)
        together = [other for other, found in run_of.items() if found == key] if key is not None else [index]
        if key is None or (len(together) < 2 and not exhaustive) or len(runs[key]) < 2:
            groups.append(((index,), None))
        elif key not in placed:
            placed.add(key)
            groups.append((tuple(together), runs[key]))
    return groups


def _run(store: PassageStore, row: int, passage: Passage) -> tuple[tuple[int, int], list[Passage]]:
    """The rows [low, high) and passages of the run of consecutive list passages of one document around `row`."""
    low = max(0, row - MAX_ITEMS)
    high = min(store.size, row + MAX_ITEMS + 1)
    around = store.passages(range(low, high))
    at = row - low
    first = last = at
    while first > 0 and around[first - 1].doc_id == passage.doc_id and is_item(around[first - 1]):
        first -= 1
    while last + 1 < len(around) and around[last + 1].doc_id == passage.doc_id and is_item(around[last + 1]):
        last += 1
    return (low + first, low + last + 1), around[first : last + 1]


def _merge(store: PassageStore, members: list[Passage]) -> Passage:
    """One passage spanning the members, sliced from the document's text, with all their sentences."""
    first, last = members[0], members[-1]
    text = store.document(first.doc_id).text[first.start : last.end]
    sentences = tuple(
        (start + member.start - first.start, end + member.start - first.start)
        for member in members
        for start, end in member.sentences
    )
    numbers = (first.paragraphs[0], last.paragraphs[1])
    return replace(
        first,
        id=passage_id(first.doc_id, numbers, first.page),
        text=text,
        end=last.end,
        paragraphs=numbers,
        citation=citation(first.title, numbers, first.page, part_label(first.doc_id)),
        sentences=sentences,
    )
