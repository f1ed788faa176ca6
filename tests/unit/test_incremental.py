"""Incremental `qa index`: only new or changed documents are read and embedded, and the result equals a full build."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from dataclasses import replace as dataclasses_replace
from pathlib import Path

import numpy as np
import pytest

from qa.answering.retrieval import Mode, Searcher, Settings
from qa.documents import loading as documents
from qa.documents.base import Document, Source, Warn
from qa.documents.chunking import ChunkingParams, Passage
from qa.index import building, manifest
from qa.index.stores.files.store import Store
from qa.index.stores.shared import passage_key
from qa.kernel.errors import CorpusError, IndexCorruptError
from qa.kernel.paths import Paths
from qa.kernel.progress import SilentReporter
from tests.corpora import topic_paragraph, write_doc
from tests.fakes import FakeEmbedder

QUESTIONS = [
    "Who leads chip foundries?",
    "What happens to the glaciers of the northern valley?",
    "How do harbour cranes move containers?",
    "Why did the orchard apples ripen early?",
    "What do the export controls restrict?",
]


@pytest.fixture
def corpus_paths(essay_paths: Paths) -> Paths:
    write_doc(essay_paths.corpus, "glaciers.md", "glaciers of the northern valley")
    write_doc(essay_paths.corpus, "harbour/cranes.md", "harbour cranes")
    write_doc(essay_paths.corpus, "orchard.txt", "orchard apples")
    return essay_paths


def build(paths: Paths, embedder: FakeEmbedder | None = None, full: bool = False) -> building.BuildResult:
    return building.build(paths, embedder or FakeEmbedder(), SilentReporter(), full=full)


@dataclass(frozen=True)
class Snapshot:
    """Everything a search reads from an index: documents, passages, vectors, manifest entries and answers."""

    documents: list[Document]
    passages: list[Passage]
    vectors: np.ndarray
    sentence_vectors: np.ndarray
    entries: dict[str, tuple[str, str, int]]
    answers: dict[tuple[str, str], list[tuple[str, float, tuple[int, int] | None]]]


def snapshot(index_dir: Path) -> Snapshot:
    store = Store.open(index_dir)
    try:
        searcher = Searcher(store, FakeEmbedder())
        modes: tuple[Mode, ...] = ("hybrid", "dense", "lexical")
        return Snapshot(
            documents=[store.document(doc_id) for doc_id in store.document_ids()],
            passages=store.passages(range(store.size)),
            vectors=np.asarray(store.vectors).copy(),
            sentence_vectors=np.asarray(store.sentence_vectors).copy(),
            entries={
                doc: (entry.content_hash, entry.title, entry.passages)
                for doc, entry in store.manifest.documents.items()
            },
            answers={
                (question, mode): [
                    (hit.passage.id, hit.score, hit.highlight)
                    for hit in searcher.ask(question, Settings(mode=mode)).hits
                ]
                for question in QUESTIONS
                for mode in modes
            },
        )
    finally:
        store.close()


def assert_same_index(first: Snapshot, second: Snapshot) -> None:
    assert first.documents == second.documents
    assert first.passages == second.passages
    assert first.entries == second.entries
    np.testing.assert_allclose(first.vectors, second.vectors, atol=1e-6)
    np.testing.assert_allclose(first.sentence_vectors, second.sentence_vectors, atol=1e-6)
    assert first.answers == second.answers


def test_unchanged_corpus_is_a_noop_without_the_model(corpus_paths: Paths) -> None:
    first = build(corpus_paths)
    generation = manifest.read(corpus_paths.index).generation
    embedder = FakeEmbedder()
    again = build(corpus_paths, embedder)
    assert again.noop
    assert again.embedded == 0
    assert embedder.calls == []
    assert (again.documents, again.passages) == (first.documents, first.passages)
    assert manifest.read(corpus_paths.index).generation == generation


def test_touched_but_unchanged_file_is_not_embedded_and_not_hashed_again(corpus_paths: Paths) -> None:
    build(corpus_paths)
    path = corpus_paths.corpus / "glaciers.md"
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 5_000_000_000))
    embedder = FakeEmbedder()
    result = build(corpus_paths, embedder)
    assert result.noop
    assert embedder.calls == []
    assert "glaciers.md" in result.changes.unchanged
    assert manifest.read(corpus_paths.index).documents["glaciers.md"].mtime_ns == path.stat().st_mtime_ns


def test_only_new_and_changed_documents_are_read_and_embedded(
    corpus_paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(corpus_paths)
    before = Store.open(corpus_paths.index)
    cached = before.cached_rows()
    before.close()
    with (corpus_paths.corpus / "glaciers.md").open("a", encoding="utf-8") as stream:
        stream.write("\n" + topic_paragraph("glaciers of the northern valley", 9) + "\n")
    write_doc(corpus_paths.corpus, "tides.md", "spring tides")
    loaded: list[str] = []
    real_load = documents.load

    def recording_load(source: Source, warn: Warn) -> Document | None:
        loaded.append(source.id)
        return real_load(source, warn)

    monkeypatch.setattr(documents, "load", recording_load)
    embedder = FakeEmbedder()
    result = build(corpus_paths, embedder)
    assert sorted(loaded) == ["glaciers.md", "tides.md"]
    assert (result.changes.added, result.changes.changed) == (["tides.md"], ["glaciers.md"])
    store = Store.open(corpus_paths.index)
    try:
        fresh = [p for p in store.passages(range(store.size)) if passage_key(p) not in cached]
    finally:
        store.close()
    assert {p.doc_id for p in fresh} == {"glaciers.md", "tides.md"}
    assert result.embedded == len(fresh) < result.passages
    assert embedder.calls[0] == len(fresh)


def test_removed_document_leaves_the_results(corpus_paths: Paths) -> None:
    build(corpus_paths)
    shutil.rmtree(corpus_paths.corpus / "harbour")
    embedder = FakeEmbedder()
    result = build(corpus_paths, embedder)
    assert result.changes.removed == ["harbour/cranes.md"]
    assert result.embedded == 0
    assert embedder.calls == []
    store = Store.open(corpus_paths.index)
    try:
        assert "harbour/cranes.md" not in store.document_ids()
        assert "harbour/cranes.md" not in store.manifest.documents
        hits = Searcher(store, FakeEmbedder()).ask("harbour cranes containers", Settings(k=10)).hits
        assert hits
        assert all(hit.passage.doc_id != "harbour/cranes.md" for hit in hits)
    finally:
        store.close()


def test_incremental_build_equals_full_build(corpus_paths: Paths, tmp_path: Path) -> None:
    build(corpus_paths)
    corpus = corpus_paths.corpus
    with (corpus / "orchard.txt").open("a", encoding="utf-8") as stream:
        stream.write("\n" + topic_paragraph("orchard apples", 7) + "\n")
    (corpus / "harbour" / "cranes.md").unlink()
    write_doc(corpus, "tides.md", "spring tides", paragraphs=4)
    incremental = build(corpus_paths)
    assert not incremental.noop
    assert incremental.embedded < incremental.passages
    fresh = Paths(corpus=corpus, index=tmp_path / "fresh-index")
    full = build(fresh, full=True)
    assert full.embedded == full.passages == incremental.passages
    assert_same_index(snapshot(corpus_paths.index), snapshot(fresh.index))
    build(corpus_paths, full=True)
    assert_same_index(snapshot(corpus_paths.index), snapshot(fresh.index))


@pytest.mark.shared
def test_incremental_build_equals_full_build_on_related(related_paths: Paths, tmp_path: Path) -> None:
    corpus = related_paths.corpus
    parked = tmp_path / "parked"
    parked.mkdir()
    first, second = sorted((corpus / "related").iterdir())[:2]
    shutil.move(first, parked / first.name)
    build(related_paths)
    shutil.move(parked / first.name, first)
    second.write_text(second.read_text(encoding="utf-8") + "\n\nA closing note added later about harbour cranes.\n")
    embedder = FakeEmbedder()
    result = build(related_paths, embedder)
    assert result.changes.added == [f"related/{first.name}"]
    assert result.changes.changed == [f"related/{second.name}"]
    assert 0 < result.embedded < result.passages // 2
    fresh = Paths(corpus=corpus, index=tmp_path / "fresh-index")
    build(fresh, full=True)
    assert_same_index(snapshot(related_paths.index), snapshot(fresh.index))


def test_full_rebuild_embeds_everything_again(corpus_paths: Paths) -> None:
    first = build(corpus_paths)
    generation = manifest.read(corpus_paths.index).generation
    embedder = FakeEmbedder()
    again = build(corpus_paths, embedder, full=True)
    assert not again.noop
    assert again.embedded == again.passages == first.passages
    assert sum(embedder.calls) > 0
    assert manifest.read(corpus_paths.index).generation != generation


def test_changed_chunking_rechunks_but_reuses_identical_passages(corpus_paths: Paths) -> None:
    build(corpus_paths)
    result = building.build(corpus_paths, FakeEmbedder(), SilentReporter(), params=ChunkingParams(max_words=120))
    assert not result.noop
    assert manifest.read(corpus_paths.index).chunking["max_words"] == 120
    assert result.embedded < result.passages


def test_index_built_by_another_model_needs_a_full_rebuild(corpus_paths: Paths) -> None:
    build(corpus_paths)
    (corpus_paths.corpus / "orchard.txt").unlink()
    other = FakeEmbedder(name="another-model")
    with pytest.raises(IndexCorruptError, match="run qa index --full"):
        build(corpus_paths, other)
    assert other.calls == []
    assert build(corpus_paths, other, full=True).embedded > 0
    assert manifest.read(corpus_paths.index).model == "another-model"


def test_old_generations_are_collected_keeping_one_back(corpus_paths: Paths) -> None:
    generations = []
    for number in range(4):
        write_doc(corpus_paths.corpus, f"extra-{number}.md", f"extra topic {number}")
        build(corpus_paths)
        generations.append(manifest.read(corpus_paths.index).generation)
    on_disk = sorted(
        path.name for path in corpus_paths.index.iterdir() if path.name.startswith(building.GENERATION_PREFIX)
    )
    assert on_disk == generations[-2:]


def test_empty_corpus_is_a_clear_error(paths: Paths) -> None:
    with pytest.raises(CorpusError, match="has no documents"):
        build(paths)
    assert not (paths.index / manifest.MANIFEST).exists()


def test_new_chunking_never_reuses_vectors_of_other_sentences(essay_paths: Paths) -> None:
    """The cache is keyed by text and sentences: after a chunking change every sentence still has its vector."""
    wrapped = "\n".join(f"Line {n} of a note, wrapped at about sixty characters. It ends here." for n in range(1, 13))
    (essay_paths.corpus / "note.md").write_text(f"# Note\n\n{wrapped}\n", encoding="utf-8")
    building.build(essay_paths, FakeEmbedder(), SilentReporter(), params=ChunkingParams(wrap_width=100))
    building.build(essay_paths, FakeEmbedder(), SilentReporter(), params=ChunkingParams(wrap_width=50))
    store = Store.open(essay_paths.index)
    passages = store.passages(range(store.size))
    assert store.manifest.chunking["wrap_width"] == 50
    assert len(store.sentence_vectors) == store.manifest.sentences == sum(len(p.sentences) for p in passages)
    for row, passage in enumerate(passages):
        assert len(store.sentence_rows(row)) == len(passage.sentences)
    assert Searcher(store, FakeEmbedder()).ask("What does line 7 of the note say?").hits


def test_removing_a_document_does_not_embed_or_load_the_model(corpus_paths: Paths) -> None:
    build(corpus_paths)
    (corpus_paths.corpus / "orchard.txt").unlink()
    embedder = FakeEmbedder()
    result = build(corpus_paths, embedder)
    assert result.changes.removed == ["orchard.txt"]
    assert result.embedded == 0
    assert embedder.calls == []


def test_same_model_name_with_other_weights_is_refused(corpus_paths: Paths) -> None:
    first = FakeEmbedder()
    first.weights_sha256 = "a" * 64  # type: ignore[attr-defined]
    building.build(corpus_paths, first, SilentReporter())
    retrained = FakeEmbedder()
    retrained.weights_sha256 = "b" * 64  # type: ignore[attr-defined]
    (corpus_paths.corpus / "orchard.txt").write_text("orchard pears this year\n", encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="run qa index --full"):
        building.build(corpus_paths, retrained, SilentReporter())
    assert building.build(corpus_paths, retrained, SilentReporter(), full=True).embedded > 0


def test_a_file_that_could_not_be_read_counts_as_changed(corpus_paths: Paths) -> None:
    build(corpus_paths)
    found = manifest.read(corpus_paths.index)
    entry = found.documents["orchard.txt"]
    unreadable = manifest.DocumentEntry("", entry.size, entry.mtime_ns, "", 0)
    remembered = dataclasses_replace(found, documents={**found.documents, "orchard.txt": unreadable})
    changes = manifest.compare(corpus_paths.corpus, remembered, lambda message: None)
    assert changes.changed == ["orchard.txt"]
