"""The main screen: the question, the cited passages of its answer, build progress and the status line, with the
workers that load the model, open the index and answer, and the handlers of what they report.

Workers run `Engine` methods in threads and report back with messages (`messages`); the screen's own methods
only run on the event loop and never block.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from textual import work
from textual.containers import Horizontal
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import Input, ListView

from qa.interfaces.tui import citing, records
from qa.interfaces.tui.asking import AskQueue, Ticket
from qa.interfaces.tui.banner import Banner
from qa.interfaces.tui.buildbar import BuildBar
from qa.interfaces.tui.error import ErrorScreen
from qa.interfaces.tui.explain import Fix, Task, explain_error
from qa.interfaces.tui.filtering import FilterScreen
from qa.interfaces.tui.following import CorpusFollower
from qa.interfaces.tui.guards import while_running
from qa.interfaces.tui.history import HistoryScreen
from qa.interfaces.tui.keybar import BottomBars, KeyBar
from qa.interfaces.tui.messages import (
    Answered,
    AskFailed,
    BuildProgressed,
    CorpusWatched,
    IndexFailed,
    IndexOpened,
    ModelFailed,
    ModelLoaded,
    StatusRead,
    WorkWarned,
)
from qa.interfaces.tui.question import ModeLabel, QuestionInput
from qa.interfaces.tui.reporter import MessageReporter
from qa.interfaces.tui.results import ResultList
from qa.interfaces.tui.source import SourceScreen
from qa.interfaces.tui.states import IndexState, ModelState
from qa.interfaces.tui.status import StatusLine
from qa.kernel.errors import InputError, ModelError, QAError
from qa.kernel.filters import Filter
from qa.kernel.progress import SilentReporter
from qa.kernel.settings import DEFAULT_MODE, MODES, Mode, Settings
from qa.kernel.wording import plural

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from qa.answering.answer import Answer, Hit
    from qa.documents.base import Document
    from qa.engine.engine import Engine
    from qa.engine.status import IndexStatus
    from qa.index.building import BuildResult
    from qa.index.stores.base import PassageStore
    from qa.kernel.paths import Paths


class MainScreen(Screen[None]):
    """Ask questions of the corpus and pick a cited passage to read, mark, copy or edit.

    `index_state` and the model's state drive the build bar and the status line; `queue` keeps the questions;
    questions are asked only of the documents `search_filter` admits (all when it is empty).
    """

    mode: var[Mode] = var(DEFAULT_MODE)
    search_filter: var[Filter] = var(Filter())
    index_state = var(IndexState.OPENING)
    index_status: var[IndexStatus | None] = var(None)
    model_state = var(ModelState.LOADING)
    model_name = var("")

    def __init__(self, paths: Paths, engine: Engine, watch: bool = False, search_filter: Filter | None = None) -> None:
        super().__init__()
        self.paths = paths
        self.engine = engine
        self.follow_corpus = watch
        self.set_reactive(MainScreen.search_filter, search_filter or Filter())
        self.follower = CorpusFollower(
            engine,
            MessageReporter(self),
            lambda store, status, result: self.post_message(IndexOpened(store, status, result)),
            lambda update, changed, error: self.post_message(CorpusWatched(update, changed, error=error)),
        )
        self.store: PassageStore | None = None
        self.answer: Answer | None = None
        self.queue = AskQueue()
        self._history_warned = False
        self._had_selection = False

    def compose(self) -> ComposeResult:
        """Question and mode on top, the results, then build progress; the status line and keys at the bottom."""
        with Horizontal(id="ask-bar"):
            yield QuestionInput()
            yield ModeLabel().data_bind(MainScreen.mode)
        yield Banner()
        yield ResultList(id="results")
        yield BuildBar(id="build")
        with BottomBars():
            yield StatusLine(id="status").data_bind(
                MainScreen.index_state,
                MainScreen.index_status,
                MainScreen.model_state,
                MainScreen.model_name,
                MainScreen.search_filter,
            )
            yield KeyBar()

    def on_mount(self) -> None:
        """Draw first; load the model and open (or build) the index in the background."""
        self.query_one(QuestionInput).focus()
        self.load_model()
        self.open_index()

    @property
    def model_ready(self) -> bool:
        """The model is loaded."""
        return self.model_state is ModelState.READY

    def watch_index_state(self, state: IndexState) -> None:
        """Show the progress bar while a build runs (the status line follows the state through its binding)."""
        bar = self.query_one(BuildBar)
        if state.building:
            bar.begin("starting…" if state.rebuilding or self.model_ready else "loading the model…")
        else:
            bar.end()

    # Workers (threads): each reports back with a message

    @work(thread=True, exclusive=True, group="model", exit_on_error=False, name="load model")
    def load_model(self) -> None:
        """Load the embedding model."""
        try:
            self.engine.load_model(MessageReporter(self))
            name = self.engine.embedder.name
        except Exception as error:  # every failure becomes a message, never a traceback
            self.post_message(ModelFailed(error))
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
            self.post_message(IndexFailed(error, rebuild))
            return
        self.post_message(IndexOpened(store, status, result, rebuilt=rebuild))

    def start_watching(self) -> None:
        """With `follow_corpus`, keep the index current from now on: a change shows in the status line, the update
        runs in a thread of its own while answers still come from the open generation, which is swapped for the new
        one when the update is done."""
        if self.follow_corpus:
            self.follower.start()

    def on_unmount(self) -> None:
        """Stop the corpus watcher."""
        self.follower.stop()

    @work(thread=True, exclusive=True, group="ask", exit_on_error=False, name="ask")
    def run_question(self, ticket: Ticket, store: PassageStore, mode: Mode, search_filter: Filter) -> None:
        """Answer one question, from the documents the filter admits (the search itself is restricted, as with
        `qa ask --in/--where`)."""
        try:
            answer = self.engine.ask(store, ticket.question, Settings(mode=mode, filter=search_filter or None))
        except Exception as error:
            self.post_message(AskFailed(ticket.serial, error))
            return
        self.post_message(Answered(ticket.serial, answer))

    # What the workers report

    @while_running
    def on_model_loaded(self, message: ModelLoaded) -> None:
        """The model is ready: answer a question that waited for it."""
        self.model_name = message.name
        self.model_state = ModelState.READY
        self.send_pending()

    @while_running
    def on_model_failed(self, message: ModelFailed) -> None:
        """Fall back to keywords (lexical mode needs no model) and explain."""
        self.model_state = ModelState.FAILED
        self.mode = "lexical"
        self.send_pending()
        self.show_error(message.error, "model")

    @while_running
    def on_status_read(self, message: StatusRead) -> None:
        """Show what is known of the index while it opens."""
        self.index_status = message.status
        if message.status.stale and not message.rebuild:
            self.index_state = IndexState.UPDATING if message.status.built else IndexState.BUILDING

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
        if previous is not None and previous is not message.store and not self.queue.asking:
            previous.close()
        self.index_status = message.status
        self.index_state = IndexState.READY
        result = message.result
        if result is not None and not result.noop:
            self.notify(
                f"Indexed {plural(result.documents, 'document')}, {plural(result.passages, 'passage')} "
                f"in {result.seconds:.1f} s ({result.embedded} embedded)",
                title="Index built",
            )
        elif message.rebuilt:
            self.notify("The index was already up to date (shift+F5 rebuilds it from scratch).", title="Rebuild")
        if message.rebuilt and self.queue.pending is None:
            self.ask_again()
        else:
            self.send_pending()
        self.start_watching()

    @while_running
    def on_corpus_watched(self, message: CorpusWatched) -> None:
        """A change shows in the status line while the index is updated; a failed update or a missing corpus is
        said, and the open index goes on answering."""
        update = message.update
        if update.kind == "updating" and message.error is None:
            if message.status is not None and message.status.stale:
                self.index_status = message.status
                if not self.index_state.working:
                    self.index_state = IndexState.UPDATING
            return
        if self.index_state is IndexState.UPDATING:
            self.index_state = IndexState.READY
        problem = str(message.error) if message.error is not None else update.message
        if update.kind in {"missing", "failed"} or message.error is not None:
            self.notify(f"{problem}. The open index keeps answering.", title="Corpus", severity="warning")
        elif update.kind == "returned" and problem:
            self.notify(problem, title="Corpus")

    @while_running
    def on_index_failed(self, message: IndexFailed) -> None:
        """Say why there is no index, and how to get one."""
        if isinstance(message.error, ModelError) and self.model_state is ModelState.FAILED:
            self.index_state = IndexState.NEEDS_MODEL  # the model's failure was explained already
            self.notify("Building the index needs the model: fix it, then press F5.", severity="error")
            return
        self.index_state = IndexState.after_failure(message.rebuild)
        if self.queue.drop_pending():
            self.query_one(Banner).cannot_answer()
        self.show_error(message.error, "rebuild" if message.rebuild else "index")
        self.start_watching()  # documents added later still get indexed

    @while_running
    async def on_answered(self, message: Answered) -> None:
        """Show the answer, unless a newer question was asked meanwhile."""
        ticket = self.queue.finished(message.serial)
        if ticket is None:
            return
        answer = self.answer = message.answer
        results = self.query_one(ResultList)
        await results.show(answer, keep=ticket.keep)
        self.query_one(Banner).show_answer(answer)
        question_input = self.query_one(QuestionInput)
        if answer.hits and question_input.has_focus and question_input.value.strip() == ticket.question:
            results.focus()
        self.refresh_bindings()

    @while_running
    def on_ask_failed(self, message: AskFailed) -> None:
        """Say why the question was not answered, unless a newer one was asked meanwhile."""
        if self.queue.finished(message.serial) is None:
            return
        self.query_one(Banner).clear()
        if isinstance(message.error, InputError):
            self.notify(str(message.error), severity="warning")
        else:
            self.show_error(message.error, "ask")

    def show_error(self, error: BaseException, task: Task) -> None:
        """A modal with the error, its fix, and buttons for fixes the app can do itself."""
        self.app.push_screen(ErrorScreen(explain_error(error, task, self.paths.corpus)), self._apply_fix)

    def _apply_fix(self, fix: Fix | None) -> None:
        if fix is not None:
            self.rebuild(full=fix == "full-rebuild")

    # Asking

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the question input asks it."""
        event.stop()
        self.ask(event.value)

    def ask(self, question: str) -> None:
        """Ask the question now, or as soon as the model and index are ready; remember it in the history."""
        try:
            ticket = self.queue.submit(question)
        except InputError as error:
            self.notify(str(error), severity="warning")
            return
        if ticket is not None:
            self._record(ticket.question)
            self.send_pending()

    def ask_again(self) -> None:
        """Ask the question again (in a new mode, or of a rebuilt index); the selected passage stays selected."""
        hit = self.selected_hit
        if self.queue.resubmit(keep=hit.passage.id if hit is not None else None) is not None:
            self.send_pending()

    def send_pending(self) -> None:
        """Send the waiting question to a worker when it can be answered; else say what it waits for."""
        store = self.store
        ticket = self.queue.next_ready(store is not None and (self.mode == "lexical" or self.model_ready))
        if ticket is None or store is None:
            if self.queue.pending is not None:
                self.query_one(Banner).waiting("the index" if store is None else "the model to load")
            return
        self.query_one(Banner).searching()
        self.run_question(ticket, store, self.mode, self.search_filter)

    def _record(self, question: str) -> None:
        try:
            records.append_history(self.paths.history, question, self.mode)
        except QAError as error:
            if not self._history_warned:
                self._history_warned = True
                self.notify(f"Question history is not saved: {error}", severity="warning")

    # Selection

    @property
    def selected_hit(self) -> Hit | None:
        """The passage the actions apply to: the one selected in the results."""
        return self.query_one(ResultList).selected

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Passage actions are shown disabled while no passage is selected."""
        if action in {"mark", "edit", "copy"}:
            return True if self.selected_hit is not None else None
        return True

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
        if selected is not None and self.answer is not None:
            self.app.push_screen(SourceScreen(*selected, self.answer, self.paths))

    def action_focus_question(self) -> None:
        """Go to the question input now, so that keys typed right after the shortcut land in it."""
        self.set_focus(self.query_one(QuestionInput))

    def action_focus_results(self) -> None:
        """Go to the results, when there are some."""
        results = self.query_one(ResultList)
        if results.children:
            self.set_focus(results)

    def action_cycle_mode(self) -> None:
        """Switch to the next retrieval mode and ask the question again in it."""
        self.mode = MODES[(MODES.index(self.mode) + 1) % len(MODES)]
        self.notify(f"Mode: {self.mode}", timeout=2)
        self.ask_again()

    def action_filter(self) -> None:
        """Edit the filter in a box; the question is asked again under the new one."""
        self.app.push_screen(FilterScreen(self.search_filter), self.apply_filter)

    def apply_filter(self, found: Filter | None) -> None:
        """Ask only the documents `found` admits (every document when it is empty), and ask the question again;
        None (the box was cancelled) changes nothing."""
        if found is None or found == self.search_filter:
            return
        self.search_filter = found
        if found:
            self.notify(f"Only documents matching {found}", title="Filter", timeout=3)
        else:
            self.notify("Every document is searched again", title="Filter cleared", timeout=3)
        self.ask_again()

    def rebuild(self, full: bool = False) -> None:
        """Rebuild the index in the background; the results refresh when it is done."""
        if self.index_state.working:
            self.notify("The index is already being built.", severity="warning")
            return
        self.index_state = IndexState.REBUILDING_FULL if full else IndexState.REBUILDING
        self.open_index(rebuild=True, full=full)

    def action_mark(self) -> None:
        """Add the question and the selected passage's answering sentence to the user's gold set."""
        hit = self.selected_hit
        if hit is not None and self.answer is not None:
            citing.mark(self, self.paths.user_gold, self.answer.question, hit)

    def action_copy(self) -> None:
        """Copy the quote and its citation to the clipboard."""
        hit = self.selected_hit
        if hit is not None and self.answer is not None:
            citing.copy(self, hit, self.answer.citation(hit))

    def action_edit(self) -> None:
        """Open the selected passage's file in $EDITOR at the passage's line."""
        selected = self._selected_document()
        if selected is not None:
            citing.edit(self, self.paths.corpus, *selected)

    def action_history(self) -> None:
        """Pick a question asked before (in this session or earlier) to ask again."""
        try:
            entries = records.read_history(self.paths.history)
        except QAError as error:
            self.notify(str(error), severity="error")
            return
        self.app.push_screen(HistoryScreen(entries), self._ask_from_history)

    def _ask_from_history(self, entry: records.HistoryEntry | None) -> None:
        if entry is None:
            return
        if entry.mode in MODES:
            self.mode = MODES[MODES.index(entry.mode)]
        question_input = self.query_one(QuestionInput)
        question_input.value = entry.question
        question_input.focus()
        self.ask(entry.question)
