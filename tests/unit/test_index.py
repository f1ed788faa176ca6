"""Building and opening the index with a fake embedder: contents, model checks and open-or-build."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from qa.documents.chunking import ChunkingParams
from qa.index import manifest
from qa.index.building import build, open_current
from qa.index.manifest import read_manifest
from qa.index.stores.files.store import Store
from qa.kernel.errors import CorpusError, IndexCorruptError, IndexMissingError
from qa.kernel.paths import Paths
from qa.kernel.progress import SilentReporter
from tests.conftest import ESSAY
from tests.corpora import expected_passages
from tests.fakes import FakeEmbedder

ESSAY_TITLE = "There can be no winners in a US-China AI arms race"


def test_build_stores_every_passage_document_and_vector(essay_paths: Paths, fake_embedder: FakeEmbedder) -> None:
    result = build(essay_paths, fake_embedder, SilentReporter())
    passages = expected_passages(essay_paths)
    assert result.documents == 1
    assert result.passages == result.embedded == len(passages)
    assert not result.noop
    found = manifest.read(essay_paths.index)
    assert found.model == fake_embedder.name
    assert found.dimension == fake_embedder.dimension
    assert found.chunking == ChunkingParams().as_dict()
    assert found.passages == len(passages)
    assert found.sentences == sum(len(p.sentences) for p in passages)
    entry = found.documents[ESSAY.name]
    assert entry.title == ESSAY_TITLE
    assert entry.passages == len(passages)
    assert entry.size == ESSAY.stat().st_size
    assert found.built_at and found.build_seconds >= 0
    store = Store.open(essay_paths.index)
    try:
        stored = store.passages(range(store.size))
        assert [replace(passage, centrality=0.0, key_sentence=-1) for passage in stored] == passages
        assert all(passage.centrality > 0 and passage.key_sentence >= 0 for passage in stored if passage.kind == "text")
        assert store.rows_of(ESSAY.name) == range(len(passages))
        assert store.rows_of("nope.md") == range(0)
        assert store.document_ids() == [ESSAY.name]
        doc = store.document(ESSAY.name)
        assert doc.title == ESSAY_TITLE
        assert doc.text == ESSAY.read_text(encoding="utf-8")
        assert all(doc.text[p.start : p.end] == p.text for p in passages)
        np.testing.assert_allclose(store.vectors, fake_embedder.embed([p.text for p in passages]), atol=1e-6)
        assert store.vector_index.ntotal == len(passages)
        last = store.sentence_rows(len(passages) - 1)
        assert last.stop == found.sentences == store.sentence_vectors.shape[0]
        assert len(last) == len(passages[-1].sentences)
        first_sentence = passages[0].text[slice(*passages[0].sentences[0])]
        np.testing.assert_allclose(store.sentence_vectors[0], fake_embedder.embed([first_sentence])[0], atol=1e-6)
        assert store.lexical.scores("TSMC foundries").argmax() in [
            i for i, p in enumerate(passages) if "TSMC" in p.text
        ]
    finally:
        store.close()


def test_second_build_of_an_unchanged_corpus_does_nothing(essay_paths: Paths, fake_embedder: FakeEmbedder) -> None:
    first = build(essay_paths, fake_embedder, SilentReporter())
    generation = manifest.read(essay_paths.index).generation
    calls = len(fake_embedder.calls)
    again = build(essay_paths, fake_embedder, SilentReporter())
    assert again.noop
    assert again.embedded == 0
    assert (again.documents, again.passages) == (first.documents, first.passages)
    assert len(fake_embedder.calls) == calls
    assert manifest.read(essay_paths.index).generation == generation


def test_index_built_with_another_model_is_refused(essay_paths: Paths) -> None:
    build(essay_paths, FakeEmbedder(name="model-a"), SilentReporter())
    other = FakeEmbedder(name="model-b")
    with pytest.raises(IndexCorruptError, match="run qa index --full") as raised:
        open_current(essay_paths, other, SilentReporter())
    assert "model-a" in str(raised.value) and "model-b" in str(raised.value)
    with pytest.raises(IndexCorruptError, match="run qa index --full"):
        build(essay_paths, other, SilentReporter())
    assert manifest.read(essay_paths.index).model == "model-a"
    # The advice works: a full build replaces it.
    build(essay_paths, other, SilentReporter(), full=True)
    assert manifest.read(essay_paths.index).model == "model-b"
    store, result = open_current(essay_paths, other, SilentReporter())
    store.close()
    assert result is None


def test_open_current_builds_a_missing_index_and_says_so(essay_paths: Paths, fake_embedder: FakeEmbedder) -> None:
    reporter = SilentReporter()
    assert read_manifest(essay_paths.index) is None
    store, result = open_current(essay_paths, fake_embedder, reporter)
    store.close()
    assert result is not None and result.passages == store.size > 0
    assert len(reporter.warnings) == 1 and "no index" in reporter.warnings[0]
    quiet = SilentReporter()
    store, again = open_current(essay_paths, fake_embedder, quiet)
    store.close()
    assert again is None
    assert quiet.warnings == []


def test_open_current_updates_a_stale_index_and_says_so(essay_paths: Paths, fake_embedder: FakeEmbedder) -> None:
    build(essay_paths, fake_embedder, SilentReporter())
    (essay_paths.corpus / "extra.md").write_text("# Extra\n\nThe zanzibarite mine opened in 2031. It is deep.\n")
    reporter = SilentReporter()
    store, result = open_current(essay_paths, fake_embedder, reporter)
    try:
        assert result is not None and result.changes.added == ["extra.md"]
        assert any("changed" in warning for warning in reporter.warnings)
        assert store.document_ids() == ["extra.md", ESSAY.name]
        assert store.rows_of("extra.md")
    finally:
        store.close()


def test_build_of_an_empty_corpus_is_a_corpus_error(paths: Paths, fake_embedder: FakeEmbedder) -> None:
    (paths.corpus / "ignored.csv").write_text("a,b\n")
    with pytest.raises(CorpusError, match="no documents"):
        build(paths, fake_embedder, SilentReporter())
    assert read_manifest(paths.index) is None


def test_build_of_a_corpus_without_text_is_a_corpus_error(paths: Paths, fake_embedder: FakeEmbedder) -> None:
    (paths.corpus / "empty.md").write_text("")
    (paths.corpus / "blank.txt").write_text("\n \n")
    reporter = SilentReporter()
    with pytest.raises(CorpusError, match="no passages"):
        build(paths, fake_embedder, reporter)
    assert len(reporter.warnings) == 2


def test_build_of_a_missing_corpus_is_a_corpus_error(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    paths = Paths(corpus=tmp_path / "absent", index=tmp_path / "index")
    with pytest.raises(CorpusError, match="does not exist"):
        build(paths, fake_embedder, SilentReporter())


def test_reading_a_missing_or_broken_manifest(essay_paths: Paths, fake_embedder: FakeEmbedder) -> None:
    with pytest.raises(IndexMissingError, match="run qa index"):
        manifest.read(essay_paths.index)
    build(essay_paths, fake_embedder, SilentReporter())
    path = essay_paths.index / manifest.MANIFEST
    raw = json.loads(path.read_text())
    path.write_text(json.dumps(raw | {"format_version": 99}))
    with pytest.raises(IndexCorruptError, match="run qa index --full"):
        manifest.read(essay_paths.index)
    path.write_text("{not json")
    with pytest.raises(IndexCorruptError, match="run qa index --full"):
        open_current(essay_paths, fake_embedder, SilentReporter())


def test_multi_document_rows_are_contiguous_per_document(paths: Paths, fake_embedder: FakeEmbedder) -> None:
    shutil.copy(ESSAY, paths.corpus / "b.md")
    (paths.corpus / "a").mkdir()
    shutil.copy(ESSAY, paths.corpus / "a" / "copy.md")
    build(paths, fake_embedder, SilentReporter())
    store = Store.open(paths.index)
    try:
        first, second = store.rows_of("a/copy.md"), store.rows_of("b.md")
        assert len(first) == len(second) > 0
        assert first.stop == second.start
        assert {p.doc_id for p in store.passages(first)} == {"a/copy.md"}
        assert {p.doc_id for p in store.passages(second)} == {"b.md"}
        assert [p.id.split("#")[1] for p in store.passages(first)] == [
            p.id.split("#")[1] for p in store.passages(second)
        ]
    finally:
        store.close()
