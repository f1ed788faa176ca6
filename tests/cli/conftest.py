"""Shared CLI test helpers: the fake embedder behind `qa`, an in-process `qa` runner and its `Result`."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from qa.engine.engine import EmbedderFactory
from qa.interfaces.cli import main
from qa.kernel.paths import Paths
from qa.models.embedding import Embedder
from tests.conftest import REPO
from tests.fakes import FakeEmbedder


@dataclass
class Result:
    """Exit code, stdout and stderr of one in-process `qa` command."""

    code: int
    out: str
    err: str

    def json(self) -> dict[str, Any]:
        """The one JSON object stdout holds."""
        (line,) = self.out.splitlines()
        loaded: dict[str, Any] = json.loads(line)
        return loaded

    def json_lines(self) -> list[dict[str, Any]]:
        """One JSON object per line of stdout."""
        return [json.loads(line) for line in self.out.splitlines()]


_PROBE = """
import json, sys
from qa.interfaces.cli.main import run
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


def assert_one_line_error(result: Result, *fragments: str) -> None:
    """Exit code 2, nothing on stdout, and one `qa: error:` line on stderr holding every fragment."""
    assert result.code == 2
    assert result.out == ""
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("qa: error: ")
    assert "Traceback" not in result.err
    for fragment in fragments:
        assert fragment in lines[0]


def where(paths: Paths) -> list[str]:
    """The options that point a command at a corpus and an index."""
    return ["--corpus", str(paths.corpus), "--index", str(paths.index)]


def fake_embedder_for(model: str | None) -> Embedder:
    """The CLI's embedder in tests: the fake embedder, named after --model when one is given."""
    return FakeEmbedder(name=model or "fake-hash-64")


@pytest.fixture
def make_embedder() -> EmbedderFactory:
    """The embedder factory the in-process CLI runs with (a module may override this fixture)."""
    return fake_embedder_for


@pytest.fixture
def qa(
    make_embedder: EmbedderFactory, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Result]:
    """Run the CLI in-process with the `make_embedder` fixture's embedders; `stdin=` feeds standard input."""

    def run(*args: str, stdin: str | None = None) -> Result:
        capsys.readouterr()
        if stdin is not None:
            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main.run(list(args), make_embedder)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
