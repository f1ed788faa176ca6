"""Find and load the documents of a corpus: Markdown, text, HTML, PDF, Word and EPUB."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from qa.documents.base import PAGE_SEPARATOR, Document, Source, Warn, hash_bytes
from qa.kernel.errors import CorpusError

TEXT_SUFFIXES = frozenset({".md", ".markdown", ".txt"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
PDF_SUFFIXES = frozenset({".pdf"})
WORD_SUFFIXES = frozenset({".docx"})
EPUB_SUFFIXES = frozenset({".epub"})
SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES | WORD_SUFFIXES | EPUB_SUFFIXES
KINDS = ".md, .txt, .html, .pdf, .docx or .epub"  # the files SUFFIXES covers, as messages name them

_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


def check_corpus(corpus: Path) -> None:
    """Raise CorpusError, saying how to fix it, unless `corpus` is a folder."""
    if not corpus.exists():
        raise CorpusError(f"corpus folder {corpus} does not exist: create it or pass --corpus DIR")
    if not corpus.is_dir():
        raise CorpusError(f"corpus {corpus} is not a folder: pass --corpus DIR")


def scan(corpus: Path, warn: Warn) -> list[Source]:
    """List the supported files below `corpus`, sorted by id; hidden files and symlink loops are skipped."""
    check_corpus(corpus)
    sources = [_source(corpus, path) for path in _walk(corpus, warn)]
    return sorted(sources, key=lambda source: source.id)


def _walk(corpus: Path, warn: Warn) -> Iterator[Path]:
    seen: set[str] = set()
    for folder, dirnames, filenames in os.walk(corpus, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:
            warn(f"skipped {folder}: symlink loop")
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = sorted(name for name in dirnames if not name.startswith("."))
        for name in sorted(filenames):
            path = Path(folder) / name
            if name.startswith(".") or path.suffix.lower() not in SUFFIXES:
                continue
            if not path.is_file():
                warn(f"skipped {path}: not a readable file")
                continue
            yield path


def _source(corpus: Path, path: Path) -> Source:
    stat = path.stat()
    return Source(id=path.relative_to(corpus).as_posix(), path=path, size=stat.st_size, mtime_ns=stat.st_mtime_ns)


def load(source: Source, warn: Warn) -> Document | None:
    """Read one file; None (with a warning naming it) when it is empty, binary or has no text."""
    try:
        data = source.path.read_bytes()
    except OSError as error:
        warn(f"skipped {source.id}: {error.strerror or error}")
        return None
    suffix = source.path.suffix.lower()
    if suffix in PDF_SUFFIXES:
        document = _load_pdf(source, data, warn)
    elif suffix in WORD_SUFFIXES | EPUB_SUFFIXES:
        from qa.documents import packaged

        document = (packaged.load_docx if suffix in WORD_SUFFIXES else packaged.load_epub)(source, data, warn)
    elif suffix in HTML_SUFFIXES:
        document = _load_html(source, data, warn)
    else:
        document = _load_text(source, data, warn)
    if document is not None and not document.text[document.body_start :].strip():
        warn(f"skipped {source.id}: no text")
        return None
    return document


def load_all(sources: list[Source], warn: Warn) -> list[Document]:
    """Load every source that has text, warning about the rest."""
    documents = (load(source, warn) for source in sources)
    return [document for document in documents if document is not None]


def decode(data: bytes, name: str, warn: Warn) -> str | None:
    """Decode UTF-8, falling back to Windows-1252/Latin-1 with a warning; None for binary data."""
    if b"\x00" in data[:8192]:
        warn(f"skipped {name}: binary file")
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    warn(f"{name} is not UTF-8: read it as Latin-1")
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _load_text(source: Source, data: bytes, warn: Warn) -> Document | None:
    text = decode(data, source.id, warn)
    if text is None:
        return None
    metadata, body_start = _front_matter(text, source.id, warn)
    title = _title(metadata) or _first_heading(text[body_start:]) or source.path.stem
    return Document(
        id=source.id,
        path=source.path,
        title=title,
        text=text,
        content_hash=hash_bytes(data),
        body_start=body_start,
        metadata=metadata,
    )


def front_matter_span(text: str) -> tuple[int, int] | None:
    """Where the YAML between a text file's opening `---` fences lies, or None when it has none."""
    match = _FRONT_MATTER.match(text)
    return match.span(1) if match is not None else None


def _front_matter(text: str, name: str, warn: Warn) -> tuple[dict[str, Any], int]:
    match = _FRONT_MATTER.match(text)
    if match is None:
        return {}, 0
    import yaml

    try:
        loaded = yaml.load(match.group(1), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as error:
        problem = str(error).splitlines()[0]
        warn(f"{name}: front matter is not valid YAML ({problem}); indexed it as text")
        return {}, 0
    if not isinstance(loaded, dict):
        warn(f"{name}: front matter is not a mapping; indexed it as text")
        return {}, 0
    return {str(key): value for key, value in loaded.items()}, match.end()


def _title(metadata: Mapping[str, Any]) -> str | None:
    title = metadata.get("title")
    if title is None:
        return None
    folded = " ".join(str(title).split())
    return folded or None


def _first_heading(body: str) -> str | None:
    match = _HEADING.search(body)
    return match.group(1).strip() if match else None


def _load_html(source: Source, data: bytes, warn: Warn) -> Document | None:
    html = decode(data, source.id, warn)
    if html is None:
        return None
    text, metadata = extract_html(html)
    if not text.strip():
        warn(f"skipped {source.id}: no main text found in the HTML")
        return None
    title = _title(metadata) or source.path.stem
    return Document(
        id=source.id,
        path=source.path,
        title=title,
        text=text,
        content_hash=hash_bytes(data),
        metadata={**metadata, "title": title},
    )


def extract_html(html: str | bytes, url: str | None = None) -> tuple[str, dict[str, Any]]:
    """The main text of a web page as Markdown (boilerplate dropped), and its title, author, date and url if found."""
    import trafilatura

    text = trafilatura.extract(
        html, url=url, output_format="markdown", include_comments=False, include_tables=True, favor_recall=True
    )
    found = trafilatura.extract_metadata(html, default_url=url)
    metadata: dict[str, Any] = {}
    for key in ("title", "author", "date", "url"):
        value = " ".join(str(getattr(found, key, None) or "").split())
        if value:
            metadata[key] = value
    return text or "", metadata


def _load_pdf(source: Source, data: bytes, warn: Warn) -> Document | None:
    import io
    import logging

    import pypdf

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
    except Exception as error:  # pypdf raises many kinds on damaged files
        warn(f"skipped {source.id}: unreadable PDF ({type(error).__name__})")
        return None
    if not any(pages):
        warn(f"skipped {source.id}: PDF has no text layer (scanned?); run OCR on it first")
        return None
    starts: list[int] = []
    offset = 0
    for page in pages:
        starts.append(offset)
        offset += len(page) + len(PAGE_SEPARATOR)
    metadata: dict[str, Any] = {}
    info_title = reader.metadata.title if reader.metadata else None
    if info_title and info_title.strip():
        metadata["title"] = info_title.strip()
    return Document(
        id=source.id,
        path=source.path,
        title=_title(metadata) or source.path.stem,
        text=PAGE_SEPARATOR.join(pages),
        content_hash=hash_bytes(data),
        metadata=metadata,
        page_starts=tuple(starts),
    )
