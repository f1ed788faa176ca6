"""Start-up stays quick: `qa --help` and `qa status` never import torch, sentence-transformers or textual."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from qa import index
from qa.paths import Paths
from qa.progress import SilentReporter
from tests.cli.conftest import where
from tests.conftest import REPO
from tests.fakes import FakeEmbedder

HEAVY = {"torch", "sentence_transformers", "transformers", "textual", "faiss", "bm25s"}
_PROBE = """
import json, sys
from qa.cli import run
code = run(sys.argv[1:])
print("\\n" + json.dumps({"code": code, "modules": sorted({name.split(".")[0] for name in sys.modules})}))
"""


def command_modules(*args: str) -> tuple[int, set[str], str]:
    """Exit code, top-level modules loaded and stdout of one `qa` command run in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, cwd=REPO, timeout=120, check=True
    )
    found = json.loads(done.stdout.splitlines()[-1])
    return found["code"], set(found["modules"]), done.stdout


@pytest.fixture
def built(essay_paths: Paths) -> Paths:
    index.build(essay_paths, FakeEmbedder(), SilentReporter())
    return essay_paths


def test_help_loads_nothing_heavy() -> None:
    code, modules, out = command_modules("--help")
    assert code == 0
    assert "bench" in out and "status" in out
    assert {"qa", "click"} <= modules
    assert not modules & HEAVY


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_status_of_a_built_index_loads_nothing_heavy(built: Paths, json_flag: list[str]) -> None:
    code, modules, out = command_modules("status", *where(built), *json_flag)
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


def test_the_probe_sees_heavy_imports(built: Paths) -> None:
    # Guards the tests above against a probe that could never fail: a keyword search loads bm25s.
    location = [*where(built), "--model", "fake-hash-64"]
    _, modules, _ = command_modules("ask", *location, "--mode", "lexical", "What is compute?")
    assert "bm25s" in modules & HEAVY
