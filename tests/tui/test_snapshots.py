"""What the app draws at 100x30, compared with reviewed SVG snapshots (update with `pytest --snapshot-update`).

The fake embedder, a pinned build time, fixed paths and fixed answers (not the current retrieval tuning) keep
every drawn character the same from run to run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from qa.interfaces.tui.app import create_app
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
