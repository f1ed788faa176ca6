"""Split documents into passages on paragraph and sentence boundaries, keeping exact offsets."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

from qa.documents.base import Document, part_label
from qa.documents.loading import front_matter_span

Span = tuple[int, int]
PassageKind = Literal["text", "front matter", "metadata"]
CARD_PARAGRAPH = 0

_LINE = re.compile(r"[^\n]*\n?")
_MD_HEADING = re.compile(r"[ \t]{0,3}#{1,6}[ \t]")
_LIST_ITEM = re.compile(r"[ \t]*(?:[-*+]|\d{1,3}[.)])[ \t]")
_WORD = re.compile(r"\S+")
_CLOSERS = "\"'”’)]»"
# A sentence ends at . ! ? (and any closing quotes) before space and a capital, digit or quote,
# or, as scraped text often has, directly before a capitalised word ("policy.The").
_BOUNDARY = re.compile(
    r"[.!?…]+[" + re.escape(_CLOSERS) + r"]*(?=\s+[\"“‘(\[]?[A-Z0-9])"
    r"|(?<=[a-z]{2}[.!?])(?=[A-Z][a-z])"
    r"|(?<=[a-z]{2}[.!?][”\"’])(?=[A-Z][a-z])"
)
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st vs etc e.g i.e u.s u.k u.n inc ltd co corp no fig gen gov sen rep jan feb mar "
    "apr jun jul aug sep sept oct nov dec al approx dept est".split()
)
_HEADING_END = tuple('.!?:;,"”’') + tuple(_CLOSERS)


@dataclass(frozen=True)
class ChunkingParams:
    """How passages are cut; recorded in the manifest so a change forces a rebuild."""

    min_words: int = 50
    max_words: int = 200
    wrap_width: int = 100
    cards: int = 1  # version of document cards (front matter and metadata as passages of their own); 0: none

    def as_dict(self) -> dict[str, int]:
        """The parameters as plain JSON values."""
        return asdict(self)


@dataclass(frozen=True)
class Passage:
    """A span of a document: `document.text[start:end] == text`; sentences are offsets within `text`."""

    id: str
    doc_id: str
    title: str
    text: str
    start: int
    end: int
    paragraphs: tuple[int, int]
    citation: str
    sentences: tuple[Span, ...]
    heading: str | None = None
    page: int | None = None
    kind: PassageKind = "text"
    centrality: float = 0.0
    key_sentence: int = -1

    @property
    def located(self) -> bool:
        """Whether `start`/`end` slice the document's text (metadata cards are built from metadata instead)."""
        return self.kind != "metadata"


@dataclass(frozen=True)
class _Block:
    start: int
    end: int
    heading: bool
    number: int
    page: int | None
    words: int


def chunk(document: Document, params: ChunkingParams | None = None) -> list[Passage]:
    """Cut a document into passages of about min..max words, never mid-sentence."""
    params = params or ChunkingParams()
    blocks = list(_blocks(document, params))
    card = document_card(document) if params.cards else None
    passages: list[Passage] = [card] if card is not None else []
    for group in _group(blocks, params):
        passages.extend(_passages(document, group, params))
    return passages


def document_card(document: Document) -> Passage | None:
    """The document's front matter (or, for formats without one, its metadata) as a passage of its own, one
    sentence per field, cited as "Title, front matter"."""
    span = front_matter_span(document.text) if document.body_start else None  # None too when the YAML was invalid
    if span is not None:
        start, end = span
        text, kind = document.text[start:end], "front matter"
    elif document.metadata:
        start = end = 0
        text, kind = _metadata_text(document.metadata), "metadata"
    else:
        return None
    sentences = tuple(_field_spans(text))
    if not sentences:
        return None
    return Passage(
        id=f"{document.id}#card",
        doc_id=document.id,
        title=document.title,
        text=text,
        start=start,
        end=end,
        paragraphs=(CARD_PARAGRAPH, CARD_PARAGRAPH),
        citation=f"{document.title}, {kind}",
        sentences=sentences,
        kind=kind,  # type: ignore[arg-type]
    )


def _metadata_text(metadata: Mapping[str, Any]) -> str:
    """Metadata as YAML-like `field: value` lines (lists joined with commas)."""
    lines = []
    for key, value in metadata.items():
        shown = ", ".join(str(item) for item in value) if isinstance(value, list | tuple) else str(value)
        if shown.strip():
            lines.append(f"{key}: {' '.join(shown.split())}")
    return "\n".join(lines)


def _field_spans(text: str) -> Iterator[Span]:
    """One span per top-level field of a YAML mapping: its key line and the indented lines that follow."""
    start: int | None = None
    end = 0
    for match in _LINE.finditer(text):
        if match.start() == match.end():
            break
        line = match.group().rstrip("\r\n")
        if not line.strip():
            continue
        if not line[0].isspace() and start is not None:
            yield start, end
            start = None
        if start is None:
            start = match.start()
        end = match.start() + len(line)
    if start is not None:
        yield start, end


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentence spans within text[start:end], trimmed of surrounding white space."""
    end = len(text) if end is None else end
    spans: list[Span] = []
    cursor = start
    for match in _BOUNDARY.finditer(text, start, end):
        if _is_abbreviation(text, cursor, match.start()):
            continue
        spans.extend(_trimmed(text, cursor, match.end()))
        cursor = match.end()
    spans.extend(_trimmed(text, cursor, end))
    return spans


def _is_abbreviation(text: str, sentence_start: int, dot: int) -> bool:
    if dot >= len(text) or text[dot] != ".":
        return False
    word_start = dot
    while word_start > sentence_start and not text[word_start - 1].isspace():
        word_start -= 1
    word = text[word_start:dot].lstrip(_CLOSERS + "“‘(").lower()
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def _trimmed(text: str, start: int, end: int) -> list[Span]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return [(start, end)] if start < end else []


def _blocks(document: Document, params: ChunkingParams) -> Iterator[_Block]:
    """Paragraphs and headings of the body, numbered per document (per page in paged documents)."""
    text = document.text
    number = 0
    page: int | None = None
    for start, end, heading in _raw_blocks(text, document.body_start, params):
        block_page = document.page_of(start)
        if block_page != page:
            page, number = block_page, 0
        if not heading:
            number += 1
        yield _Block(start, end, heading, 0 if heading else number, block_page, len(_WORD.findall(text, start, end)))


def _raw_blocks(text: str, body_start: int, params: ChunkingParams) -> Iterator[tuple[int, int, bool]]:
    lines: list[Span] = []
    for match in _LINE.finditer(text, body_start):
        if match.start() == match.end():
            break
        line_end = match.end() - 1 if text[match.end() - 1] == "\n" else match.end()
        if text[match.start() : line_end].strip():
            lines.append((match.start(), line_end))
        elif lines:
            yield from _block_paragraphs(text, lines, params)
            lines = []
    if lines:
        yield from _block_paragraphs(text, lines, params)


def _block_paragraphs(text: str, lines: list[Span], params: ChunkingParams) -> Iterator[tuple[int, int, bool]]:
    """Hard-wrapped lines join into one paragraph; in unwrapped text each line is a paragraph."""
    wrapped = len(lines) > 1 and all(end - start <= params.wrap_width for start, end in lines[:-1])
    current: list[Span] = []
    for index, (start, end) in enumerate(lines):
        line = text[start:end]
        heading = bool(_MD_HEADING.match(line)) or (not wrapped and _looks_like_heading(line, lines, index))
        if heading or not wrapped or _LIST_ITEM.match(line):
            if current:
                yield *_trimmed(text, current[0][0], current[-1][1])[0], False
                current = []
            if heading or not wrapped:
                yield *_trimmed(text, start, end)[0], heading
                continue
        current.append((start, end))
    if current:
        yield *_trimmed(text, current[0][0], current[-1][1])[0], False


def _looks_like_heading(line: str, lines: list[Span], index: int) -> bool:
    """A short line without closing punctuation followed by a longer one, as scraped subheadings are."""
    stripped = line.strip()
    if index + 1 >= len(lines) or len(stripped.split()) > 10 or stripped.endswith(_HEADING_END):
        return False
    following = lines[index + 1]
    return following[1] - following[0] > 2 * len(stripped)


def _group(blocks: list[_Block], params: ChunkingParams) -> Iterator[list[_Block]]:
    """Gather blocks into passage-sized groups: tiny paragraphs join a neighbour, headings lead."""
    groups: list[list[_Block]] = []
    current: list[_Block] = []
    pending: list[_Block] = []

    def words(group: list[_Block]) -> int:
        return sum(block.words for block in group if not block.heading)

    def flush() -> None:
        nonlocal current
        if current:
            groups.append(current)
            current = []

    for block in blocks:
        tail = pending or current
        if tail and tail[-1].page != block.page:
            current.extend(pending)  # a passage never spans pages; headings that end a page stay on it
            pending = []
            flush()
        if block.heading:
            if words(current) >= params.min_words:
                flush()
            pending.append(block)
            continue
        if current and (words(current) >= params.min_words or words(current) + block.words > params.max_words):
            flush()
        current.extend(pending)
        current.append(block)
        pending = []
        if block.words > params.max_words:
            flush()
    current.extend(pending)
    flush()
    if len(groups) > 1:
        last, previous = groups[-1], groups[-2]
        fits = words(previous) + words(last) <= params.max_words and previous[-1].page == last[0].page
        if words(last) < params.min_words // 2 and fits:
            groups[-2:] = [previous + last]
    return iter(groups)


def _passages(document: Document, group: list[_Block], params: ChunkingParams) -> list[Passage]:
    paragraphs = [block for block in group if not block.heading]
    headings = [block for block in group if block.heading]
    sentences: list[Span] = []
    for block in group:
        if block.heading:
            sentences.append((block.start, block.end))
        else:
            sentences.extend(_bounded_sentences(document.text, block, params.max_words))
    heading_text = document.text[headings[-1].start : headings[-1].end].lstrip("# ").strip() if headings else None
    first = paragraphs[0] if paragraphs else group[0]
    last = paragraphs[-1] if paragraphs else group[-1]
    numbers = (first.number, last.number)
    if len(paragraphs) == 1 and first.words > params.max_words:
        windows = _windows(document.text, sentences, params.max_words)
        return [
            _passage(document, window, numbers, heading_text, first.page, part if len(windows) > 1 else 0)
            for part, window in enumerate(windows, start=1)
        ]
    return [_passage(document, sentences, numbers, heading_text, first.page, 0)]


def _bounded_sentences(text: str, block: _Block, max_words: int) -> list[Span]:
    """Sentences of a paragraph; a sentence longer than max_words is cut at word boundaries."""
    spans: list[Span] = []
    for start, end in split_sentences(text, block.start, block.end):
        words = list(_WORD.finditer(text, start, end))
        if len(words) <= max_words:
            spans.append((start, end))
            continue
        for index in range(0, len(words), max_words):
            piece = words[index : index + max_words]
            spans.append((piece[0].start(), piece[-1].end()))
    return spans


def _windows(text: str, sentences: list[Span], max_words: int) -> list[list[Span]]:
    """Consecutive runs of sentences of balanced size, each overlapping the last by one sentence."""
    counts = [len(_WORD.findall(text, start, end)) for start, end in sentences]
    total = sum(counts)
    target = min(max_words, math.ceil(total / math.ceil(total / max_words)))
    windows: list[list[Span]] = []
    index = 0
    while index < len(sentences):
        size = counts[index]
        stop = index + 1
        while stop < len(sentences) and size + counts[stop] <= target:
            size += counts[stop]
            stop += 1
        windows.append(sentences[index:stop])
        if stop >= len(sentences):
            break
        index = stop - 1 if stop - 1 > index else stop
    return windows


def citation(title: str, numbers: tuple[int, int], page: int | None, label: str = "p.") -> str:
    """How a passage is cited: "Title, ¶3", "Title, ¶14–21", "Title, p. 4 ¶2" or (label "ch.") "Title, ch. 3 ¶2"."""
    first, last = numbers
    paragraphs = f"¶{first}" if first == last else f"¶{first}–{last}"
    return f"{title}, {label} {page} {paragraphs}" if page else f"{title}, {paragraphs}"


def passage_id(doc_id: str, numbers: tuple[int, int], page: int | None, part: int = 0) -> str:
    """A passage's id: the document's, then its paragraph range ("#14-21"), page ("#p4:2", EPUB chapter "#ch3:2")
    and window part."""
    first, last = numbers
    local = f"{first}" if first == last else f"{first}-{last}"
    if part:
        local += f".{part}"
    if page:
        local = f"{part_label(doc_id).rstrip('.')}{page}:{local}"
    return f"{doc_id}#{local}"


def _passage(
    document: Document,
    sentences: list[Span],
    numbers: tuple[int, int],
    heading: str | None,
    page: int | None,
    part: int,
) -> Passage:
    start, end = sentences[0][0], sentences[-1][1]
    return Passage(
        id=passage_id(document.id, numbers, page, part),
        doc_id=document.id,
        title=document.title,
        text=document.text[start:end],
        start=start,
        end=end,
        paragraphs=numbers,
        citation=citation(document.title, numbers, page, document.part_label),
        sentences=tuple((s - start, e - start) for s, e in sentences),
        heading=heading,
        page=page,
    )
