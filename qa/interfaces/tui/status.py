"""The status line: documents, passages, build time, fresh, stale or damaged, what the app is busy with, and the
model."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.containers import Horizontal
from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static

from qa.interfaces.tui.states import IndexState, ModelState
from qa.kernel.wording import plural

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from qa.engine.status import IndexStatus

SEPARATOR = " · "
MODEL_STYLES = {ModelState.READY: "$text-success", ModelState.FAILED: "bold $text-error"}


def model_label(name: str) -> str:
    """The short name of a model: its last path part."""
    return name.rstrip("/").rsplit("/", 1)[-1]


def built_label(built_at: str, seconds: float) -> str:
    """`built 2025-01-21 18:13 UTC (4.2 s)` from the manifest's ISO time, kept in UTC as recorded."""
    when = built_at.replace("T", " ")[:16]
    zone = " UTC" if built_at.endswith(("+00:00", "Z")) else ""
    return f"built {when}{zone} ({seconds:.1f} s)"


def index_summary(status: IndexStatus) -> Content:
    """Documents, passages, build time, and fresh, stale or damaged."""
    found = status.manifest
    if found is None:
        return Content.styled("no index yet", "$text-warning")
    state = Content.styled("stale", "bold $text-warning") if status.stale else Content.styled("fresh", "$text-success")
    if status.damaged:
        state = Content.styled("damaged", "bold $text-error")
    parts = [
        Content(plural(status.documents, "document")),
        Content(plural(status.passages, "passage")),
        Content(built_label(found.built_at, found.build_seconds)),
        state,
    ]
    return Content(SEPARATOR).join(parts)


class StatusLine(Horizontal):
    """Index summary and work in progress on the left, the model and its state on the right."""

    index_status: reactive[IndexStatus | None] = reactive(None, always_update=True)
    index_state = reactive(IndexState.OPENING)
    model_name = reactive("")
    model_state = reactive(ModelState.LOADING)

    def compose(self) -> ComposeResult:
        """Two parts."""
        yield Static(id="status-index")
        yield Static(id="status-model")

    def on_mount(self) -> None:
        """Draw the initial state."""
        self._draw()

    def watch_index_status(self) -> None:
        """Redraw."""
        self._draw()

    def watch_index_state(self) -> None:
        """Redraw."""
        self._draw()

    def watch_model_name(self) -> None:
        """Redraw."""
        self._draw()

    def watch_model_state(self) -> None:
        """Redraw."""
        self._draw()

    def _draw(self) -> None:
        if not self.is_mounted:
            return
        state = self.index_state.label
        parts = [Content.styled(state, "italic $text-accent")] if state else []
        if self.index_status is not None:
            parts.append(index_summary(self.index_status))
        self.query_one("#status-index", Static).update(Content(SEPARATOR).join(parts))
        style = MODEL_STYLES.get(self.model_state, "italic $text-accent")
        name = model_label(self.model_name) if self.model_name else "model"
        self.query_one("#status-model", Static).update(Content.assemble(name, " ", (self.model_state.label, style)))
