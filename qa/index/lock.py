"""The build lock of an index folder: one builder at a time, a second one waiting (and saying so) before failing.
A build that fails in an index folder it created leaves no folder behind."""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from qa.kernel.errors import QAError

if TYPE_CHECKING:
    import filelock

    from qa.kernel.progress import Reporter

LOCK = ".lock"
LOCK_WAIT_SECONDS = 600.0


@contextlib.contextmanager
def locked(index: Path, reporter: Reporter) -> Iterator[None]:
    """Hold the index's build lock; a second builder waits, saying so, then fails clearly. When the work inside
    fails in a folder this call created (and its parents), the lock file and those folders are removed again, each
    once nothing else is left in it: a failed first build leaves nothing behind."""
    created = list(itertools.takewhile(lambda folder: not folder.exists(), (index, *index.parents)))
    lock = _acquire(index, reporter)
    try:
        yield
    except BaseException:
        if created:
            _discard(index, created)  # still holding the lock
        raise
    finally:
        lock.release()


def _acquire(index: Path, reporter: Reporter) -> filelock.FileLock:
    """The lock of `index`, created with its folder when missing; taken again when a failed first build removed
    the folder while this one waited."""
    import filelock

    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    warned = False
    while True:
        index.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(str(index / LOCK))
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            if not warned:
                reporter.warn(f"another qa index is building {index}; waiting for it to finish")
                warned = True
            try:
                lock.acquire(timeout=max(0.0, deadline - time.monotonic()))
            except filelock.Timeout as error:
                raise QAError(
                    f"{index} stayed locked for {LOCK_WAIT_SECONDS:.0f} s by another qa index; try again"
                ) from error
            except FileNotFoundError:
                continue  # the folder went away while waiting
        if (index / LOCK).exists():
            return lock
        lock.release()  # the lock file was removed while waiting: take the folder's new one


def _discard(index: Path, created: list[Path]) -> None:
    """Remove the lock file, then each folder in `created` (deepest first) while it is empty."""
    with contextlib.suppress(OSError):
        (index / LOCK).unlink()
    for folder in created:
        try:
            folder.rmdir()
        except OSError:
            return
