"""The app in a small terminal (80x24, as in the user's report) and a wide one: every key the screen offers is in
the key bar (wrapped, never cut), fresh or stale always shows in the status line, notifications leave the status
line and the keys visible, and the help box wraps a description under itself, not at the box's edge."""

from __future__ import annotations

import pytest
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widgets import Static

from qa.interfaces.tui.app import QAApp, create_app
from qa.interfaces.tui.help import HelpScreen
from qa.interfaces.tui.keybar import BottomBars, KeyBar
from qa.interfaces.tui.status import FittedLine, StatusLine
from qa.kernel.filters import make_filter
from qa.kernel.paths import Paths
from tests.conftest import build_index
from tests.fakes import FakeEmbedder, given
from tests.tui.conftest import FOOLS_ERRAND, ask, settle

SMALL = (80, 24)
WIDE = (120, 40)
MAIN_KEYS = ["⏎ Open", "m Mark right", "e Edit", "c Copy", "/ Ask", "F1 Help", "F2 Mode", "F3 Filter", "^r History"]
MAIN_KEYS += ["F5 Rebuild", "^q Quit"]


def key_bar(app: QAApp) -> list[str]:
    """The key bar of the screen on top, line by line, as drawn."""
    return str(app.screen.query_one(KeyBar).render()).splitlines()


def status_index(app: QAApp) -> str:
    return str(app.main.query_one(FittedLine).render())


async def answered(pilot: Pilot[None]) -> None:
    await settle(pilot)
    await ask(pilot, FOOLS_ERRAND)


@pytest.mark.parametrize(("size", "lines"), [(SMALL, 2), (WIDE, 1)])
async def test_every_key_of_the_results_is_in_the_key_bar(
    built_paths: Paths, size: tuple[int, int], lines: int
) -> None:
    app = create_app(built_paths, make_embedder=given(FakeEmbedder()))
    async with app.run_test(size=size) as pilot:
        await answered(pilot)
        assert app.main.selected_hit is not None
        drawn = key_bar(app)
        assert len(drawn) == lines
        assert all(len(line) <= size[0] - 2 for line in drawn), drawn
        joined = "  ".join(drawn)
        for key in MAIN_KEYS:
            assert key in joined, (key, drawn)
        assert joined.endswith("^q Quit")
        bar = app.screen.query_one(KeyBar)
        assert bar.outer_size.height == lines
        assert bar.region.bottom == size[1], "docked at the bottom, all of it on screen"


async def test_the_key_bar_wraps_and_unwraps_as_the_terminal_is_resized(built_paths: Paths) -> None:
    app = create_app(built_paths, make_embedder=given(FakeEmbedder()))
    async with app.run_test(size=WIDE) as pilot:
        await answered(pilot)
        assert len(key_bar(app)) == 1
        await pilot.resize_terminal(*SMALL)
        await pilot.pause()
        assert len(key_bar(app)) == 2
        assert app.main.query_one(KeyBar).outer_size.height == 2
        await pilot.resize_terminal(*WIDE)
        await pilot.pause()
        assert app.main.query_one(KeyBar).outer_size.height == 1


@pytest.mark.parametrize("width", [60, 80, 100, 120])
async def test_fresh_or_stale_and_the_filter_always_show_in_the_status_line(built_paths: Paths, width: int) -> None:
    search_filter = make_filter(["*.md"], ["date>=2025-01-01"])
    app = create_app(built_paths, make_embedder=given(FakeEmbedder()), search_filter=search_filter)
    async with app.run_test(size=(width, 24)) as pilot:
        await settle(pilot)
        line = app.main.query_one(FittedLine)
        drawn = status_index(app)
        assert drawn.startswith("1 document") or width < 80
        assert 0 <= drawn.index("fresh") <= line.content_region.width - len("fresh"), "fresh shows"
        assert drawn.index("filter in:") < line.content_region.width, "the filter shows (cut short at 60 columns)"
        if width >= 80:
            assert "filter in:*.md date>=2025-01-01" in drawn
            assert len(drawn) <= line.content_region.width, "nothing cut off"
        if width >= 120:
            assert "built 2025-01-21 12:00 UTC" in drawn
        model = app.main.query_one("#status-model", Static)
        assert "fake-hash-64 ready" in str(model.render())
        (built_paths.corpus / "new.md").write_text("# New\n\nSomething new.\n", encoding="utf-8")
        app.main.open_index()  # reads the status again: the index no longer matches the corpus
        await settle(pilot)
        assert "fresh" in status_index(app) or "stale" in status_index(app)


async def test_the_users_status_line_at_80_columns_keeps_fresh(essay_paths: Paths) -> None:
    # The user saw "4 documents · 28 passages · built 2026-12-07 15:09 UT…": fresh or stale was cut off.
    embedder = FakeEmbedder(name="sentence-transformers/all-MiniLM-L6-v2")
    build_index(essay_paths, embedder)
    app = create_app(essay_paths, make_embedder=given(embedder))
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        assert status_index(app) == "1 document · 23 passages · built 2025-01-21 · fresh"
        assert "all-MiniLM-L6-v2 ready" in " ".join(
            str(part.render()) for part in app.main.query_one(StatusLine).query(Static)
        )


@pytest.mark.parametrize("size", [SMALL, WIDE])
async def test_notifications_leave_the_status_line_and_the_keys_visible(
    built_paths: Paths, size: tuple[int, int]
) -> None:
    app = create_app(built_paths, make_embedder=given(FakeEmbedder()))
    async with app.run_test(size=size, notifications=True) as pilot:
        await answered(pilot)
        await pilot.press("f5")  # "The index was already up to date"
        await settle(pilot)
        await pilot.pause()
        bars = app.main.query_one(BottomBars).region
        assert bars.y == app.main.query_one(StatusLine).region.y
        toasts = list(app.screen.query("Toast"))
        assert toasts
        for toast in toasts:
            assert not toast.region.overlaps(bars), (toast.region, bars)
            assert toast.region.right == size[0], "flush with the edge: no gap where the text below shows through"


async def test_notifications_on_a_modal_leave_the_bars_beneath_visible(built_paths: Paths) -> None:
    app = create_app(built_paths, make_embedder=given(FakeEmbedder()))
    async with app.run_test(size=SMALL, notifications=True) as pilot:
        await answered(pilot)
        await pilot.press("f3")
        await pilot.pause()
        app.notify("A note shown over the filter box")
        await pilot.pause()
        await pilot.pause()
        bars = app.main.query_one(BottomBars).region
        toasts = list(app.screen.query("Toast"))
        assert toasts
        assert all(not toast.region.overlaps(bars) for toast in toasts)


@pytest.mark.parametrize("size", [SMALL, WIDE])
async def test_help_descriptions_wrap_under_themselves(built_paths: Paths, size: tuple[int, int]) -> None:
    app = create_app(built_paths, make_embedder=given(FakeEmbedder()))
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        box: Region = app.screen.query_one("#help-box").content_region
        descriptions = list(app.screen.query(".help-description"))
        keys = list(app.screen.query(".help-key"))
        assert len(descriptions) == len(keys) > 10
        assert {description.region.x for description in descriptions} == {box.x + 16}
        mark = next(d for d in descriptions if "gold/mine.jsonl" in str(d.render()))
        update = next(d for d in descriptions if "corpus's changes" in str(d.render()))
        if size == SMALL:
            assert mark.region.height == 2 and update.region.height == 2, "long ones wrap, within their column"
        assert len(key_bar(app)) == 1
