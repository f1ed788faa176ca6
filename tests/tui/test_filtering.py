"""Filters in the app: `qa tui --in/--where`, set and cleared with F3 (or the command palette) while the app runs,
shown in the status line, and pushed down into retrieval exactly as `qa ask` does."""

from __future__ import annotations

import json
import shutil

import pytest
from textual import events
from textual.widgets import Input, Static

from qa.interfaces.cli import main as cli
from qa.interfaces.tui.app import QAApp, create_app
from qa.interfaces.tui.filtering import FilterScreen
from qa.interfaces.tui.status import StatusLine
from qa.kernel.filters import Filter, make_filter
from qa.kernel.paths import Paths
from tests.conftest import ESSAY, build_index
from tests.corpora import write_doc
from tests.fakes import FakeEmbedder, given
from tests.tui.conftest import SIZE, ask, settle, toasts

QUESTION = "Which report describes the chip foundry and the harbour crane fleet?"
NOTES = {"notes/chips.md", "notes/harbour.md", "notes/orchard.md"}


def status_text(app: QAApp) -> str:
    return " ".join(str(static.render()) for static in app.main.query_one(StatusLine).query(Static))


def answered_from(app: QAApp) -> set[str]:
    answer = app.main.answer
    assert answer is not None
    return {hit.passage.doc_id for hit in answer.hits}


@pytest.fixture
def notes_paths(paths: Paths) -> Paths:
    """The essay and three notes, one of them dated, indexed by the fake embedder."""
    shutil.copy(ESSAY, paths.corpus / ESSAY.name)
    write_doc(paths.corpus, "notes/chips.md", "chip foundry")
    write_doc(paths.corpus, "notes/harbour.md", "harbour crane fleet")
    orchard = write_doc(paths.corpus, "notes/orchard.md", "orchard apple harvest")
    orchard.write_text("---\ntitle: Orchard\ndate: 2024-09-01\n---\n\n" + orchard.read_text(), encoding="utf-8")
    build_index(paths, FakeEmbedder())
    return paths


async def test_the_filter_of_qa_tui_restricts_every_answer_and_shows(notes_paths: Paths) -> None:
    app = create_app(notes_paths, make_embedder=given(FakeEmbedder()), search_filter=make_filter(["notes"]))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "filter in:notes" in status_text(app)
        assert "fresh" in status_text(app)
        await ask(pilot, QUESTION)
        assert answered_from(app) <= NOTES
        assert app.main.answer is not None and len(app.main.answer.hits) > 2, "the passages of the notes fill k"


async def test_f3_sets_the_filter_asks_again_and_an_empty_one_clears_it(notes_paths: Paths) -> None:
    app = create_app(notes_paths, make_embedder=given(FakeEmbedder()))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await ask(pilot, QUESTION)
        assert ESSAY.name in answered_from(app)
        assert "filter" not in status_text(app)
        await pilot.press("f3")
        await pilot.pause()
        assert isinstance(app.screen, FilterScreen)
        await pilot.press(*"in:notes date>=2024-01-01", "enter")
        await settle(pilot)
        assert not isinstance(app.screen, FilterScreen)
        assert app.main.search_filter == make_filter(["notes"], ["date>=2024-01-01"])
        assert answered_from(app) == {"notes/orchard.md"}, "the question was asked again under the filter"
        assert "filter in:notes date>=2024-01-01" in status_text(app)
        assert "Filter\nOnly documents matching in:notes date>=2024-01-01" in await toasts(pilot)
        await pilot.press("f3")
        await pilot.pause()
        box = app.screen.query_one(Input)
        assert box.value == "in:notes date>=2024-01-01", "the box opens on the filter in force"
        box.value = ""
        await pilot.press("enter")
        await settle(pilot)
        assert app.main.search_filter == Filter()
        assert ESSAY.name in answered_from(app)
        assert "filter" not in status_text(app)
        assert "Filter cleared\nEvery document is searched again" in await toasts(pilot)


async def test_an_unreadable_filter_is_said_in_the_box_and_escape_keeps_the_old_one(notes_paths: Paths) -> None:
    app = create_app(notes_paths, make_embedder=given(FakeEmbedder()), search_filter=make_filter(["notes"]))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await pilot.pause()
        app.screen.query_one(Input).value = ""
        await pilot.press(*"date", "enter")
        await pilot.pause()
        assert isinstance(app.screen, FilterScreen), "the box stays open"
        error = app.screen.query_one("#filter-error", Static)
        assert error.display
        assert "cannot read the filter 'date': write FIELD OP VALUE" in str(error.render())
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, FilterScreen)
        assert app.main.search_filter == make_filter(["notes"])


async def test_keys_typed_in_one_burst_all_reach_the_filter_before_enter(notes_paths: Paths) -> None:
    # In a terminal, "in:notes" and Enter arriving in one burst (a paste, tmux send-keys) lost their last keys to
    # the Enter while it was a binding of the box rather than of its input.
    app = create_app(notes_paths, make_embedder=given(FakeEmbedder()))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await pilot.pause()
        for key in [*"in:notes", "enter"]:  # posted at once, as the terminal's driver does with a burst
            app.post_message(events.Key(key, key if len(key) == 1 else None))
        await settle(pilot)
        assert not isinstance(app.screen, FilterScreen)
        assert app.main.search_filter == make_filter(["notes"])


async def test_a_filter_admitting_no_document_is_a_warning_and_the_app_goes_on(notes_paths: Paths) -> None:
    app = create_app(notes_paths, make_embedder=given(FakeEmbedder()), search_filter=make_filter(["nowhere"]))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await ask(pilot, QUESTION)
        shown = await toasts(pilot)
        assert any("no indexed document passes the filter in:nowhere" in toast for toast in shown), shown
        app.main.apply_filter(Filter())
        await settle(pilot)
        assert ESSAY.name in answered_from(app)


async def test_the_command_palette_sets_and_clears_the_filter(notes_paths: Paths) -> None:
    app = create_app(notes_paths, make_embedder=given(FakeEmbedder()), search_filter=make_filter(["notes"]))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        commands = {command.title: command for command in app.get_system_commands(app.screen)}
        assert "Filter the documents" in commands
        assert "now: in:notes" in commands["Clear the filter"].help
        commands["Clear the filter"].callback()
        await settle(pilot)
        assert app.main.search_filter == Filter()
        titles = {command.title for command in app.get_system_commands(app.screen)}
        assert "Clear the filter" not in titles, "nothing to clear"
        commands["Filter the documents"].callback()
        await pilot.pause()
        assert isinstance(app.screen, FilterScreen)


@pytest.mark.parametrize(
    ("within", "where"), [(["notes"], []), ([], ["date>=2024-01-01"]), (["*.md"], ["title~orchard"])]
)
async def test_the_app_answers_as_qa_ask_does_under_the_same_filter(
    notes_paths: Paths, capsys: pytest.CaptureFixture[str], within: list[str], where: list[str]
) -> None:
    options = [*(f"--in={glob}" for glob in within), *(f"--where={condition}" for condition in where)]
    location = ["--corpus", str(notes_paths.corpus), "--index", str(notes_paths.index)]
    assert cli.run(["ask", *location, "--json", *options, QUESTION], given(FakeEmbedder())) == 0
    expected = [passage["passage_id"] for passage in json.loads(capsys.readouterr().out)["passages"]]
    assert expected
    app = create_app(notes_paths, make_embedder=given(FakeEmbedder()), search_filter=make_filter(within, where))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, QUESTION)
        assert app.main.answer is not None
        assert [hit.passage.id for hit in app.main.answer.hits] == expected
