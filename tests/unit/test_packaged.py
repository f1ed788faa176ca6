"""Word and EPUB files: paragraph-numbered and chapter-aware citations, headings kept, metadata as front matter,
and searching them next to the other formats."""

from __future__ import annotations

from pathlib import Path

from qa.answering.retrieval import Searcher, Settings
from qa.documents.base import Document
from qa.documents.chunking import chunk
from qa.index import building
from qa.index.stores.files.store import Store
from qa.kernel.filters import make_filter
from qa.kernel.paths import Paths
from qa.kernel.progress import SilentReporter
from tests.corpora import load_file, long_line, make_docx, make_epub
from tests.fakes import FakeEmbedder


def load_cleanly(path: Path, corpus: Path, *, title: str, author: str, date: str) -> Document:
    """The document in `path`, read without warnings, after checking its title, author and date."""
    document, warnings = load_file(path, corpus)
    assert warnings == []
    assert document is not None
    assert document.title == title
    assert document.metadata["author"] == author
    assert document.metadata["date"] == date
    return document


def test_docx_paragraphs_are_numbered_and_headings_kept(paths: Paths) -> None:
    path = make_docx(
        paths.corpus / "harbour.docx",
        [long_line("harbour crane fleet"), long_line("orchard apple harvest")],
        heading="Cranes and Orchards",
        title="Harbour Notes",
        author="Ada Quay",
        created="2024-03-05T10:00:00",
    )
    document = load_cleanly(path, paths.corpus, title="Harbour Notes", author="Ada Quay", date="2024-03-05")
    assert document.metadata["created"].startswith("2024-03-05T10:00:00")
    assert document.page_starts == ()
    passages = [passage for passage in chunk(document) if passage.paragraphs[0]]  # not the metadata card
    assert [passage.citation for passage in passages] == ["Harbour Notes, ¶1", "Harbour Notes, ¶2"]
    assert passages[0].heading == "Cranes and Orchards"
    assert "harbour crane fleet" in passages[0].text
    assert "orchard apple harvest" in passages[1].text
    for passage in passages:
        assert document.text[passage.start : passage.end] == passage.text


def test_docx_without_title_takes_its_first_heading_then_its_name(paths: Paths) -> None:
    headed = make_docx(paths.corpus / "a.docx", [long_line("river delta")], heading="River Survey")
    plain = make_docx(paths.corpus / "field-notes.docx", [long_line("river delta")])
    assert load_file(headed, paths.corpus)[0].title == "River Survey"  # type: ignore[union-attr]
    assert load_file(plain, paths.corpus)[0].title == "field-notes"  # type: ignore[union-attr]


def test_docx_tables_are_read_row_by_row(paths: Paths) -> None:
    import docx

    word = docx.Document()
    word.add_paragraph(long_line("container terminal"))
    table = word.add_table(rows=2, cols=2)
    for row, cells in enumerate([("Year", "Cranes"), ("2024", "41")]):
        for column, text in enumerate(cells):
            table.cell(row, column).text = text
    word.save(str(paths.corpus / "table.docx"))
    document, _ = load_file(paths.corpus / "table.docx", paths.corpus)
    assert document is not None
    assert document.text.endswith("Year | Cranes\n\n2024 | 41")


def test_epub_chapters_give_chapter_citations(paths: Paths) -> None:
    path = make_epub(
        paths.corpus / "orchard.epub",
        [
            ("Spring", [long_line("blossom frost risk")]),
            ("Summer", [long_line("irrigation schedule"), long_line("wasp nest removal")]),
            ("Autumn", [long_line("orchard apple harvest")]),
        ],
        title="Orchard Year",
        author="Bea Plum",
        date="2021-06-01",
    )
    document = load_cleanly(path, paths.corpus, title="Orchard Year", author="Bea Plum", date="2021-06-01")
    assert len(document.page_starts) == 3, "the navigation document is not a chapter"
    passages = {passage.citation: passage for passage in chunk(document) if passage.paragraphs[0]}
    wasps = passages["Orchard Year, ch. 2 ¶2"]
    assert "wasp nest removal" in wasps.text
    assert wasps.id == "orchard.epub#ch2:2"
    assert passages["Orchard Year, ch. 2 ¶1"].heading == "Summer"
    assert "orchard apple harvest" in passages["Orchard Year, ch. 3 ¶1"].text
    for passage in passages.values():
        assert document.text[passage.start : passage.end] == passage.text
        assert document.page_of(passage.start) == document.page_of(passage.end - 1) == passage.page


def test_word_and_epub_are_searchable_and_filterable_beside_markdown(paths: Paths) -> None:
    make_docx(paths.corpus / "notes/harbour.docx", [long_line("harbour crane fleet")], created="2024-03-05T10:00:00")
    make_epub(
        paths.corpus / "books/orchard.epub", [("Autumn", [long_line("orchard apple harvest")])], date="2019-01-01"
    )
    (paths.corpus / "wetland.md").write_text("---\ndate: 2023-01-01\n---\n\n" + long_line("wetland survey") + "\n")
    reporter = SilentReporter()
    result = building.build(paths, FakeEmbedder(), reporter)
    assert reporter.warnings == []
    assert result.documents == 3
    store = Store.open(paths.index)
    try:
        searcher = Searcher(store, FakeEmbedder())
        top = searcher.ask("orchard apple harvest", Settings(mode="lexical", k=1)).hits[0]
        assert top.passage.citation == "A Book, ch. 1 ¶1"
        harbour = searcher.ask("harbour crane fleet", Settings(mode="lexical", k=1)).hits[0]
        assert harbour.passage.citation == "harbour, ¶1"
        metadata = {doc_id: store.document(doc_id).metadata for doc_id in store.document_ids()}
        recent = make_filter((), ["date>=2023-06-01"])
        assert [doc_id for doc_id in metadata if recent.admits(doc_id, metadata[doc_id])] == ["notes/harbour.docx"]
        books = make_filter(["books"], ["author~plum"])
        assert [doc_id for doc_id in metadata if books.admits(doc_id, metadata[doc_id])] == []
        assert metadata["books/orchard.epub"]["date"] == "2019-01-01"
    finally:
        store.close()
