"""The terminal app: ask, read the cited passages, open the source, rebuild the index.

The app wires things together: its keys, the main screen (main_screen beside it, which holds the layout, the workers
and their handlers), the thread pool the workers run in, and how the process ends.
"""

from __future__ import annotations

import asyncio
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType

from qa.engine.engine import EmbedderFactory, Engine
from qa.interfaces.tui.help import HelpScreen, help_sections
from qa.interfaces.tui.main_screen import MainScreen
from qa.kernel.filters import Filter

if TYPE_CHECKING:
    from collections.abc import Iterable

    from textual.screen import Screen

    from qa.kernel.paths import Paths

WORKER_THREAD = "qa-worker"


class WorkerExecutor(ThreadPoolExecutor):
    """Runs the thread workers; shutting down does not wait for them, so quitting is instant (see QAApp.run)."""

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop taking work without waiting for running work."""
        super().shutdown(wait=False, cancel_futures=cancel_futures)


class QAApp(App[None]):
    """Ask questions of a corpus and read the cited passages in their documents."""

    TITLE = "qa"
    CSS_PATH = "app.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Help", tooltip="Show every key"),
        Binding("f2", "screen.cycle_mode", "Mode", tooltip="Switch hybrid → dense → lexical, and ask again"),
        Binding("f3", "filter", "Filter", tooltip="Ask only some documents: path globs and metadata conditions"),
        Binding("ctrl+r", "screen.history", "History", tooltip="Questions asked before (this and earlier sessions)"),
        Binding("f5", "rebuild", "Rebuild", tooltip="Update the index with the corpus's changes, in the background"),
        Binding("shift+f5", "rebuild(True)", "Rebuild from scratch", show=False),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(self, paths: Paths, engine: Engine, watch: bool = False, search_filter: Filter | None = None) -> None:
        super().__init__()
        self.paths = paths
        self.engine = engine
        self.main = MainScreen(paths, engine, watch, search_filter)

    def get_default_screen(self) -> MainScreen:
        """The main screen: question, results, build progress and status."""
        return self.main

    def on_load(self) -> None:
        """Before any worker starts: run them in threads named for the app, in a pool that never holds up quitting."""
        asyncio.get_running_loop().set_default_executor(WorkerExecutor(thread_name_prefix=WORKER_THREAD))

    def run(self, *args: Any, **kwargs: Any) -> None:
        """Run the app in the terminal, then end the process at once unless an index build must finish writing.

        Waiting would gain nothing: a model still loading is not needed, and tearing down a loaded
        torch takes seconds. Headless runs (tests, screenshots) return normally.
        """
        result = super().run(*args, **kwargs)
        if kwargs.get("headless") or kwargs.get("auto_pilot") is not None:
            return result
        if self.main.index_state.working:
            print("qa: finishing the index build before exiting…", file=sys.stderr)
            return result
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(self.return_code or 0)

    def get_key_display(self, binding: Binding) -> str:
        """Function keys in capitals (F1), other keys as Textual shows them."""
        display = super().get_key_display(binding)
        return display.upper() if len(display) <= 3 and display[:1] == "f" and display[1:].isdigit() else display

    def action_rebuild(self, full: bool = False) -> None:
        """Rebuild the index in the background, from any screen; the results refresh when it is done."""
        self.main.rebuild(full)

    def action_filter(self) -> None:
        """Edit the filter, from any screen; the question is asked again under the new one."""
        self.main.action_filter()

    def action_help(self) -> None:
        """Show every key."""
        self.push_screen(HelpScreen(help_sections(self.BINDINGS, self.get_key_display)))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The app's actions in the command palette (ctrl+p)."""
        yield from super().get_system_commands(screen)
        yield SystemCommand("Rebuild the index", "Update the index with the corpus's changes", self.action_rebuild)
        yield SystemCommand(
            "Rebuild the index from scratch",
            "Read and embed every document again",
            lambda: self.action_rebuild(full=True),
        )
        yield SystemCommand("Switch mode", "Cycle hybrid, dense and lexical retrieval", self.main.action_cycle_mode)
        yield SystemCommand(
            "Filter the documents", "Ask only documents matching path globs and metadata conditions", self.action_filter
        )
        if self.main.search_filter:
            yield SystemCommand(
                "Clear the filter",
                f"Ask every document again (now: {self.main.search_filter})",
                lambda: self.main.apply_filter(Filter()),
            )
        yield SystemCommand("Question history", "Ask an earlier question again", self.main.action_history)


def create_app(
    paths: Paths,
    model: str | None = None,
    make_embedder: EmbedderFactory | None = None,
    watch: bool = False,
    search_filter: Filter | None = None,
) -> QAApp:
    """The app for the CLI and the tests: `make_embedder` makes the embedder for `model` (tests pass fakes); with
    `watch` (as `qa` runs it) the index follows the corpus's changes; `search_filter` (`qa tui --in/--where`) is
    the filter questions start with."""
    return QAApp(paths, Engine(paths, model, make_embedder), watch, search_filter)
