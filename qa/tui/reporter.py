"""A qa.progress.Reporter that turns core progress into messages for the app."""

from __future__ import annotations

import time

from textual.message_pump import MessagePump

from qa.progress import once
from qa.tui.messages import BuildProgressed, WorkWarned

POST_EVERY_SECONDS = 0.05


class MessageReporter:
    """Posts BuildProgressed and WorkWarned to `target` from any thread; progress at most ~20 times a second."""

    def __init__(self, target: MessagePump) -> None:
        self.target = target
        self.stage = ""
        self.total = 0
        self.done = 0
        self._posted_at = 0.0
        self._warn = once(self._post_warning)

    def warn(self, message: str) -> None:
        """Post the warning (each distinct one once)."""
        self._warn(message)

    def _post_warning(self, message: str) -> None:
        self.target.post_message(WorkWarned(message))

    def start(self, stage: str, total: int) -> None:
        """Post the start of a stage."""
        self.stage, self.total, self.done = stage, total, 0
        self._post()

    def advance(self, steps: int = 1) -> None:
        """Post progress when the stage ends or enough time has passed."""
        self.done += steps
        if self.done >= self.total or time.monotonic() - self._posted_at >= POST_EVERY_SECONDS:
            self._post()

    def _post(self) -> None:
        self._posted_at = time.monotonic()
        self.target.post_message(BuildProgressed(self.stage, self.done, self.total))
