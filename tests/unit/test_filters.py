"""Filters: parsing `--in` and `--where`, matching documents, and restricting retrieval inside the search."""

from __future__ import annotations

import datetime as dt

import pytest

from qa.answering.retrieval import Searcher, Settings
from qa.index.building import build
from qa.index.stores.files import store
from qa.index.stores.files.store import Store
from qa.kernel.errors import InputError
from qa.kernel.filters import Condition, Filter, make_filter, parse_condition, read_filter
from qa.kernel.paths import Paths
from qa.kernel.progress import SilentReporter
from tests.corpora import topic_paragraph
from tests.fakes import FakeEmbedder

ESSAY_META = {"title": "No winners", "authors": ["Alvin Wang Graylin", "Paul Triolo"], "date": "2025-01-21"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("date>=2024-01-01", Condition("date", ">=", "2024-01-01")),
        ("tags ~ china", Condition("tags", "~", "china")),
        ("title!='No winners'", Condition("title", "!=", "No winners")),
        ("pages<=12", Condition("pages", "<=", "12")),
        ("publication=MIT Technology Review", Condition("publication", "=", "MIT Technology Review")),
    ],
)
def test_conditions_parse(text: str, expected: Condition) -> None:
    assert parse_condition(text) == expected


@pytest.mark.parametrize("text", ["date", "date>", ">=2024", "date>=", "2date=1"])
def test_unreadable_conditions_say_what_is_expected(text: str) -> None:
    with pytest.raises(InputError, match="FIELD OP VALUE"):
        parse_condition(text)


def test_an_empty_path_pattern_is_refused() -> None:
    with pytest.raises(InputError, match="--in needs a path pattern"):
        make_filter([" / "])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Filter()),
        ("   ", Filter()),
        ("in:notes", make_filter(["notes"])),
        ("in:'related/*' in:*.pdf", make_filter(["related/*", "*.pdf"])),
        ("date>=2024-01-01 tags~china", make_filter([], ["date>=2024-01-01", "tags~china"])),
        ("publication=MIT Technology Review", make_filter([], ["publication=MIT Technology Review"])),
        ("'publication=MIT Technology Review' in:notes", make_filter(["notes"], ["publication=MIT Technology Review"])),
        ("date >= 2024-01-01 authors~triolo", make_filter([], ["date>=2024-01-01", "authors~triolo"])),
        ("--in notes --where date>=2024-01-01", make_filter(["notes"], ["date>=2024-01-01"])),
        ("--where 'title~fool s' --in x/", make_filter(["x"], ["title~fool s"])),
        ("title~fool's errand", make_filter([], ["title~fool's errand"])),
    ],
)
def test_a_filter_typed_as_one_line_reads_as_the_options_do(text: str, expected: Filter) -> None:
    assert read_filter(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("date", "cannot read the filter 'date'"),
        ("in:", "--in needs a path pattern"),
        ("--in", "--in needs a value"),
        ("in:notes --where", "--where needs a value"),
    ],
)
def test_an_unreadable_filter_line_says_what_is_expected(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        read_filter(text)


@pytest.mark.parametrize(
    "found",
    [
        make_filter(["notes", "related/*"], ["date>=2024-01-01"]),
        make_filter([], ["publication=MIT Technology Review", "title~fool's errand"]),
        make_filter(["my notes"], []),
        Filter(),
    ],
)
def test_a_filter_round_trips_through_its_text(found: Filter) -> None:
    assert read_filter(found.as_text()) == found


@pytest.mark.parametrize(
    ("condition", "admitted"),
    [
        ("date>=2025-01-01", True),
        ("date>=2025-01-22", False),
        ("date<=2025-01-21", True),
        ("date=2025-01-21", True),
        ("authors~triolo", True),
        ("authors=paul triolo", True),
        ("authors!=Paul Triolo", False),
        ("title~winners", True),
        ("title~losers", False),
        ("publication=MIT", False),
        ("publication!=MIT", True),
    ],
)
def test_conditions_match_front_matter(condition: str, admitted: bool) -> None:
    assert make_filter(where=[condition]).admits("essay.md", ESSAY_META) is admitted


def test_dates_compare_as_dates_and_numbers_as_numbers() -> None:
    assert Condition("date", ">=", "2024-12-31").holds({"date": dt.date(2025, 1, 21)})
    assert Condition("pages", ">=", "9").holds({"pages": 12}), "12 >= 9 as numbers, not as text"
    assert not Condition("pages", ">=", "9").holds({"pages": "x"}), "text never passes a numeric bound"


def test_paths_take_globs_and_folders() -> None:
    found = make_filter(["related", "*.txt"])
    assert found.admits("related/2024-05-15-talks.md", {})
    assert found.admits("notes.txt", {})
    assert not found.admits("essay.md", {})
    assert not Filter()
    assert str(make_filter(["related/"], ["date>=2024-01-01"])) == "in:related date>=2024-01-01"


@pytest.fixture
def library(paths: Paths) -> Store:
    """Twenty documents on 'glaciers' that outrank the one on 'glaciers' in the archive folder, dated by year."""
    for number in range(20):
        (paths.corpus / f"doc{number:02}.md").write_text(
            f"---\ntitle: Glaciers {number}\ndate: {2000 + number}-06-01\n---\n"
            + "\n\n".join(topic_paragraph("glaciers", part) for part in range(1, 4)),
            encoding="utf-8",
        )
    (paths.corpus / "archive").mkdir()
    (paths.corpus / "archive" / "old.md").write_text(
        "---\ntitle: Orchard notes\ndate: 1990-01-01\n---\nThe orchard notes mention glaciers once, in passing, "
        "among many remarks on apples, pears, pruning and the weather of a cold spring.\n",
        encoding="utf-8",
    )
    build(paths, FakeEmbedder(), SilentReporter())
    return Store.open(paths.index)


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_filters_draw_candidates_from_the_admitted_documents(library: Store, mode: str) -> None:
    searcher = Searcher(library, FakeEmbedder())
    unfiltered = searcher.ask("glaciers report", Settings(mode=mode, k=5, candidates=10))  # type: ignore[arg-type]
    assert all(hit.passage.doc_id != "archive/old.md" for hit in unfiltered.hits)
    found = make_filter(["archive"])
    filtered = searcher.ask("glaciers report", Settings(mode=mode, k=5, candidates=10, filter=found))  # type: ignore[arg-type]
    assert filtered.hits and {hit.passage.doc_id for hit in filtered.hits} == {"archive/old.md"}


def test_where_restricts_to_documents_by_date(library: Store) -> None:
    searcher = Searcher(library, FakeEmbedder())
    found = make_filter(where=["date>=2015-01-01", "date<=2016-12-31"])
    answer = searcher.ask("glaciers report", Settings(k=10, filter=found))
    assert answer.hits and {hit.passage.doc_id for hit in answer.hits} <= {"doc15.md", "doc16.md"}
    only = searcher.ask("glaciers report", Settings(k=10, filter=make_filter(where=["date=2016-06-01"])))
    assert only.hits and {hit.passage.doc_id for hit in only.hits} == {"doc16.md"}


def test_a_filter_that_admits_nothing_is_an_input_error(library: Store) -> None:
    searcher = Searcher(library, FakeEmbedder())
    with pytest.raises(InputError, match="no indexed document passes the filter in:nowhere"):
        searcher.ask("glaciers", Settings(filter=make_filter(["nowhere"])))


def test_large_selections_search_through_faiss_with_the_same_result(
    library: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    query = FakeEmbedder().embed(["glaciers report part 3"])[0]
    rows = library.select(None, make_filter(where=["date>=2010-01-01"]))
    assert rows is not None and 0 < len(rows) < library.size
    scanned = library.dense(query, 7, rows)
    monkeypatch.setattr(store, "SMALL_SELECTION", 0)
    searched = library.dense(query, 7, rows)
    assert set(searched) <= {int(row) for row in rows}
    assert len(searched) == len(scanned) == 7
    assert sorted(searched.values()) == pytest.approx(sorted(scanned.values()), abs=1e-5)  # ties may swap rows
