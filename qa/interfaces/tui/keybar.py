"""The footer: every key that works here, with what it does, drawn as one line (cheap to redraw on focus moves)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.content import Content
from textual.widgets import Static

if TYPE_CHECKING:
    from textual.screen import Screen

KEY_STYLE = "bold $footer-key-foreground"
DESCRIPTION_STYLE = "$footer-description-foreground"
DISABLED_STYLE = "$text-disabled"


class KeyBar(Static):
    """Like Textual's Footer (the screen's active bindings marked `show`), as a single widget."""

    def on_mount(self) -> None:
        """Follow the screen's bindings (the signal drops subscribers that are gone)."""
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self.call_after_refresh(self.redraw)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if self.is_attached and screen is self.screen:
            self.call_after_refresh(self.redraw)

    def redraw(self) -> None:
        """Draw `key Description` for each shown binding, one per action."""
        if not self.is_attached:
            return
        parts: list[Content] = []
        last: list[Content] = []
        actions: set[str] = set()
        for _node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if not binding.show or binding.action in actions:
                continue
            actions.add(binding.action)
            key = self.app.get_key_display(binding)
            part = Content.assemble(
                (key, KEY_STYLE if enabled else DISABLED_STYLE),
                " ",
                (binding.description, DESCRIPTION_STYLE if enabled else DISABLED_STYLE),
            )
            (last if binding.action.endswith("quit") else parts).append(part)
        self.update(Content("  ").join(parts + last))
