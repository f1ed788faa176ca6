"""The real app driven by Pilot with the fake embedder: asking, reading, rebuilding, errors."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.message import Message
from textual.widgets import Button, Label, Static

from qa.index import manifest
from qa.interfaces.tui.app import QAApp, create_app
from qa.interfaces.tui.buildbar import BuildBar
from qa.interfaces.tui.error import ErrorScreen
from qa.interfaces.tui.help import HelpScreen
from qa.interfaces.tui.history import HistoryScreen
from qa.interfaces.tui.messages import Answered, BuildProgressed
from qa.interfaces.tui.question import QuestionInput
from qa.interfaces.tui.results import ResultItem, ResultList
from qa.interfaces.tui.source import SourceScreen
from qa.interfaces.tui.states import IndexState
from qa.interfaces.tui.status import StatusLine
from qa.kernel.errors import ModelError
from qa.kernel.paths import Paths
from qa.models.embedding import SentenceTransformerEmbedder
from tests.conftest import ESSAY
from tests.fakes import FakeEmbedder, given
from tests.tui.conftest import FOOLS_ERRAND, SIZE, GatedEmbedder, ask, settle, toasts


def banner(app: QAApp) -> str:
    return str(app.query_one("#banner", Static).render())


def status_text(app: QAApp) -> str:
    line = app.query_one(StatusLine)
    return " ".join(str(static.render()) for static in line.query(Static))


def results(app: QAApp) -> ResultList:
    return app.query_one(ResultList)


def mode_shown(app: QAApp) -> str:
    return str(app.query_one("#mode", Static).render())


def error_shown(screen: ErrorScreen, part: str) -> str:
    """The error modal's "message" or "fix", as drawn."""
    return str(screen.query_one(f"#error-{part}", Static).render())


async def test_opens_at_once_and_builds_a_missing_index(essay_paths: Paths) -> None:
    app = create_app(essay_paths, make_embedder=given(FakeEmbedder()))
    async with app.run_test(size=SIZE) as pilot:
        assert app.query_one("#question").has_focus
        await settle(pilot)
        assert app.main.store is not None
        assert app.main.model_ready
        assert "1 document · 23 passages" in status_text(app)
        assert "fresh" in status_text(app)
        assert "fake-hash-64 ready" in status_text(app)
        assert not app.query_one(BuildBar).display
    assert (essay_paths.index / "manifest.json").is_file()


async def test_asking_shows_cited_passages_with_a_highlighted_sentence(built_paths: Paths) -> None:
    app = create_app(built_paths, make_embedder=given(FakeEmbedder()))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, FOOLS_ERRAND)
        hits = results(app).hits
        assert len(hits) == 5
        assert [hit.rank for hit in hits] == [1, 2, 3, 4, 5]
        top = hits[0]
        assert top.passage.citation == "There can be no winners in a US-China AI arms race, ¶3"
        assert top.highlight is not None
        start, end = top.highlight
        assert "Raimondo" in top.passage.text[start:end]
        assert "cited passages" in banner(app)
        assert "No confident answer" not in banner(app)
        assert results(app).has_focus, "the answer takes the focus so arrows and Enter work at once"
        assert results(app).index == 0
        item = app.query(ResultItem).first()
        header = str(item.query_one(".hit-header", Static).render())
        assert "¶3" in header
        assert "█" in header, "a score bar"


async def test_a_question_typed_before_the_index_is_ready_is_answered_when_it_is(essay_paths: Paths) -> None:
    embedder = GatedEmbedder()
    app = create_app(essay_paths, make_embedder=given(embedder))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*FOOLS_ERRAND, "enter")
        await pilot.pause()
        assert "Waiting for the index" in banner(app)
        assert app.query_one("#question").value == FOOLS_ERRAND  # type: ignore[attr-defined]
        embedder.gate.set()
        await settle(pilot)
        assert results(app).hits[0].passage.citation.endswith("¶3")


async def test_moving_opening_the_source_and_escaping_back_keeps_the_selection(built_paths: Paths) -> None:
    app = create_app(built_paths, make_embedder=given(FakeEmbedder()))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, "Who is Alvin Wang Graylin?")
        await pilot.press("down", "j", "k", "j")
        await pilot.pause()
        assert results(app).index == 2
        chosen = results(app).selected
        assert chosen is not None
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SourceScreen)
        assert screen.hit == chosen
        passage = screen.query_one("#source-passage", Static)
        assert chosen.passage.text[:40] in str(passage.render())
        header = str(screen.query_one("#source-header", Static).render())
        assert "no-winners-ai-race.md" in header
        assert "line " in header
        scroll = screen.query_one("#source-scroll")
        assert scroll.has_focus
        if chosen.passage.start > 2000:
            assert scroll.scroll_y > 0, "the document is scrolled to the passage"
        assert passage.region.y < app.size.height, "the passage is on screen"
        await pilot.press("j", "k", "space")
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, SourceScreen)
        assert results(app).index == 2
        assert results(app).selected == chosen


async def test_source_of_a_late_passage_is_scrolled_to_it(built_paths: Paths) -> None:
    app = create_app(built_paths, make_embedder=given(FakeEmbedder()))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, "Graylin technology executive and investor HTC")
        late = max(results(app).hits, key=lambda hit: hit.passage.start)
        results(app).index = results(app).hits.index(late)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SourceScreen)
        scroll = screen.query_one("#source-scroll")
        passage = screen.query_one("#source-passage")
        assert scroll.scroll_y > 10
        top = passage.region.y - scroll.region.y
        assert 0 <= top <= 3 or scroll.scroll_y == scroll.max_scroll_y, "the passage starts near the top"
        assert scroll.region.contains_region(passage.region), "the whole passage is on screen"


async def test_rebuild_runs_in_the_background_and_refreshes_the_results(built_paths: Paths) -> None:
    embedder = GatedEmbedder()
    embedder.gate.set()
    app = create_app(built_paths, make_embedder=given(embedder))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, "Which tennis player won Wimbledon?")
        before = results(app).hits
        (built_paths.corpus / "tennis.md").write_text(
            "# Tennis\n\nThe tennis player Roger Federer won Wimbledon eight times, a record for a man.\n",
            encoding="utf-8",
        )
        embedder.gate.clear()
        embedder.waiting.clear()
        await pilot.press("f5")
        await pilot.pause()
        assert app.main.index_state.rebuilding
        assert app.query_one(BuildBar).display, "a progress bar shows while the index builds"
        assert "rebuilding" in status_text(app)
        # the app stays responsive while the build waits inside the worker
        await pilot.press("f5")
        await pilot.pause()
        app.main.action_focus_question()
        await pilot.press("x", "y")
        assert app.query_one("#question").value.endswith("xy")  # type: ignore[attr-defined]
        embedder.gate.set()
        await settle(pilot)
        assert app.main.index_state is IndexState.READY
        assert not app.query_one(BuildBar).display
        assert "2 documents" in status_text(app)
        assert "fresh" in status_text(app)
        after = results(app).hits
        assert after != before
        assert after[0].passage.doc_id == "tennis.md", "the results were refreshed against the new index"


async def test_an_unanswerable_question_abstains_and_dims_the_nearest_passages(built_paths: Paths) -> None:
    app = create_app(built_paths, make_embedder=given(FakeEmbedder()))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, "How do penguins keep their eggs warm?")
        assert app.main.answer is not None
        assert not app.main.answer.answered
        assert "No confident answer in the corpus" in banner(app)
        assert results(app).has_class("-abstained")
        assert results(app).hits, "the nearest passages are still listed"
        await ask(pilot, "What did Angela Merkel say about export controls?")
        assert "it never mentions Angela Merkel" in banner(app)
        assert banner(app).splitlines()[-1] == "Not in the corpus: Angela Merkel"
        await ask(pilot, FOOLS_ERRAND)
        assert not results(app).has_class("-abstained")


async def test_a_missing_corpus_shows_the_fix_and_the_app_keeps_running(tmp_path: Path) -> None:
    paths = Paths(corpus=tmp_path / "nowhere", index=tmp_path / "index")
    app = create_app(paths, make_embedder=given(FakeEmbedder()))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ErrorScreen)
        assert "does not exist" in error_shown(screen, "message")
        assert "--corpus" in error_shown(screen, "fix")
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ErrorScreen)
        await pilot.press(*"anything", "enter")
        await pilot.pause()
        assert app.is_running
        # the user fixes it and rebuilds
        paths.corpus.mkdir()
        shutil.copy(ESSAY, paths.corpus / ESSAY.name)
        await pilot.press("f5")
        await settle(pilot)
        assert app.main.store is not None
        assert "23 passages" in status_text(app)


async def test_an_empty_corpus_offers_a_rebuild(paths: Paths) -> None:
    app = create_app(paths, make_embedder=given(FakeEmbedder()))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ErrorScreen)
        assert "has no documents" in error_shown(screen, "message")
        assert isinstance(screen.focused, Button) and str(screen.focused.label) == "Rebuild (F5)"
        shutil.copy(ESSAY, paths.corpus / ESSAY.name)
        await pilot.press("enter")  # the focused button: Rebuild
        await settle(pilot)
        assert app.main.store is not None


async def test_a_corrupt_index_offers_a_rebuild_from_scratch(built_paths: Paths) -> None:
    (built_paths.index / "manifest.json").write_text("{not json", encoding="utf-8")
    app = create_app(built_paths, make_embedder=given(FakeEmbedder()))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ErrorScreen)
        assert "is broken" in error_shown(screen, "message")
        assert isinstance(screen.focused, Button) and str(screen.focused.label) == "Rebuild from scratch"
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, ErrorScreen)
        assert app.main.store is not None
        await ask(pilot, FOOLS_ERRAND)
        assert results(app).hits[0].passage.citation.endswith("¶3")


async def test_a_damaged_index_shows_in_the_status_line_and_a_rebuild_repairs_it(built_paths: Paths) -> None:
    # Issue 22, item 3: with vectors.npy truncated, the status line said "fresh".
    vectors = built_paths.index / manifest.read(built_paths.index).generation / "vectors.npy"
    with vectors.open("r+b") as stream:
        stream.truncate(vectors.stat().st_size // 2)
    app = create_app(built_paths, make_embedder=given(FakeEmbedder()))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ErrorScreen)
        assert "vectors.npy is truncated" in error_shown(screen, "message")
        line = " ".join(str(static.render()) for static in app.main.query_one(StatusLine).query(Static))
        assert "damaged" in line and "fresh" not in line
        await pilot.press("enter")  # the focused button: Rebuild from scratch
        await settle(pilot)
        assert not isinstance(app.screen, ErrorScreen)
        assert "fresh" in status_text(app) and "damaged" not in status_text(app)
        await ask(pilot, FOOLS_ERRAND)
        assert results(app).hits


class BrokenModel(SentenceTransformerEmbedder):
    """An embedder whose model cannot be loaded."""

    def __init__(self) -> None:
        super().__init__()
        self.name = FakeEmbedder().name

    @property
    def model(self) -> Any:
        raise ModelError("cannot load model 'broken' offline (OSError): pass --model with a local folder")


async def test_a_model_failure_explains_and_falls_back_to_keywords(built_paths: Paths) -> None:
    app = create_app(built_paths, make_embedder=given(BrokenModel()))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ErrorScreen)
        assert "cannot load model" in error_shown(screen, "message")
        assert "Lexical mode" in error_shown(screen, "fix")
        assert "lexical" in mode_shown(app)
        assert "failed" in status_text(app)
        await pilot.press("escape")
        await ask(pilot, FOOLS_ERRAND)
        assert answer_mode(app) == "lexical"
        assert "lexical" in banner(app)
        assert results(app).hits


async def test_an_unexpected_error_is_a_modal_not_a_traceback(built_paths: Paths) -> None:
    class Exploding(FakeEmbedder):
        def embed(self, texts: Any) -> Any:
            raise RuntimeError("boom")

    app = create_app(built_paths, make_embedder=given(Exploding()))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, FOOLS_ERRAND)
        screen = app.screen
        assert isinstance(screen, ErrorScreen)
        assert "RuntimeError: boom" in error_shown(screen, "message")
        assert app.is_running


async def test_an_empty_question_is_a_notification(built_paths: Paths) -> None:
    app = create_app(built_paths, make_embedder=given(FakeEmbedder()))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("space", "enter")
        assert await toasts(pilot) == [
            'the question is empty: type one, e.g. "Which company leads global chip foundries?"'
        ]
        assert app.main.queue.serial == 0, "nothing was asked"
        assert not built_paths.history.exists()


async def test_mode_is_shown_and_switching_asks_again(built_paths: Paths) -> None:
    app = create_app(built_paths, make_embedder=given(FakeEmbedder()))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "hybrid" in mode_shown(app)
        await ask(pilot, FOOLS_ERRAND)
        await pilot.press("f2")
        await settle(pilot)
        assert "dense" in mode_shown(app)
        assert answer_mode(app) == "dense"
        assert "dense" in banner(app)
        await pilot.press("f2")
        await settle(pilot)
        assert answer_mode(app) == "lexical"
        await pilot.press("f2")
        await settle(pilot)
        assert answer_mode(app) == "hybrid"


def answer_mode(app: QAApp) -> str:
    answer = app.main.answer
    assert answer is not None
    return answer.mode


async def test_an_answer_to_an_older_question_is_dropped(built_paths: Paths) -> None:
    app = create_app(built_paths, make_embedder=given(FakeEmbedder()))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, "Who is Alvin Wang Graylin?")
        old = app.main.answer
        await ask(pilot, FOOLS_ERRAND)
        current = app.main.answer
        assert old is not None and current is not None
        app.main.post_message(Answered(app.main.queue.serial - 1, old))
        await pilot.pause()
        assert app.main.answer is current
        assert results(app).hits[0] == current.hits[0]


async def test_marking_the_right_answer_grows_the_users_gold_set(built_paths: Paths) -> None:
    app = create_app(built_paths, make_embedder=given(FakeEmbedder()))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, FOOLS_ERRAND)
        await pilot.press("m")
        await pilot.pause()
        await pilot.press("m")  # twice: recorded once
        await pilot.pause()
    lines = built_paths.user_gold.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["id"] == "mine-001"
    assert record["question"] == FOOLS_ERRAND
    assert record["doc_id"] == "no-winners-ai-race.md"
    assert record["answerable"] is True
    assert "Raimondo" in record["answers"][0]
    assert "\n" not in record["answers"][0]


async def test_marking_from_the_source_view_marks_that_passage(built_paths: Paths) -> None:
    app = create_app(built_paths, make_embedder=given(FakeEmbedder()))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, FOOLS_ERRAND)
        await pilot.press("down", "enter", "m")
        await pilot.pause()
        shown = app.screen
        assert isinstance(shown, SourceScreen)
    record = json.loads(built_paths.user_gold.read_text(encoding="utf-8"))
    start, end = shown.hit.highlight or (0, 0)
    assert record["answers"] == [" ".join(shown.hit.passage.text[start:end].split())]


async def test_copy_puts_the_quote_and_citation_on_the_clipboard(built_paths: Paths) -> None:
    app = create_app(built_paths, make_embedder=given(FakeEmbedder()))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, FOOLS_ERRAND)
        await pilot.press("c")
        await pilot.pause()
        assert app.clipboard.startswith('"Recently even outgoing US Secretary of Commerce Gina Raimondo')
        assert app.clipboard.endswith('" — There can be no winners in a US-China AI arms race, ¶3')


async def test_edit_opens_the_editor_at_the_passage_line(built_paths: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []
    monkeypatch.setenv("EDITOR", "myeditor --wait")
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setattr(subprocess, "run", lambda command, check: calls.append(command))

    @contextlib.contextmanager
    def no_suspend() -> Iterator[None]:
        yield

    app = create_app(built_paths, make_embedder=given(FakeEmbedder()))
    monkeypatch.setattr(app, "suspend", no_suspend)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, FOOLS_ERRAND)
        await pilot.press("e")
        await pilot.pause()
    path = built_paths.corpus / "no-winners-ai-race.md"
    line = (
        path.read_text(encoding="utf-8")
        .splitlines()
        .index(next(line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("Recently even")))
    )
    assert calls == [["myeditor", "--wait", f"+{line + 1}", str(path)]]


async def test_edit_without_a_terminal_to_hand_over_is_a_notification(built_paths: Paths) -> None:
    app = create_app(built_paths, make_embedder=given(FakeEmbedder()))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await ask(pilot, FOOLS_ERRAND)
        await pilot.press("e")
        await pilot.pause()
        assert app.is_running
        assert any("editor" in toast for toast in await toasts(pilot))


async def test_history_lists_earlier_questions_and_asks_one_again(built_paths: Paths) -> None:
    first = create_app(built_paths, make_embedder=given(FakeEmbedder()))
    async with first.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, "Who is Alvin Wang Graylin?")
    app = create_app(built_paths, make_embedder=given(FakeEmbedder()))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, FOOLS_ERRAND)
        await pilot.press("ctrl+r")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        assert [entry.question for entry in screen.entries] == [FOOLS_ERRAND, "Who is Alvin Wang Graylin?"]
        await pilot.press("down", "enter")
        await settle(pilot)
        assert not isinstance(app.screen, HistoryScreen)
        assert app.query_one(QuestionInput).value == "Who is Alvin Wang Graylin?"
        assert app.main.answer is not None and app.main.answer.question == "Who is Alvin Wang Graylin?"
        await pilot.press("ctrl+r")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HistoryScreen)
    records = [json.loads(line) for line in built_paths.history.read_text(encoding="utf-8").splitlines()]
    assert [record["question"] for record in records] == [
        "Who is Alvin Wang Graylin?",
        FOOLS_ERRAND,
        "Who is Alvin Wang Graylin?",
    ]
    assert {record["mode"] for record in records} == {"hybrid"}
    assert all(record["asked_at"].endswith("+00:00") for record in records)


async def test_help_lists_the_keys(built_paths: Paths) -> None:
    app = create_app(built_paths, make_embedder=given(FakeEmbedder()))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = " ".join(str(static.render()) for static in app.screen.query(Static))
        for words in (
            "Open the passage",
            "right answer",
            "$EDITOR",
            "Copy the quote",
            "Update the index",
            "Rebuild from scratch",
            "Questions asked before",
            "hybrid → dense → lexical",
            "Quit",
            "Back to the results",
        ):
            assert words in text
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


async def test_passage_actions_are_disabled_without_a_selection(built_paths: Paths) -> None:
    app = create_app(built_paths, make_embedder=given(FakeEmbedder()))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.main.check_action("mark", ()) is None
        await pilot.press("m")
        await pilot.pause()
        assert not built_paths.user_gold.exists(), "nothing to mark before an answer"
        await ask(pilot, FOOLS_ERRAND)
        assert app.main.check_action("mark", ()) is True
        await pilot.press("m")
        await pilot.pause()
        assert len(built_paths.user_gold.read_text(encoding="utf-8").splitlines()) == 1


async def test_quit_from_the_keyboard(built_paths: Paths) -> None:
    app = create_app(built_paths, make_embedder=given(FakeEmbedder()))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert not app.is_running


async def test_a_stale_index_is_updated_at_startup(built_paths: Paths) -> None:
    (built_paths.corpus / "extra.md").write_text(
        "# Extra\n\nA short note about chips and export rules.\n", encoding="utf-8"
    )
    app = create_app(built_paths, make_embedder=given(FakeEmbedder()))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        assert "2 documents" in status_text(app)
        assert "fresh" in status_text(app)
        assert any("corpus changed" in toast for toast in await toasts(pilot))


def test_build_index_pins_the_build_time(built_paths: Paths) -> None:
    assert json.loads((built_paths.index / "manifest.json").read_text())["built_at"].startswith("2025-01-21")


class SlowModel(FakeEmbedder):
    """A model that takes until the test says so to load, then embeds like the fake."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()

    def load(self) -> None:
        if not self.gate.wait(timeout=30):
            raise TimeoutError("the test never let the model load")


async def test_a_question_asked_while_the_model_loads_is_answered_when_it_is_ready(built_paths: Paths) -> None:
    embedder = SlowModel()
    app = create_app(built_paths, make_embedder=given(embedder))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "loading" in status_text(app)
        assert app.query_one("#question").has_focus, "the screen is usable at once"
        app.query_one(QuestionInput).value = FOOLS_ERRAND
        await pilot.press("enter")
        await pilot.pause()
        assert "Waiting for the model to load" in banner(app)
        assert not results(app).hits
        embedder.gate.set()
        await settle(pilot)
        assert results(app).hits[0].passage.citation.endswith("¶3")
        assert "fake-hash-64 ready" in status_text(app)


async def test_a_burst_of_build_progress_is_drawn_once_at_its_latest(built_paths: Paths) -> None:
    app = create_app(built_paths, make_embedder=given(FakeEmbedder()))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        handled: list[BuildProgressed] = []

        def note(message: Message) -> None:
            if isinstance(message, BuildProgressed):
                handled.append(message)

        app.main.message_signal.subscribe(app.main, note, immediate=True)
        for done in range(1, 501):  # a fast build reports faster than the screen draws
            app.main.post_message(BuildProgressed("embedding", done, 500))
        await pilot.pause()
        assert str(app.main.query_one("#build-stage", Label).render()) == "embedding 500/500"
        assert len(handled) < 10, "queued progress is replaced by newer progress"


async def test_a_report_arriving_while_the_app_shuts_down_is_dropped(
    built_paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(built_paths, make_embedder=given(FakeEmbedder()))

    def report_after_unmount(screen: SourceScreen) -> None:  # a build still reporting while the user quits
        app.main.post_message(BuildProgressed("embedding", 1, 2))

    # the app closes the source view first, then the main screen, which is still running when the report comes
    monkeypatch.setattr(SourceScreen, "on_unmount", report_after_unmount, raising=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, FOOLS_ERRAND)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, SourceScreen)
        stage = app.main.query_one("#build-stage", Label)
    assert app.return_code is None, "the app closed without an error"
    assert "embedding" not in str(stage.render()), "the report was dropped"
