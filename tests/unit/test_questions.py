"""Which questions ask about a document as a whole, and what they ask for."""

from __future__ import annotations

import pytest

from qa.answering.questions import document_question


@pytest.mark.parametrize(
    ("question", "aspect"),
    [
        ("Who wrote the essay?", "author"),
        ("Who are the authors of this piece?", "author"),
        ("Besides Graylin, who co-wrote the article?", "author"),
        ("When did the essay come out?", "date"),
        ("What is the publication date of the essay?", "date"),
        ("When was Biden's executive order on safe and trustworthy AI issued?", "date"),
        ("Which magazine ran it?", "venue"),
        ("In what publication did this op-ed appear?", "venue"),
        ("What's the headline?", "title"),
        ("What is the essay titled?", "title"),
        ("Where can I read the original?", "source"),
        ("What's the essay's main argument?", "thesis"),
        ("Give me the gist of the article.", "thesis"),
        ("TL;DR of the essay?", "thesis"),
        ("What is this piece about, in short?", "thesis"),
        ("What does the essay conclude?", "conclusion"),
        ("How does the article end?", "conclusion"),
        ("What are all the recommendations?", "recommendations"),
        ("List the policy steps the authors propose.", "recommendations"),
        ("What do the writers advise lawmakers and officials to do?", "recommendations"),
    ],
)
def test_document_questions_are_recognised(question: str, aspect: str) -> None:
    found = document_question(question)
    assert found is not None and found.aspect == aspect


@pytest.mark.parametrize(
    "question",
    [
        "Which company leads global chip foundries?",
        "What do the authors consider the biggest existential risk AI poses?",
        "What should a US-China dialogue on AI governance establish?",
        "When did the US-China review commission publish the report the authors cite?",
        "What is the title of the book Alvin Wang Graylin wrote?",
        "Which university did Paul Triolo attend?",
        "How much would the proposed Manhattan Project for AI cost?",
        "What do they recommend regarding abuse of AI, like disinformation?",
    ],
)
def test_questions_about_facts_are_not_document_questions(question: str) -> None:
    assert document_question(question) is None


def test_asking_for_all_of_them_is_exhaustive() -> None:
    every = document_question("What are all the recommendations?")
    main = document_question("What are the main recommendations?")
    assert every is not None and every.exhaustive
    assert main is not None and not main.exhaustive
    author = document_question("Who wrote it?")
    assert author is not None and author.detail
    assert main is not None and not main.detail
