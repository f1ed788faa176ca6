"""How long-running core work reports progress and warnings to whichever interface runs it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Reporter(Protocol):
    """Receives warnings and stage progress from the core."""

    def warn(self, message: str) -> None:
        """A problem that did not stop the work, such as a skipped file."""

    def start(self, stage: str, total: int) -> None:
        """A stage of `total` steps begins."""

    def advance(self, steps: int = 1) -> None:
        """`steps` more steps of the current stage are done."""


class SilentReporter:
    """A reporter that keeps warnings in a list and ignores progress."""

    def __init__(self) -> None:
        self.warnings: list[str] = []

    def warn(self, message: str) -> None:
        """Remember the warning."""
        self.warnings.append(message)

    def start(self, stage: str, total: int) -> None:
        """Ignore the stage."""

    def advance(self, steps: int = 1) -> None:
        """Ignore progress."""


def once(warn: Callable[[str], None]) -> Callable[[str], None]:
    """`warn` that passes each distinct message on only the first time: one job may scan the corpus twice (its
    status, then the build's own plan) and meet the same unreadable file both times."""
    said: set[str] = set()

    def warn_once(message: str) -> None:
        if message not in said:
            said.add(message)
            warn(message)

    return warn_once
