"""Shared fixtures: corpora in tmp_path, an index built by the fake embedder, and the real model loaded once per
session."""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from qa.index import building, manifest
from qa.kernel.paths import Paths
from qa.kernel.progress import SilentReporter
from tests.fakes import FakeEmbedder

REPO = Path(__file__).resolve().parent.parent
ESSAY = REPO / "corpus" / "no-winners-ai-race.md"
SHARED = Path(os.environ.get("QA_SHARED", REPO.parent / "shared"))
RELATED = SHARED / "related"
SCIFACT = SHARED / "data" / "scifact"
FIXED_BUILT_AT = "2025-01-21T12:00:00+00:00"


@pytest.fixture(autouse=True)
def _no_verifier_unless_model(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests that do not use the real models answer without the shipped verifier, whatever the environment says
    (tests of the verifier pass a fake one through the engine's `make_verifier` seam, or turn it on)."""
    if request.node.get_closest_marker("model") is None:
        monkeypatch.setenv("QA_VERIFIER", "off")


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    """An empty corpus folder and an index folder under tmp_path."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    return Paths(corpus=corpus, index=tmp_path / "index")


@pytest.fixture
def essay_paths(paths: Paths) -> Paths:
    """A corpus holding a copy of the essay."""
    shutil.copy(ESSAY, paths.corpus / ESSAY.name)
    return paths


def build_index(paths: Paths, embedder: FakeEmbedder) -> None:
    """Build the index and pin its build time, so what the status and the app show does not change from run to run."""
    building.build(paths, embedder, SilentReporter())
    found = manifest.read(paths.index)
    manifest.write(paths.index, dataclasses.replace(found, built_at=FIXED_BUILT_AT, build_seconds=1.5))


@pytest.fixture
def built_paths(essay_paths: Paths, fake_embedder: FakeEmbedder) -> Paths:
    """The essay corpus with a fresh index built by the fake embedder."""
    build_index(essay_paths, fake_embedder)
    return essay_paths


@pytest.fixture
def related_paths(paths: Paths) -> Paths:
    """The essay plus ../shared/related under related/, skipped where ../shared is absent."""
    if not RELATED.is_dir():
        pytest.skip("../shared/related is absent")
    shutil.copy(ESSAY, paths.corpus / ESSAY.name)
    shutil.copytree(RELATED, paths.corpus / "related")
    for path in (paths.corpus / "related").iterdir():
        path.chmod(0o644)
    return paths


@pytest.fixture(scope="session")
def real_embedder() -> Iterator[object]:
    """The bundled all-MiniLM-L6-v2, loaded once for the whole session."""
    from qa.models.embedding import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder()
    embedder.model  # noqa: B018 - load now, once
    yield embedder


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never read the user's QA_CORPUS/QA_INDEX or write outside tmp_path."""
    monkeypatch.delenv("QA_CORPUS", raising=False)
    monkeypatch.delenv("QA_INDEX", raising=False)
    monkeypatch.delenv("QA_STORE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("QA_CACHE", str(tmp_path / "qa-cache"))  # exported ONNX graphs
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
