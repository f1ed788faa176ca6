"""What the background workers report to the main screen, in the past tense; posted from worker threads
(post_message is thread-safe). Each failure has its own type, carrying the error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from qa.answering.answer import Answer
    from qa.engine.status import IndexStatus
    from qa.engine.watcher import Update
    from qa.index.building import BuildResult
    from qa.index.stores.base import PassageStore


@dataclass
class ModelLoaded(Message, bubble=False):
    """The embedding model is loaded and ready to embed questions."""

    name: str


@dataclass
class ModelFailed(Message, bubble=False):
    """The embedding model could not be loaded."""

    error: BaseException


@dataclass
class StatusRead(Message, bubble=False):
    """The index status was read, before opening or (with `rebuild`) rebuilding the index."""

    status: IndexStatus
    rebuild: bool = False


@dataclass
class IndexOpened(Message, bubble=False):
    """An index is open for searching: at startup, or after a rebuild (`rebuilt`); `result` when a build ran."""

    store: PassageStore
    status: IndexStatus
    result: BuildResult | None
    rebuilt: bool = False


@dataclass
class IndexFailed(Message, bubble=False):
    """Opening (or, with `rebuild`, rebuilding) the index failed."""

    error: BaseException
    rebuild: bool = False


@dataclass
class Answered(Message, bubble=False):
    """The answer to the question with this serial number."""

    serial: int
    answer: Answer


@dataclass
class AskFailed(Message, bubble=False):
    """The question with this serial number could not be answered."""

    serial: int
    error: BaseException


@dataclass
class BuildProgressed(Message, bubble=False):
    """A build stage moved on: `done` of `total` steps. Newer progress replaces progress not yet drawn."""

    stage: str
    done: int
    total: int

    def can_replace(self, message: Message) -> bool:
        """Progress waiting in the queue behind this one supersedes it: only the latest is drawn."""
        return isinstance(message, BuildProgressed)


@dataclass
class WorkWarned(Message, bubble=False):
    """A problem that did not stop the work, such as a skipped file."""

    text: str


@dataclass
class CorpusWatched(Message, bubble=False):
    """The corpus watcher begins an update (`status`: the index status before it), found the corpus folder missing
    or back, failed to update the index (`error`, or the update's message), or found nothing to update. An update
    that built a new generation is reported as IndexOpened instead."""

    update: Update
    status: IndexStatus | None = None
    error: BaseException | None = None
