"""List answers: consecutive list items found together come back as one result spanning their paragraphs."""

from __future__ import annotations

import pytest

from qa.answering.lists import Entry, gather, is_item, is_recommendation_list
from qa.answering.retrieval import Searcher, Settings
from qa.index.building import build
from qa.index.stores.files.store import Store
from qa.kernel.paths import Paths
from qa.kernel.progress import SilentReporter
from tests.corpora import topic_paragraph
from tests.fakes import FakeEmbedder

STEPS = [
    "- 1. Lessen the influence of security agencies on research policy, so that scientists set the agenda again.",
    "- 2. Encourage bilateral talks on governance, with regular meetings of officials and independent experts.",
    "- 3. Increase investment in detecting misuse, from forged media to attacks on hospitals and power grids.",
    "- 4. Create incentives for joint research, such as shared laboratories open to both countries' universities.",
]


@pytest.fixture
def listing(paths: Paths) -> Store:
    """A document whose middle is a numbered list of long items, each its own passage."""
    items = [f"{step} {topic_paragraph('policy', number)}" for number, step in enumerate(STEPS, start=1)]
    body = "\n\n".join(
        [
            topic_paragraph("harbour", 1),
            "We have four recommendations for the council.",
            *items,
            topic_paragraph("orchard", 2),
        ]
    )
    (paths.corpus / "plan.md").write_text(f"# The plan\n\n{body}\n", encoding="utf-8")
    build(paths, FakeEmbedder(), SilentReporter())
    return Store.open(paths.index)


def entries(store: Store, rows: list[int]) -> list[Entry]:
    return [
        Entry(row, passage, passage.sentences[0], 1.0 - row / 10)
        for row, passage in zip(rows, store.passages(rows), strict=True)
    ]


def item_rows(store: Store) -> list[int]:
    return [row for row, passage in enumerate(store.passages(range(store.size))) if is_item(passage)]


def test_two_items_of_one_list_come_back_as_one_result(listing: Store) -> None:
    items = item_rows(listing)
    assert len(items) >= 3
    found = gather(listing, entries(listing, [items[1], 0, items[2]]), exhaustive=False)
    assert len(found) == 2
    merged = found[0]
    assert merged.members == (0, 2)
    first, last = listing.passages([items[0], items[-1]])
    document = listing.document(merged.passage.doc_id)
    assert document.text[merged.passage.start : merged.passage.end] == merged.passage.text
    assert merged.passage.start == first.start and merged.passage.end == last.end
    assert all(step.split(". ", 1)[1][:20] in merged.passage.text for step in STEPS)
    assert merged.passage.citation.endswith(f"¶{first.paragraphs[0]}–{last.paragraphs[1]}")
    start, end = merged.highlight or (0, 0)
    best = listing.passages([items[1]])[0]
    assert merged.passage.text[start:end] == best.text[slice(*best.sentences[0])]
    assert all(merged.passage.text[s:e].strip() for s, e in merged.passage.sentences)


def test_one_item_stays_alone_unless_the_question_asks_for_all(listing: Store) -> None:
    items = item_rows(listing)
    alone = gather(listing, entries(listing, [items[1], 0]), exhaustive=False)
    assert [result.passage.id for result in alone] == [passage.id for passage in listing.passages([items[1], 0])]
    every = gather(listing, entries(listing, [items[1], 0]), exhaustive=True)
    assert every[0].passage.paragraphs[1] - every[0].passage.paragraphs[0] >= len(items) - 1


def test_passages_that_are_not_items_are_left_as_they_are(listing: Store) -> None:
    plain = [row for row in range(listing.size) if row not in item_rows(listing)]
    found = gather(listing, entries(listing, plain), exhaustive=True)
    assert [result.passage for result in found] == listing.passages(plain)


def test_a_gathered_list_that_recommends_is_a_recommendation_list(listing: Store) -> None:
    items = item_rows(listing)
    (merged, _) = gather(listing, entries(listing, [items[0], 0]), exhaustive=True)
    assert is_recommendation_list(merged.passage)
    assert not is_recommendation_list(listing.passages([items[0]])[0]), "one item is no list"
    assert not is_recommendation_list(listing.passages([0])[0])


def test_gathered_items_leave_room_for_k_results(listing: Store) -> None:
    searcher = Searcher(listing, FakeEmbedder())
    answer = searcher.ask("What are all the recommendations on policy?", Settings(k=3))
    assert len(answer.hits) == min(3, len({passage.id for passage in listing.passages(range(listing.size))}))
    gathered = [hit for hit in answer.hits if hit.passage.paragraphs[1] > hit.passage.paragraphs[0]]
    assert gathered, "the list came back as one result"
    assert [hit.rank for hit in answer.hits] == [1, 2, 3]
