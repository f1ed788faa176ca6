"""Keep an index current while its corpus changes: watch the folder (watchfiles), let a burst of changes settle,
then update the index incrementally through the engine, under the index's build lock.

The build rescans the whole corpus, so change events only say *when* to build: an event lost or merged in a burst
cannot lose an update. Editors' temporary and swap files, hidden files and files of kinds qa does not read (files
without a suffix too, such as the one `sed -i` writes and renames over a document) are ignored. When the corpus
folder vanishes the watcher says so, keeps the index as it was and waits for the folder to come back (or to be
replaced by another at the same path), then catches up.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
import threading
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from qa.documents.loading import SUFFIXES
from qa.index.manifest import read_manifest
from qa.kernel.errors import QAError
from qa.kernel.progress import Reporter

if TYPE_CHECKING:
    from qa.engine.engine import Engine
    from qa.index.building import BuildResult

QUIET_MS = 400  # a burst of changes has settled after this long without another
BURST_MS = 5_000  # ... or, in a steady stream of changes, after this long
WAKE_MS = 1_000  # how often the watcher wakes to check for a stop and for a vanished corpus folder
# Editors' temporary, swap and backup files: vim (.swp and friends, 4913, ~), emacs (#name#, .#name), JetBrains
# (___jb_tmp___), downloads in progress, and files written before a rename (.tmp).
_TEMPORARY = re.compile(
    r"(~|\.sw[a-p]|\.tmp|\.temp|\.bak|\.part|\.crdownload|___jb_\w+___)$|^(4913|#.*#|\.#.*)$", re.IGNORECASE
)

Indexed = Callable[[], Collection[str] | None]  # the ids of the documents the index holds, None when unknown
UpdateKind = Literal["updating", "built", "missing", "returned", "failed"]


@dataclass(frozen=True)
class Update:
    """One thing the watcher saw or did: it is `updating` the index (a build begins, after changes or to catch up
    with the corpus), it `built` the index (`result`;
    `noop` when nothing had changed after all), found the corpus folder `missing`, saw it `returned`, or `failed` to
    build (`message` says why and how to fix it). `trigger` holds the corpus paths whose changes set it off (at most
    TRIGGER_NAMES of them) and `changes` how many there were; `first` marks the build as the watch begins."""

    kind: UpdateKind
    at: dt.datetime
    trigger: tuple[str, ...] = ()
    changes: int = 0
    result: BuildResult | None = None
    message: str | None = None
    first: bool = False

    def as_json(self) -> dict[str, Any]:
        """The update as a JSON object."""
        result = self.result
        built = None
        if result is not None:
            built = {
                "documents": result.documents,
                "passages": result.passages,
                "embedded": result.embedded,
                "seconds": result.seconds,
                "added": result.added,
                "changed": result.changed,
                "removed": result.changes.removed,
                "skipped": list(result.skipped),
                "noop": result.noop,
            }
        return {
            "kind": self.kind,
            "at": self.at.isoformat(timespec="seconds"),
            "trigger": list(self.trigger),
            "changes": self.changes,
            "result": built,
            "message": self.message,
            "first": self.first,
        }


TRIGGER_NAMES = 5


def ignored(path: Path, corpus: Path, index: Path | None = None, indexed: Indexed | None = None) -> bool:
    """Whether a change at `path` cannot change the index: editors' temporary, swap and backup files, hidden files
    and folders, anything in the index folder, and every path that is neither a file of a kind qa reads nor a
    folder.

    A path that is gone may have been a folder, renamed or deleted with all it held: it counts when the index
    holds documents below it (`indexed()` gives the ids of the documents the index holds, or None when they are
    unknown, and then a path without a suffix counts). So the temporary file `sed -i` writes and renames over the
    document (sedXXXXXX), gone by the time the change is looked at, is ignored like any other tool's, while a
    folder of documents moved away is followed."""
    if index is not None and _within(path, index):
        return True
    try:
        parts = path.relative_to(corpus).parts
    except ValueError:
        return not _within(corpus, path)  # outside the corpus, unless it is the corpus or a folder holding it
    if not parts:
        return False  # the corpus folder itself
    if any(part.startswith(".") for part in parts) or _TEMPORARY.search(parts[-1]):
        return True
    if path.suffix.lower() in SUFFIXES or path.is_dir():
        return False
    if os.path.lexists(path):
        return True  # a file of a kind qa does not read
    documents = indexed() if indexed is not None else None
    if documents is None:
        return bool(path.suffix)
    below = "/".join(parts) + "/"
    return not any(doc_id.startswith(below) for doc_id in documents)


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _identity(folder: Path) -> tuple[int, int] | None:
    """The folder's device and inode, None when it is missing: a folder replaced by another differs."""
    try:
        found = os.stat(folder)
    except OSError:
        return None
    return (found.st_dev, found.st_ino) if os.path.isdir(folder) else None


class Watcher:
    """Builds the index once, then again after each settled burst of relevant changes, until stopped.

    `notify` receives every Update, from the thread that runs `run`. Stop it by setting the `stop` event given to
    `run`, or with Ctrl-C (KeyboardInterrupt propagates, after the build lock is released).
    """

    def __init__(
        self,
        engine: Engine,
        reporter: Reporter,
        notify: Callable[[Update], None],
        *,
        quiet_ms: int = QUIET_MS,
        burst_ms: int = BURST_MS,
        wake_ms: int = WAKE_MS,
    ) -> None:
        self.engine = engine
        self.reporter = reporter
        self.notify = notify
        self.quiet_ms = quiet_ms
        self.burst_ms = burst_ms
        self.wake_ms = wake_ms
        self.corpus = engine.paths.corpus.absolute()
        self.index = engine.paths.index.absolute()

    def run(self, stop: threading.Event | None = None, full: bool = False) -> None:
        """Watch until `stop` is set: build as soon as the watch has begun (from scratch with `full`), then whenever
        the corpus changes."""
        stop = stop or threading.Event()
        first = True
        while not stop.is_set():
            if not self.corpus.is_dir():
                self._wait_for_corpus(stop)
                continue
            self._watch(stop, first, full and first)
            first = False

    def update(self, trigger: Iterable[str] = (), changes: int = 0, full: bool = False, first: bool = False) -> bool:
        """Build the index now and report it; False when the build should be tried again soon (files were moving
        under it)."""
        names = tuple(sorted(trigger))[:TRIGGER_NAMES]
        self.notify(Update("updating", _now(), names, changes, first=first))
        try:
            result = self.engine.build(self.reporter, full=full)
        except QAError as error:  # no documents left, another model's index, a lock held too long: say how to fix
            if self.corpus.is_dir():
                self.notify(Update("failed", _now(), names, changes, message=str(error)))
            return True
        except OSError as error:  # a file vanished between listing and reading it: try again once it settles
            self.reporter.warn(f"corpus changed during the update ({error.strerror or error}); trying again")
            return False
        self.notify(Update("built", _now(), names, changes, result=result, first=first))
        return True

    def _watch(self, stop: threading.Event, first: bool, full: bool) -> None:
        """Catch up with the corpus once the watch has begun (so no change slips between the two), then build after
        each burst of relevant changes until stopped or the corpus folder vanishes or is replaced."""
        import watchfiles

        identity = _identity(self.corpus)
        catch_up = True
        retry = False
        for batch in watchfiles.watch(
            self.corpus,
            watch_filter=None,
            debounce=self.burst_ms,
            step=self.quiet_ms,
            stop_event=stop,
            rust_timeout=self.wake_ms,
            yield_on_timeout=True,
            raise_interrupt=True,
        ):
            if stop.is_set():
                return
            if _identity(self.corpus) != identity:  # vanished, or another folder now stands at its path
                return
            relevant = self._relevant(path for _, path in batch)
            if catch_up:
                retry = not self.update((), 0, full=full, first=first)
                catch_up = False
            elif relevant or retry:
                trigger = (Path(path).relative_to(self.corpus).as_posix() for path in relevant)
                retry = not self.update(trigger, len(relevant))

    def _relevant(self, changed: Iterable[str]) -> set[str]:
        """The changed paths that can change the index (the ids the index holds are read once, and only when a
        path that is gone may have been a folder of documents)."""
        indexed = functools.cache(self._indexed_ids)
        return {path for path in changed if not ignored(Path(path), self.corpus, self.index, indexed)}

    def _indexed_ids(self) -> frozenset[str] | None:
        """The ids of the documents in the index as last built; None when they cannot be read."""
        try:
            found = read_manifest(self.index)
        except QAError:
            return None
        return frozenset(found.documents) if found is not None else frozenset()

    def _wait_for_corpus(self, stop: threading.Event) -> None:
        """Say the corpus folder is gone and wait for it to come back (checking every wake)."""
        self.notify(
            Update(
                "missing",
                _now(),
                message=f"corpus folder {self.corpus} is gone: waiting for it to come back (the index is kept as it "
                "was)",
            )
        )
        while not stop.wait(self.wake_ms / 1000):
            if self.corpus.is_dir():
                self.notify(Update("returned", _now(), message=f"corpus folder {self.corpus} is back"))
                return


def _now() -> dt.datetime:
    return dt.datetime.now().astimezone()
