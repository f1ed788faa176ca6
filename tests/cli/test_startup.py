"""Start-up stays quick: `qa --help` and `qa status` never import torch, sentence-transformers or textual."""

from __future__ import annotations

import pytest

from qa.kernel.paths import Paths
from tests.cli.conftest import command_modules, where

HEAVY = {"torch", "sentence_transformers", "transformers", "textual", "faiss", "bm25s"}


def test_help_loads_nothing_heavy() -> None:
    code, modules, out = command_modules("--help")
    assert code == 0
    assert "bench" in out and "status" in out
    assert {"qa", "click"} <= modules
    assert not modules & HEAVY


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_status_of_a_built_index_loads_nothing_heavy(built_paths: Paths, json_flag: list[str]) -> None:
    code, modules, out = command_modules("status", *where(built_paths), *json_flag)
    assert code == 0
    assert "passages" in out
    assert not modules & HEAVY


def test_status_without_an_index_loads_nothing_heavy(paths: Paths) -> None:
    code, modules, out = command_modules("status", *where(paths))
    assert code == 0
    assert "no index" in out
    assert not modules & HEAVY


def test_bench_module_imports_light() -> None:
    code, modules, _ = command_modules("bench", "--help")
    assert code == 0
    assert not modules & HEAVY


def test_the_probe_sees_heavy_imports(built_paths: Paths) -> None:
    # Guards the tests above against a probe that could never fail: a keyword search opens the index with faiss
    # (and reads the keyword index without bm25s, which only builds it).
    location = [*where(built_paths), "--model", "fake-hash-64"]
    _, modules, _ = command_modules("ask", *location, "--mode", "lexical", "What is compute?")
    assert modules & HEAVY == {"faiss"}
