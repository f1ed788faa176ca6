"""The app follows its corpus (as `qa` runs it): a change shows in the status line, the index updates in the
background while answers keep coming from the open generation, and a vanished corpus folder is said."""

from __future__ import annotations

import shutil
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from textual.pilot import Pilot
from textual.widgets import Static

from qa.interfaces.tui.app import QAApp, create_app
from qa.interfaces.tui.states import IndexState
from qa.interfaces.tui.status import StatusLine
from qa.kernel.paths import Paths
from tests.corpora import write_doc
from tests.fakes import given
from tests.tui.conftest import SIZE, GatedEmbedder, ask, settle, toasts

TIMEOUT = 30.0
QUESTION = "Which company leads the chip foundries and the orchard apple harvest?"


def status_text(app: QAApp) -> str:
    return " ".join(str(static.render()) for static in app.query_one(StatusLine).query(Static))


async def until(pilot: Pilot[None], condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        await pilot.pause(0.1)


@asynccontextmanager
async def running(paths: Paths, watch: bool = True) -> AsyncIterator[tuple[QAApp, GatedEmbedder, Pilot[None]]]:
    """The app over `paths` (following its corpus when `watch`) with an open gate, settled after startup."""
    embedder = GatedEmbedder()
    embedder.gate.set()
    app = create_app(paths, make_embedder=given(embedder), watch=watch)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        yield app, embedder, pilot


async def test_a_change_shows_and_answers_come_from_the_open_index_until_the_update_is_done(
    built_paths: Paths,
) -> None:
    async with running(built_paths) as (app, embedder, pilot):
        main = app.main
        assert main.follower.started, "the watcher started once the index was open"
        opened = main.store
        main.mode = "lexical"  # questions need no model while the update holds it
        embedder.gate.clear()
        embedder.waiting.clear()
        write_doc(built_paths.corpus, "orchard.md", "orchard apple harvest")
        await until(pilot, embedder.waiting.is_set, "the update started embedding")
        await until(pilot, lambda: main.index_state is IndexState.UPDATING, "the status line shows the update")
        assert "updating the index" in status_text(app)
        assert "stale" in status_text(app)
        await ask(pilot, QUESTION)
        assert main.store is opened
        assert main.answer is not None
        assert {hit.passage.doc_id for hit in main.answer.hits} == {"no-winners-ai-race.md"}
        embedder.gate.set()
        await until(pilot, lambda: main.store is not opened, "the new generation is open")
        await until(pilot, lambda: main.index_state is IndexState.READY, "the update is done")
        assert "2 documents" in status_text(app)
        assert "fresh" in status_text(app)
        assert any("Indexed 2 documents" in toast for toast in await toasts(pilot))
        await ask(pilot, QUESTION)
        assert "orchard.md" in {hit.passage.doc_id for hit in main.answer.hits}
    assert main.follower.stopped, "the watcher stops with the app"


async def test_a_vanished_corpus_is_said_and_the_open_index_goes_on_answering(built_paths: Paths) -> None:
    async with running(built_paths) as (app, _, pilot):
        main = app.main
        main.mode = "lexical"
        await pilot.pause(1.5)  # the watcher has begun
        shutil.rmtree(built_paths.corpus)

        async def said() -> bool:
            return any("is gone" in toast for toast in await toasts(pilot))

        deadline = time.monotonic() + TIMEOUT
        while not await said():
            assert time.monotonic() < deadline, "the vanished corpus was never said"
            await pilot.pause(0.2)
        await ask(pilot, "Who called export controls a fool's errand?")
        assert main.answer is not None
        assert main.answer.hits
        assert main.index_state is IndexState.READY


async def test_the_app_does_not_watch_unless_asked(built_paths: Paths) -> None:
    async with running(built_paths, watch=False) as (app, _, _):
        assert not app.main.follower.started
