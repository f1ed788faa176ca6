"""The terminal app: ask, read the cited passages, open the source, rebuild the index.

All model and index work runs in thread workers (`Engine` methods) that report back with messages;
the app's own methods only run on the event loop and never block.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from textual import work
from textual.app import App, SuspendNotSupported, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, ListView, Static

from qa.engine import EmbedderFactory, Engine
from qa.errors import CorpusError, IndexCorruptError, InputError, ModelError, QAError
from qa.progress import SilentReporter
from qa.retrieval import DEFAULT_MODE, MODES, Mode, Settings, clean_question
from qa.tui import records
from qa.tui.buildbar import BuildBar
from qa.tui.editor import editor_command
from qa.tui.error import ErrorScreen
from qa.tui.help import HelpScreen
from qa.tui.history import HistoryScreen
from qa.tui.keybar import KeyBar
from qa.tui.messages import (
    AnswerReady,
    BuildProgressed,
    IndexOpened,
    ModelLoaded,
    StatusRead,
    WorkFailed,
    WorkWarned,
)
from qa.tui.question import QuestionInput
from qa.tui.reporter import MessageReporter
from qa.tui.results import ResultList, answer_sentence
from qa.tui.source import SourceScreen, passage_line
from qa.tui.status import StatusLine
from qa.wording import plural

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from textual.app import ComposeResult
    from textual.screen import Screen

    from qa.documents import Document
    from qa.indexing import BuildResult
    from qa.paths import Paths
    from qa.retrieval import Answer, Hit
    from qa.store import Store

ERROR_TITLES = {
    "model": "The model could not be loaded",
    "index": "The index could not be opened",
    "rebuild": "The index could not be rebuilt",
    "ask": "The question could not be answered",
}
WORKER_THREAD = "qa-worker"
WELCOME = "Ask a question and press Enter; then ↑↓ pick a passage and Enter opens it in its source. F1: every key."


Report = TypeVar("Report", bound=Message)
Handled = TypeVar("Handled")


def while_running(handler: Callable[[QAApp, Report], Handled]) -> Callable[[QAApp, Report], Handled | None]:
    """Drop a worker's report that arrives once the app has begun to close (its widgets may be gone)."""

    @functools.wraps(handler)
    def handle(app: QAApp, report: Report) -> Handled | None:
        return handler(app, report) if app.is_running else None

    return handle


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
        Binding("f2", "cycle_mode", "Mode", tooltip="Switch hybrid → dense → lexical, and ask again"),
        Binding("ctrl+r", "history", "History", tooltip="Questions asked before (this and earlier sessions)"),
        Binding("f5", "rebuild", "Rebuild", tooltip="Update the index with the corpus's changes, in the background"),
        Binding("shift+f5", "rebuild(True)", "Rebuild from scratch", show=False),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(self, paths: Paths, engine: Engine) -> None:
        super().__init__()
        self.paths = paths
        self.engine = engine
        self.mode: Mode = DEFAULT_MODE
        self.store: Store | None = None
        self.model_ready = False
        self.indexing = False
        self.serial = 0
        self.pending: int | None = None
        self.asking = False
        self.question = ""
        self.answer: Answer | None = None
        self._keep: str | None = None
        self._history_warned = False
        self._had_selection = False

    # Layout

    def compose(self) -> ComposeResult:
        """Question and mode on top, the results, then build progress, status line and footer."""
        with Horizontal(id="ask-bar"):
            yield QuestionInput()
            yield Static(id="mode")
        yield Static(WELCOME, id="banner")
        yield ResultList(id="results")
        yield BuildBar(id="build")
        yield StatusLine(id="status")
        yield KeyBar()

    def on_mount(self) -> None:
        """Draw first; load the model and open (or build) the index in the background."""
        asyncio.get_running_loop().set_default_executor(WorkerExecutor(thread_name_prefix=WORKER_THREAD))
        self._show_mode()
        self.query_one(BuildBar).end()
        self.query_one(QuestionInput).focus()
        self.indexing = True
        self.load_model()
        self.open_index()

    def run(self, *args: Any, **kwargs: Any) -> None:
        """Run the app in the terminal, then end the process at once unless an index build must finish writing.

        Waiting would gain nothing: a model still loading is not needed, and tearing down a loaded
        torch takes seconds. Headless runs (tests, screenshots) return normally.
        """
        result = super().run(*args, **kwargs)
        if kwargs.get("headless") or kwargs.get("auto_pilot") is not None:
            return result
        if self.indexing:
            print("qa: finishing the index build before exiting…", file=sys.stderr)
            return result
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(self.return_code or 0)

    # Workers (threads): each reports back with a message

    @work(thread=True, exclusive=True, group="model", exit_on_error=False, name="load model")
    def load_model(self) -> None:
        """Load the embedding model."""
        try:
            self.engine.load_model()
            name = self.engine.embedder.name
        except Exception as error:  # every failure becomes a message, never a traceback
            self.post_message(WorkFailed("model", error))
            return
        self.post_message(ModelLoaded(name))

    @work(thread=True, exclusive=True, group="index", exit_on_error=False, name="index")
    def open_index(self, rebuild: bool = False, full: bool = False) -> None:
        """Open the index (building it when missing or stale), or rebuild it."""
        reporter = MessageReporter(self)
        try:
            result: BuildResult | None
            if rebuild:
                with contextlib.suppress(QAError):  # a broken manifest is what a full rebuild fixes
                    self.post_message(StatusRead(self.engine.status(reporter), rebuild=True))
                store, result = self.engine.rebuild(reporter, full)
            else:
                status = self.engine.status(reporter)
                self.post_message(StatusRead(status))
                store, result = self.engine.open(reporter, status)
            if rebuild or result is not None:  # a build ran: read the status it left
                status = self.engine.status(SilentReporter())
        except Exception as error:
            self.post_message(WorkFailed("rebuild" if rebuild else "index", error))
            return
        self.post_message(IndexOpened(store, status, result, rebuilt=rebuild))

    @work(thread=True, exclusive=True, group="ask", exit_on_error=False, name="ask")
    def run_question(self, serial: int, store: Store, question: str, mode: Mode) -> None:
        """Answer one question."""
        try:
            answer = self.engine.ask(store, question, Settings(mode=mode))
        except Exception as error:
            self.post_message(WorkFailed("ask", error, serial))
            return
        self.post_message(AnswerReady(serial, answer))

    # Messages from the workers

    @while_running
    def on_model_loaded(self, message: ModelLoaded) -> None:
        """The model is ready: answer a question that waited for it."""
        self.model_ready = True
        status_line = self.query_one(StatusLine)
        status_line.model_name = message.name
        status_line.model_state = "ready"
        self._ask_pending()

    @while_running
    def on_status_read(self, message: StatusRead) -> None:
        """Show what is known of the index while it opens."""
        status_line = self.query_one(StatusLine)
        status_line.index_status = message.status
        if message.status.stale and not message.rebuild:
            status_line.index_state = "updating the index…" if message.status.built else "building the index…"
            self.query_one(BuildBar).begin("starting…" if self.model_ready else "loading the model…")

    @while_running
    def on_build_progressed(self, message: BuildProgressed) -> None:
        """Move the progress bar."""
        self.query_one(BuildBar).progress(message.stage, message.done, message.total)

    @while_running
    def on_work_warned(self, message: WorkWarned) -> None:
        """Show a warning from the core."""
        self.notify(message.text, severity="warning")

    @while_running
    def on_index_opened(self, message: IndexOpened) -> None:
        """Search the newly opened index; refresh the results after a rebuild."""
        previous, self.store = self.store, message.store
        if previous is not None and previous is not message.store and not self.asking:
            previous.close()
        self.indexing = False
        self.query_one(BuildBar).end()
        status_line = self.query_one(StatusLine)
        status_line.index_status = message.status
        status_line.index_state = ""
        result = message.result
        if result is not None and not result.noop:
            self.notify(
                f"Indexed {plural(result.documents, 'document')}, {plural(result.passages, 'passage')} "
                f"in {result.seconds:.1f} s "
                f"({result.embedded} embedded)",
                title="Index built",
            )
        elif message.rebuilt:
            self.notify("The index was already up to date (shift+F5 rebuilds it from scratch).", title="Rebuild")
        if message.rebuilt and self.question and self.pending is None:
            self._ask_again_keeping_selection()
        else:
            self._ask_pending()

    @while_running
    async def on_answer_ready(self, message: AnswerReady) -> None:
        """Show the answer, unless a newer question was asked meanwhile."""
        if message.serial != self.serial:
            return
        self.asking = False
        answer = message.answer
        self.answer = answer
        results = self.query_one(ResultList)
        await results.show(answer, keep=self._keep)
        self._show_banner(answer)
        question_input = self.query_one(QuestionInput)
        if answer.hits and question_input.has_focus and question_input.value.strip() == self.question:
            results.focus()
        self.refresh_bindings()

    @while_running
    def on_work_failed(self, message: WorkFailed) -> None:
        """Turn a worker's error into a notification or a modal with the fix."""
        error, task = message.error, message.task
        if task == "ask":
            if message.serial != self.serial:
                return
            self.asking = False
            self._banner(Content(""))
            if isinstance(error, InputError):
                self.notify(str(error), severity="warning")
                return
        elif task == "model":
            self.query_one(StatusLine).model_state = "failed"
            if self.mode != "lexical":
                self.mode = "lexical"
                self._show_mode()
            self._ask_pending()
        else:
            self.indexing = False
            self.query_one(BuildBar).end()
            if isinstance(error, ModelError) and self.query_one(StatusLine).model_state == "failed":
                self.query_one(StatusLine).index_state = "the index needs the model"
                self.notify("Building the index needs the model: fix it, then press F5.", severity="error")
                return
            self.query_one(StatusLine).index_state = "rebuild failed" if task == "rebuild" else "no usable index"
            if self.pending is not None:
                self.pending = None
                self._banner(Content.styled("Your question cannot be answered until the index works.", "$text-error"))
        self.show_error(task, error)

    def show_error(self, task: str, error: BaseException) -> None:
        """A modal with the error, its fix, and buttons for fixes the app can do itself."""
        actions: tuple[tuple[str, str], ...] = ()
        text = str(error)
        if isinstance(error, CorpusError):
            fix = (
                f"Add .md, .txt, .html or .pdf files to {self.paths.corpus} "
                "(or start qa with --corpus DIR), then rebuild."
            )
            actions = (("rebuild", "Rebuild (F5)"),)
        elif isinstance(error, IndexCorruptError):
            fix = "Rebuild the index from scratch: every document is read and embedded again."
            actions = (("full-rebuild", "Rebuild from scratch"),)
        elif isinstance(error, ModelError):
            fix = "Lexical mode (keywords only) works without the model, and is now on."
        elif isinstance(error, QAError):
            fix = ""
        else:
            text = f"{type(error).__name__}: {error}"
            fix = "This is a bug in qa: please report it with the steps that led here."
        self.push_screen(ErrorScreen(ERROR_TITLES.get(task, "Error"), text, fix, actions), self._error_action)

    def _error_action(self, action: str | None) -> None:
        if action == "rebuild":
            self.action_rebuild()
        elif action == "full-rebuild":
            self.action_rebuild(full=True)

    # Asking

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the question input asks it."""
        event.stop()
        self.ask(event.value)

    def ask(self, question: str, record: bool = True) -> None:
        """Ask the question now, or as soon as the model and index are ready."""
        try:
            question = clean_question(question)
        except InputError as error:
            self.notify(str(error), severity="warning")
            return
        if record and question == self.question and (self.pending is not None or self.asking):
            return  # Enter again on the question being answered
        self.serial += 1
        self.question = question
        self._keep = None
        if record:
            self._record(question)
        self.pending = self.serial
        self._ask_pending()

    def _can_answer(self) -> bool:
        return self.store is not None and (self.mode == "lexical" or self.model_ready)

    def _ask_pending(self) -> None:
        if self.pending is None or self.pending != self.serial:
            return
        if not self._can_answer() or self.store is None:
            waiting = "the index" if self.store is None else "the model to load"
            self._banner(Content.styled(f"Waiting for {waiting}… your question will be answered then.", "italic"))
            return
        self.pending = None
        self.asking = True
        self._banner(Content.styled("Searching…", "italic"))
        self.run_question(self.serial, self.store, self.question, self.mode)

    def _record(self, question: str) -> None:
        try:
            records.append_history(self.paths.history, question, self.mode)
        except QAError as error:
            if not self._history_warned:
                self._history_warned = True
                self.notify(f"Question history is not saved: {error}", severity="warning")

    def _banner(self, content: Content) -> None:
        self.query_one("#banner", Static).update(content)

    def _show_banner(self, answer: Answer) -> None:
        banner = self.query_one("#banner", Static)
        banner.set_class(not answer.answered, "-abstained")
        if not answer.hits:
            self._banner(Content.styled("No passages matched the question.", "$text-warning"))
        elif not answer.answered:
            why = f": {answer.reason}" if answer.reason else ""
            self._banner(
                Content.assemble(
                    ("No confident answer in the corpus", "bold $text-warning"),
                    (f"{why}. Nearest passages ({answer.mode}, confidence {answer.confidence:.2f}):", "$text-muted"),
                )
            )
        else:
            self._banner(
                Content.assemble(
                    (plural(len(answer.hits), "cited passage"), "bold"),
                    (f" · {answer.mode} · confidence {answer.confidence:.2f}", "$text-muted"),
                )
            )

    def _show_mode(self) -> None:
        self.query_one("#mode", Static).update(Content.assemble(("F2 ", "$text-muted"), (self.mode, "bold $accent")))

    # Selection

    @property
    def selected_hit(self) -> Hit | None:
        """The passage the actions apply to: the one open in the source view, else the one selected."""
        if isinstance(self.screen, SourceScreen):
            return self.screen.hit
        return self.query_one(ResultList).selected

    def get_key_display(self, binding: Binding) -> str:
        """Function keys in capitals (F1), other keys as Textual shows them."""
        display = super().get_key_display(binding)
        return display.upper() if len(display) <= 3 and display[:1] == "f" and display[1:].isdigit() else display

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Passage actions are shown disabled while no passage is selected."""
        if action in {"mark", "edit", "copy"}:
            return True if self.selected_hit is not None else None
        return not (action in {"cycle_mode", "history"} and isinstance(self.screen, SourceScreen))

    def on_list_view_highlighted(self, event: ListView.Highlighted) -> None:
        """The selection moved: when it appeared or vanished, refresh which actions are enabled."""
        selected = event.item is not None
        if selected != self._had_selection:
            self._had_selection = selected
            self.refresh_bindings()

    def on_list_view_selected(self, event: ListView.Selected) -> None:
        """Enter on a result opens its source."""
        event.stop()
        self.action_open_source()

    # Actions

    def _selected_document(self) -> tuple[Hit, Document] | None:
        """The selected hit and its document; None when nothing is selected or (said in a notification) the
        document cannot be read."""
        hit = self.selected_hit
        if hit is None or self.store is None:
            return None
        try:
            return hit, self.store.document(hit.passage.doc_id)
        except QAError as error:
            self.notify(str(error), severity="error")
            return None

    def action_open_source(self) -> None:
        """Open the selected passage in its document."""
        selected = self._selected_document()
        if selected is not None:
            self.push_screen(SourceScreen(*selected))

    def action_focus_question(self) -> None:
        """Go to the question input now, so that keys typed right after the shortcut land in it."""
        self.screen.set_focus(self.query_one(QuestionInput))

    def action_focus_results(self) -> None:
        """Go to the results, when there are some."""
        results = self.query_one(ResultList)
        if results.children:
            self.screen.set_focus(results)

    def action_cycle_mode(self) -> None:
        """Switch to the next retrieval mode and ask the question again in it."""
        self.mode = MODES[(MODES.index(self.mode) + 1) % len(MODES)]
        self._show_mode()
        self.notify(f"Mode: {self.mode}", timeout=2)
        if self.question:
            self._ask_again_keeping_selection()

    def _ask_again_keeping_selection(self) -> None:
        """Ask the question again (in a new mode, or of a rebuilt index); the selected passage stays selected."""
        keep = self.selected_hit.passage.id if self.selected_hit else None
        self.ask(self.question, record=False)
        self._keep = keep

    def action_rebuild(self, full: bool = False) -> None:
        """Rebuild the index in the background; the results refresh when it is done."""
        if self.indexing:
            self.notify("The index is already being built.", severity="warning")
            return
        self.indexing = True
        self.query_one(BuildBar).begin()
        self.query_one(StatusLine).index_state = "rebuilding from scratch…" if full else "rebuilding…"
        self.open_index(rebuild=True, full=full)

    def action_mark(self) -> None:
        """Add the question and the selected passage's answering sentence to the user's gold set."""
        hit = self.selected_hit
        if hit is None or self.answer is None:
            return
        try:
            added = records.append_gold(
                self.paths.user_gold, self.answer.question, answer_sentence(hit), hit.passage.doc_id
            )
        except QAError as error:
            self.notify(str(error), severity="error")
            return
        if added is None:
            self.notify(f"Already in {self.paths.user_gold}.", title="Gold set")
        else:
            self.notify(f"Added {added} to {self.paths.user_gold}.", title="Marked as the right answer")

    def action_copy(self) -> None:
        """Copy the quote and its citation to the clipboard."""
        hit = self.selected_hit
        if hit is None or self.answer is None:
            return
        self.copy_to_clipboard(f'"{answer_sentence(hit)}" — {self.answer.citation(hit)}')
        self.notify("Copied the quote and its citation.", timeout=2)

    def action_edit(self) -> None:
        """Open the selected passage's file in $EDITOR at the passage's line."""
        selected = self._selected_document()
        if selected is None:
            return
        hit, document = selected
        try:
            in_corpus = self.paths.corpus / hit.passage.doc_id
            command = editor_command(
                in_corpus if in_corpus.is_file() else Path(document.path), passage_line(document, hit)
            )
        except QAError as error:
            self.notify(str(error), severity="error")
            return
        try:
            with self.suspend():
                subprocess.run(command, check=False)
        except SuspendNotSupported:
            self.notify("This terminal cannot hand over to an editor.", severity="error")
        except OSError as error:
            self.notify(f"Cannot run {command[0]}: {error.strerror or error}: set $EDITOR", severity="error")

    def action_history(self) -> None:
        """Pick a question asked before (in this session or earlier) to ask again."""
        try:
            entries = records.read_history(self.paths.history)
        except QAError as error:
            self.notify(str(error), severity="error")
            return
        self.push_screen(HistoryScreen(entries), self._ask_again)

    def _ask_again(self, entry: records.HistoryEntry | None) -> None:
        if entry is None:
            return
        if entry.mode in MODES and entry.mode != self.mode:
            self.mode = MODES[MODES.index(entry.mode)]
            self._show_mode()
        question_input = self.query_one(QuestionInput)
        question_input.value = entry.question
        question_input.focus()
        self.ask(entry.question)

    def action_help(self) -> None:
        """Show every key."""
        self.push_screen(HelpScreen(self.help_sections()))

    def help_sections(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """Keys by where they work, read from the bindings themselves."""
        return [
            ("Anywhere", [*self._keys(self.BINDINGS), ("shift+F5", "Rebuild from scratch"), ("^p", "Command palette")]),
            ("Question", [("enter", "Ask"), ("↓ tab", "Go to the results")]),
            ("Results", [("↑↓ j k", "Move"), *self._keys(ResultList.BINDINGS)]),
            ("Source", [("↑↓ j k space", "Scroll"), ("g", "Back to the passage"), *self._keys(SourceScreen.BINDINGS)]),
            ("History", self._keys(HistoryScreen.BINDINGS)),
        ]

    def _keys(self, bindings: Iterable[BindingType]) -> list[tuple[str, str]]:
        """(keys, description) of the bindings shown in the footer."""
        shown = [binding for binding in bindings if isinstance(binding, Binding) and binding.show]
        return [
            (
                " ".join(self.get_key_display(replace(binding, key=key.strip())) for key in binding.key.split(",")),
                binding.tooltip or binding.description,
            )
            for binding in shown
        ]

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The app's actions in the command palette (ctrl+p)."""
        yield from super().get_system_commands(screen)
        yield SystemCommand("Rebuild the index", "Update the index with the corpus's changes", self.action_rebuild)
        yield SystemCommand(
            "Rebuild the index from scratch",
            "Read and embed every document again",
            lambda: self.action_rebuild(full=True),
        )
        yield SystemCommand("Switch mode", "Cycle hybrid, dense and lexical retrieval", self.action_cycle_mode)
        yield SystemCommand("Question history", "Ask an earlier question again", self.action_history)


def create_app(paths: Paths, model: str | None = None, make_embedder: EmbedderFactory | None = None) -> QAApp:
    """The app for the CLI and the tests: `make_embedder` makes the embedder for `model` (tests pass fakes)."""
    return QAApp(paths, Engine(paths, model, make_embedder))
