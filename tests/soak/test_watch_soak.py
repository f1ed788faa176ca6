"""`qa index --watch` (real model, real process) under a scripted mix of edits for $QA_SOAK_SECONDS: memory stays
within 20% of its post-warm-up size, every update lands (the final index equals a fresh full build), and Ctrl-C
ends it with exit code 0."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from qa.kernel.paths import Paths
from tests.live import start_watch
from tests.soak.load import (
    MAX_GROWTH,
    CorpusEditor,
    assert_same_index,
    fresh_build,
    report,
    rss_mb,
    settled,
    soak_seconds,
)

pytestmark = [pytest.mark.soak, pytest.mark.model, pytest.mark.slow]


def test_watcher_soak(essay_paths: Paths, tmp_path: Path) -> None:
    seconds = soak_seconds()
    errors = tmp_path / "watch.err"
    process = start_watch(essay_paths, errors, real_model=True)
    lines: list[str] = []
    assert process.stdout is not None
    output = process.stdout
    reader = threading.Thread(target=lambda: lines.extend(iter(output.readline, "")), daemon=True)
    reader.start()
    editor = CorpusEditor(essay_paths.corpus)
    try:
        _wait_for(lambda: bool(lines), 300, "the first build")
        began = time.monotonic()
        warm_rss = None
        while (elapsed := time.monotonic() - began) < seconds:
            editor.step()
            time.sleep(editor.random.uniform(0.2, 1.0))
            if warm_rss is None and elapsed >= max(10.0, seconds / 4):
                warm_rss = rss_mb(process.pid)
        settled(essay_paths)
        time.sleep(3)  # let a last burst's build finish before measuring
        settled(essay_paths)
        end_rss = rss_mb(process.pid)
        assert warm_rss is not None
        fresh = fresh_build(essay_paths, tmp_path / "fresh-index", real_model=True)
        assert_same_index(essay_paths.index, fresh.index)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=120) == 0
    finally:
        process.kill()
        process.wait()
    reader.join(timeout=10)
    log = errors.read_text()
    assert "Traceback" not in log
    failed = [line for line in lines if "indexed" not in line]
    assert failed == [], "every update built the index"
    growth = (end_rss - warm_rss) / warm_rss
    report(
        "watch",
        {
            "seconds": seconds,
            "edits": editor.edits,
            "edit_kinds": editor.counts,
            "updates": len(lines),
            "rss_warm_mb": round(warm_rss, 1),
            "rss_end_mb": round(end_rss, 1),
            "growth": round(growth, 3),
        },
    )
    assert growth <= MAX_GROWTH


def _wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.2)
