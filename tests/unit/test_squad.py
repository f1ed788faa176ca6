"""SQuAD JSON: loading, answer sentences, article selection and the corpus `qa eval --squad` indexes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.evaluation import squad
from qa.kernel.errors import InputError
from tests.conftest import REPO

TINY = REPO / "tests" / "data" / "squad_tiny.json"


def test_load_reads_articles_questions_and_sentences() -> None:
    articles = squad.load(TINY)
    assert [article.title for article in articles] == ["Harbour_Town", "Mountain_Pass"]
    harbour = articles[0]
    assert harbour.name == "Harbour Town"
    first = harbour.paragraphs[0]
    assert len(first.sentences) == 3
    questions = {question.id: question for question in harbour.questions}
    assert first.answer_sentences(questions["h1"]) == {1}
    assert first.answer_sentences(questions["h2"]) == {2}
    assert questions["h3"].is_impossible and first.answer_sentences(questions["h3"]) == set()
    assert questions["h3"].plausible[0].text == "1850"
    # SQuAD 1.1 questions carry no is_impossible: they are answerable
    assert not any(question.is_impossible for question in articles[1].questions)


def test_select_accepts_spaces_or_underscores_and_names_unknown_articles() -> None:
    articles = squad.load(TINY)
    assert [a.title for a in squad.select(articles, ["mountain pass"])] == ["Mountain_Pass"]
    with pytest.raises(InputError, match=r"no article Atlantis.*Harbour_Town"):
        squad.select(articles, ["Atlantis"])


def test_bad_files_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        squad.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"data": [{"title": "x", "paragraphs": [{"context": "c", "qas": [{"id": "1"}]}]}]}))
    with pytest.raises(InputError, match="not SQuAD JSON"):
        squad.load(bad)


def test_corpus_is_one_document_per_article_with_paragraphs_as_written() -> None:
    articles = squad.load(TINY)
    docs, passages = squad.documents_of(articles, TINY)
    assert [doc.id for doc in docs] == ["Harbour_Town", "Mountain_Pass"]
    for article, doc in zip(articles, docs, strict=True):
        for paragraph in article.paragraphs:
            assert paragraph.context in doc.text
    for passage in passages:
        document = next(doc for doc in docs if doc.id == passage.doc_id)
        assert document.text[passage.start : passage.end] == passage.text
    gold = squad.gold_questions(articles)
    assert len(gold) == 6
    assert {q.doc_id for q in gold} == {"Harbour_Town", "Mountain_Pass"}
    assert [q.id for q in gold if not q.answerable] == ["h3"]
