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

    from qa.interfaces.tui.explain import Explanation, Fix


class ErrorScreen(ModalScreen["Fix | None"]):
    """Title, message and fix; dismissed with the fix of the pressed button, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss_none", "Close")]

    def __init__(self, explanation: Explanation) -> None:
        super().__init__()
        self.explanation = explanation

    def compose(self) -> ComposeResult:
        """The box: title, message, fix, buttons."""
        explained = self.explanation
        with Vertical(id="error-box"):
            yield Static(Content.styled(explained.title, "bold $text-error"), id="error-title")
            yield Static(Content(explained.message), id="error-message")
            if explained.fix:
                yield Static(Content(explained.fix), id="error-fix")
            with Horizontal(id="error-buttons"):
                for fix, label in explained.actions:
                    yield Button(label, id=fix, variant="primary")
                yield Button("Close", id="close")

    def on_mount(self) -> None:
        """Focus the first button, so Enter does the suggested fix."""
        self.query(Button).first().focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Dismiss with the button's fix (None for Close)."""
        event.stop()
        pressed: Fix | None = next((fix for fix, _label in self.explanation.actions if fix == event.button.id), None)
        self.dismiss(pressed)

    def action_dismiss_none(self) -> None:
        """Close without a fix."""
        self.dismiss(None)
