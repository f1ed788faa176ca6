"""`--in` and `--where` on `qa ask`, `qa eval` and `qa tui`: restricting answers, and one-line errors for bad
filters."""

from __future__ import annotations

from collections.abc import Callable

from qa.kernel.paths import Paths
from tests.cli.conftest import Result, assert_one_line_error, where
from tests.conftest import REPO
from tests.corpora import write_doc
from tests.live import qa_command, run_in_terminal


def test_ask_in_a_folder_answers_from_it_only(qa: Callable[..., Result], essay_paths: Paths) -> None:
    write_doc(essay_paths.corpus, "notes/glaciers.md", "glaciers")
    result = qa("ask", *where(essay_paths), "--json", "--in", "notes", "What did the report describe?")
    assert result.code == 0, result.err
    assert {passage["doc_id"] for passage in result.json()["passages"]} == {"notes/glaciers.md"}


def test_ask_where_on_front_matter(qa: Callable[..., Result], essay_paths: Paths) -> None:
    write_doc(essay_paths.corpus, "notes/glaciers.md", "glaciers")
    result = qa("ask", *where(essay_paths), "--json", "--where", "authors~triolo", "What did the report describe?")
    assert result.code == 0, result.err
    assert {passage["doc_id"] for passage in result.json()["passages"]} == {"no-winners-ai-race.md"}


def test_bad_where_is_a_one_line_error(qa: Callable[..., Result], essay_paths: Paths) -> None:
    assert_one_line_error(qa("ask", *where(essay_paths), "--where", "date", "chips?"), "FIELD OP VALUE")


def test_a_filter_admitting_nothing_is_a_one_line_error(qa: Callable[..., Result], built_paths: Paths) -> None:
    result = qa("ask", *where(built_paths), "--in", "related", "chips?")
    assert_one_line_error(result, "no indexed document passes the filter in:related")


def test_eval_takes_filters(qa: Callable[..., Result], built_paths: Paths) -> None:
    gold = str(REPO / "corpus" / "gold" / "essay.jsonl")
    kept = qa("eval", *where(built_paths), "--gold", gold, "--mode", "lexical", "--json", "--where", "date>=2025-01-01")
    assert kept.code == 0, kept.err
    assert kept.json()["modes"]["lexical"]["hit_at"]["hit@5"] > 0.5
    dropped = qa("eval", *where(built_paths), "--gold", gold, "--mode", "lexical", "--where", "date>=2026-01-01")
    assert_one_line_error(dropped, "no indexed document passes the filter date>=2026-01-01")


def test_tui_takes_the_filters_and_refuses_a_bad_one(qa: Callable[..., Result], essay_paths: Paths) -> None:
    helped = qa("tui", "--help")
    assert helped.code == 0
    assert "--in GLOB" in helped.out and "--where FIELD OP VALUE" in helped.out
    assert_one_line_error(qa("tui", *where(essay_paths), "--where", "date"), "cannot read the filter 'date'")
    assert_one_line_error(qa("tui", *where(essay_paths), "--in", "/"), "--in needs a path pattern")


def test_tui_opens_in_a_terminal_with_its_filter_in_the_status_line(essay_paths: Paths) -> None:
    # The user's step: `qa tui --in GLOB --where FIELD OP VALUE` in a terminal of 80x24.
    write_doc(essay_paths.corpus, "notes/glaciers.md", "glaciers")
    command = qa_command("tui", *where(essay_paths), "--in", "notes", "--where", "title!=x")
    screen = run_in_terminal(command, until=b"fresh", size=(80, 24))
    assert b"in:notes title!=x" in screen
