"""Retrieval mechanics with the fake embedder: k, modes, --doc, dedupe, highlights and bad questions."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator

import numpy as np
import pytest

from qa.answering.retrieval import MAX_QUESTION_CHARS, Answer, Searcher, Settings, clean_question, fuse
from qa.index.building import build
from qa.index.lexical import Lexicon, tokenize, unknown_names
from qa.index.stores.files.store import Store
from qa.kernel.errors import InputError
from qa.kernel.paths import Paths
from qa.kernel.progress import SilentReporter
from tests.conftest import ESSAY
from tests.fakes import FakeEmbedder

RARE = "zanzibarite"
MINING = (
    "# Mining report\n\n"
    "The northern valley holds several old quarries that closed decades ago. Farmers now graze sheep there. "
    f"Geologists found a seam of {RARE} beneath the eastern ridge in 2031. "
    "The local council debated whether to reopen the quarries for the new mineral. "
    "Most residents opposed the plan because of the noise and the trucks on narrow roads. "
    "A compromise limited work to the summer months and to daylight hours only. "
    "The chair of the local council, Ines Okafor, said the valley would vote on it.\n"
)
LONG_SENTENCES = [
    f"Sentence number {n} talks about harbour cranes, shipping lanes and the tides of port {n}." for n in range(40)
]
DUPLICATE = (
    "The orchard cooperative sells apples, pears and plums at the Saturday market in the old square. "
    "Its members share tractors, cold storage and a small cider press that runs through the autumn. "
    "Every spring they plant new saplings along the river to replace trees lost to storms and frost. "
    "Visitors can pick their own fruit on weekends from August until the end of October.\n"
)


@pytest.fixture
def corpus(paths: Paths) -> Paths:
    shutil.copy(ESSAY, paths.corpus / "essay.md")
    (paths.corpus / "mining.md").write_text(MINING, encoding="utf-8")
    (paths.corpus / "long.txt").write_text(" ".join(LONG_SENTENCES) + "\n", encoding="utf-8")
    (paths.corpus / "orchard").mkdir()
    (paths.corpus / "orchard" / "one.md").write_text(DUPLICATE, encoding="utf-8")
    (paths.corpus / "orchard" / "two.md").write_text(DUPLICATE, encoding="utf-8")
    return paths


@pytest.fixture
def store(corpus: Paths, fake_embedder: FakeEmbedder) -> Iterator[Store]:
    build(corpus, fake_embedder, SilentReporter())
    opened = Store.open(corpus.index)
    yield opened
    opened.close()


@pytest.fixture
def searcher(store: Store, fake_embedder: FakeEmbedder) -> Searcher:
    return Searcher(store, fake_embedder)


def assert_well_formed(answer: Answer, k: int) -> None:
    assert len(answer.hits) <= k
    assert [hit.rank for hit in answer.hits] == list(range(1, len(answer.hits) + 1))
    scores = [hit.score for hit in answer.hits]
    assert scores == sorted(scores, reverse=True)
    for hit in answer.hits:
        assert hit.highlight is not None
        assert hit.highlight in hit.passage.sentences
        start, end = hit.highlight
        assert 0 <= start < end <= len(hit.passage.text)


@pytest.mark.parametrize("k", [1, 3, 7])
@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_k_ranks_and_highlights(searcher: Searcher, k: int, mode: str) -> None:
    answer = searcher.ask("harbour cranes and shipping lanes of the port, China", Settings(mode=mode, k=k))  # type: ignore[arg-type]
    assert answer.mode == mode
    assert len(answer.hits) == k
    assert_well_formed(answer, k)
    assert answer.hits[0].passage.doc_id == "long.txt"


def test_dense_and_lexical_components_follow_the_mode(searcher: Searcher) -> None:
    question = "quarries reopened for the new mineral"
    dense = searcher.ask(question, Settings(mode="dense"))
    lexical = searcher.ask(question, Settings(mode="lexical"))
    hybrid = searcher.ask(question, Settings(mode="hybrid", dense_weight=0.6, sentence_weight=0.0))
    assert all(hit.lexical is None and hit.dense is not None for hit in dense.hits)
    assert all(hit.dense is None and hit.lexical is not None for hit in lexical.hits)
    assert all(hit.dense is not None and hit.lexical is not None for hit in hybrid.hits)
    assert all(hit.score == pytest.approx(hit.dense, abs=1e-4) for hit in dense.hits)
    assert lexical.hits[0].score == pytest.approx(1.0)
    for hit in hybrid.hits:
        assert hit.dense is not None
        assert hit.score == pytest.approx(0.6 * hit.dense + 0.4 * (hit.lexical or 0) / max_lexical(hybrid), abs=2e-3)


def test_hybrid_sentence_weight_scores_the_best_sentence(searcher: Searcher, fake_embedder: FakeEmbedder) -> None:
    question = "quarries reopened for the new mineral"
    only_sentences = searcher.ask(question, Settings(mode="hybrid", dense_weight=0.0, sentence_weight=1.0))
    query = fake_embedder.embed([question])[0]
    store = searcher.store
    assert isinstance(store, Store)
    for hit in only_sentences.hits:
        (row,) = [row for row in range(store.size) if store.passages([row])[0].id == hit.passage.id]
        sentences = np.asarray(store.sentence_vectors[store.sentence_rows(row).start : store.sentence_rows(row).stop])
        assert hit.score == pytest.approx(float((sentences @ query).max()), abs=2e-3)


def max_lexical(answer: Answer) -> float:
    return max(hit.lexical or 0.0 for hit in answer.hits)


def test_lexical_finds_an_exact_rare_term(searcher: Searcher) -> None:
    for mode in ("lexical", "hybrid"):
        answer = searcher.ask(f"Where was {RARE} found?", Settings(mode=mode, k=3))
        top = answer.hits[0]
        assert top.passage.doc_id == "mining.md"
        assert RARE in top.passage.text
        assert top.highlight is not None
        assert RARE in top.passage.text[slice(*top.highlight)]


def test_lexical_mode_needs_no_embedder(store: Store) -> None:
    answer = Searcher(store, None).ask(RARE, Settings(mode="lexical"))
    assert answer.hits[0].passage.doc_id == "mining.md"
    with pytest.raises(InputError, match="needs the embedding model"):
        Searcher(store, None).ask(RARE, Settings(mode="dense"))


def test_doc_restricts_the_search(searcher: Searcher, store: Store) -> None:
    for doc in ("mining.md", "long.txt", "orchard/two.md"):
        answer = searcher.ask("harbour cranes apples quarries", Settings(k=10, doc=doc))
        assert answer.hits
        assert {hit.passage.doc_id for hit in answer.hits} == {doc}
        assert len(answer.hits) <= len(store.rows_of(doc))
    lexical = searcher.ask("harbour", Settings(k=5, doc="essay.md", mode="lexical"))
    assert lexical.hits == ()
    with pytest.raises(InputError, match=r"no document 'missing\.md'"):
        searcher.ask("harbour", Settings(doc="missing.md"))


def test_overlapping_windows_are_not_returned_together(searcher: Searcher, store: Store) -> None:
    rows = store.rows_of("long.txt")
    windows = store.passages(rows)
    assert len(windows) >= 3
    assert any(a.end > b.start for a, b in itertools.pairwise(windows)), "the fixture has overlaps"
    answer = searcher.ask("harbour cranes shipping lanes tides port", Settings(k=len(rows), doc="long.txt"))
    hits = [hit.passage for hit in answer.hits]
    assert 0 < len(hits) < len(windows)
    for index, passage in enumerate(hits):
        for other in hits[index + 1 :]:
            assert passage.end <= other.start or other.end <= passage.start
    # Every window left out overlaps one that was returned.
    chosen = {p.id for p in hits}
    for window in windows:
        if window.id not in chosen:
            assert any(window.start < p.end and p.start < window.end for p in hits)


def test_near_duplicate_passages_from_two_documents_appear_once(searcher: Searcher) -> None:
    answer = searcher.ask("orchard cooperative apples cider press", Settings(k=5))
    orchard = [hit for hit in answer.hits if hit.passage.doc_id.startswith("orchard/")]
    assert len(orchard) == 1
    assert answer.hits[0].passage.doc_id.startswith("orchard/")
    assert len(answer.hits) == 5


def test_unknown_words_give_no_lexical_hits_and_no_answer(searcher: Searcher) -> None:
    answer = searcher.ask("qwzx plorft", Settings(mode="lexical"))
    assert answer.hits == ()
    assert not answer.answered
    assert answer.confidence == 0.0
    assert answer.reason == "no passage shares a word with the question"


def test_answered_follows_the_threshold(searcher: Searcher) -> None:
    question = f"{RARE} seam eastern ridge"
    sure = searcher.ask(question, Settings(mode="lexical", lexical_threshold=0.5))
    assert sure.confidence == pytest.approx(1.0)
    assert sure.answered
    assert sure.reason is None
    unsure = searcher.ask(question, Settings(mode="lexical", lexical_threshold=1.01))
    assert not unsure.answered
    assert unsure.reason == "the highlighted sentences score at most 1.00, below the 1.01 threshold"


def test_a_question_for_a_date_is_answered_by_a_sentence_with_one(searcher: Searcher) -> None:
    answer = searcher.ask(
        f"In what year did geologists find {RARE} beneath the eastern ridge?", Settings(mode="lexical")
    )
    assert answer.answered, answer.reason
    assert answer.hits[0].passage.doc_id == "mining.md"


def test_a_question_for_money_abstains_when_no_close_sentence_states_an_amount(searcher: Searcher) -> None:
    question = f"How much money did geologists spend on the {RARE} seam beneath the eastern ridge?"
    answer = searcher.ask(question, Settings(mode="lexical"))
    assert answer.confidence >= Settings().lexical_threshold, "the seam sentence is close enough to answer"
    assert not answer.answered
    assert answer.reason == "no sentence close to the question states an amount of money"
    assert answer.hits[0].passage.doc_id == "mining.md", "the nearest passages are still shown"


def test_a_role_question_needs_a_sentence_naming_role_and_holder(searcher: Searcher) -> None:
    answer = searcher.ask("Who is the mayor of the northern valley?", Settings(mode="lexical"))
    assert not answer.answered
    assert answer.reason == "no sentence mentions the mayor of northern valley"
    chair = searcher.ask("Who is the chair of the local council?", Settings(mode="lexical"))
    assert chair.answered, chair.reason
    assert "Ines Okafor" in chair.hits[0].passage.text


@pytest.mark.parametrize("question", ["", "   ", "\n\t", "\x00\x01"])
def test_empty_questions_are_refused(searcher: Searcher, question: str) -> None:
    with pytest.raises(InputError, match="empty"):
        searcher.ask(question)


def test_overlong_question_is_refused(searcher: Searcher) -> None:
    with pytest.raises(InputError, match="characters long"):
        searcher.ask("why " * MAX_QUESTION_CHARS)


@pytest.mark.parametrize("k", [0, -1])
def test_k_below_one_is_refused(searcher: Searcher, k: int) -> None:
    with pytest.raises(InputError, match="at least 1"):
        searcher.ask("harbour", Settings(k=k))


def test_clean_question() -> None:
    assert clean_question("  Who\x00 leads\n\n chip   foundries? ") == "Who leads chip foundries?"
    assert clean_question("Plain question?") == "Plain question?"


def test_fuse() -> None:
    dense = {1: 0.8, 2: 0.2}
    lexical = {2: 10.0, 3: 5.0}
    assert fuse(dense, lexical, Settings(mode="dense")) == dense
    assert fuse(dense, lexical, Settings(mode="lexical")) == {2: 1.0, 3: 0.5}
    hybrid = fuse(dense, lexical, Settings(mode="hybrid", dense_weight=0.5))
    assert hybrid == pytest.approx({1: 0.4, 2: 0.6, 3: 0.25})
    assert fuse({}, {4: 0.0}, Settings(mode="lexical")) == {4: 0.0}


def test_names_known_by_a_longer_or_shorter_indexed_word_are_not_unknown() -> None:
    text = "CIN2 lesions in European and Egypt cohorts; a list of Listeria-free farms; parishioners; intelligence"
    vocabulary = Lexicon(tokenize([text])[0])
    assert unknown_names("What was the CIN risk?", vocabulary) == []  # it starts "cin2"
    assert unknown_names("What did the study find in Europe?", vocabulary) == []  # "europ" starts "european"
    assert unknown_names("What share of Egyptians?", vocabulary) == []  # the indexed "egypt" starts "egyptian"
    assert unknown_names("Was it seen in Delaware or in Ohio?", vocabulary) == ["Delaware", "Ohio"]
    assert unknown_names("Which farms near Listowel?", vocabulary) == ["Listowel"]  # "list" is too short to start it
    assert unknown_names("What about Paris?", vocabulary) == ["Paris"]  # "parishion" goes on with no ending
    assert unknown_names("What did Intel build?", vocabulary) == ["Intel"]  # nor does "intellig"
