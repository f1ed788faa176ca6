"""`qa index`: incremental updates, --dry-run, --full, and a no-op that never loads the model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from qa.engine.engine import EmbedderFactory
from qa.index import building, manifest
from qa.interfaces.cli import main
from qa.kernel.paths import Paths
from qa.kernel.progress import SilentReporter
from qa.models.embedding import DEFAULT_MODEL
from tests.cli.conftest import command_modules, where
from tests.corpora import topic_paragraph, write_doc
from tests.fakes import FakeEmbedder


@pytest.fixture
def embedders() -> list[FakeEmbedder]:
    """Every embedder the CLI makes (through `collecting`): fakes, so tests stay fast."""
    return []


def collecting(made: list[FakeEmbedder]) -> EmbedderFactory:
    """An embedder factory that makes a new fake per command and remembers it in `made`."""

    def make(model: str | None) -> FakeEmbedder:
        made.append(FakeEmbedder())
        return made[-1]

    return make


def qa_index(paths: Paths, *args: str) -> list[str]:
    return ["index", *where(paths), *args]


def state(paths: Paths) -> tuple[bytes, list[str]]:
    """The manifest's bytes and the generation folders: what a dry run must not touch."""
    folders = sorted(path.name for path in paths.index.iterdir() if path.name.startswith(building.GENERATION_PREFIX))
    return (paths.index / manifest.MANIFEST).read_bytes(), folders


def test_index_then_noop(essay_paths: Paths, embedders: list[FakeEmbedder], capsys: pytest.CaptureFixture[str]) -> None:
    assert main.run(qa_index(essay_paths), collecting(embedders)) == 0
    out = capsys.readouterr().out
    passages = manifest.read(essay_paths.index).passages
    assert out.startswith(f"indexed 1 document, {passages} passages in ")
    assert out.rstrip().endswith(f"({passages} embedded; 1 added, 0 changed, 0 removed)")
    assert main.run(qa_index(essay_paths), collecting(embedders)) == 0
    assert capsys.readouterr().out.startswith(f"index is up to date: 1 document, {passages} passages (")
    assert embedders[1].calls == []


def test_index_reports_what_changed(
    essay_paths: Paths, embedders: list[FakeEmbedder], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main.run(qa_index(essay_paths), collecting(embedders)) == 0
    write_doc(essay_paths.corpus, "tides.md", "spring tides")
    assert main.run(qa_index(essay_paths), collecting(embedders)) == 0
    out = capsys.readouterr().out.splitlines()[-1]
    assert out.startswith("indexed 2 documents, ")
    assert out.endswith(f"({embedders[1].calls[0]} embedded; 1 added, 0 changed, 0 removed)")


def test_dry_run_before_the_first_build_counts_every_passage(
    essay_paths: Paths, embedders: list[FakeEmbedder], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main.run(qa_index(essay_paths, "--dry-run"), collecting(embedders)) == 0
    out = capsys.readouterr().out.splitlines()
    assert not essay_paths.index.exists()
    assert embedders == []
    result = building.build(essay_paths, FakeEmbedder(), SilentReporter())
    assert out == [
        "add     no-winners-ai-race.md",
        f"1 to add, 0 changed, 0 to remove, 0 unchanged; {result.embedded} passages to embed",
    ]


def test_dry_run_lists_changes_without_touching_the_index(
    essay_paths: Paths, embedders: list[FakeEmbedder], capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = essay_paths.corpus
    write_doc(corpus, "glaciers.md", "glaciers of the northern valley")
    write_doc(corpus, "orchard.txt", "orchard apples")
    building.build(essay_paths, FakeEmbedder(), SilentReporter())
    with (corpus / "glaciers.md").open("a", encoding="utf-8") as stream:
        stream.write("\n" + topic_paragraph("glaciers of the northern valley", 8) + "\n")
    (corpus / "orchard.txt").unlink()
    write_doc(corpus, "harbour/cranes.md", "harbour cranes", paragraphs=2)
    before = state(essay_paths)
    assert main.run(qa_index(essay_paths, "--dry-run"), collecting(embedders)) == 0
    out = capsys.readouterr().out.splitlines()
    assert state(essay_paths) == before
    assert embedders == []
    result = building.build(essay_paths, FakeEmbedder(), SilentReporter())
    assert result.embedded > 0
    assert out == [
        "add     harbour/cranes.md",
        "change  glaciers.md",
        "remove  orchard.txt",
        f"1 to add, 1 changed, 1 to remove, 1 unchanged; {result.embedded} passages to embed",
    ]


def test_dry_run_full_counts_everything(
    essay_paths: Paths, embedders: list[FakeEmbedder], capsys: pytest.CaptureFixture[str]
) -> None:
    built = building.build(essay_paths, FakeEmbedder(), SilentReporter())
    before = state(essay_paths)
    assert main.run(qa_index(essay_paths, "--dry-run"), collecting(embedders)) == 0
    assert (
        capsys.readouterr().out.splitlines()[-1] == "0 to add, 0 changed, 0 to remove, 1 unchanged; 0 passages to embed"
    )
    assert main.run(qa_index(essay_paths, "--dry-run", "--full"), collecting(embedders)) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith(f"; {built.passages} passages to embed")
    assert state(essay_paths) == before


def test_full_rebuilds_everything(
    essay_paths: Paths, embedders: list[FakeEmbedder], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main.run(qa_index(essay_paths), collecting(embedders)) == 0
    generation = manifest.read(essay_paths.index).generation
    assert main.run(qa_index(essay_paths, "--full"), collecting(embedders)) == 0
    passages = manifest.read(essay_paths.index).passages
    assert capsys.readouterr().out.splitlines()[-1].endswith(f"({passages} embedded; 1 added, 0 changed, 0 removed)")
    assert manifest.read(essay_paths.index).generation != generation


@pytest.mark.parametrize("problem", ["missing", "empty", "unsupported-only"])
def test_unusable_corpus_is_a_one_line_error(
    paths: Paths, embedders: list[FakeEmbedder], capsys: pytest.CaptureFixture[str], problem: str
) -> None:
    if problem == "missing":
        paths.corpus.rmdir()
    elif problem == "unsupported-only":
        (paths.corpus / "notes.odt").write_bytes(b"PK")
    assert main.run(qa_index(paths), collecting(embedders)) == 2
    err = capsys.readouterr().err
    assert err.startswith("qa: error: corpus ")
    assert err.count("\n") == 1
    assert "--corpus DIR" in err
    assert not (paths.index / manifest.MANIFEST).exists()


def test_noop_qa_index_does_not_load_the_model(essay_paths: Paths) -> None:
    """A real process: on an unchanged corpus `qa index` does not import torch (its time is measured by qa bench)."""
    building.build(essay_paths, FakeEmbedder(name=DEFAULT_MODEL), SilentReporter())
    code, modules, out = command_modules("index", *where(essay_paths))
    assert code == 0
    assert out.startswith("index is up to date: 1 document,")
    assert not modules & {"torch", "sentence_transformers"}
    assert json.loads((essay_paths.index / manifest.MANIFEST).read_text())["model"] == DEFAULT_MODEL


def unusable_corpus(folder: Path, kind: str) -> None:
    """A corpus `qa index` must refuse: missing, empty, or holding only files it skips (a binary renamed .md, an
    empty file)."""
    if kind == "missing":
        return
    folder.mkdir(exist_ok=True)
    if kind == "only skipped files":
        (folder / "photo.md").write_bytes(bytes(range(256)) * 8)
        (folder / "empty.md").write_text("")


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file below `folder`, by path, with its content."""
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


UNUSABLE = ["missing", "empty", "only skipped files"]


@pytest.mark.parametrize("kind", UNUSABLE)
def test_a_failed_first_index_creates_no_folder(qa: Any, tmp_path: Path, kind: str) -> None:
    # Issue 22, item 6: a failed qa index on a missing or empty corpus left an index folder holding only .lock.
    corpus = tmp_path / "corpus"
    unusable_corpus(corpus, kind)
    before = sorted(tmp_path.iterdir())
    result = qa("index", "--corpus", str(corpus), "--index", str(tmp_path / "new" / "index"))
    assert result.code == 2 and result.out == ""
    assert result.err.splitlines()[-1].startswith("qa: error: ") and "Traceback" not in result.err
    assert sorted(tmp_path.iterdir()) == before, "neither the index folder nor its parent was left behind"


@pytest.mark.parametrize("kind", UNUSABLE)
def test_a_failed_index_never_touches_the_index_there(qa: Any, essay_paths: Paths, kind: str) -> None:
    assert qa("index", *where(essay_paths)).code == 0
    before = snapshot(essay_paths.index)
    shutil.rmtree(essay_paths.corpus)
    unusable_corpus(essay_paths.corpus, kind)
    result = qa("index", *where(essay_paths))
    assert result.code == 2 and result.err.splitlines()[-1].startswith("qa: error: ")
    assert snapshot(essay_paths.index) == before


def test_a_build_failing_as_it_writes_removes_its_own_generation(
    essay_paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qa.index import lexical

    assert main.run(qa_index(essay_paths), collecting([])) == 0
    before = snapshot(essay_paths.index)
    write_doc(essay_paths.corpus, "tides.md", "spring tides")

    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(lexical.LexicalIndex, "save", full_disk)
    assert main.run(qa_index(essay_paths), collecting([])) == 2
    assert snapshot(essay_paths.index) == before, "the half-written generation is gone, the index as it was"
    fresh = essay_paths.corpus.parent / "fresh"
    assert main.run(["index", "--corpus", str(essay_paths.corpus), "--index", str(fresh)], collecting([])) == 2
    assert not fresh.exists()


def test_skipped_files_are_reported_as_skipped_not_added(qa: Any, essay_paths: Paths) -> None:
    # Issue 22, item 7: "indexed 4 documents, 28 passages … (1 added…)" after a binary renamed .md was skipped.
    write_doc(essay_paths.corpus, "ferry.md", "the ferry to the island")
    (essay_paths.corpus / "budget.txt").write_text(topic_paragraph("solar panel repairs at the field station", 1))
    first = qa("index", *where(essay_paths))
    assert first.code == 0 and first.out.rstrip().endswith("; 3 added, 0 changed, 0 removed)")
    (essay_paths.corpus / "photo.md").write_bytes(bytes(range(256)) * 8)
    (essay_paths.corpus / "empty.md").write_text("")
    result = qa("index", *where(essay_paths))
    assert result.code == 0
    assert result.out.startswith("indexed 3 documents, ")
    assert result.out.rstrip().endswith("(0 embedded; 0 added, 0 changed, 0 removed; 2 skipped)")
    assert result.err.splitlines() == ["qa: skipped empty.md: no text", "qa: skipped photo.md: binary file"]
    assert qa("index", *where(essay_paths)).out.startswith("index is up to date: 3 documents, ")
    (essay_paths.corpus / "ferry.md").write_text("")  # indexed before, nothing to index now
    write_doc(essay_paths.corpus, "tides.md", "spring tides")
    result = qa("index", *where(essay_paths))
    assert result.out.startswith("indexed 3 documents, ")
    assert result.out.rstrip().endswith("; 1 added, 0 changed, 0 removed; 1 skipped)")
    assert result.err == "qa: skipped ferry.md: no text\n"
