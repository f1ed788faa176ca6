"""Faults: concurrent builds, queries during a rebuild, builds killed with SIGKILL, damaged index files."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from qa.answering.retrieval import Searcher, Settings
from qa.index import building as indexing
from qa.index import lock, manifest
from qa.index.stores.files.store import Store
from qa.kernel.errors import IndexCorruptError, IndexMissingError, QAError
from qa.kernel.paths import Paths
from qa.kernel.progress import SilentReporter
from qa.models.embedding import DEFAULT_MODEL
from tests.conftest import REPO
from tests.corpora import write_doc
from tests.fakes import FakeEmbedder

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="uses SIGKILL and POSIX file locks")

# A real build process with the fake embedder, slowed down at one stage so a test can race or kill it.
# stage "embed": every embedder call notes itself in SIGNAL and sleeps; stage "write": the generation folder is
# half written (table and vectors on disk, no FAISS index yet) when it notes itself and sleeps.
BUILDER = """
import sys, time
from pathlib import Path
from qa.index import building as indexing
from qa.index.stores.files import writing
from qa.kernel.paths import Paths
from tests.fakes import FakeEmbedder, SlowEmbedder

corpus, folder, signal, stage, seconds, name = sys.argv[1:7]
signal, seconds = Path(signal), float(seconds)
if stage == "embed":
    embedder = SlowEmbedder(signal, seconds, name=name)
else:
    embedder = FakeEmbedder(name=name)
    make_vector_index = writing.make_vector_index

    def slow_vector_index(vectors):
        signal.write_text("writing")
        time.sleep(seconds)
        return make_vector_index(vectors)

    writing.make_vector_index = slow_vector_index


class Printer:
    def warn(self, message):
        print(message, flush=True)

    def start(self, stage, total):
        pass

    def advance(self, steps=1):
        pass


result = indexing.build(Paths(Path(corpus), Path(folder)), embedder, Printer())
print("built", result.passages, flush=True)
"""
QUESTION = "Who leads chip foundries?"


def start_builder(
    paths: Paths, tmp_path: Path, stage: str, seconds: float, name: str = "fake-hash-64"
) -> tuple[subprocess.Popen[str], Path]:
    marker = tmp_path / f"signal-{time.monotonic_ns()}"
    process = subprocess.Popen(
        [sys.executable, "-c", BUILDER, str(paths.corpus), str(paths.index), str(marker), stage, str(seconds), name],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return process, marker


def wait_for(marker: Path, process: subprocess.Popen[str], timeout: float = 60.0) -> None:
    """Wait until the builder reached its slow stage; fail if it died first."""
    deadline = time.monotonic() + timeout
    while not (marker.exists() and marker.read_text()):
        if process.poll() is not None:
            raise AssertionError(f"builder exited early with {process.returncode}: {process.communicate()}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError("builder never reached its slow stage")
        time.sleep(0.05)


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    """Builder processes a test started, killed at the end whatever happened."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate()


def answer_ids(index_dir: Path) -> list[str]:
    store = Store.open(index_dir)
    try:
        return [hit.passage.id for hit in Searcher(store, FakeEmbedder()).ask(QUESTION, Settings(k=5)).hits]
    finally:
        store.close()


def generations(index_dir: Path) -> list[str]:
    return sorted(path.name for path in index_dir.iterdir() if path.name.startswith(indexing.GENERATION_PREFIX))


@pytest.fixture
def built(essay_paths: Paths) -> Paths:
    """The essay indexed with the fake embedder, and a new document waiting to be indexed."""
    indexing.build(essay_paths, FakeEmbedder(), SilentReporter())
    write_doc(essay_paths.corpus, "glaciers.md", "glaciers of the northern valley")
    return essay_paths


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["embed", "write"])
def test_build_killed_halfway_leaves_the_old_index_intact(
    built: Paths, tmp_path: Path, processes: list[subprocess.Popen[str]], stage: str
) -> None:
    before = manifest.read(built.index)
    answers = answer_ids(built.index)
    process, marker = start_builder(built, tmp_path, stage, seconds=60)
    processes.append(process)
    wait_for(marker, process)
    if stage == "write":
        assert len(generations(built.index)) == 2, "the killed build had started writing its generation"
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait(timeout=10) == -signal.SIGKILL
    assert manifest.read(built.index) == before
    assert answer_ids(built.index) == answers
    assert "glaciers.md" not in Store.open(built.index).document_ids()
    reporter = SilentReporter()
    result = indexing.build(built, FakeEmbedder(), reporter)
    assert reporter.warnings == [], "the lock died with the killed process"
    assert result.changes.added == ["glaciers.md"]
    assert generations(built.index) == sorted([before.generation, manifest.read(built.index).generation])


@pytest.mark.slow
def test_second_build_waits_for_the_lock_then_fails_clearly(
    built: Paths, tmp_path: Path, processes: list[subprocess.Popen[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    process, marker = start_builder(built, tmp_path, "embed", seconds=60)
    processes.append(process)
    wait_for(marker, process)
    monkeypatch.setattr(lock, "LOCK_WAIT_SECONDS", 0.5)
    reporter = SilentReporter()
    embedder = FakeEmbedder()
    with pytest.raises(QAError, match=r"stayed locked .* by another qa index; try again"):
        indexing.build(built, embedder, reporter)
    assert reporter.warnings == [f"another qa index is building {built.index}; waiting for it to finish"]
    assert embedder.calls == []


@pytest.mark.slow
def test_two_qa_index_processes_never_write_at_once(
    built: Paths, tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    """A real `qa index` started during a slow build waits for it, then finds the index up to date."""
    indexing.build(built, FakeEmbedder(name=DEFAULT_MODEL), SilentReporter(), full=True)
    write_doc(built.corpus, "tides.md", "spring tides")
    first, marker = start_builder(built, tmp_path, "embed", seconds=1.5, name=DEFAULT_MODEL)
    processes.append(first)
    wait_for(marker, first)
    second = subprocess.run(
        [sys.executable, "-m", "qa", "index", "--corpus", str(built.corpus), "--index", str(built.index)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out, _ = first.communicate(timeout=60)
    assert first.returncode == 0
    assert out.splitlines()[-1].startswith("built ")
    assert second.returncode == 0, second.stderr
    assert "another qa index is building" in second.stderr
    assert second.stdout.startswith("index is up to date: 3 documents")
    assert sorted(manifest.read(built.index).documents) == ["glaciers.md", "no-winners-ai-race.md", "tides.md"]


@pytest.mark.slow
def test_queries_during_a_rebuild_use_the_old_index_until_the_swap(
    built: Paths, tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    old_store = Store.open(built.index)
    old_searcher = Searcher(old_store, FakeEmbedder())
    old_answer = [hit.passage.id for hit in old_searcher.ask(QUESTION).hits]
    generation = manifest.read(built.index).generation
    process, marker = start_builder(built, tmp_path, "embed", seconds=1.0)
    processes.append(process)
    wait_for(marker, process)
    assert manifest.read(built.index).generation == generation
    assert answer_ids(built.index) == old_answer
    assert "glaciers.md" not in Store.open(built.index).document_ids()
    process.communicate(timeout=60)
    assert process.returncode == 0
    assert manifest.read(built.index).generation != generation
    assert "glaciers.md" in Store.open(built.index).document_ids()
    assert [hit.passage.id for hit in old_searcher.ask(QUESTION).hits] == old_answer, "readers of the old one go on"
    old_store.close()


def index_files(paths: Paths) -> list[str]:
    indexing.build(paths, FakeEmbedder(), SilentReporter())
    return sorted(manifest.read(paths.index).files)


def test_every_index_file_is_size_checked(essay_paths: Paths) -> None:
    files = index_files(essay_paths)
    folder = essay_paths.index / manifest.read(essay_paths.index).generation
    for name in files:
        path = folder / name
        original = path.read_bytes()
        path.write_bytes(original + b"\0")
        with pytest.raises(
            IndexCorruptError,
            match=rf"damaged \({name} has {len(original) + 1:,} bytes, not .*\): run qa index to repair",
        ):
            Store.open(essay_paths.index)
        path.write_bytes(original)
    Store.open(essay_paths.index).close()


def test_manifest_of_another_format_version_needs_a_full_rebuild(essay_paths: Paths) -> None:
    index_files(essay_paths)
    path = essay_paths.index / manifest.MANIFEST
    raw = json.loads(path.read_text())
    path.write_text(json.dumps(raw | {"format_version": manifest.FORMAT_VERSION + 1}))
    with pytest.raises(IndexCorruptError, match="run qa index --full"):
        manifest.read(essay_paths.index)
    assert indexing.build(essay_paths, FakeEmbedder(), SilentReporter(), full=True).embedded > 0
    assert manifest.read(essay_paths.index).format_version == manifest.FORMAT_VERSION


def test_no_index_yet_says_to_build_one(paths: Paths) -> None:
    with pytest.raises(IndexMissingError, match="run qa index"):
        Store.open(paths.index)


def test_a_builder_waiting_on_a_failed_first_build_takes_the_lock_of_the_folder_again(tmp_path: Path) -> None:
    """A first build that fails removes the folder it created; a second one waiting on its lock builds there."""
    index = tmp_path / "new" / "index"
    holding, failing = threading.Event(), threading.Event()

    def first() -> None:
        with contextlib.suppress(RuntimeError), lock.locked(index, SilentReporter()):
            holding.set()
            failing.wait(10)
            raise RuntimeError("the corpus has no passages")

    reporter = SilentReporter()
    seen: list[bool] = []

    def second() -> None:
        with lock.locked(index, reporter):
            seen.append((index / lock.LOCK).is_file())

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    threads[0].start()
    assert holding.wait(10)
    threads[1].start()
    deadline = time.monotonic() + 10
    while not reporter.warnings and time.monotonic() < deadline:
        time.sleep(0.02)
    failing.set()
    for thread in threads:
        thread.join(20)
    assert reporter.warnings == [f"another qa index is building {index}; waiting for it to finish"]
    assert seen == [True], "the second build held the lock of a folder that exists"
