"""Answer quality with the real model on the essay gold set: the floors that retrieval changes must keep."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from qa.answering.retrieval import Searcher, Settings
from qa.evaluation import gold as evaluation
from qa.index.stores.files.store import Store
from qa.kernel.paths import Paths
from qa.models.embedding import SentenceTransformerEmbedder
from tests.conftest import REPO

pytestmark = pytest.mark.model

GOLD = REPO / "corpus" / "gold" / "essay.jsonl"


@pytest.fixture(scope="module")
def reports(
    essay_index: Paths, real_embedder: SentenceTransformerEmbedder
) -> Iterator[dict[str, evaluation.ModeReport]]:
    store = Store.open(essay_index.index)
    searcher = Searcher(store, real_embedder)
    gold = evaluation.load_gold(Path(GOLD))
    yield {mode: evaluation.evaluate(searcher, gold, Settings(mode=mode)) for mode in ("hybrid", "dense", "lexical")}
    store.close()


def test_hybrid_meets_the_essay_targets(reports: dict[str, evaluation.ModeReport]) -> None:
    hybrid = reports["hybrid"]
    assert hybrid.answerable >= 60
    assert hybrid.unanswerable >= 15
    assert hybrid.hit_at["hit@3"] >= 0.95
    assert hybrid.hit_at["hit@1"] >= 0.80


def test_hybrid_beats_each_single_mode(reports: dict[str, evaluation.ModeReport]) -> None:
    for single in ("dense", "lexical"):
        assert reports["hybrid"].mrr_at_10 > reports[single].mrr_at_10
        assert reports["hybrid"].hit_at["hit@1"] > reports[single].hit_at["hit@1"]


def test_hybrid_abstains_rarely_on_answerable_questions(reports: dict[str, evaluation.ModeReport]) -> None:
    hybrid = reports["hybrid"]
    assert hybrid.false_abstention_rate <= 0.05
    assert hybrid.abstention_recall is not None
    assert hybrid.abstention_recall >= 0.85
