"""Importing the core and the CLI stays light: no torch, sentence-transformers, textual or matplotlib until needed;
answering (qa index, qa ask, the app) never loads torch or matplotlib."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.interfaces.tui import probe as app
from qa.kernel.paths import Paths
from tests.exported import onnx_cache
from tests.probes import probe

__all__ = ["onnx_cache"]

HEAVY = ("torch", "sentence_transformers", "transformers", "textual", "matplotlib")
TORCH = {"torch", "sentence_transformers", "transformers"}
NOT_SERVING = TORCH | {"matplotlib"}  # matplotlib draws qa eval's pictures only
QUESTION = "Which company leads global chip foundries?"
LIGHT = (
    "qa.documents.loading",
    "qa.documents.chunking",
    "qa.index.stores.files.store",
    "qa.index.building",
    "qa.answering.retrieval",
    "qa.interfaces.cli.main",
    "qa.evaluation.reports",
    "qa.evaluation.pictures",
    "qa.interfaces.mcp.server",
)


def loaded_after(code: str) -> set[str]:
    """Top-level module names in sys.modules after running code in a fresh interpreter."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{name.split('.')[0] for name in sys.modules}})))"
    return set(probe(script, timeout=120))


def test_core_and_cli_imports_do_not_load_heavy_libraries() -> None:
    loaded = loaded_after("\n".join(f"import {name}" for name in LIGHT))
    assert {"qa", "numpy", "click"} <= loaded, "the probe really imported the modules"
    assert not loaded & set(HEAVY)


def test_cli_help_does_not_load_heavy_libraries() -> None:
    loaded = loaded_after("from qa.interfaces.cli.main import run\nrun(['ask', '--help'])")
    assert "qa" in loaded
    assert not loaded & set(HEAVY)


def test_the_probe_does_see_heavy_imports() -> None:
    # Guards the two tests above against a probe that could never fail.
    assert "textual" in loaded_after("import textual.app")
    assert "matplotlib" in loaded_after("from qa.evaluation import pictures\npictures._figure()")


@pytest.mark.model
def test_index_ask_and_the_app_import_neither_torch_nor_matplotlib_once_exported(
    onnx_cache: Path, essay_paths: Paths
) -> None:
    location = ["--corpus", str(essay_paths.corpus), "--index", str(essay_paths.index)]
    for command in (["index", *location], ["ask", "--json", *location, QUESTION]):
        loaded = loaded_after(f"from qa.interfaces.cli.main import run\nassert run({command!r}) == 0")
        assert "onnxruntime" in loaded, "the probe did embed"
        assert not loaded & NOT_SERVING, command[0]
        if command[0] == "ask":  # bm25s (and SciPy with it) only builds the keyword index
            assert "Stemmer" in loaded and not loaded & {"bm25s", "scipy"}
    found = probe(app.APP_PROBE, str(essay_paths.corpus), str(essay_paths.index), "", QUESTION)
    assert found["answered_at"] is not None, "the app answered"
    assert "onnxruntime" in found["modules"] and not set(found["modules"]) & NOT_SERVING
