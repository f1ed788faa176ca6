"""Result headers keep their paragraph range or page visible at any width: the title is what gets shortened."""

from __future__ import annotations

import pytest

from qa.interfaces.tui.app import create_app
from qa.interfaces.tui.results import HitHeader, fit_citation
from qa.kernel.paths import Paths
from tests.fakes import FakeEmbedder, given
from tests.tui.conftest import FOOLS_ERRAND, ask, settle

TITLE = "There can be no winners in a US-China AI arms race"


@pytest.mark.parametrize("room", [20, 35, 50, 80])
def test_fit_citation_keeps_the_locator_and_fits(room: int) -> None:
    citation = f"{TITLE}, ¶14–21"
    fitted = fit_citation(citation, TITLE, room)
    assert fitted.endswith(", ¶14–21")
    assert len(fitted) <= max(room, len(", ¶14–21") + 2)
    assert fitted == citation or "…" in fitted


def test_fit_citation_leaves_short_citations_and_foreign_ones_alone() -> None:
    assert fit_citation(f"{TITLE}, ¶6", TITLE, 200) == f"{TITLE}, ¶6"
    assert fit_citation("Other, ¶6", TITLE, 5) == "Other, ¶6"
    assert fit_citation(f"{TITLE}, p. 4 ¶2", TITLE, 30) == "There can be no winn…, p. 4 ¶2"


async def test_at_80_columns_every_header_shows_its_paragraphs(built_paths: Paths) -> None:
    app = create_app(built_paths, make_embedder=given(FakeEmbedder()))
    async with app.run_test(size=(80, 30)) as pilot:
        await settle(pilot)
        await ask(pilot, FOOLS_ERRAND)
        headers = list(app.screen.query(HitHeader))
        assert headers
        for header in headers:
            drawn = str(header.render())
            assert len(drawn) <= header.content_region.width
            locator = header.citation.rsplit(", ", 1)[1]
            assert drawn.endswith(locator), drawn
