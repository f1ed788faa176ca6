"""The real export of the bundled model to ONNX: checked against sentence-transformers, indexes equal to theirs,
fallback when export fails, a corrupt cached graph, and int8 kept apart from fp32."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from qa.answering.retrieval import Searcher, Settings
from qa.evaluation.gold import load_gold
from qa.index import building, manifest
from qa.index.stores.files.store import Store
from qa.kernel.errors import IndexCorruptError
from qa.kernel.paths import Paths
from qa.kernel.progress import SilentReporter
from qa.models.embedding import BUNDLED_SHA256, DEFAULT_MODEL, SentenceTransformerEmbedder
from qa.models.onnx import export
from qa.models.onnx.embedding import OnnxEmbedder
from qa.models.onnx.runtime import file_sha256
from tests.conftest import ESSAY, REPO
from tests.exported import onnx_cache

pytestmark = pytest.mark.model
__all__ = ["onnx_cache"]

QUESTIONS = [question.question for question in load_gold(REPO / "corpus" / "gold" / "essay.jsonl")]


def essay_texts(index: Path) -> list[str]:
    store = Store.open(index)
    texts = [passage.text for passage in store.passages(range(store.size))]
    store.close()
    return texts


def build_essay(root: Path, embedder: object) -> Paths:
    paths = Paths(corpus=root / "corpus", index=root / "index")
    paths.corpus.mkdir(parents=True)
    shutil.copy(ESSAY, paths.corpus / ESSAY.name)
    building.build(paths, embedder, SilentReporter())  # type: ignore[arg-type]
    return paths


def test_the_export_gives_sentence_transformers_vectors(
    onnx_cache: Path, essay_index: Paths, real_embedder: SentenceTransformerEmbedder
) -> None:
    place = export.cache_folder(BUNDLED_SHA256)
    record = json.loads((place / "fp32.json").read_text(encoding="utf-8"))
    assert record["sha256"] == file_sha256(place / "fp32.onnx")
    assert record["probe_min_cosine"] >= export.PROBE_COSINE
    assert (record["model"], record["weights_sha256"], record["dimension"]) == (DEFAULT_MODEL, BUNDLED_SHA256, 384)
    onnx = OnnxEmbedder(warn=pytest.fail)
    texts = essay_texts(essay_index.index) + QUESTIONS
    found, expected = onnx.embed(texts), real_embedder.embed(texts)
    np.testing.assert_allclose(found, expected, atol=1e-5)
    assert float((found * expected).sum(axis=1).min()) >= export.PROBE_COSINE
    for question in QUESTIONS[:10]:  # one at a time, as qa ask embeds them
        np.testing.assert_allclose(onnx.embed([question]), real_embedder.embed([question]), atol=1e-5)


def test_an_index_built_on_onnx_equals_one_built_on_sentence_transformers(
    onnx_cache: Path, essay_index: Paths, real_embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    onnx = OnnxEmbedder(warn=pytest.fail)
    paths = build_essay(tmp_path, onnx)
    built, reference = manifest.read(paths.index), manifest.read(essay_index.index)
    assert (built.model, built.weights_sha256, built.dimension) == (
        reference.model,
        reference.weights_sha256,
        reference.dimension,
    )
    ours, theirs = Store.open(paths.index), Store.open(essay_index.index)
    assert ours.size == theirs.size
    np.testing.assert_allclose(np.asarray(ours.vectors), np.asarray(theirs.vectors), atol=1e-5)
    np.testing.assert_allclose(np.asarray(ours.sentence_vectors), np.asarray(theirs.sentence_vectors), atol=1e-5)
    for mode in ("hybrid", "dense"):
        settings = Settings(mode=mode)
        for question in QUESTIONS:
            mine = Searcher(ours, onnx).ask(question, settings)
            other = Searcher(theirs, real_embedder).ask(question, settings)
            assert [(hit.passage.id, hit.highlight) for hit in mine.hits] == [
                (hit.passage.id, hit.highlight) for hit in other.hits
            ], question
            assert mine.answered == other.answered
    ours.close()
    theirs.close()


def test_an_index_built_on_sentence_transformers_opens_without_a_rebuild(onnx_cache: Path, essay_index: Paths) -> None:
    store, result = building.open_current(essay_index, OnnxEmbedder(warn=pytest.fail), SilentReporter())
    assert result is None
    store.close()


def test_a_model_that_cannot_be_exported_is_served_by_sentence_transformers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_embedder: SentenceTransformerEmbedder
) -> None:
    folder = tmp_path / "model"
    shutil.copytree(real_embedder.folder or "", folder)

    def unsupported(model: object, path: Path) -> None:
        raise RuntimeError("Exporting the operator 'aten::odd' to ONNX opset version 17 is not supported.")

    monkeypatch.setattr(export, "torch_export", unsupported)
    said: list[str] = []
    embedder = OnnxEmbedder(str(folder), warn=said.append)
    np.testing.assert_allclose(embedder.embed(QUESTIONS[:5]), real_embedder.embed(QUESTIONS[:5]), atol=1e-5)
    assert embedder.runtime == "sentence-transformers"
    (warning,) = said
    assert "aten::odd" in warning and "using sentence-transformers" in warning and "\n" not in warning
    assert not (export.cache_folder(BUNDLED_SHA256) / "fp32.json").exists()


def test_a_corrupt_cached_graph_is_exported_again(
    onnx_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_embedder: SentenceTransformerEmbedder
) -> None:
    cache = shutil.copytree(onnx_cache, tmp_path / "cache")
    monkeypatch.setenv("QA_CACHE", str(cache))
    graph = export.cache_folder(BUNDLED_SHA256) / "fp32.onnx"
    with graph.open("r+b") as handle:  # one weight changed: the graph still loads, its vectors are wrong
        handle.seek(graph.stat().st_size // 2)
        byte = handle.read(1)
        handle.seek(-1, 1)
        handle.write(bytes([byte[0] ^ 0x01]))
    said: list[str] = []
    embedder = OnnxEmbedder(warn=said.append)
    np.testing.assert_allclose(embedder.embed(QUESTIONS[:5]), real_embedder.embed(QUESTIONS[:5]), atol=1e-5)
    assert embedder.runtime == "onnxruntime"
    assert len(said) == 1 and "fails its sha256 check: exporting it again" in said[0]
    record = json.loads((graph.parent / "fp32.json").read_text(encoding="utf-8"))
    assert record["sha256"] == file_sha256(graph)


def test_int8_indexes_refuse_fp32_queries_and_the_reverse(
    onnx_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, essay_index: Paths
) -> None:
    cache = shutil.copytree(onnx_cache, tmp_path / "cache")
    monkeypatch.setenv("QA_CACHE", str(cache))
    int8 = OnnxEmbedder(":int8", warn=pytest.fail)
    paths = build_essay(tmp_path / "int8", int8)
    assert manifest.read(paths.index).model == DEFAULT_MODEL + ":int8"
    record = json.loads((export.cache_folder(BUNDLED_SHA256) / "int8.json").read_text(encoding="utf-8"))
    assert record["min_cosine_to_fp32"] >= export.INT8_COSINE
    with pytest.raises(IndexCorruptError, match=":int8"):
        building.open_current(paths, OnnxEmbedder(warn=pytest.fail), SilentReporter())
    with pytest.raises(IndexCorruptError, match=":int8"):
        building.open_current(essay_index, OnnxEmbedder(":int8", warn=pytest.fail), SilentReporter())
    store, result = building.open_current(paths, OnnxEmbedder(":int8", warn=pytest.fail), SilentReporter())
    assert result is None
    answer = Searcher(store, int8).ask("Which company leads global chip foundries?")
    assert any("TSMC" in hit.passage.text for hit in answer.hits[:3])
    store.close()
