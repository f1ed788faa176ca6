"""The question input at the top of the app."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import Input

from qa.retrieval import MAX_QUESTION_CHARS


class QuestionInput(Input):
    """Enter asks; Down moves to the results."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down", "app.focus_results", "Results", show=False),
    ]

    def __init__(self) -> None:
        super().__init__(placeholder="Ask a question, then press Enter", max_length=MAX_QUESTION_CHARS, id="question")
