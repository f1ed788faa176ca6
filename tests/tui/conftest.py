"""Fixtures for driving the real app with Pilot: prebuilt indexes, blocking embedders, and waiting for workers."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence

import numpy as np
from textual.pilot import Pilot

from qa.answering.answer import Hit
from qa.interfaces.tui.app import QAApp
from qa.interfaces.tui.main_screen import MainScreen
from qa.interfaces.tui.messages import Answered
from qa.interfaces.tui.question import QuestionInput
from tests.fakes import FakeEmbedder

FOOLS_ERRAND = "Who called export controls a fool's errand?"
SIZE = (100, 30)  # columns, rows of the app in tests


class GatedEmbedder(FakeEmbedder):
    """A FakeEmbedder whose `embed` waits until the test opens the gate (to catch the app mid-work)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.waiting = threading.Event()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.waiting.set()
        if not self.gate.wait(timeout=30):
            raise TimeoutError("the test never opened the gate")
        return super().embed(texts)


def main_screen(pilot: Pilot[None]) -> MainScreen:
    """The app's main screen (question, results, status), whichever screen is on top."""
    app = pilot.app
    assert isinstance(app, QAApp)
    return app.main


async def toasts(pilot: Pilot[None]) -> list[str]:
    """The notifications on screen, as drawn (title, a new line, then the message; no title, the message); the
    app must run with `run_test(notifications=True)`."""
    await pilot.pause()
    await pilot.pause()
    return [str(toast.render()) for toast in pilot.app.screen.query("Toast")]


async def settle(pilot: Pilot[None], rounds: int = 20) -> None:
    """Wait until no worker runs and the messages they posted (and the work those start) are handled."""
    app = pilot.app
    calm = 0
    for _ in range(rounds):
        await app.workers.wait_for_complete()
        await pilot.pause()
        busy = any(worker.is_running for worker in app.workers)
        calm = 0 if busy else calm + 1
        if calm >= 2:
            return


async def ask(pilot: Pilot[None], question: str) -> None:
    """Put the question in the input, press Enter and wait for the answer."""
    main = main_screen(pilot)
    main.action_focus_question()
    main.query_one(QuestionInput).value = question
    await pilot.press("enter")
    await settle(pilot)


async def show_fixed_answer(pilot: Pilot[None], question: str, answered: bool) -> None:
    """Ask, then show a fixed answer (the Raimondo passage and the two after it, with fixed scores).

    Snapshots then show the app's drawing, not the current retrieval tuning.
    """
    main = main_screen(pilot)
    await ask(pilot, question)
    store = main.store
    assert store is not None
    passages = store.passages(range(store.size))
    first = next(row for row, passage in enumerate(passages) if "Raimondo" in passage.text)
    hits = []
    for rank, (row, score) in enumerate(zip((first, first + 1, first + 2), (0.703, 0.196, 0.16), strict=True), 1):
        passage = passages[row]
        sentence = next((span for span in passage.sentences if "Raimondo" in passage.text[span[0] : span[1]]), None)
        hits.append(Hit(rank, passage, score, score, None, sentence or passage.sentences[0]))
    assert main.answer is not None
    reason = None if answered else "the highlighted sentences score at most 0.20, below the 0.35 threshold"
    fixed = dataclasses.replace(
        main.answer, answered=answered, confidence=0.7 if answered else 0.2, hits=tuple(hits), reason=reason
    )
    main.post_message(Answered(main.queue.serial, fixed))
    await settle(pilot)
