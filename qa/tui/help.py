"""The keys of the app, screen by screen, and what the modes do."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from qa.tui.keybar import KeyBar

if TYPE_CHECKING:
    from textual.app import ComposeResult

MODES_HELP = (
    "hybrid: meaning and keywords together (default) · dense: meaning only (the embedding model) · "
    "lexical: keywords only (BM25; works without the model)"
)


def key_table(title: str, bindings: list[tuple[str, str]]) -> Content:
    """A titled two-column list of keys and what they do."""
    lines = [Content.styled(title, "bold $accent")]
    lines.extend(Content.assemble((f"  {key:<14}", "bold"), description) for key, description in bindings)
    return Content("\n").join(lines)


class HelpScreen(ModalScreen[None]):
    """Keys grouped by where they work; any of Escape, F1 or q closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f1,q", "app.pop_screen", "Close"),
    ]

    def __init__(self, sections: list[tuple[str, list[tuple[str, str]]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        """One key table per section, then the modes."""
        with VerticalScroll(id="help-box"):
            yield Static(Content.styled("qa — ask your documents", "bold"), id="help-title")
            for title, bindings in self.sections:
                yield Static(key_table(title, bindings), classes="help-section")
            yield Static(Content.assemble(("Modes\n", "bold $accent"), MODES_HELP), classes="help-section")
            yield Static(Content.styled("Escape, F1 or q closes this.", "italic $text-muted"), classes="help-section")
        yield KeyBar()
