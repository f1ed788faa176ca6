"""Formats besides Markdown: HTML main text through trafilatura, PDF text with page citations, plain text."""

from __future__ import annotations

import pytest

from qa.answering.retrieval import Searcher, Settings
from qa.documents import loading
from qa.documents.chunking import chunk
from qa.index import building
from qa.index.stores.files.store import Store
from qa.kernel.paths import Paths
from qa.kernel.progress import SilentReporter
from tests.corpora import HTML, load_file, long_line, make_pdf
from tests.fakes import FakeEmbedder


def test_html_main_text_title_and_citation(paths: Paths) -> None:
    path = paths.corpus / "harbour.html"
    path.write_text(HTML, encoding="utf-8")
    document, warnings = load_file(path, paths.corpus)
    assert warnings == []
    assert document is not None
    assert document.title == "Harbour Automation"
    assert document.metadata["author"] == "Ada Quay"
    assert "Automated stacking cranes" in document.text
    assert "retraining for every driver" in document.text
    assert "Subscribe to our newsletter" not in document.text
    assert "Cookie settings" not in document.text
    card, *passages = chunk(document)
    assert card.kind == "metadata" and card.citation == "Harbour Automation, metadata"
    assert "author: Ada Quay" in card.text
    assert passages
    for passage in passages:
        assert document.text[passage.start : passage.end] == passage.text
        assert passage.citation.startswith("Harbour Automation, ¶")
        assert passage.page is None


def test_html_without_main_text_is_skipped_with_a_warning(paths: Paths) -> None:
    path = paths.corpus / "empty.html"
    path.write_text("<html><head><title>Nothing</title></head><body><script>var x = 1;</script></body></html>")
    document, warnings = load_file(path, paths.corpus)
    assert document is None
    assert warnings == ["skipped empty.html: no main text found in the HTML"]


def test_pdf_text_with_page_citations(paths: Paths) -> None:
    path = paths.corpus / "chips.pdf"
    pages = [
        ["Chip Report 2024"],
        [long_line("foundry capacity")],
        ["A short page about nothing in particular."],
        [long_line("harbour crane fleet"), long_line("orchard apple harvest")],
    ]
    path.write_bytes(make_pdf(pages, title="Chip Report"))
    document, warnings = load_file(path, paths.corpus)
    assert warnings == []
    assert document is not None
    assert document.title == "Chip Report"
    assert len(document.page_starts) == 4
    card, *passages = chunk(document)
    assert card.kind == "metadata" and card.text == "title: Chip Report"
    by_citation = {passage.citation: passage for passage in passages}
    orchard = by_citation["Chip Report, p. 4 ¶2"]
    assert "orchard apple harvest" in orchard.text
    assert orchard.page == 4
    assert orchard.id == "chips.pdf#p4:2"
    assert "harbour crane fleet" in by_citation["Chip Report, p. 4 ¶1"].text
    assert "foundry capacity" in by_citation["Chip Report, p. 2 ¶1"].text
    for passage in passages:
        assert document.text[passage.start : passage.end] == passage.text
        assert document.page_of(passage.start) == document.page_of(passage.end - 1) == passage.page


def test_pdf_without_title_is_named_after_the_file(paths: Paths) -> None:
    path = paths.corpus / "untitled-notes.pdf"
    path.write_bytes(make_pdf([[long_line("river delta")]]))
    document, _ = load_file(path, paths.corpus)
    assert document is not None
    assert document.title == "untitled-notes"
    assert chunk(document)[0].citation == "untitled-notes, p. 1 ¶1"


def test_damaged_pdf_is_skipped_with_a_warning(paths: Paths) -> None:
    path = paths.corpus / "broken.pdf"
    path.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 9 0 R >> endobj\ngarbage")
    document, warnings = load_file(path, paths.corpus)
    assert document is None
    assert len(warnings) == 1
    assert warnings[0].startswith("skipped broken.pdf:")


def test_plain_text_is_titled_by_its_file_name(paths: Paths) -> None:
    path = paths.corpus / "field-notes.txt"
    path.write_text(long_line("wetland survey") + "\n\n" + long_line("river delta") + "\n", encoding="utf-8")
    document, _ = load_file(path, paths.corpus)
    assert document is not None
    assert document.title == "field-notes"
    assert [passage.citation for passage in chunk(document)] == ["field-notes, ¶1", "field-notes, ¶2"]


def test_mixed_corpus_is_indexed_and_searchable(paths: Paths) -> None:
    corpus = paths.corpus
    (corpus / "harbour.html").write_text(HTML, encoding="utf-8")
    (corpus / "chips.pdf").write_bytes(make_pdf([["Cover"], [long_line("foundry capacity")]], title="Chip Report"))
    (corpus / "notes.txt").write_text(long_line("wetland survey") + "\n", encoding="utf-8")
    (corpus / "essay.md").write_text("---\ntitle: Orchards\n---\n\n" + long_line("orchard apple harvest") + "\n")
    (corpus / "ignored.odt").write_bytes(b"PK\x03\x04 not supported")
    reporter = SilentReporter()
    result = building.build(paths, FakeEmbedder(), reporter)
    assert reporter.warnings == []
    assert result.documents == 4
    store = Store.open(paths.index)
    try:
        assert store.document_ids() == ["chips.pdf", "essay.md", "harbour.html", "notes.txt"]
        searcher = Searcher(store, FakeEmbedder())
        expected = {
            "foundry capacity grid": "Chip Report, p. 2 ¶1",
            "stacking cranes supervisors": "Harbour Automation, ¶1–2",
            "wetland survey": "notes, ¶1",
            "orchard apple harvest": "Orchards, ¶1",
        }
        for question, citation in expected.items():
            top = searcher.ask(question, Settings(mode="lexical", k=1)).hits[0]
            assert top.passage.citation == citation
    finally:
        store.close()


@pytest.mark.parametrize(
    "suffix", [".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".docx", ".epub", ".MD", ".PDF", ".DOCX"]
)
def test_supported_suffixes_are_scanned(paths: Paths, suffix: str) -> None:
    (paths.corpus / f"doc{suffix}").write_bytes(b"x")
    (paths.corpus / "skip.rtf").write_bytes(b"x")
    assert [found.id for found in loading.scan(paths.corpus, SilentReporter().warn)] == [f"doc{suffix}"]
