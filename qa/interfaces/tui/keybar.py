"""The footer: every key that works here, with what it does, wrapped onto as many lines as the width needs (never
inside a key's entry), and notifications kept above it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.containers import Vertical
from textual.content import Content
from textual.widget import Widget

if TYPE_CHECKING:
    from textual import events
    from textual.geometry import Size
    from textual.screen import Screen

KEY_STYLE = "bold $footer-key-foreground"
DESCRIPTION_STYLE = "$footer-description-foreground"
DISABLED_STYLE = "$text-disabled"
GAP = 2  # cells between two keys' entries


def key_lines(parts: list[Content], width: int, gap: int = GAP) -> list[Content]:
    """The parts packed into lines at most `width` cells wide, in order, `gap` cells apart; a part wider than a
    line gets a line of its own."""
    lines: list[list[Content]] = [[]]
    used = 0
    for part in parts:
        needed = part.cell_length + (gap if lines[-1] else 0)
        if lines[-1] and used + needed > width:
            lines.append([])
            used, needed = 0, part.cell_length
        lines[-1].append(part)
        used += needed
    return [Content(" " * gap).join(line) for line in lines]


def keep_toasts_above(widget: Widget, rows: int) -> None:
    """Lift the notifications of the widget's screen `rows` above its bottom edge, off the bars docked there; on a
    modal screen, off the bars of the screen beneath too, which show around the modal's box."""
    screen = widget.screen
    if screen.is_modal and len(widget.app.screen_stack) > 1:
        rows = max(rows, bottom_rows(widget.app.screen_stack[-2]))
    for rack in screen.query("ToastRack"):
        rack.styles.margin = (0, 0, rows, 0)


def bottom_rows(screen: Screen[object]) -> int:
    """How many rows the bars docked at the bottom of the screen take."""
    bars = [*screen.query_children(BottomBars), *screen.query_children(KeyBar)]
    return max((bar.outer_size.height for bar in bars), default=0)


class BottomBars(Vertical):
    """Bars docked at the bottom of a screen (the status line, the keys) that notifications leave visible."""

    def on_resize(self, event: events.Resize) -> None:
        """Keep notifications above the bars, however many lines the keys take."""
        keep_toasts_above(self, self.outer_size.height)


class KeyBar(Widget):
    """Like Textual's Footer (the screen's active bindings marked `show`), as a single widget that wraps."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[Content] = []

    def on_mount(self) -> None:
        """Follow the screen's bindings (the signal drops subscribers that are gone)."""
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self.call_after_refresh(self.redraw)

    def on_resize(self, event: events.Resize) -> None:
        """Docked on its own, keep notifications above the keys (BottomBars does it for the bars it holds)."""
        if self.parent is self.screen:
            keep_toasts_above(self, self.outer_size.height)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if self.is_attached and screen is self.screen:
            self.call_after_refresh(self.redraw)

    def redraw(self) -> None:
        """Collect `key Description` for each shown binding, one per action, quitting last."""
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
        if parts + last != self.parts:
            self.parts = parts + last
            self.refresh(layout=True)

    def render(self) -> Content:
        """The keys, wrapped to the current width."""
        return Content("\n").join(key_lines(self.parts, self.content_region.width))

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """As many lines as the keys need at this width."""
        return len(key_lines(self.parts, width))
