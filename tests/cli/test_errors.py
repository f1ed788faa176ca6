"""Bad input gives one line `qa: error: ...` on stderr, nothing on stdout, and exit code 2: never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from qa.index import manifest
from qa.index.stores.files.store import Store
from qa.kernel.errors import IndexCorruptError
from qa.kernel.paths import Paths
from tests.cli.conftest import assert_one_line_error, where
from tests.conftest import REPO


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["ask", ""], "empty"),
        (["ask", "   "], "empty"),
        (["ask", "\t\n"], "empty"),
        (["ask", "-k", "0", "Who leads?"], "at least 1"),
        (["ask", "-k", "-3", "Who leads?"], "at least 1"),
        (["ask", "-k", "many", "Who leads?"], "'many' is not a valid integer"),
        (["ask", "--mode", "psychic", "Who leads?"], "psychic"),
        (["ask", "x" * 5000], "characters long"),
        (["frobnicate"], "No such command"),
        (["ask", "--no-such-option", "q"], "No such option"),
    ],
)
def test_bad_questions_and_options(qa: Any, essay_paths: Paths, args: list[str], fragment: str) -> None:
    assert_one_line_error(qa(*args[:1], *where(essay_paths), *args[1:]), fragment)


def test_bad_question_is_refused_before_any_index_work(qa: Any, essay_paths: Paths) -> None:
    assert_one_line_error(qa("ask", *where(essay_paths), ""), "empty")
    assert not essay_paths.index.exists()


@pytest.mark.parametrize("command", [["ask", "Who leads?"], ["index"]])
def test_missing_corpus(qa: Any, tmp_path: Path, command: list[str]) -> None:
    paths = Paths(tmp_path / "absent", tmp_path / "index")
    assert_one_line_error(qa(command[0], *where(paths), *command[1:]), str(paths.corpus), "does not exist")


@pytest.mark.parametrize("command", [["ask", "Who leads?"], ["index"]])
def test_empty_corpus(qa: Any, paths: Paths, command: list[str]) -> None:
    assert_one_line_error(qa(command[0], *where(paths), *command[1:]), "no documents")


def test_corpus_of_only_unusable_files(qa: Any, paths: Paths) -> None:
    (paths.corpus / "empty.md").write_text("")
    (paths.corpus / "binary.txt").write_bytes(b"\x00\x01\x02")
    result = qa("ask", *where(paths), "Who leads?")
    assert result.code == 2 and result.out == ""
    errors = [line for line in result.err.splitlines() if line.startswith("qa: error: ")]
    assert len(errors) == 1 and "no passages" in errors[0]
    # The warnings before it name the skipped files.
    assert "empty.md" in result.err and "binary.txt" in result.err
    assert "Traceback" not in result.err


def test_corpus_that_is_a_file(qa: Any, tmp_path: Path) -> None:
    file = tmp_path / "file.md"
    file.write_text("# Not a folder\n")
    assert_one_line_error(qa("ask", "--corpus", str(file), "--index", str(tmp_path / "i"), "q"), "not a folder")


QUESTION = "Who leads chip foundries?"


def built(qa: Any, paths: Paths) -> manifest.Manifest:
    assert qa("index", *where(paths)).code == 0
    return manifest.read(paths.index)


def garble(path: Path) -> None:
    """Overwrite a file with junk of the same size, so size checks pass and reading fails."""
    size = path.stat().st_size
    path.write_bytes((b"junk\xff\x00" * (size // 6 + 1))[:size])


def garble_folder(folder: Path) -> None:
    for path in folder.iterdir():
        garble(path)


CORRUPTIONS: dict[str, Callable[[Path, manifest.Manifest], object]] = {
    "manifest-not-json": lambda index, found: (index / manifest.MANIFEST).write_text("{not json"),
    "manifest-wrong-shape": lambda index, found: (index / manifest.MANIFEST).write_text('{"model": 3}'),
    "manifest-empty": lambda index, found: (index / manifest.MANIFEST).write_text(""),
    "format-version": lambda index, found: (index / manifest.MANIFEST).write_text(
        json.dumps(json.loads(found.to_json()) | {"format_version": 99})
    ),
    "generation-missing": lambda index, found: shutil.rmtree(index / found.generation),
    "vectors-truncated": lambda index, found: (index / found.generation / "vectors.npy").write_bytes(b"\x93NUMPY"),
    "sentences-garbled": lambda index, found: garble(index / found.generation / "sentences.npy"),
    "table-garbled": lambda index, found: garble(index / found.generation / "passages.sqlite"),
    "faiss-garbled": lambda index, found: garble(index / found.generation / "vectors.faiss"),
    "bm25-garbled": lambda index, found: garble_folder(index / found.generation / "bm25"),
}


MANIFEST_CORRUPTIONS = sorted(name for name in CORRUPTIONS if name.startswith(("manifest", "format")))
GENERATION_CORRUPTIONS = sorted(name for name in CORRUPTIONS if name not in MANIFEST_CORRUPTIONS)


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_corrupt_index(qa: Any, essay_paths: Paths, corruption: str) -> None:
    found = built(qa, essay_paths)
    CORRUPTIONS[corruption](essay_paths.index, found)
    answer = qa("ask", *where(essay_paths), "Which company leads chip foundries?")
    if corruption in MANIFEST_CORRUPTIONS:
        assert_one_line_error(answer, "run qa index --full")
    else:  # the store's cheap checks find what is wrong with the generation, which plain qa index repairs
        said = ("generation folder", "is missing") if corruption == "generation-missing" else ()
        assert_one_line_error(answer, "is damaged (", "): run qa index to repair", *said)


@pytest.mark.parametrize("corruption", GENERATION_CORRUPTIONS)
def test_a_damaged_generation_is_said_by_status_and_repaired_by_plain_index(
    qa: Any, essay_paths: Paths, corruption: str
) -> None:
    found = built(qa, essay_paths)
    CORRUPTIONS[corruption](essay_paths.index, found)
    checked = qa("status", *where(essay_paths), "--check")
    assert checked.code == 2 and "(damaged: " in checked.out and " — run qa index to repair)" in checked.out
    repaired = qa("index", *where(essay_paths))
    assert repaired.code == 0, repaired.err
    assert repaired.out.startswith("index was damaged (") and "): rebuilt; indexed 1 document, " in repaired.out
    assert qa("status", *where(essay_paths), "--check").code == 0
    result = qa("ask", *where(essay_paths), "--json", "Which company leads chip foundries?")
    assert result.code == 0 and json.loads(result.out)["passages"]


@pytest.mark.parametrize("name", ["passages.sqlite", "vectors.npy", "sentences.npy", "vectors.faiss"])
def test_truncated_index_file_is_detected_and_repaired_by_plain_index(qa: Any, essay_paths: Paths, name: str) -> None:
    found = built(qa, essay_paths)
    assert name in found.files
    path = essay_paths.index / found.generation / name
    size = path.stat().st_size
    path.write_bytes(path.read_bytes()[: size // 2])
    truncated = f"{name} is truncated to {size // 2:,} of {size:,} bytes"
    with pytest.raises(IndexCorruptError, match=rf"is damaged \({truncated}\): run qa index to repair"):
        Store.open(essay_paths.index)
    assert_one_line_error(qa("ask", *where(essay_paths), QUESTION), truncated, "run qa index to repair")
    assert qa("index", *where(essay_paths)).out.startswith(f"index was damaged ({truncated}): rebuilt; ")
    assert "There can be no winners" in qa("ask", *where(essay_paths), QUESTION).out


@pytest.mark.parametrize(
    "content",
    ["", "{", "not json at all", "[]", "{}", '{"model": "x"}', "\x00\x00\x00"],
    ids=["empty", "cut", "text", "list", "no-keys", "some-keys", "binary"],
)
def test_broken_manifest_is_a_clear_error_and_full_rebuild_repairs_it(
    qa: Any, essay_paths: Paths, content: str
) -> None:
    built(qa, essay_paths)
    (essay_paths.index / manifest.MANIFEST).write_text(content)
    with pytest.raises(IndexCorruptError, match="is broken"):
        manifest.read(essay_paths.index)
    for command in (["ask", QUESTION], ["index"], ["status"], ["index", "--dry-run"]):
        assert_one_line_error(qa(*command, *where(essay_paths)), "manifest", "run qa index --full")
    assert qa("index", *where(essay_paths), "--full").code == 0
    assert "There can be no winners" in qa("ask", *where(essay_paths), QUESTION).out


def test_a_100000_character_question_is_one_line(qa: Any, essay_paths: Paths) -> None:
    built(qa, essay_paths)
    refused = qa("ask", *where(essay_paths), "x" * 100_000)
    assert_one_line_error(refused)
    assert refused.err == "qa: error: the question is 100,000 characters long; keep it under 2,000\n"


@pytest.mark.parametrize("corruption", ["manifest-not-json", "format-version"])
def test_status_of_a_corrupt_index(qa: Any, essay_paths: Paths, corruption: str) -> None:
    found = built(qa, essay_paths)
    CORRUPTIONS[corruption](essay_paths.index, found)
    assert_one_line_error(qa("status", *where(essay_paths), "--json"), "run qa index --full")


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_full_rebuild_repairs_a_corrupt_index(qa: Any, essay_paths: Paths, corruption: str) -> None:
    found = built(qa, essay_paths)
    CORRUPTIONS[corruption](essay_paths.index, found)
    assert qa("index", *where(essay_paths), "--full").code == 0
    result = qa("ask", *where(essay_paths), "--json", "Which company leads chip foundries?")
    assert result.code == 0 and json.loads(result.out)["passages"]


def test_foreign_index_from_another_model(qa: Any, essay_paths: Paths) -> None:
    assert qa("index", *where(essay_paths), "--model", "someone-elses-model").code == 0
    assert_one_line_error(qa("ask", *where(essay_paths), "Who leads?"), "someone-elses-model", "run qa index --full")
    assert_one_line_error(qa("index", *where(essay_paths)), "run qa index --full")


def test_unknown_document(qa: Any, essay_paths: Paths) -> None:
    built(qa, essay_paths)
    assert_one_line_error(qa("ask", *where(essay_paths), "--doc", "nope.md", "Who leads?"), "nope.md")


# --- the real console entry point, in a subprocess ---------------------------------------------------


def run_qa(args: list[str], corpus: Path, index: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QA_CORPUS": str(corpus), "QA_INDEX": str(index), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "qa", *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=120, check=False
    )


@pytest.mark.parametrize(
    ("args", "fragment"),
    [(["ask", ""], "empty"), (["ask", "-k", "0", "Who?"], "at least 1"), (["ask", "Who?"], "does not exist")],
)
def test_subprocess_errors(tmp_path: Path, args: list[str], fragment: str) -> None:
    done = run_qa(args, tmp_path / "absent", tmp_path / "index")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("qa: error: ")
    assert fragment in done.stderr


def test_subprocess_corrupt_index(essay_paths: Paths) -> None:
    essay_paths.index.mkdir()
    (essay_paths.index / manifest.MANIFEST).write_text("\x00garbage")
    done = run_qa(["ask", "--json", "Who?"], essay_paths.corpus, essay_paths.index)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and "run qa index --full" in done.stderr
