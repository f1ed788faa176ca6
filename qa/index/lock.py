"""The build lock of an index folder: one builder at a time, a second one waiting (and saying so) before failing."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from qa.kernel.errors import QAError

if TYPE_CHECKING:
    from qa.kernel.progress import Reporter

LOCK = ".lock"
LOCK_WAIT_SECONDS = 600.0


@contextlib.contextmanager
def locked(index: Path, reporter: Reporter) -> Iterator[None]:
    """Hold the index's build lock; a second builder waits, saying so, then fails clearly."""
    import filelock

    index.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(str(index / LOCK))
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        reporter.warn(f"another qa index is building {index}; waiting for it to finish")
        try:
            lock.acquire(timeout=LOCK_WAIT_SECONDS)
        except filelock.Timeout as error:
            raise QAError(
                f"{index} stayed locked for {LOCK_WAIT_SECONDS:.0f} s by another qa index; try again"
            ) from error
    try:
        yield
    finally:
        lock.release()
