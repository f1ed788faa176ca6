"""What the background workers report to the app; posted from worker threads (post_message is thread-safe)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from qa.indexing import BuildResult
    from qa.retrieval import Answer
    from qa.status import IndexStatus
    from qa.store import Store


class ModelLoaded(Message):
    """The embedding model is loaded and ready to embed questions."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


class IndexOpened(Message):
    """An index is open for searching: at startup, or after a rebuild (`rebuilt`)."""

    def __init__(self, store: Store, status: IndexStatus, result: BuildResult | None, rebuilt: bool = False) -> None:
        super().__init__()
        self.store = store
        self.status = status
        self.result = result
        self.rebuilt = rebuilt


class StatusRead(Message):
    """The index status was read, before opening or (with `rebuild`) rebuilding the index."""

    def __init__(self, status: IndexStatus, rebuild: bool = False) -> None:
        super().__init__()
        self.status = status
        self.rebuild = rebuild


class AnswerReady(Message):
    """The answer to the question with this serial number."""

    def __init__(self, serial: int, answer: Answer) -> None:
        super().__init__()
        self.serial = serial
        self.answer = answer


class BuildProgressed(Message):
    """A build stage moved on: `done` of `total` steps."""

    def __init__(self, stage: str, done: int, total: int) -> None:
        super().__init__()
        self.stage = stage
        self.done = done
        self.total = total


class WorkWarned(Message):
    """A problem that did not stop the work, such as a skipped file."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class WorkFailed(Message):
    """A worker stopped with an error; `task` is "model", "index", "rebuild" or "ask"."""

    def __init__(self, task: str, error: BaseException, serial: int = 0) -> None:
        super().__init__()
        self.task = task
        self.error = error
        self.serial = serial
