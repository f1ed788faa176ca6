"""What the app draws at 100x30, and in a small (80x24) and a wide (120x40) terminal, compared with reviewed SVG
snapshots (update with `pytest --snapshot-update`, then look at each changed one).

The fake embedder, a pinned build time, fixed paths and fixed answers (not the current retrieval tuning) keep
every drawn character the same from run to run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from qa.interfaces.tui.app import create_app
from qa.kernel.filters import make_filter
from qa.kernel.paths import Paths
from tests.fakes import FakeEmbedder, given
from tests.tui.conftest import FOOLS_ERRAND, SIZE, settle, show_fixed_answer


async def _ask_fools_errand(pilot: Pilot[None]) -> None:
    await settle(pilot)
    await show_fixed_answer(pilot, FOOLS_ERRAND, answered=True)


def test_answer_with_cited_passages(snap_compare: Any, built_paths: Paths) -> None:
    app = create_app(built_paths, make_embedder=given(FakeEmbedder()))
    assert snap_compare(app, terminal_size=SIZE, run_before=_ask_fools_errand)


def test_abstention_dims_the_nearest_passages(snap_compare: Any, built_paths: Paths) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await show_fixed_answer(pilot, "How do penguins keep their eggs warm?", answered=False)

    app = create_app(built_paths, make_embedder=given(FakeEmbedder()))
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_source_view_scrolled_to_the_passage(snap_compare: Any, built_paths: Paths) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await _ask_fools_errand(pilot)
        await pilot.press("enter")
        await settle(pilot)

    app = create_app(built_paths, make_embedder=given(FakeEmbedder()))
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_help_screen(snap_compare: Any, built_paths: Paths) -> None:
    app = create_app(built_paths, make_embedder=given(FakeEmbedder()))
    assert snap_compare(app, terminal_size=SIZE, press=["f1"], run_before=settle)


def test_history_screen(snap_compare: Any, built_paths: Paths) -> None:
    built_paths.history.write_text(
        "".join(
            json.dumps({"question": question, "mode": mode, "asked_at": f"2025-01-2{day}T09:30:00+00:00"}) + "\n"
            for day, (question, mode) in enumerate(
                [
                    ("Who is Alvin Wang Graylin?", "hybrid"),
                    (FOOLS_ERRAND, "dense"),
                    ("What is a chokepoint?", "lexical"),
                ]
            )
        ),
        encoding="utf-8",
    )

    app = create_app(built_paths, make_embedder=given(FakeEmbedder()))
    assert snap_compare(app, terminal_size=SIZE, press=["ctrl+r"], run_before=settle)


def test_missing_corpus_error(snap_compare: Any, tmp_path: Path) -> None:
    paths = Paths(corpus=Path("/nonexistent/qa-corpus"), index=tmp_path / "index")
    app = create_app(paths, make_embedder=given(FakeEmbedder()))
    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


SIZES = {"80x24": (80, 24), "120x40": (120, 40)}
sizes = pytest.mark.parametrize("size", list(SIZES.values()), ids=list(SIZES))


@sizes
def test_answer_keys_and_status_fit_the_terminal(snap_compare: Any, built_paths: Paths, size: tuple[int, int]) -> None:
    # Every key of the results in the key bar (two lines at 80 columns), fresh in the status line.
    app = create_app(built_paths, make_embedder=given(FakeEmbedder()))
    assert snap_compare(app, terminal_size=size, run_before=_ask_fools_errand)


@sizes
def test_filtered_answer_shows_its_filter(snap_compare: Any, built_paths: Paths, size: tuple[int, int]) -> None:
    search_filter = make_filter(["*.md"], ["date>=2025-01-01"])
    app = create_app(built_paths, make_embedder=given(FakeEmbedder()), search_filter=search_filter)
    assert snap_compare(app, terminal_size=size, run_before=_ask_fools_errand)


@sizes
def test_help_descriptions_wrap_in_their_column(snap_compare: Any, built_paths: Paths, size: tuple[int, int]) -> None:
    app = create_app(built_paths, make_embedder=given(FakeEmbedder()))
    assert snap_compare(app, terminal_size=size, press=["f1"], run_before=settle)


@sizes
def test_a_notification_stays_above_the_status_line(
    snap_compare: Any, built_paths: Paths, size: tuple[int, int]
) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await _ask_fools_errand(pilot)
        await pilot.press("f5")  # "The index was already up to date", and the question is asked again
        await settle(pilot)
        await show_fixed_answer(pilot, FOOLS_ERRAND, answered=True)

    app = create_app(built_paths, make_embedder=given(FakeEmbedder()))
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@sizes
def test_filter_box_says_what_it_cannot_read(snap_compare: Any, built_paths: Paths, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await _ask_fools_errand(pilot)
        await pilot.press("f3", *"in:notes date", "enter")

    app = create_app(built_paths, make_embedder=given(FakeEmbedder()))
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@sizes
def test_source_view_fits_the_terminal(snap_compare: Any, built_paths: Paths, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await _ask_fools_errand(pilot)
        await pilot.press("enter")
        await settle(pilot)

    app = create_app(built_paths, make_embedder=given(FakeEmbedder()))
    assert snap_compare(app, terminal_size=size, run_before=run_before)
