"""The done-when walk-through with the real model: ask, see Raimondo highlighted, open, go back, rebuild, quit."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import Static

from qa.interfaces.tui.app import create_app
from qa.interfaces.tui.results import ResultList
from qa.interfaces.tui.source import SourceScreen
from qa.interfaces.tui.states import IndexState
from qa.kernel.paths import Paths
from tests.fakes import given
from tests.tui.conftest import FOOLS_ERRAND, SIZE, ask, settle

pytestmark = pytest.mark.model


async def test_fools_errand_walkthrough(essay_paths: Paths, real_embedder: Any) -> None:
    app = create_app(essay_paths, make_embedder=given(real_embedder))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)  # builds the missing index with the real model
        assert app.main.model_ready and app.main.store is not None
        await pilot.press(*FOOLS_ERRAND, "enter")
        await settle(pilot)
        answer = app.main.answer
        assert answer is not None and answer.answered
        results = app.query_one(ResultList)
        top = results.hits[0]
        assert top.highlight is not None
        start, end = top.highlight
        assert "Raimondo" in top.passage.text[start:end]
        assert results.has_focus

        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SourceScreen)
        assert "Raimondo" in str(screen.query_one("#source-passage", Static).render())

        await pilot.press("escape")
        await pilot.pause()
        assert app.query_one(ResultList).selected == top

        await pilot.press("f5")
        await settle(pilot)
        assert app.main.index_state is IndexState.READY
        assert app.main.answer is not None and app.main.answer.hits[0].passage.id == top.passage.id

        await pilot.press("ctrl+q")
        await pilot.pause()
        assert not app.is_running


async def test_an_unanswerable_question_abstains_with_the_real_model(essay_paths: Paths, real_embedder: Any) -> None:
    app = create_app(essay_paths, make_embedder=given(real_embedder))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, "How do penguins keep their eggs warm?")
        assert app.main.answer is not None and not app.main.answer.answered
        assert "No confident answer in the corpus" in str(app.query_one("#banner", Static).render())
