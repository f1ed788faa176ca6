"""The bundled model exported to ONNX once per test session (imports torch), for the tests of the torch-free path."""

from __future__ import annotations

from pathlib import Path

import pytest

_MADE: dict[str, Path] = {}


def exported_cache(factory: pytest.TempPathFactory) -> Path:
    """A cache folder holding the bundled model's checked fp32 export, made on first call (later calls share it:
    tests that change it work on a copy)."""
    if "fp32" not in _MADE:
        from qa.models.onnx.embedding import OnnxEmbedder

        cache = factory.mktemp("onnx-cache")
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("QA_CACHE", str(cache))
            embedder = OnnxEmbedder(warn=pytest.fail)
            embedder.load()
            assert embedder.runtime == "onnxruntime"
        _MADE["fp32"] = cache
    return _MADE["fp32"]


@pytest.fixture
def onnx_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """QA_CACHE pointed at the session's export of the bundled model (read it, do not change it)."""
    cache = exported_cache(tmp_path_factory)
    monkeypatch.setenv("QA_CACHE", str(cache))
    return cache
