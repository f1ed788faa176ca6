"""The keys of the app, screen by screen, and what the modes do."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Grid, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from qa.interfaces.tui.filtering import FilterInput, FilterScreen
from qa.interfaces.tui.history import HistoryScreen
from qa.interfaces.tui.keybar import KeyBar
from qa.interfaces.tui.results import ResultList
from qa.interfaces.tui.source import SourceScreen

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from textual.app import ComposeResult

Section = tuple[str, list[tuple[str, str]]]

MODES_HELP = (
    "hybrid: meaning and keywords together (default) · dense: meaning only (the embedding model) · "
    "lexical: keywords only (BM25; works without the model)"
)


def help_sections(anywhere: Iterable[BindingType], key_display: Callable[[Binding], str]) -> list[Section]:
    """Keys by where they work, read from the bindings themselves: `anywhere` are the app's, shown as
    `key_display` shows a key."""

    def keys(bindings: Iterable[BindingType]) -> list[tuple[str, str]]:
        shown = [binding for binding in bindings if isinstance(binding, Binding) and binding.show]
        return [
            (
                " ".join(key_display(replace(binding, key=key.strip())) for key in binding.key.split(",")),
                binding.tooltip or binding.description,
            )
            for binding in shown
        ]

    return [
        ("Anywhere", [*keys(anywhere), ("shift+F5", "Rebuild from scratch"), ("^p", "Command palette")]),
        ("Question", [("enter", "Ask"), ("↓ tab", "Go to the results")]),
        ("Results", [("↑↓ j k", "Move"), *keys(ResultList.BINDINGS)]),
        ("Source", [("↑↓ j k space", "Scroll"), ("g", "Back to the passage"), *keys(SourceScreen.BINDINGS)]),
        ("History", keys(HistoryScreen.BINDINGS)),
        ("Filter", [*keys(FilterInput.BINDINGS), *keys(FilterScreen.BINDINGS)]),
    ]


def key_table(title: str, bindings: list[tuple[str, str]]) -> ComposeResult:
    """A titled two-column table of keys and what they do; a long description wraps within its column."""
    yield Static(Content.styled(title, "bold $accent"), classes="help-section")
    with Grid(classes="key-table"):
        for key, description in bindings:
            yield Static(Content.styled(key, "bold"), classes="help-key")
            yield Static(description, classes="help-description")


class HelpScreen(ModalScreen[None]):
    """Keys grouped by where they work; any of Escape, F1 or q closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f1,q", "app.pop_screen", "Close"),
    ]

    def __init__(self, sections: list[Section]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        """One key table per section, then the modes."""
        with VerticalScroll(id="help-box"):
            yield Static(Content.styled("qa — ask your documents", "bold"), id="help-title")
            for title, bindings in self.sections:
                yield from key_table(title, bindings)
            yield Static(Content.assemble(("Modes\n", "bold $accent"), MODES_HELP), classes="help-section")
            yield Static(Content.styled("Escape, F1 or q closes this.", "italic $text-muted"), classes="help-section")
        yield KeyBar()
