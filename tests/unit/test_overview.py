"""Questions about a document as a whole, with the fake embedder: which document is meant, the card's line for a
detail, an honest refusal when the card lacks it, and central or closing passages for the thesis or conclusion."""

from __future__ import annotations

import shutil

import pytest

from qa.answering.retrieval import Searcher, Settings
from qa.index.building import build
from qa.index.stores.files.store import Store
from qa.kernel.paths import Paths
from qa.kernel.progress import SilentReporter
from tests.conftest import ESSAY
from tests.corpora import topic_paragraph
from tests.fakes import FakeEmbedder

SPEECH = "---\ntitle: Remarks by the Harbour Master at the Port Authority\ndate: 2024-03-02\n---\n"


@pytest.fixture
def library(paths: Paths) -> Searcher:
    """The essay, a dated speech without authors, and a note without any front matter."""
    shutil.copy(ESSAY, paths.corpus / ESSAY.name)
    body = "\n\n".join(topic_paragraph("harbour", number) for number in range(1, 6))
    (paths.corpus / "speech.md").write_text(SPEECH + body + "\n", encoding="utf-8")
    (paths.corpus / "note.txt").write_text(topic_paragraph("orchard", 1) + "\n", encoding="utf-8")
    build(paths, FakeEmbedder(), SilentReporter())
    return Searcher(Store.open(paths.index), FakeEmbedder())


def test_the_essay_means_the_document_with_authors(library: Searcher) -> None:
    answer = library.ask("Who wrote the essay?")
    assert answer.scope == ESSAY.name and answer.answered
    card = answer.hits[0]
    assert card.passage.kind == "front matter" and card.highlight is not None
    assert card.passage.text[slice(*card.highlight)].startswith("authors:")


def test_the_essay_is_not_a_memo_that_has_an_author_too(library: Searcher, paths: Paths) -> None:
    memo = "---\ntitle: Okavango memo\nauthor: Kefilwe Dube\n---\n" + topic_paragraph("orchard", 2) + "\n"
    (paths.corpus / "memo.md").write_text(memo, encoding="utf-8")
    build(paths, FakeEmbedder(), SilentReporter())
    searcher = Searcher(Store.open(paths.index), FakeEmbedder())
    assert searcher.ask("Who wrote this essay?").scope == ESSAY.name
    assert searcher.ask("Who wrote the memo?").scope == "memo.md"


def test_a_document_answer_is_ordered_by_the_scores_it_shows(library: Searcher) -> None:
    answer = library.ask("Who wrote the essay?", Settings(k=5))
    scores = [hit.score for hit in answer.hits]
    assert scores[0] == 1.0, "the card's line holds the authors"
    assert scores == sorted(scores, reverse=True)
    opening = library.store.passages([1])[0]  # the essay's first passage after its card
    assert opening.kind == "text" and opening.doc_id == ESSAY.name
    assert opening.id in {hit.passage.id for hit in answer.hits}, "the opening paragraph is still cited"
    assert all(hit.retrieval_score is None and hit.verifier_score is None for hit in answer.hits)


def test_the_speech_means_the_document_so_titled_and_its_date_line(library: Searcher) -> None:
    answer = library.ask("When was the speech delivered? When did it come out?")
    assert answer.scope == "speech.md"
    card = answer.hits[0]
    assert card.highlight is not None and card.passage.text[slice(*card.highlight)] == "date: 2024-03-02"


def test_a_detail_the_card_lacks_is_refused_with_the_reason(library: Searcher) -> None:
    answer = library.ask("Which magazine ran it?", Settings(doc="speech.md"))
    assert not answer.answered
    assert answer.reason == "its front matter gives no venue"
    card = answer.hits[-1]
    assert card.passage.kind == "front matter" and card.score == 0.0, "cited, below the passages, for lacking it"


def test_a_document_without_a_card_falls_back_to_ordinary_answers(library: Searcher) -> None:
    answer = library.ask("Who wrote it?", Settings(doc="note.txt"))
    assert answer.scope is None
    assert all(hit.passage.doc_id == "note.txt" for hit in answer.hits)


def test_thesis_and_conclusion_come_from_the_scoped_document(library: Searcher) -> None:
    thesis = library.ask("What is the gist of the speech?", Settings(k=3))
    assert thesis.scope == "speech.md" and len(thesis.hits) == 3
    centralities = [hit.score for hit in thesis.hits]
    assert centralities == sorted(centralities, reverse=True)
    conclusion = library.ask("How does the speech end?", Settings(k=1))
    (last,) = conclusion.hits
    passages = library.store.passages(list(range(library.store.size)))
    closing = [passage for passage in passages if passage.doc_id == "speech.md" and passage.kind == "text"][-2:]
    assert last.passage.id in {passage.id for passage in closing}
