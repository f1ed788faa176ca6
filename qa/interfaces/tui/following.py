"""Following the corpus from the app: a watcher in a thread of its own, whose updates the app is told of (no Textual
import: the screen turns them into messages)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from qa.kernel.progress import Reporter, SilentReporter

if TYPE_CHECKING:
    from qa.engine.engine import Engine
    from qa.engine.status import IndexStatus
    from qa.engine.watcher import Update
    from qa.index.building import BuildResult
    from qa.index.stores.base import PassageStore

Opened = Callable[["PassageStore", "IndexStatus", "BuildResult"], object]
Watched = Callable[["Update", "IndexStatus | None", "Exception | None"], object]


class CorpusFollower:
    """Keeps the index current once started: an update's new generation is opened and handed to `opened`; other
    updates (and failures) go to `watched`. Not a Textual worker: it runs until `stop`."""

    def __init__(self, engine: Engine, reporter: Reporter, opened: Opened, watched: Watched) -> None:
        self.engine = engine
        self.reporter = reporter
        self.opened = opened
        self.watched = watched
        self._stop: threading.Event | None = None

    @property
    def started(self) -> bool:
        """Whether the watcher was started."""
        return self._stop is not None

    @property
    def stopped(self) -> bool:
        """Whether the watcher was told to stop."""
        return self._stop is not None and self._stop.is_set()

    def start(self) -> None:
        """Start watching, once."""
        if self._stop is not None:
            return
        from qa.engine.watcher import Watcher

        self._stop = threading.Event()
        watcher = Watcher(self.engine, self.reporter, self._update)
        threading.Thread(target=watcher.run, args=(self._stop,), name="qa-watcher", daemon=True).start()

    def stop(self) -> None:
        """Stop watching (the watcher ends at its next wake-up)."""
        if self._stop is not None:
            self._stop.set()

    def _update(self, update: Update) -> None:
        """Runs in the watcher's thread: open the generation an update built, or pass the update on."""
        try:
            if update.kind == "built" and update.result is not None and not update.result.noop:
                status = self.engine.status(SilentReporter())
                store, _ = self.engine.open(SilentReporter(), status)
                self.opened(store, status, update.result)
                return
            changed = self.engine.status(SilentReporter()) if update.kind == "updating" else None
        except Exception as error:  # reported in the app, never a dead watcher thread
            self.watched(update, None, error)
            return
        self.watched(update, changed, None)
