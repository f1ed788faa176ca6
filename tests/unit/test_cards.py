"""Document cards (front matter or metadata as a passage of their own) and passage centrality."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from qa.documents.base import Document
from qa.documents.centrality import score_passages
from qa.documents.chunking import ChunkingParams, chunk, document_card
from qa.index.building import build
from qa.index.stores.files.store import Store
from qa.kernel.paths import Paths
from qa.kernel.progress import SilentReporter
from tests.conftest import ESSAY
from tests.corpora import load_file, topic_paragraph
from tests.fakes import FakeEmbedder

CARDS = ChunkingParams(cards=1)


def loaded(path: Path) -> Document:
    document, _ = load_file(path, path.parent)
    assert document is not None
    return document


def test_front_matter_card_slices_the_file_exactly(tmp_path: Path) -> None:
    shutil.copy(ESSAY, tmp_path / ESSAY.name)
    document = loaded(tmp_path / ESSAY.name)
    card = document_card(document)
    assert card is not None and card.kind == "front matter" and card.located
    on_disk = (tmp_path / ESSAY.name).read_text(encoding="utf-8")
    assert on_disk[card.start : card.end] == card.text
    assert card.citation == "There can be no winners in a US-China AI arms race, front matter"
    fields = [card.text[start:end] for start, end in card.sentences]
    assert fields[1] == "authors:\n  - Alvin Wang Graylin\n  - Paul Triolo"
    assert [field.split(":")[0] for field in fields] == ["title", "authors", "date", "publication"]


def test_cards_lead_the_passages_unless_turned_off(tmp_path: Path) -> None:
    shutil.copy(ESSAY, tmp_path / ESSAY.name)
    document = loaded(tmp_path / ESSAY.name)
    with_cards, without = chunk(document, CARDS), chunk(document, ChunkingParams(cards=0))
    assert with_cards[0].id == f"{document.id}#card"
    assert with_cards[1:] == without


def test_metadata_cards_have_no_offsets() -> None:
    document = Document(
        id="page.html",
        path=Path("page.html"),
        title="Harbour",
        text="Cranes move boxes.",
        content_hash="x",
        metadata={"title": "Harbour", "author": "Ada Quay", "tags": ["ports", "cranes"]},
    )
    card = document_card(document)
    assert card is not None and card.kind == "metadata" and not card.located
    assert card.text == "title: Harbour\nauthor: Ada Quay\ntags: ports, cranes"
    assert card.citation == "Harbour, metadata"


def test_documents_without_metadata_have_no_card() -> None:
    plain = Document(id="a.txt", path=Path("a.txt"), title="a", text="Just text.", content_hash="x")
    assert document_card(plain) is None


def test_invalid_front_matter_gives_no_card(tmp_path: Path) -> None:
    (tmp_path / "bad.md").write_text("---\ntitle: [unclosed\n---\nBody text here.\n", encoding="utf-8")
    assert document_card(loaded(tmp_path / "bad.md")) is None


def test_centrality_ranks_on_topic_passages_above_asides(paths: Paths) -> None:
    body = "\n\n".join(
        [*(topic_paragraph("glacier melt", number) for number in range(1, 5)), topic_paragraph("bakery bread", 9)]
    )
    (paths.corpus / "g.md").write_text(f"---\ntitle: Glacier melt report\n---\n{body}\n", encoding="utf-8")
    params = ChunkingParams(min_words=20, max_words=80, cards=1)
    build(paths, FakeEmbedder(), SilentReporter(), params=params)
    store = Store.open(paths.index)
    passages = store.passages(range(store.size))
    text = [passage for passage in passages if passage.kind == "text"]
    aside = next(passage for passage in text if "bakery" in passage.text)
    assert all(passage.centrality > aside.centrality for passage in text if passage is not aside)
    assert all(0 <= passage.key_sentence < len(passage.sentences) for passage in text)
    assert passages[0].kind == "front matter" and passages[0].centrality == 0.0


def test_centrality_is_the_cosine_to_the_centroid_of_the_sentences() -> None:
    document = Document(id="d.md", path=Path("d.md"), title="D", text=topic_paragraph("rain", 1), content_hash="x")
    passages = chunk(document)
    vectors = FakeEmbedder().embed([passage.text for passage in passages])
    sentences = FakeEmbedder().embed([p.text[s:e] for p in passages for s, e in p.sentences])
    scored = score_passages(passages, vectors, sentences)
    assert np.isclose(
        scored[0].centrality, float(vectors[0] @ (sentences.mean(axis=0) / np.linalg.norm(sentences.mean(axis=0))))
    )
