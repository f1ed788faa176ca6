"""Real-model fixtures shared by the integration tests."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import pytest

from qa.index.building import build
from qa.kernel.paths import Paths
from qa.kernel.progress import SilentReporter
from tests.conftest import ESSAY

if TYPE_CHECKING:
    from qa.models.embedding import SentenceTransformerEmbedder


@pytest.fixture(scope="session")
def essay_index(tmp_path_factory: pytest.TempPathFactory, real_embedder: SentenceTransformerEmbedder) -> Paths:
    """The essay copied into a tmp corpus and indexed once for the session with the real model (tests only read
    it)."""
    root = tmp_path_factory.mktemp("essay")
    paths = Paths(corpus=root / "corpus", index=root / "index")
    paths.corpus.mkdir()
    shutil.copy(ESSAY, paths.corpus / ESSAY.name)
    build(paths, real_embedder, SilentReporter())
    return paths
