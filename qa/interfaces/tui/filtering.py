"""The filter box: which documents questions are asked of, typed as `qa ask`'s --in and --where read them."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from qa.interfaces.tui.keybar import KeyBar
from qa.kernel.errors import InputError
from qa.kernel.filters import Filter, read_filter

if TYPE_CHECKING:
    from textual.app import ComposeResult

FILTER_HELP = (
    "in:GLOB keeps documents whose path matches (a folder takes all below it; several are alternatives); "
    "FIELD OP VALUE keeps those whose front matter or metadata passes, OP one of = != >= <= (dates, numbers) "
    "and ~ (contains); all conditions must hold. Empty: every document."
)
FILTER_EXAMPLE = "e.g. in:notes in:*.pdf date>=2024-01-01 author~marsh"


class FilterInput(Input):
    """The filter's text; Enter applies it (submitted by the input itself, so after every key typed before it)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "submit", "Apply", tooltip="Ask only the documents the filter admits"),
    ]

    def __init__(self, text: str) -> None:
        super().__init__(text, placeholder=FILTER_EXAMPLE, id="filter-input")


class FilterScreen(ModalScreen["Filter | None"]):
    """Edit the filter; dismissed with the new filter (empty to clear it), or None when cancelled. A filter that
    cannot be read is said in the box, which stays open."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", tooltip="Keep the filter as it was"),
    ]

    def __init__(self, current: Filter) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        """Title, the filter's text, what went wrong (when something did), and how to write one."""
        with Vertical(id="filter-box"):
            yield Static(Content.styled("Filter the documents", "bold"), id="filter-title")
            yield FilterInput(self.current.as_text())
            yield Static(id="filter-error")
            yield Static(Content.styled(FILTER_HELP, "$text-muted"), id="filter-help")
        yield KeyBar()

    def on_mount(self) -> None:
        """Type at once; nothing is wrong yet."""
        self.query_one("#filter-error", Static).display = False
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Close with the filter typed, or say why it cannot be read."""
        event.stop()
        try:
            found = read_filter(event.value)
        except InputError as error:
            problem = self.query_one("#filter-error", Static)
            problem.update(Content.styled(str(error), "$text-error"))
            problem.display = True
            return
        self.dismiss(found)

    def action_cancel(self) -> None:
        """Close, the filter unchanged."""
        self.dismiss(None)
