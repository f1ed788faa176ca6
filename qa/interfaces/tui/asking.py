"""The questions of a session: which is the latest, whether it waits to be sent or is being answered, and which
passage to keep selected when its answer arrives. No Textual: the main screen drives it.

Every asking gets a ticket with a serial number; answers and failures come back with that number, and only those of
the latest ticket are shown, so a slow answer to an older question never replaces a newer one.
"""

from __future__ import annotations

from dataclasses import dataclass

from qa.kernel.settings import clean_question


@dataclass(frozen=True)
class Ticket:
    """One asking of a question."""

    serial: int
    question: str
    keep: str | None = None
    """The id of the passage to keep selected when the answer lists it (asking again after a mode switch or a
    rebuild); None selects the first."""


class AskQueue:
    """The latest question and its progress: pending (waiting for the index or the model), then asking (sent to
    a worker), then finished (its answer or failure arrived)."""

    def __init__(self) -> None:
        self.latest: Ticket | None = None
        self.pending: Ticket | None = None
        self.asking = False

    @property
    def serial(self) -> int:
        """The latest ticket's serial number; 0 before the first question."""
        return self.latest.serial if self.latest is not None else 0

    @property
    def question(self) -> str:
        """The latest question; empty before the first."""
        return self.latest.question if self.latest is not None else ""

    def submit(self, question: str) -> Ticket | None:
        """Queue a question the user asked, cleaned (InputError when it is unusable); None when it is the question
        already waiting or being answered (Enter pressed again), which stays queued as it was."""
        question = clean_question(question)
        if question == self.question and (self.pending is not None or self.asking):
            return None
        return self._queue(question, keep=None)

    def resubmit(self, keep: str | None = None) -> Ticket | None:
        """Queue the latest question again (in another mode, or of a rebuilt index), its answer to select passage
        `keep`; None before the first question."""
        if self.latest is None:
            return None
        return self._queue(self.latest.question, keep)

    def _queue(self, question: str, keep: str | None) -> Ticket:
        self.latest = self.pending = Ticket(self.serial + 1, question, keep)
        return self.latest

    def next_ready(self, can_answer: bool) -> Ticket | None:
        """The pending ticket, now being asked, when questions `can_answer` now; else None (it stays pending)."""
        ticket = self.pending
        if ticket is None or not can_answer:
            return None
        self.pending = None
        self.asking = True
        return ticket

    def finished(self, serial: int) -> Ticket | None:
        """The answer or failure for ticket `serial` arrived: that ticket when it is the latest (show the result),
        None when a newer question replaced it (drop the result)."""
        if self.latest is None or serial != self.latest.serial:
            return None
        self.asking = False
        return self.latest

    def drop_pending(self) -> bool:
        """Give up the question waiting to be sent (it cannot be answered); whether one was waiting."""
        dropped = self.pending is not None
        self.pending = None
        return dropped
