"""`qa status [--json]`: documents, passages, model, build time, and fresh or stale."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import pytest

from qa.kernel.paths import Paths
from tests.cli.conftest import assert_one_line_error, where
from tests.conftest import ESSAY
from tests.corpora import expected_passages


def test_status_without_an_index(qa: Any, essay_paths: Paths) -> None:
    text = qa("status", *where(essay_paths))
    assert text.code == 0
    assert text.out.strip() == f"no index in {essay_paths.index}: run qa index"
    report = qa("status", *where(essay_paths), "--json").json()
    assert report["built"] is False
    assert report["stale"] is True
    assert (report["documents"], report["passages"]) == (0, 0)
    assert report["corpus"] == str(essay_paths.corpus) and report["index"] == str(essay_paths.index)
    assert not essay_paths.index.exists(), "status never builds"


def test_status_json_after_a_build(qa: Any, essay_paths: Paths) -> None:
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    assert qa("index", *where(essay_paths)).code == 0
    result = qa("status", *where(essay_paths), "--json")
    assert result.code == 0
    assert result.err == ""
    report = result.json()
    assert report["built"] is True
    assert report["stale"] is False
    assert report["documents"] == 1
    assert report["passages"] == len(expected_passages(essay_paths))
    assert report["model"] == "fake-hash-64"
    assert report["dimension"] == 64
    assert report["document_ids"] == [ESSAY.name]
    assert (report["added"], report["changed"], report["removed"]) == ([], [], [])
    built = dt.datetime.fromisoformat(report["built_at"])
    assert before - dt.timedelta(seconds=1) <= built <= dt.datetime.now(dt.UTC)
    assert report["build_seconds"] >= 0


def test_status_text_after_a_build(qa: Any, essay_paths: Paths) -> None:
    qa("index", *where(essay_paths))
    result = qa("status", *where(essay_paths))
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0] == f"corpus     {essay_paths.corpus}"
    assert lines[1] == f"index      {essay_paths.index} (fresh)"
    assert lines[2] == "documents  1"
    assert lines[3] == f"passages   {len(expected_passages(essay_paths))}"
    assert lines[4].startswith("model      fake-hash-64 (64 dimensions")
    assert lines[5].startswith("built      ")


def test_status_reports_a_stale_index(qa: Any, essay_paths: Paths) -> None:
    qa("index", *where(essay_paths))
    (essay_paths.corpus / "new.md").write_text("# New\n\nA new document about harbour cranes.\n")
    essay = essay_paths.corpus / ESSAY.name
    essay.write_text(essay.read_text(encoding="utf-8") + "\nOne more closing line for the essay.\n", encoding="utf-8")
    report = qa("status", *where(essay_paths), "--json").json()
    assert report["stale"] is True
    assert report["added"] == ["new.md"]
    assert report["changed"] == [ESSAY.name]
    text = qa("status", *where(essay_paths)).out
    assert "(stale: run qa index)" in text
    assert "  added    new.md" in text and f"  changed  {ESSAY.name}" in text
    # After qa index it is fresh again.
    qa("index", *where(essay_paths))
    assert qa("status", *where(essay_paths), "--json").json()["stale"] is False


def test_status_reports_a_removed_document(qa: Any, essay_paths: Paths) -> None:
    (essay_paths.corpus / "gone.md").write_text("# Gone\n\nThis document will be deleted soon.\n")
    qa("index", *where(essay_paths))
    assert qa("status", *where(essay_paths), "--json").json()["documents"] == 2
    (essay_paths.corpus / "gone.md").unlink()
    report = qa("status", *where(essay_paths), "--json").json()
    assert report["stale"] is True and report["removed"] == ["gone.md"]


def test_touching_a_file_without_changing_it_stays_fresh(qa: Any, essay_paths: Paths) -> None:
    qa("index", *where(essay_paths))
    essay = essay_paths.corpus / ESSAY.name
    os.utime(essay, ns=(essay.stat().st_atime_ns, essay.stat().st_mtime_ns + 5_000_000_000))
    assert qa("status", *where(essay_paths), "--json").json()["stale"] is False


def test_status_uses_the_environment(qa: Any, essay_paths: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    qa("index", *where(essay_paths))
    monkeypatch.setenv("QA_CORPUS", str(essay_paths.corpus))
    monkeypatch.setenv("QA_INDEX", str(essay_paths.index))
    report = qa("status", "--json").json()
    assert report["built"] is True and report["index"] == str(essay_paths.index)
    assert report["documents"] == 1


@pytest.mark.parametrize("args", [[], ["--json"]], ids=["text", "json"])
def test_status_of_a_corpus_folder_that_does_not_exist_fails_as_qa_index_does(
    qa: Any, essay_paths: Paths, args: list[str]
) -> None:
    # Issue 22, item 4: it said "(stale: run qa index)" and exited 0, then qa index failed on the folder.
    qa("index", *where(essay_paths))
    missing = essay_paths.corpus.parent / "no-such-folder"
    options = ["--corpus", str(missing), "--index", str(essay_paths.index)]
    said = (f"corpus folder {missing} does not exist", "--corpus DIR")
    assert_one_line_error(qa("status", *options, *args), *said)
    assert_one_line_error(qa("index", *options), *said)
    assert_one_line_error(qa("status", "--corpus", str(missing), "--index", str(missing.parent / "none")), *said)


def test_status_with_the_corpus_gone_says_so(qa: Any, essay_paths: Paths) -> None:
    qa("index", *where(essay_paths))
    (essay_paths.corpus / ESSAY.name).unlink()
    essay_paths.corpus.rmdir()
    for args in ([], ["--json"]):
        result = qa("status", *where(essay_paths), *args)
        assert_one_line_error(
            result, f"corpus folder {essay_paths.corpus} does not exist: create it or pass --corpus DIR"
        )
    file = essay_paths.corpus.parent / "a-file"
    file.write_text("not a folder")
    assert_one_line_error(qa("status", "--corpus", str(file), "--index", str(essay_paths.index)), "is not a folder")
