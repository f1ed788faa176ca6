"""A damaged index, as a new user met it (issue 22, item 3): the essay, a Markdown note, a `.txt` and a `.docx`
indexed; then a file of the current generation truncated, deleted, reshaped or corrupted in place. `qa status`
says damaged (exit 2 with --check), plain `qa index` rebuilds it and says so, `qa index --verify` finds what keeps
its size."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qa.index import manifest
from qa.kernel.paths import Paths
from tests.cli.conftest import assert_one_line_error, where
from tests.conftest import ESSAY
from tests.corpora import make_docx, topic_paragraph, write_doc

QUESTION = "Which company leads global chip foundries?"
REBUILT = "): rebuilt; indexed 4 documents, "


@pytest.fixture
def users(paths: Paths) -> Paths:
    """The essay, a Markdown note, a text file and a Word file, indexed."""
    shutil.copy(ESSAY, paths.corpus / ESSAY.name)
    write_doc(paths.corpus, "ferry.md", "the ferry to the island")
    (paths.corpus / "budget.txt").write_text(topic_paragraph("solar panel repairs at the field station", 1))
    make_docx(paths.corpus / "memo.docx", [topic_paragraph("the Okavango memo", 1)], title="Okavango", author="Ana")
    return paths


def build(qa: Any, paths: Paths) -> Path:
    """Index the corpus; the current generation folder."""
    result = qa("index", *where(paths))
    assert result.code == 0 and result.out.startswith("indexed 4 documents, "), result
    return paths.index / manifest.read(paths.index).generation


def status_line(qa: Any, paths: Paths, *args: str) -> tuple[int, str]:
    """Exit code and the `index` line of `qa status`."""
    result = qa("status", *where(paths), *args)
    (line,) = [line for line in result.out.splitlines() if line.startswith("index ")]
    return result.code, line


def test_a_truncated_vectors_file_is_said_damaged_and_plain_index_repairs_it(qa: Any, users: Paths) -> None:
    generation = build(qa, users)
    vectors = generation / "vectors.npy"
    size = vectors.stat().st_size
    with vectors.open("r+b") as stream:
        stream.truncate(size // 2)
    what = f"vectors.npy is truncated to {size // 2:,} of {size:,} bytes"
    # It said "(fresh)", "index is up to date" and failed in qa ask with "run qa index --full".
    assert status_line(qa, users) == (0, f"index      {users.index} (damaged: {what} — run qa index to repair)")
    assert status_line(qa, users, "--check")[0] == 2
    checked = qa("status", *where(users), "--json", "--check")
    report = checked.json()
    assert checked.code == 2 and (report["damaged"], report["damage"]) == (True, [what])
    assert {"built", "stale", "documents", "passages", "model", "document_ids"} <= set(report), "no key went away"
    assert_one_line_error(qa("ask", *where(users), QUESTION), f"is damaged ({what}): run qa index to repair")
    repaired = qa("index", *where(users))
    assert repaired.code == 0
    assert repaired.out.startswith(f"index was damaged ({what}{REBUILT}")
    assert repaired.out.rstrip().endswith("embedded; 0 added, 0 changed, 0 removed)")
    assert status_line(qa, users, "--check") == (0, f"index      {users.index} (fresh)")
    assert qa("status", *where(users), "--json").json()["damaged"] is False
    assert "There can be no winners" in qa("ask", *where(users), QUESTION).out
    assert qa("index", *where(users)).out.startswith("index is up to date: 4 documents, ")


def reshape(path: Path) -> None:
    """Rewrite an array as twice the rows of half the width: the same bytes, the header still whole."""
    array = np.load(path)
    np.save(path, array.reshape(array.shape[0] * 2, array.shape[1] // 2))


def remove(folder: Path) -> None:
    shutil.rmtree(folder)


DAMAGES: dict[str, tuple[Callable[[Path], object], str]] = {
    "missing": (lambda folder: (folder / "vectors.faiss").unlink(), "vectors.faiss is missing"),
    "reshaped": (lambda folder: reshape(folder / "vectors.npy"), "vectors.npy holds a "),
    "folder gone": (remove, "generation folder g-"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_a_missing_file_a_wrong_shape_or_a_lost_generation_is_found_cheaply(qa: Any, users: Paths, damage: str) -> None:
    generation = build(qa, users)
    make, said = DAMAGES[damage]
    make(generation)
    code, line = status_line(qa, users, "--check")
    assert code == 2 and f"(damaged: {said}" in line
    planned = qa("index", *where(users), "--dry-run")
    assert planned.out.startswith(f"index is damaged ({said}")
    assert "passages to embed" in planned.out and "; 0 passages to embed" not in planned.out
    repaired = qa("index", *where(users))
    assert repaired.code == 0 and repaired.out.startswith(f"index was damaged ({said}") and REBUILT in repaired.out
    assert status_line(qa, users, "--check")[0] == 0


def test_same_size_corruption_is_found_by_index_verify(qa: Any, users: Paths) -> None:
    generation = build(qa, users)
    vectors = generation / "vectors.npy"
    data = bytearray(vectors.read_bytes())
    data[-200:-100] = bytes(100)  # zeros inside the vectors: the size and the header stay as they were
    vectors.write_bytes(bytes(data))
    assert status_line(qa, users, "--check")[0] == 0, "the cheap checks read no file whole"
    assert qa("index", *where(users)).out.startswith("index is up to date: ")
    verified = qa("index", *where(users), "--verify")
    assert verified.code == 0
    assert verified.out.startswith(f"index was damaged (vectors.npy does not match its checksum{REBUILT}")
    again = qa("index", *where(users), "--verify")
    files = len(manifest.read(users.index).files) - 1  # all but the checksums themselves
    assert again.out.startswith("index is up to date: 4 documents, ")
    assert f"; content verified: {files} files, 0." in again.out and again.out.rstrip().endswith(" s")
    assert "checksum" in qa("index", "--help").out and "s per GB" in qa("index", "--help").out


def test_verify_on_an_index_without_checksums_says_how_to_get_them(qa: Any, users: Paths) -> None:
    generation = build(qa, users)
    path = users.index / manifest.MANIFEST
    raw = json.loads(path.read_text())
    del raw["files"]["checksums.json"]  # as qa wrote generations before it recorded checksums
    (generation / "checksums.json").unlink()
    path.write_text(json.dumps(raw))
    result = qa("index", *where(users), "--verify")
    assert result.code == 0 and result.out.startswith("index is up to date: ")
    assert (
        result.err == "qa: this index has no checksums to verify (qa built it before recording them): qa index --full\n"
    )
    qa("index", *where(users), "--full")
    assert "content verified" in qa("index", *where(users), "--verify").out


def test_status_check_is_quiet_about_a_stale_or_missing_index(qa: Any, users: Paths) -> None:
    assert qa("status", *where(users), "--check").code == 0
    build(qa, users)
    write_doc(users.corpus, "tides.md", "spring tides")
    result = qa("status", *where(users), "--check")
    assert result.code == 0 and "(stale: run qa index)" in result.out
