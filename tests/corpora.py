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


def make_pdf(pages: list[list[str]], title: str | None = None) -> bytes:
    """A minimal PDF with a Helvetica text layer: one list of lines per page."""
    objects: list[str] = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    kids: list[str] = []
    for lines in pages:
        shown = [f"({line.replace('(', '[').replace(')', ']')}) Tj T*" for line in lines]
        stream = "\n".join(["BT /F1 10 Tf 14 TL 40 800 Td", *shown, "ET"])
        objects.append(f"<< /Length {len(stream.encode('latin-1'))} >>\nstream\n{stream}\nendstream")
        page = "/Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >>"
        objects.append(f"<< {page} /Contents {len(objects)} 0 R >>")
        kids.append(f"{len(objects)} 0 R")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>"
    info = ""
    if title:
        objects.append(f"<< /Title ({title}) >>")
        info = f" /Info {len(objects)} 0 R"
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R{info} >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def long_line(subject: str) -> str:
    """One line of about 60 words: an unwrapped paragraph of its own."""
    return (
        f"The {subject} grew slowly during the decade because new plants needed permits, skilled workers and power. "
        f"Planners in the region said the {subject} would double only if the grid were expanded and the training "
        f"programmes at local colleges were funded for at least five more years, which nobody could promise."
    )


# A corpus of every kind of document qa reads, each with its own card (but the .txt, which has none): a Markdown
# file with front matter, a plain one, a .txt, an HTML page, a PDF, a Word file and an EPUB book.
EVERY_KIND = {
    "notes/ferry.md": ".md",
    "notes/plain.md": ".md",
    "station.txt": ".txt",
    "harbour.html": ".html",
    "chips.pdf": ".pdf",
    "okavango.docx": ".docx",
    "delta.epub": ".epub",
}
FERRY = """---
title: The island ferry
author: Jo Marsh
date: 2024-05-02
tags: [islands, boats]
---

# The island ferry

The ferry to the island runs twice a day in winter and four times a day in summer. The old boat was replaced in
2023 by an electric one that charges at the pier overnight.

Tickets cost twelve euros for adults. Bicycles travel free, and dogs on a lead pay half.
"""
STATION = """Field station report

The field station spent 4,200 dollars on solar panel repairs this year, after a storm cracked three panels in March.

The generator was used for eleven days while the panels were out, and the fuel bill doubled.
"""


def write_every_kind(corpus: Path) -> list[str]:
    """Write EVERY_KIND into `corpus`; their ids."""
    (corpus / "notes").mkdir(parents=True, exist_ok=True)
    (corpus / "notes/ferry.md").write_text(FERRY, encoding="utf-8")
    write_doc(corpus, "notes/plain.md", "orchard apple harvest", paragraphs=2)
    (corpus / "station.txt").write_text(STATION, encoding="utf-8")
    (corpus / "harbour.html").write_text(HTML, encoding="utf-8")
    pages = [["Chip Report 2024"], [long_line("foundry capacity")], [long_line("wafer supply")]]
    (corpus / "chips.pdf").write_bytes(make_pdf(pages, title="Chip Report"))
    make_docx(
        corpus / "okavango.docx",
        [
            "The Okavango memo describes the water levels of the delta in the dry season and the routes the mokoro "
            "guides take between the channels.",
            "Budgets for the guides rose by ten percent, paid for by the new camp fees.",
        ],
        heading="Okavango memo",
        title="Okavango memo",
        author="Neo Sebego",
        created="2024-08-01",
    )
    make_epub(
        corpus / "delta.epub",
        [("Floods", [long_line("delta flood pulse")]), ("Birds", [long_line("heron colony")])],
        title="The Delta Year",
        author="Kago Molefe",
        date="2023-11-30",
    )
    return sorted(EVERY_KIND)
