"""The progress bar shown while the index builds."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.containers import Horizontal
from textual.widgets import Label, ProgressBar

if TYPE_CHECKING:
    from textual.app import ComposeResult


class BuildBar(Horizontal):
    """Stage name and a progress bar; the main screen shows it while the index state is a build."""

    def compose(self) -> ComposeResult:
        """A label and the bar."""
        yield Label("building", id="build-stage")
        yield ProgressBar(show_eta=False, id="build-progress")

    def begin(self, label: str = "starting…") -> None:
        """Show the bar, empty and waiting for the first stage."""
        self.display = True
        self.query_one(Label).update(label)
        self.query_one(ProgressBar).update(total=None, progress=0)

    def progress(self, stage: str, done: int, total: int) -> None:
        """Show `done` of `total` steps of `stage`."""
        self.query_one(Label).update(f"{stage} {done}/{total}" if total else stage)
        self.query_one(ProgressBar).update(total=max(total, 1), progress=min(done, total) if total else 1)

    def end(self) -> None:
        """Hide the bar."""
        self.display = False
