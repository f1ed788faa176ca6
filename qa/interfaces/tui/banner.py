"""The line between the question and the results: a welcome, what the question waits for, or how it was answered."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.content import Content
from textual.widgets import Static

from qa.kernel.wording import not_in_corpus, plural

if TYPE_CHECKING:
    from qa.answering.answer import Answer

WELCOME = "Ask a question and press Enter; then ↑↓ pick a passage and Enter opens it in its source. F1: every key."


class Banner(Static):
    """One or two lines of what the answer is doing; in warning colours after an abstention."""

    def __init__(self) -> None:
        super().__init__(WELCOME, id="banner")

    def waiting(self, what: str) -> None:
        """The question waits for `what` (the index, the model to load)."""
        self.update(Content.styled(f"Waiting for {what}… your question will be answered then.", "italic"))

    def searching(self) -> None:
        """The question was sent."""
        self.update(Content.styled("Searching…", "italic"))

    def cannot_answer(self) -> None:
        """The question waited for an index that failed."""
        self.update(Content.styled("Your question cannot be answered until the index works.", "$text-error"))

    def clear(self) -> None:
        """Say nothing (the question failed, and a notification or modal says why)."""
        self.update(Content(""))

    def show_answer(self, answer: Answer) -> None:
        """How many passages, the mode and the confidence, or why no answer is confident; then, on a line of its
        own, the names of the question that the corpus lacks."""
        self.set_class(not answer.answered, "-abstained")
        if not answer.hits:
            shown = Content.styled("No passages matched the question.", "$text-warning")
        elif not answer.answered:
            why = f": {answer.reason}" if answer.reason else ""
            shown = Content.assemble(
                ("No confident answer in the corpus", "bold $text-warning"),
                (f"{why}. Nearest passages ({answer.mode}, confidence {answer.confidence:.2f}):", "$text-muted"),
            )
        else:
            shown = Content.assemble(
                (plural(len(answer.hits), "cited passage"), "bold"),
                (f" about {answer.scope}" if answer.scope else "", "bold"),
                (f" · {answer.mode} · confidence {answer.confidence:.2f}", "$text-muted"),
            )
        if missing := not_in_corpus(answer.unknown):
            shown = Content.assemble(shown, "\n", (missing, "$text-warning"))
        self.update(shown)
