"""A modal explaining an error and how to fix it, with buttons for the fixes the app can do itself."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static

if TYPE_CHECKING:
    from textual.app import ComposeResult


class ErrorScreen(ModalScreen[str | None]):
    """Title, message and fix; dismissed with the id of the pressed button, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss_none", "Close")]

    def __init__(self, title: str, message: str, fix: str = "", actions: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__()
        self.title_text = title
        self.message = message
        self.fix = fix
        self.actions = actions

    def compose(self) -> ComposeResult:
        """The box: title, message, fix, buttons."""
        with Vertical(id="error-box"):
            yield Static(Content.styled(self.title_text, "bold $text-error"), id="error-title")
            yield Static(Content(self.message), id="error-message")
            if self.fix:
                yield Static(Content(self.fix), id="error-fix")
            with Horizontal(id="error-buttons"):
                for action, label in self.actions:
                    yield Button(label, id=action, variant="primary")
                yield Button("Close", id="close")

    def on_mount(self) -> None:
        """Focus the first button, so Enter does the suggested fix."""
        self.query(Button).first().focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Dismiss with the button's id (None for Close)."""
        event.stop()
        self.dismiss(None if event.button.id == "close" else event.button.id)

    def action_dismiss_none(self) -> None:
        """Close without a fix."""
        self.dismiss(None)
