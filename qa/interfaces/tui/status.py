"""The status line: documents, passages, build time, fresh, stale or damaged, the filter, what the app is busy with,
and the model. Within a narrow terminal the build time and then the counts give way; fresh, stale or damaged, the work
in progress and the filter always show."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.containers import Horizontal
from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static

from qa.interfaces.tui.states import IndexState, ModelState
from qa.kernel.filters import Filter
from qa.kernel.wording import plural

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from qa.engine.status import IndexStatus

SEPARATOR = " · "
MODEL_STYLES = {ModelState.READY: "$text-success", ModelState.FAILED: "bold $text-error"}


def model_label(name: str) -> str:
    """The short name of a model: its last path part."""
    return name.rstrip("/").rsplit("/", 1)[-1]


def built_labels(built_at: str, seconds: float) -> list[str]:
    """`built 2025-01-21 18:13 UTC (4.2 s)` from the manifest's ISO time, kept in UTC as recorded, then shorter:
    without the build's duration, and the date alone."""
    when = built_at.replace("T", " ")[:16]
    zone = " UTC" if built_at.endswith(("+00:00", "Z")) else ""
    return [f"built {when}{zone} ({seconds:.1f} s)", f"built {when}{zone}", f"built {when[:10]}"]


def built_label(built_at: str, seconds: float) -> str:
    """`built 2025-01-21 18:13 UTC (4.2 s)`: the fullest of the built_labels."""
    return built_labels(built_at, seconds)[0]


def index_summaries(status: IndexStatus) -> list[Content]:
    """Documents, passages, build time, and fresh, stale or damaged: the fullest first, then shorter ones (the build
    time cut short, then left out, then the passages, then the documents); fresh, stale or damaged ends every one."""
    found = status.manifest
    if found is None:
        return [Content.styled("no index yet", "$text-warning")]
    state = Content.styled("stale", "bold $text-warning") if status.stale else Content.styled("fresh", "$text-success")
    if status.damaged:
        state = Content.styled("damaged", "bold $text-error")
    documents, passages = Content(plural(status.documents, "document")), Content(plural(status.passages, "passage"))
    details = [[documents, passages, Content(built)] for built in built_labels(found.built_at, found.build_seconds)]
    details += [[documents, passages], [documents], []]
    return [Content(SEPARATOR).join([*parts, state]) for parts in details]


def index_summary(status: IndexStatus) -> Content:
    """Documents, passages, build time, and fresh, stale or damaged."""
    return index_summaries(status)[0]


def status_lines(state: str, status: IndexStatus | None, search_filter: Filter) -> list[Content]:
    """The left part of the status line, the fullest first, then shorter ones: what the app is busy with, the
    index's summaries, then the filter, which (like the work and fresh or stale) every one keeps."""
    busy = [Content.styled(state, "italic $text-accent")] if state else []
    shown = [Content.assemble(("filter ", "$text-muted"), (str(search_filter), "bold $text-accent"))]
    after = shown if search_filter else []
    summaries = index_summaries(status) if status is not None else [Content("")]
    return [Content(SEPARATOR).join([*busy, summary, *after] if summary else [*busy, *after]) for summary in summaries]


def fitted(versions: list[Content], width: int) -> Content:
    """The first of the versions that fits in `width` cells; the last (the shortest) when none does."""
    return next((version for version in versions if version.cell_length <= width), versions[-1])


class FittedLine(Static):
    """One line showing the fullest of its versions that fits its width, refitted whenever the width changes."""

    def __init__(self, id: str) -> None:
        super().__init__(id=id)
        self.versions = [Content("")]

    def show(self, versions: list[Content]) -> None:
        """Show the fullest of these versions that fits."""
        self.versions = versions
        self.refresh()

    def render(self) -> Content:
        """The version fitted to the current width."""
        return fitted(self.versions, self.content_region.width or self.versions[0].cell_length)


class StatusLine(Horizontal):
    """Index summary and work in progress on the left, the model and its state on the right."""

    index_status: reactive[IndexStatus | None] = reactive(None, always_update=True)
    index_state = reactive(IndexState.OPENING)
    model_name = reactive("")
    model_state = reactive(ModelState.LOADING)
    search_filter: reactive[Filter] = reactive(Filter())

    def compose(self) -> ComposeResult:
        """Two parts."""
        yield FittedLine(id="status-index")
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

    def watch_search_filter(self) -> None:
        """Redraw."""
        self._draw()

    def _draw(self) -> None:
        if not self.is_mounted:
            return
        self.query_one(FittedLine).show(status_lines(self.index_state.label, self.index_status, self.search_filter))
        style = MODEL_STYLES.get(self.model_state, "italic $text-accent")
        name = model_label(self.model_name) if self.model_name else "model"
        self.query_one("#status-model", Static).update(Content.assemble(name, " ", (self.model_state.label, style)))
