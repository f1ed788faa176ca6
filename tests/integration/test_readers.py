"""Readers' questions on the essay with the real model: who wrote it and when, its thesis, its conclusion, and all
of its recommendations as one result."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from qa.answering.retrieval import Searcher, Settings
from qa.index.stores.files.store import Store
from qa.interfaces.cli import main
from qa.kernel.paths import Paths
from qa.models.embedding import SentenceTransformerEmbedder
from tests.cli.conftest import where
from tests.conftest import ESSAY
from tests.fakes import given

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def searcher(essay_index: Paths, real_embedder: SentenceTransformerEmbedder) -> Iterator[Searcher]:
    store = Store.open(essay_index.index)
    yield Searcher(store, real_embedder)
    store.close()


def test_who_wrote_the_essay_returns_its_front_matter_with_exact_offsets(
    essay_index: Paths, real_embedder: SentenceTransformerEmbedder, capsys: Any
) -> None:
    capsys.readouterr()
    assert main.run(["ask", *where(essay_index), "--json", "Who wrote the essay?"], given(real_embedder)) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["answered"] and answer["scope"] == ESSAY.name
    top = answer["passages"][0]
    assert top["kind"] == "front matter"
    assert top["citation"] == "There can be no winners in a US-China AI arms race, front matter"
    on_disk = ESSAY.read_text(encoding="utf-8")
    assert on_disk[top["start"] : top["end"]] == top["text"]
    start, end = top["highlight"]
    assert top["text"][start:end] == "authors:\n  - Alvin Wang Graylin\n  - Paul Triolo"


@pytest.mark.parametrize(
    ("question", "field"),
    [
        ("When did the essay come out?", "date: 2025-01-21"),
        ("Which magazine ran it?", "publication: MIT Technology Review"),
        ("What's the headline?", "title: There can be no winners in a US-China AI arms race"),
    ],
)
def test_details_highlight_their_line_of_the_card(searcher: Searcher, question: str, field: str) -> None:
    answer = searcher.ask(question)
    top = answer.hits[0]
    assert answer.answered and top.passage.kind == "front matter" and top.highlight is not None
    assert top.passage.text[slice(*top.highlight)] == field


@pytest.mark.parametrize("question", ["What is the essay's central claim?", "Give me the gist.", "TL;DR?"])
def test_thesis_questions_return_the_thesis_passages(searcher: Searcher, question: str) -> None:
    answer = searcher.ask(question, Settings(k=3))
    thesis = (  # the passages that state the thesis (as the blind reader set's writer picked them)
        "Framing artificial intelligence development as a zero sum race",
        "there will be no long-term winners",
        "there is no real existential danger from China",
        "jointly identify and mitigate these threats",
        "pivot towards collaboration",
    )
    assert answer.answered and answer.scope == ESSAY.name
    assert any(phrase in hit.passage.text for hit in answer.hits for phrase in thesis)
    assert all(hit.passage.kind == "text" and hit.highlight is not None for hit in answer.hits)


def test_the_conclusion_comes_from_the_closing_paragraphs(searcher: Searcher) -> None:
    answer = searcher.ask("What does the essay conclude?", Settings(k=2))
    assert any(
        "The choice is clear and simple" in hit.passage.text or "cannot afford to pass up" in hit.passage.text
        for hit in answer.hits
    )


def test_all_the_recommendations_come_back_as_one_result(searcher: Searcher) -> None:
    answer = searcher.ask("What are all the recommendations?")
    assert answer.answered, "the list answers though no one item resembles the question"
    top = answer.hits[0]
    steps = (
        "Lessen the influence",
        "Encourage bilateral",
        "Increase investment in detection",
        "Create incentives",
        "Establish measures to build trust",
        "global AI Safety Coalition",
        "Focus on AI to solve global challenges",
    )
    assert all(step in top.passage.text for step in steps)
    first, last = top.passage.paragraphs
    assert top.passage.citation.endswith(f"¶{first}–{last}") and last - first >= 6
    assert ESSAY.read_text(encoding="utf-8")[top.passage.start : top.passage.end] == top.passage.text
