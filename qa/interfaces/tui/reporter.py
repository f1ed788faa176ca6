"""A qa.kernel.progress.Reporter that turns core progress into messages for the app."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from qa.interfaces.tui.messages import BuildProgressed, WorkWarned
from qa.kernel.progress import once

if TYPE_CHECKING:
    from textual.message import Message


class Target(Protocol):
    """Where the messages go: a Textual message pump (a screen), or anything else that takes them."""

    def post_message(self, message: Message) -> bool:
        """Queue the message."""


class MessageReporter:
    """Posts BuildProgressed and WorkWarned to `target` from any thread.

    Every step is posted: BuildProgressed.can_replace lets the target's queue keep only the latest of the progress
    waiting there, so a fast build does not flood the app.
    """

    def __init__(self, target: Target) -> None:
        self.target = target
        self.stage = ""
        self.total = 0
        self.done = 0
        self._warn = once(self._post_warning)

    def warn(self, message: str) -> None:
        """Post the warning (each distinct one once)."""
        self._warn(message)

    def _post_warning(self, message: str) -> None:
        self.target.post_message(WorkWarned(message))

    def start(self, stage: str, total: int) -> None:
        """Post the start of a stage."""
        self.stage, self.total, self.done = stage, total, 0
        self.post_progress()

    def advance(self, steps: int = 1) -> None:
        """Post the progress."""
        self.done += steps
        self.post_progress()

    def post_progress(self) -> None:
        """Post where the stage is."""
        self.target.post_message(BuildProgressed(self.stage, self.done, self.total))
