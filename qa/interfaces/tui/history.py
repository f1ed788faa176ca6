"""Questions asked before, newest first; Enter asks one again."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from qa.interfaces.tui.keybar import KeyBar

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from qa.interfaces.tui.records import HistoryEntry


def entry_label(entry: HistoryEntry) -> Content:
    """The question, then its mode and time, dimmed."""
    when = entry.asked_at.replace("T", " ")[:16]
    return Content.assemble(entry.question, (f"  {entry.mode} · {when}", "$text-muted"))


class HistoryScreen(ModalScreen["HistoryEntry | None"]):
    """Pick a past question to ask again."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss_none", "Close", tooltip="Close without asking"),
        Binding("enter", "ask", "Ask again", priority=True, tooltip="Ask the selected question again, in its mode"),
        Binding("j", "down", "Down", show=False),
        Binding("k", "up", "Up", show=False),
    ]

    def __init__(self, entries: list[HistoryEntry]) -> None:
        super().__init__()
        self.entries = entries

    def compose(self) -> ComposeResult:
        """A titled list of questions."""
        with Vertical(id="history-box"):
            yield Static(Content.styled("Question history", "bold"), id="history-title")
            if self.entries:
                yield OptionList(*(Option(entry_label(entry)) for entry in self.entries), id="history-list")
            else:
                yield Static("No questions asked yet.", id="history-empty")
        yield KeyBar()

    def on_mount(self) -> None:
        """Select the newest question."""
        if self.entries:
            self.query_one(OptionList).highlighted = 0

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Enter or a click on a question asks it again."""
        event.stop()
        self.dismiss(self.entries[event.option_index])

    def action_ask(self) -> None:
        """Ask the highlighted question again."""
        if self.entries:
            index = self.query_one(OptionList).highlighted
            self.dismiss(self.entries[index or 0])

    def action_down(self) -> None:
        """Move down the list."""
        if self.entries:
            self.query_one(OptionList).action_cursor_down()

    def action_up(self) -> None:
        """Move up the list."""
        if self.entries:
            self.query_one(OptionList).action_cursor_up()

    def action_dismiss_none(self) -> None:
        """Close without asking."""
        self.dismiss(None)
