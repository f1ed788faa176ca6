"""Importing the core and the CLI stays light: no torch, sentence-transformers or textual until needed."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO

HEAVY = ("torch", "sentence_transformers", "transformers", "textual")
LIGHT = ("qa.documents", "qa.chunking", "qa.store", "qa.indexing", "qa.retrieval", "qa.cli")


def loaded_after(code: str) -> set[str]:
    """Top-level module names in sys.modules after running code in a fresh interpreter."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{name.split('.')[0] for name in sys.modules}})))"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=120, check=True
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_core_and_cli_imports_do_not_load_heavy_libraries() -> None:
    loaded = loaded_after("\n".join(f"import {name}" for name in LIGHT))
    assert {"qa", "numpy", "click"} <= loaded, "the probe really imported the modules"
    assert not loaded & set(HEAVY)


def test_cli_help_does_not_load_heavy_libraries() -> None:
    loaded = loaded_after("from qa.cli import run\nrun(['ask', '--help'])")
    assert "qa" in loaded
    assert not loaded & set(HEAVY)


def test_the_probe_does_see_heavy_imports() -> None:
    # Guards the two tests above against a probe that could never fail.
    assert "textual" in loaded_after("import textual.app")
