"""Documents packaged as zipped XML: Word (.docx) files and EPUB books, read into text whose paragraphs are lines
and whose headings are Markdown headings (so chunking numbers paragraphs and keeps headings), with their metadata.

EPUB chapters are the parts of a paged document (`Document.page_starts`), cited "Title, ch. 3 ¶2" as PDF pages are
cited "Title, p. 4 ¶2"."""

from __future__ import annotations

import datetime as dt
import io
import re
import warnings
import zipfile
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any
from xml.etree import ElementTree

from qa.documents.base import PAGE_SEPARATOR, Document, Source, Warn, hash_bytes

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # a Compound File: old .doc, or an encrypted Office file
ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
ENCRYPTION = "META-INF/encryption.xml"
DRM_FILES = ("META-INF/rights.xml", "META-INF/sinf.xml")  # Adobe ADEPT, Apple FairPlay
FONT_OBFUSCATION = frozenset({"http://www.idpf.org/2008/embedding", "http://ns.adobe.com/pdf/enc#RC"})
_HEADING_STYLE = re.compile(r"^heading\s*([1-9])$", re.IGNORECASE)
_BLOCK_TAGS = frozenset(
    "address article aside blockquote body caption dd div dl dt figcaption figure footer h1 h2 h3 h4 h5 h6 header "
    "hr li main nav ol p pre section table td th tr ul".split()
)
_SKIPPED_TAGS = frozenset({"head", "script", "style", "title", "svg", "math"})


def paragraph_text(blocks: list[tuple[int, str]]) -> str:
    """Blocks as text: one line per paragraph, headings as Markdown headings (level 1-6), blank lines between."""
    lines = []
    for level, text in blocks:
        folded = " ".join(text.split())
        if folded:
            lines.append(f"{'#' * min(level, 6)} {folded}" if level else folded)
    return "\n\n".join(lines)


def first_heading(blocks: list[tuple[int, str]]) -> str | None:
    """The text of the first heading among the blocks."""
    return next((" ".join(text.split()) for level, text in blocks if level and text.strip()), None)


def load_docx(source: Source, data: bytes, warn: Warn) -> Document | None:
    """A Word file: paragraphs and table rows as lines, headings kept; None (with a warning) when it is empty,
    password-protected or damaged."""
    if not data:
        warn(f"skipped {source.id}: empty file")
        return None
    if data.startswith(OLE_MAGIC):
        if ENCRYPTED_PACKAGE in data:
            warn(f"skipped {source.id}: password-protected Word file; save a copy without a password")
        else:
            warn(f"skipped {source.id}: an old Word (.doc) file named .docx; save it as .docx")
        return None
    import docx

    try:
        word = docx.Document(io.BytesIO(data))
        blocks = list(_docx_blocks(word))
        metadata = _docx_metadata(word.core_properties)
    except Exception as error:  # python-docx and zipfile raise many kinds on damaged files
        warn(f"skipped {source.id}: unreadable Word file ({type(error).__name__})")
        return None
    title = metadata.get("title") or first_heading(blocks) or source.path.stem
    return Document(
        id=source.id,
        path=source.path,
        title=title,
        text=paragraph_text(blocks),
        content_hash=hash_bytes(data),
        metadata={**metadata, "title": title},
    )


def _docx_blocks(word: Any) -> Iterator[tuple[int, str]]:
    """(heading level or 0, text) for every paragraph and table row, in document order."""
    from docx.table import Table

    for item in word.iter_inner_content():
        if isinstance(item, Table):
            for row in item.rows:
                cells: list[str] = []
                for cell in row.cells:  # a merged cell repeats in each column it spans
                    text = " ".join(cell.text.split())
                    if text and (not cells or cells[-1] != text):
                        cells.append(text)
                yield 0, " | ".join(cells)
            continue
        yield _docx_level(item), item.text


def _docx_level(paragraph: Any) -> int:
    """1-9 for a heading paragraph (the Title style counts as level 1), else 0."""
    style = getattr(paragraph.style, "name", None) or ""
    if style.lower() == "title":
        return 1
    found = _HEADING_STYLE.match(style)
    return int(found.group(1)) if found else 0


def _docx_metadata(properties: Any) -> dict[str, Any]:
    """The core properties a front matter would hold: title, author, created (and `date`, its day), subject,
    keywords, category and language, when set."""
    metadata: dict[str, Any] = {}
    for key in ("title", "author", "subject", "keywords", "category", "language"):
        value = " ".join(str(getattr(properties, key, None) or "").split())
        if value:
            metadata[key] = value
    created = properties.created
    if isinstance(created, dt.datetime):
        metadata["created"] = created.isoformat()
        metadata["date"] = created.date().isoformat()
    return metadata


def load_epub(source: Source, data: bytes, warn: Warn) -> Document | None:
    """An EPUB book: each chapter (a spine document with text) a part of the document, with its Dublin Core
    metadata; None (with a warning) when it is empty, DRM-protected or damaged."""
    if not data:
        warn(f"skipped {source.id}: empty file")
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            protected = drm_of(archive)
    except (zipfile.BadZipFile, OSError, ValueError, ElementTree.ParseError) as error:
        warn(f"skipped {source.id}: unreadable EPUB ({type(error).__name__})")
        return None
    if protected:
        warn(f"skipped {source.id}: the EPUB is DRM-protected ({protected}); only DRM-free books can be read")
        return None
    try:
        chapters, metadata = _epub_chapters(data)
    except Exception as error:  # ebooklib raises many kinds on damaged books
        warn(f"skipped {source.id}: unreadable EPUB ({type(error).__name__})")
        return None
    starts: list[int] = []
    texts: list[str] = []
    offset = 0
    for blocks in chapters:
        starts.append(offset)
        texts.append(paragraph_text(blocks))
        offset += len(texts[-1]) + len(PAGE_SEPARATOR)
    title = metadata.get("title") or next(filter(None, map(first_heading, chapters)), None) or source.path.stem
    return Document(
        id=source.id,
        path=source.path,
        title=title,
        text=PAGE_SEPARATOR.join(texts),
        content_hash=hash_bytes(data),
        metadata={**metadata, "title": title},
        page_starts=tuple(starts),
    )


def drm_of(archive: zipfile.ZipFile) -> str | None:
    """The file that shows the book is DRM-protected, or None: a rights file, or an encryption.xml that encrypts
    more than fonts (font obfuscation is not DRM)."""
    names = set(archive.namelist())
    for name in DRM_FILES:
        if name in names:
            return name
    if ENCRYPTION not in names:
        return None
    root = ElementTree.fromstring(archive.read(ENCRYPTION))
    for element in root.iter():
        if element.tag.endswith("EncryptionMethod") and element.get("Algorithm") not in FONT_OBFUSCATION:
            return ENCRYPTION
    return None


def _epub_chapters(data: bytes) -> tuple[list[list[tuple[int, str]]], dict[str, Any]]:
    """The blocks of each spine document that has text, in reading order, and the Dublin Core metadata."""
    import ebooklib
    from ebooklib import epub

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        book = epub.read_epub(io.BytesIO(data), {"ignore_ncx": True})
    chapters: list[list[tuple[int, str]]] = []
    for idref, _linear in book.spine:
        item = book.get_item_with_id(idref)
        if item is None or item.get_type() != ebooklib.ITEM_DOCUMENT or not item.is_chapter():
            continue
        blocks = xhtml_blocks(item.get_content())
        if any(text.strip() for _, text in blocks):
            chapters.append(blocks)
    return chapters, _dublin_core(book)


def _dublin_core(book: Any) -> dict[str, Any]:
    """title, author (the creators), date, language, publisher, subject, description and identifier, when set."""
    metadata: dict[str, Any] = {}
    for key, name in (
        ("title", "title"),
        ("author", "creator"),
        ("date", "date"),
        ("language", "language"),
        ("publisher", "publisher"),
        ("subject", "subject"),
        ("description", "description"),
        ("identifier", "identifier"),
    ):
        values = [" ".join(_strip_tags(str(value or "")).split()) for value, _ in book.get_metadata("DC", name)]
        values = [value for value in values if value]
        if values:
            metadata[key] = values[0] if len(values) == 1 or key in {"title", "date"} else values
    return metadata


def _strip_tags(text: str) -> str:
    if "<" not in text:
        return text
    return " ".join(block for _, block in xhtml_blocks(text.encode("utf-8")))


def xhtml_blocks(content: bytes) -> list[tuple[int, str]]:
    """(heading level or 0, text) of each block of an (X)HTML page, in order; scripts, styles and the head
    dropped."""
    parser = _BlockParser()
    parser.feed(content.decode("utf-8", "replace"))
    parser.close()
    parser.flush()
    return parser.blocks


class _BlockParser(HTMLParser):
    """Collects the text between block-level tags; text inside h1-h6 keeps its level."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[int, str]] = []
        self._parts: list[str] = []
        self._level = 0
        self._skipping = 0

    def flush(self) -> None:
        """End the current block."""
        text = " ".join("".join(self._parts).split())
        if text:
            self.blocks.append((self._level, text))
        self._parts = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Open a block, a heading or a skipped element."""
        tag = _local(tag)
        if tag in _SKIPPED_TAGS:
            self._skipping += 1
        elif tag in _BLOCK_TAGS:
            self.flush()
            if len(tag) == 2 and tag[0] == "h" and tag[1].isdigit():
                self._level = int(tag[1])
        elif tag == "br":
            self._parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """A self-closing tag: a line break is a space, a self-closed skipped element skips nothing."""
        if _local(tag) == "br":
            self._parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        """Close a block, a heading or a skipped element."""
        tag = _local(tag)
        if tag in _SKIPPED_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.flush()
            self._level = 0

    def handle_data(self, data: str) -> None:
        """Text, unless inside a skipped element."""
        if not self._skipping:
            self._parts.append(data)


def _local(tag: str) -> str:
    """The tag without an XML namespace prefix (`xhtml:p` -> `p`)."""
    return tag.rpartition(":")[2].lower()
