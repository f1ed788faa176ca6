"""Test documents shared across the test folders: generated Markdown, an HTML page, loading one file, and the
passages a corpus should give."""

from __future__ import annotations

import shutil
from pathlib import Path

from qa.documents import loading
from qa.documents.base import Document, Source
from qa.documents.chunking import Passage, chunk
from qa.kernel.paths import Paths
from qa.kernel.progress import SilentReporter


def topic_paragraph(topic: str, number: int) -> str:
    """About 70 words on `topic`, different for each `number`."""
    return (
        f"The {topic} report, part {number}, describes how the {topic} changed over the season. "
        f"Observers counted {number * 7} events and noted that each one followed a long quiet spell. "
        f"Local crews recorded measurements every morning, compared them with older notes, and argued about causes. "
        f"Most agreed that weather mattered, though some blamed equipment or plain bad luck for item {number}. "
        f"The {topic} committee will publish a longer account next spring."
    )


def write_doc(folder: Path, name: str, topic: str, paragraphs: int = 3) -> Path:
    """A Markdown document on `topic`: a heading and `paragraphs` paragraphs."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "\n\n".join(topic_paragraph(topic, number) for number in range(1, paragraphs + 1))
    path.write_text(f"# The {topic}\n\n{body}\n", encoding="utf-8")
    return path


HTML = """<!doctype html>
<html><head><title>Harbour Automation | Port Weekly</title><meta name="author" content="Ada Quay"></head>
<body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/subscribe">Subscribe to our newsletter</a></li></ul></nav>
<article>
<h1>Harbour Automation</h1>
<p>Automated stacking cranes now move most containers at the eastern terminal. The operator says the cranes run
through the night and need only two supervisors per shift, down from eleven crane drivers a decade ago.</p>
<h2>Labour</h2>
<p>The dockworkers' union negotiated retraining for every driver whose job disappeared. Many now maintain the cranes,
repair the sensors and write the software that schedules each move, a change the union calls a fair trade.</p>
</article>
<footer>Copyright Port Weekly. Cookie settings. Privacy policy.</footer>
</body></html>
"""


def essay_with_notes(folder: Path) -> Path:
    """`folder` made a corpus of the essay and two generated documents, one with front matter."""
    from tests.conftest import ESSAY

    folder.mkdir()
    shutil.copy(ESSAY, folder / ESSAY.name)
    write_doc(folder, "notes/glaciers.md", "glaciers of the northern valley")
    write_doc(folder, "notes/harbour_cranes.md", "harbour cranes and dockworkers", paragraphs=2)
    return folder


def expected_passages(paths: Paths) -> list[Passage]:
    """The passages the corpus should give, chunked here without an index."""
    docs = loading.load_all(loading.scan(paths.corpus, lambda message: None), lambda message: None)
    return [passage for doc in docs for passage in chunk(doc)]


def load_file(path: Path, corpus: Path) -> tuple[Document | None, list[str]]:
    """The document loaded from one file of the corpus, and the warnings loading it gave."""
    stat = path.stat()
    source = Source(path.relative_to(corpus).as_posix(), path, stat.st_size, stat.st_mtime_ns)
    reporter = SilentReporter()
    return loading.load(source, reporter.warn), reporter.warnings


def make_docx(
    path: Path,
    paragraphs: list[str],
    *,
    heading: str | None = None,
    title: str | None = None,
    author: str | None = None,
    created: str | None = None,
) -> Path:
    """A Word file written with python-docx: an optional heading, then the paragraphs; core properties when given
    (`created` as YYYY-MM-DD)."""
    import datetime as dt

    import docx

    word = docx.Document()
    properties = word.core_properties
    properties.title = title or ""
    properties.author = author or ""
    if created:
        properties.created = dt.datetime.fromisoformat(created)
    if heading:
        word.add_heading(heading, level=1)
    for paragraph in paragraphs:
        word.add_paragraph(paragraph)
    path.parent.mkdir(parents=True, exist_ok=True)
    word.save(str(path))
    return path


def make_epub(
    path: Path,
    chapters: list[tuple[str, list[str]]],
    *,
    title: str = "A Book",
    author: str | None = None,
    date: str | None = None,
    encrypted: bool = False,
) -> Path:
    """An EPUB book written with ebooklib: one spine document per (heading, paragraphs) chapter, after a navigation
    document; with `encrypted`, a META-INF/encryption.xml that encrypts the chapters, as DRM does."""
    import zipfile
    from html import escape

    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier(f"urn:test:{path.stem}")
    book.set_title(title)
    book.set_language("en")
    if author:
        book.add_author(author)
    if date:
        book.add_metadata("DC", "date", date)
    items = []
    for number, (heading, paragraphs) in enumerate(chapters, start=1):
        item = epub.EpubHtml(title=heading, file_name=f"chapter{number}.xhtml", lang="en")
        body = "".join(f"<p>{escape(paragraph)}</p>" for paragraph in paragraphs)
        head = f"<head><title>{escape(heading)}</title></head>"
        item.content = f"<html>{head}<body><h1>{escape(heading)}</h1>{body}</body></html>"
        book.add_item(item)
        items.append(item)
    book.toc = items
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", *items]
    path.parent.mkdir(parents=True, exist_ok=True)
    epub.write_epub(str(path), book)
    if encrypted:
        references = "".join(
            '<enc:EncryptedData><enc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>'
            f'<enc:CipherData><enc:CipherReference URI="EPUB/chapter{number}.xhtml"/></enc:CipherData>'
            "</enc:EncryptedData>"
            for number in range(1, len(chapters) + 1)
        )
        with zipfile.ZipFile(path, "a") as archive:
            archive.writestr(
                "META-INF/encryption.xml",
                '<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
                f'xmlns:enc="http://www.w3.org/2001/04/xmlenc#">{references}</encryption>',
            )
    return path
