"""`qa index --watch` as a real process: one line per update on stdout, Ctrl-C ends it cleanly with exit code 0."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

from qa.kernel.paths import Paths
from tests.cli.conftest import Result, assert_one_line_error, where
from tests.corpora import write_doc
from tests.live import start_watch

TIMEOUT = 60


def next_line(process: subprocess.Popen[str]) -> str:
    """The next line the watcher prints (the test's own timeout guards against a silent one)."""
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line, "the watcher ended without printing"
    return line.rstrip("\n")


def test_watch_prints_one_line_per_update_and_ctrl_c_exits_zero(essay_paths: Paths, tmp_path: Path) -> None:
    errors = tmp_path / "watch.err"
    process = start_watch(essay_paths, errors)
    try:
        first = next_line(process)
        assert "indexed 1 document" in first
        write_doc(essay_paths.corpus, "orchard.md", "orchard apple harvest")
        second = next_line(process)
        assert "indexed 2 documents" in second
        assert "1 added" in second
        assert second.endswith("after orchard.md")
        subprocess.run(["sed", "-i", "s/orchard/cider/", str(essay_paths.corpus / "orchard.md")], check=True)
        edited = next_line(process)
        assert "1 changed" in edited
        assert edited.endswith("after orchard.md"), "sed -i's temporary file is not named"
        (essay_paths.corpus / ".orchard.md.swp").write_bytes(b"swap")
        (essay_paths.corpus / "orchard.md").unlink()
        third = next_line(process)
        assert "1 removed" in third
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=TIMEOUT) == 0
        assert process.stdout is not None
        assert process.stdout.read() == ""
    finally:
        process.kill()
        process.wait()
    log = errors.read_text()
    assert "qa: watching" in log
    assert log.rstrip().endswith("qa: stopped watching")
    assert "Traceback" not in log


def test_watch_waits_for_a_missing_corpus_and_says_so(paths: Paths, tmp_path: Path) -> None:
    paths.corpus.rmdir()
    process = start_watch(paths, tmp_path / "watch.err")
    try:
        missing = next_line(process)
        assert missing.endswith("is gone: waiting for it to come back (the index is kept as it was)")
        write_doc(paths.corpus, "orchard.md", "orchard apple harvest")
        assert next_line(process).endswith("is back")
        assert "indexed 1 document" in next_line(process)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=TIMEOUT) == 0
    finally:
        process.kill()
        process.wait()


def test_dry_run_and_watch_do_not_go_together(qa: Callable[..., Result], essay_paths: Paths) -> None:
    assert_one_line_error(qa("index", *where(essay_paths), "--watch", "--dry-run"), "--dry-run and --watch")
