"""The ask bar at the top of the app: the question input and the retrieval mode."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Input, Static

from qa.kernel.settings import DEFAULT_MODE, MAX_QUESTION_CHARS, Mode


class QuestionInput(Input):
    """Enter asks; Down moves to the results."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down", "screen.focus_results", "Results", show=False),
    ]

    def __init__(self) -> None:
        super().__init__(placeholder="Ask a question, then press Enter", max_length=MAX_QUESTION_CHARS, id="question")


class ModeLabel(Static):
    """The retrieval mode, beside the key that switches it."""

    mode: reactive[Mode] = reactive(DEFAULT_MODE)

    def __init__(self) -> None:
        super().__init__(id="mode")

    def watch_mode(self, mode: Mode) -> None:
        """Show the mode."""
        self.update(Content.assemble(("F2 ", "$text-muted"), (mode, "bold $accent")))
