"""`qa mcp` (real model, real process, the SDK's stdio client) under a scripted mix of questions, listings, status
checks and source reads while another thread edits the corpus, for $QA_SOAK_SECONDS: no request fails, memory stays
within 20% of its post-warm-up size, and the server's final index equals a fresh full build."""

from __future__ import annotations

import json
import random
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from qa.kernel.paths import Paths
from tests.conftest import REPO
from tests.live import mcp_session
from tests.soak.load import (
    MAX_GROWTH,
    TOPICS,
    CorpusEditor,
    assert_same_index,
    fresh_build,
    report,
    rss_mb,
    soak_seconds,
)

pytestmark = [pytest.mark.soak, pytest.mark.model, pytest.mark.slow]
ESSAY_ID = "no-winners-ai-race.md"


def questions() -> list[str]:
    """Questions on the essay (its gold set) and on the topics the editor writes about."""
    gold = [json.loads(line)["question"] for line in (REPO / "corpus/gold/essay.jsonl").read_text().splitlines()]
    return gold[:40] + [f"How many events did observers count in the {topic} report?" for topic in TOPICS]


def requests(rng: random.Random, asked: list[str]) -> tuple[str, dict[str, Any]]:
    """One request of the mix: mostly questions (every mode, with and without filters), sometimes a listing or the
    status."""
    question = rng.choice(asked)
    kind = rng.choices(
        ["hybrid", "lexical", "dense", "in", "where", "doc", "list", "status"], [5, 3, 2, 2, 1, 1, 1, 1]
    )[0]
    if kind == "list":
        return "list_documents", rng.choice([{}, {"in": ["soak/a"]}])
    if kind == "status":
        return "status", {}
    arguments: dict[str, Any] = {"question": question, "k": rng.randint(1, 8)}
    if kind in {"hybrid", "lexical", "dense"}:
        arguments["mode"] = kind
    elif kind == "in":
        arguments["in"] = ["soak/*", ESSAY_ID]  # the essay is never edited: the filter always admits a document
    elif kind == "where":
        arguments["where"] = ["date>=2025-01-01"]
    else:
        arguments["doc"] = ESSAY_ID
    return "ask", arguments


def server_pid() -> int:
    """The pid of the `qa mcp` child this test spawned."""
    (found,) = [child.pid for child in psutil.Process().children() if "mcp" in child.cmdline()]
    return found


async def test_mcp_server_soak(essay_paths: Paths, tmp_path: Path) -> None:
    seconds = soak_seconds()
    rng = random.Random(15)
    asked = questions()
    editor = CorpusEditor(essay_paths.corpus, seed=16)
    stop = threading.Event()

    def edit() -> None:
        while not stop.wait(editor.random.uniform(0.5, 2.0)):
            editor.step()

    counts: dict[str, int] = {}
    failures: list[str] = []
    async with mcp_session(essay_paths, real_model=True) as session:
        pid = server_pid()
        await session.call_tool("ask", {"question": asked[0]})  # warm: the model is loaded
        editing = threading.Thread(target=edit, daemon=True)
        editing.start()
        began = time.monotonic()
        warm_rss = None
        try:
            while (elapsed := time.monotonic() - began) < seconds:
                tool, arguments = requests(rng, asked)
                result = await session.call_tool(tool, arguments)
                counts[tool] = counts.get(tool, 0) + 1
                if result.is_error:
                    failures.append(f"{tool} {arguments}: {result.content}")
                elif tool == "ask" and result.structured_content["passages"]:
                    cited = [p for p in result.structured_content["passages"] if p["doc_id"] == ESSAY_ID]
                    if cited:  # the essay is never edited: its cited source can always be opened
                        opened = await session.read_resource(cited[0]["uri"])
                        text = opened.contents[0].text  # type: ignore[union-attr]
                        if text[cited[0]["start"] : cited[0]["end"]] != cited[0]["text"]:
                            failures.append(f"offsets of {cited[0]['passage_id']} do not slice its text")
                        counts["read_resource"] = counts.get("read_resource", 0) + 1
                if warm_rss is None and elapsed >= max(10.0, seconds / 4):
                    warm_rss = rss_mb(pid)
        finally:
            stop.set()
            editing.join(timeout=30)
        final = await session.call_tool("status", {})  # brings the index up to date with the last edits
        assert not final.is_error, final.content
        end_rss = rss_mb(pid)
    assert failures == []
    assert warm_rss is not None
    fresh = fresh_build(essay_paths, tmp_path / "fresh-index", real_model=True)
    assert_same_index(essay_paths.index, fresh.index)
    growth = (end_rss - warm_rss) / warm_rss
    report(
        "mcp",
        {
            "seconds": seconds,
            "requests": sum(counts.values()),
            "request_kinds": counts,
            "failed": len(failures),
            "edits": editor.edits,
            "edit_kinds": editor.counts,
            "rss_warm_mb": round(warm_rss, 1),
            "rss_end_mb": round(end_rss, 1),
            "growth": round(growth, 3),
        },
    )
    assert growth <= MAX_GROWTH
