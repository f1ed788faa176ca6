"""The watcher keeps the index current: debounced incremental builds, editors' temporary files ignored, renames,
bursts, the build lock, and a corpus folder that vanishes and comes back."""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from qa.engine.engine import Engine
from qa.engine.watcher import Update, Watcher, ignored
from qa.index.lock import locked
from qa.index.stores.files.store import Store
from qa.kernel.paths import Paths
from qa.kernel.progress import SilentReporter
from tests.corpora import write_doc
from tests.fakes import FakeEmbedder, given

TIMEOUT = 30.0


class Running:
    """A watcher running in a thread, with the updates it reported."""

    def __init__(self, paths: Paths) -> None:
        self.paths = paths
        self.updates: queue.Queue[Update] = queue.Queue()
        self.seen: list[Update] = []
        self.stop = threading.Event()
        self.reporter = SilentReporter()
        engine = Engine(paths, None, given(FakeEmbedder()))
        self.watcher = Watcher(engine, self.reporter, self.updates.put, quiet_ms=150, burst_ms=1500, wake_ms=200)
        self.thread = threading.Thread(target=self.watcher.run, args=(self.stop,), daemon=True)

    def next(self, accept: Callable[[Update], bool] = lambda update: True, timeout: float = TIMEOUT) -> Update:
        """The next update that `accept` takes, skipping others; fails after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no such update within {timeout} s; saw {[u.as_json() for u in self.seen]}"
            try:
                update = self.updates.get(timeout=remaining)
            except queue.Empty:
                continue
            self.seen.append(update)
            if accept(update):
                return update

    def quiet(self, seconds: float) -> list[Update]:
        """The updates reported during the next `seconds`."""
        time.sleep(seconds)
        found = []
        while not self.updates.empty():
            found.append(self.updates.get())
        self.seen.extend(found)
        return found

    def ids(self) -> list[str]:
        store = Store.open(self.paths.index)
        try:
            return store.document_ids()
        finally:
            store.close()


def built(update: Update) -> bool:
    """A build that changed the index."""
    return update.kind == "built" and update.result is not None and not update.result.noop


@pytest.fixture
def running(essay_paths: Paths) -> Iterator[Running]:
    watching = Running(essay_paths)
    watching.thread.start()
    first = watching.next(lambda update: update.kind != "updating")
    assert first.kind == "built"
    assert first.first
    assert first.result is not None
    assert first.result.documents == 1
    yield watching
    watching.stop.set()
    watching.thread.join(timeout=TIMEOUT)
    assert not watching.thread.is_alive()


@pytest.mark.parametrize(
    "name",
    [
        ".notes.md.swp",
        "notes.md.swx",
        "notes.md~",
        ".#notes.md",
        "#notes.md#",
        "4913",
        "notes.md.tmp",
        "download.pdf.part",
        "notes.md___jb_tmp___",
        ".hidden.md",
        ".git/config",
        "sub/.cache/x.md",
        "image.png",
        "notes.odt",
    ],
)
def test_editor_temporary_hidden_and_unread_files_are_ignored(tmp_path: Path, name: str) -> None:
    corpus = tmp_path / "corpus"
    assert ignored(corpus / name, corpus)


@pytest.mark.parametrize("name", ["notes.md", "a/b/report.PDF", "book.epub", "letter.docx", "renamed-folder", ""])
def test_documents_and_folders_count(tmp_path: Path, name: str) -> None:
    corpus = tmp_path / "corpus"
    assert not ignored(corpus / name if name else corpus, corpus)


def test_a_file_without_a_suffix_is_ignored_unless_it_is_or_was_a_folder_of_documents(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "notes").mkdir(parents=True)
    (corpus / "Makefile").write_text("all:\n")
    indexed = ["notes/a.md", "gone/b.md", "v1.2/c.md"]

    def held() -> list[str]:
        return indexed

    assert ignored(corpus / "Makefile", corpus, indexed=held), "a file of a kind qa does not read"
    assert ignored(corpus / "sedwU69oR", corpus, indexed=held), "sed -i's temporary file, renamed away"
    assert ignored(corpus / "notes" / "sedAbC123", corpus, indexed=held)
    assert ignored(corpus / "empty-folder", corpus, indexed=held), "gone, and held no documents"
    assert not ignored(corpus / "notes", corpus, indexed=held), "a folder"
    assert not ignored(corpus / "gone", corpus, indexed=held), "a folder of documents, moved away"
    assert not ignored(corpus / "v1.2", corpus, indexed=held), "a folder whose name has a dot"
    assert not ignored(corpus / "sedwU69oR", corpus, indexed=lambda: None), "what the index holds is unknown"


def test_the_index_folder_is_ignored_even_inside_the_corpus(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    assert ignored(corpus / "index" / "manifest.json", corpus, corpus / "index")
    assert ignored(tmp_path / "elsewhere.md", corpus)


def test_a_new_file_is_indexed_and_the_update_says_what_changed(running: Running) -> None:
    write_doc(running.paths.corpus, "orchard.md", "orchard apple harvest")
    updating = running.next()
    assert updating.kind == "updating", "the update is reported before the build"
    assert updating.trigger == ("orchard.md",)
    update = running.next()
    assert built(update)
    assert update.result is not None
    assert update.result.changes.added == ["orchard.md"]
    assert update.trigger == ("orchard.md",)
    assert not update.first
    assert update.as_json()["result"]["added"] == ["orchard.md"]
    assert running.ids() == ["no-winners-ai-race.md", "orchard.md"]


def test_editor_saves_and_swap_files_give_one_update_or_none(running: Running) -> None:
    corpus = running.paths.corpus
    (corpus / ".essay.md.swp").write_bytes(b"vim swap")
    (corpus / "4913").write_bytes(b"")
    (corpus / "notes.md~").write_text("backup")
    assert running.quiet(1.5) == []
    # An editor's safe save: write a temporary file, then rename it over the document.
    path = write_doc(corpus, "orchard.md", "orchard apple harvest")
    running.next(built)
    temporary = corpus / "orchard.md.tmp"
    temporary.write_text(path.read_text() + "\nA new closing paragraph about cider presses and their owners.\n")
    os.replace(temporary, path)
    update = running.next(built)
    assert update.result is not None
    assert update.result.changes.changed == ["orchard.md"]
    assert [update for update in running.quiet(1.0) if update.kind == "built"] == []


def test_sed_in_place_gives_one_update_after_the_document_alone(running: Running) -> None:
    # The user's step: `sed -i` writes sedXXXXXX beside the file and renames it over the file; the update was logged
    # "after ferry.md, sedwU69oR".
    corpus = running.paths.corpus
    path = write_doc(corpus, "notes/ferry.md", "island ferry timetable")
    running.next(built)
    before = len(running.seen)
    subprocess.run(["sed", "-i", "s/timetable/schedule/", str(path)], check=True)
    update = running.next(built)
    assert update.result is not None
    assert update.result.changes.changed == ["notes/ferry.md"]
    assert update.trigger == ("notes/ferry.md",)
    assert update.changes == 1
    assert running.quiet(1.0) == []
    assert [seen.trigger for seen in running.seen[before:] if seen.trigger] == [("notes/ferry.md",)] * 2


def test_a_folder_of_documents_moved_out_of_the_corpus_is_followed(running: Running, tmp_path: Path) -> None:
    corpus = running.paths.corpus
    write_doc(corpus, "archive/orchard.md", "orchard apple harvest")
    running.next(built)
    (corpus / "archive").rename(tmp_path / "archive-elsewhere")
    update = running.next(
        lambda update: built(update) and update.result is not None and bool(update.result.changes.removed)
    )
    assert update.trigger == ("archive",)
    assert running.ids() == ["no-winners-ai-race.md"]


def test_renames_of_files_and_folders_are_followed(running: Running) -> None:
    corpus = running.paths.corpus
    write_doc(corpus, "notes/orchard.md", "orchard apple harvest")
    running.next(built)
    (corpus / "notes" / "orchard.md").rename(corpus / "notes" / "apples.md")
    running.next(lambda update: built(update) and update.result is not None and bool(update.result.changes.removed))
    assert running.ids() == ["no-winners-ai-race.md", "notes/apples.md"]
    (corpus / "notes").rename(corpus / "fruit")
    running.next(lambda update: built(update) and update.result is not None and bool(update.result.changes.added))
    assert running.ids() == ["fruit/apples.md", "no-winners-ai-race.md"]


def test_a_burst_of_hundreds_of_changes_ends_in_a_few_builds_and_loses_none(running: Running) -> None:
    corpus = running.paths.corpus
    for number in range(300):
        write_doc(corpus, f"burst/doc{number:03}.md", f"topic {number}", paragraphs=1)
    for number in range(0, 300, 3):
        (corpus / f"burst/doc{number:03}.md").unlink()
    expected = ["no-winners-ai-race.md"] + [f"burst/doc{n:03}.md" for n in range(300) if n % 3]
    deadline = time.monotonic() + 60
    while sorted(running.ids()) != sorted(expected):
        assert time.monotonic() < deadline, "the burst never settled into the index"
        running.quiet(0.5)
    builds = [update for update in running.seen if update.kind == "built"]
    assert 1 <= len(builds) <= 10, [update.as_json() for update in builds]
    assert [update for update in running.quiet(1.0) if update.kind == "built"] == []


def test_a_held_build_lock_is_waited_for(running: Running) -> None:
    with locked(running.paths.index, SilentReporter()):
        write_doc(running.paths.corpus, "orchard.md", "orchard apple harvest")
        assert [update for update in running.quiet(1.5) if update.kind == "built"] == []
    update = running.next(built)
    assert update.result is not None
    assert update.result.changes.added == ["orchard.md"]
    assert any("another qa index is building" in warning for warning in running.reporter.warnings)


def test_a_vanished_corpus_is_reported_and_followed_when_it_comes_back(running: Running) -> None:
    corpus = running.paths.corpus
    essay = (corpus / "no-winners-ai-race.md").read_bytes()
    shutil.rmtree(corpus)
    missing = running.next(lambda update: update.kind == "missing")
    assert (
        missing.message == f"corpus folder {corpus} is gone: waiting for it to come back (the index is kept as it was)"
    )
    assert running.ids() == ["no-winners-ai-race.md"], "the index is kept"
    corpus.mkdir()
    (corpus / "no-winners-ai-race.md").write_bytes(essay)
    write_doc(corpus, "orchard.md", "orchard apple harvest")
    assert running.next(lambda update: update.kind != "built").kind == "returned"
    running.next(built)
    assert running.ids() == ["no-winners-ai-race.md", "orchard.md"]
    write_doc(corpus, "later.md", "later news", paragraphs=1)
    running.next(
        lambda update: built(update) and update.result is not None and update.result.changes.added == ["later.md"]
    )


def test_a_corpus_folder_replaced_by_another_is_watched_in_its_place(running: Running) -> None:
    corpus = running.paths.corpus
    replacement = corpus.parent / "replacement"
    replacement.mkdir()
    shutil.copy(corpus / "no-winners-ai-race.md", replacement)
    write_doc(replacement, "orchard.md", "orchard apple harvest")
    corpus.rename(corpus.parent / "old-corpus")
    replacement.rename(corpus)
    running.next(
        lambda update: built(update) and update.result is not None and "orchard.md" in update.result.changes.added
    )
    write_doc(corpus, "later.md", "later news", paragraphs=1)
    running.next(
        lambda update: built(update) and update.result is not None and update.result.changes.added == ["later.md"]
    )


def test_an_emptied_corpus_is_a_failed_update_that_says_how_to_fix_it(running: Running) -> None:
    (running.paths.corpus / "no-winners-ai-race.md").unlink()
    failed = running.next(lambda update: update.kind == "failed")
    assert failed.message is not None
    assert "has no documents (.md, .txt, .html, .pdf, .docx or .epub): add some" in failed.message
    write_doc(running.paths.corpus, "orchard.md", "orchard apple harvest")
    running.next(built)
    assert running.ids() == ["orchard.md"]
