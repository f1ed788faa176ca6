"""The Milvus store on a real Milvus Lite, with the fake embedder: the same answers as the default store after full
and incremental builds, filters pushed down, the alias switch, a killed build, `qa status` and the CLI options."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from qa.answering.retrieval import Answer, Searcher, Settings
from qa.index import building as indexing
from qa.index import manifest
from qa.index.stores.milvus import collections as milvus_collections
from qa.index.stores.milvus import writer as milvus_writer
from qa.index.stores.milvus.store import MilvusStore
from qa.index.stores.registry import parse_store
from qa.kernel import paths as qa_paths
from qa.kernel.filters import make_filter
from qa.kernel.paths import Paths
from qa.kernel.progress import SilentReporter
from qa.kernel.settings import MODES
from tests.conftest import ESSAY, RELATED, REPO
from tests.corpora import essay_with_notes, write_doc
from tests.fakes import FakeEmbedder

QUESTIONS = (
    "Which company leads global chip foundries?",
    "Who wrote the essay?",
    "What did the United States restrict?",
    "How much would a Manhattan Project for AI cost?",
    "glaciers of the northern valley",
    "harbour cranes and dockworkers",
)


@pytest.fixture(autouse=True)
def _qa_bm25(monkeypatch: pytest.MonkeyPatch) -> None:
    """BM25 computed by qa, whatever the environment asks for."""
    monkeypatch.delenv(milvus_collections.BM25_ENV, raising=False)


def pair(root: Path, corpus: Path) -> tuple[Paths, Paths]:
    """The default store and a Milvus Lite store of the same corpus, side by side under one --index folder."""
    index = root / "index"
    return (
        qa_paths.resolve(corpus, index, parse_store("default")),
        qa_paths.resolve(corpus, index, parse_store(f"milvus:{index / 'milvus.db'}")),
    )


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """The essay and two generated documents, one with front matter."""
    return essay_with_notes(tmp_path / "corpus")


@pytest.fixture
def stores(tmp_path: Path, corpus: Path) -> tuple[Paths, Paths]:
    return pair(tmp_path, corpus)


def build_both(default: Paths, milvus: Paths, embedder: FakeEmbedder) -> tuple[indexing.BuildResult, ...]:
    return (
        indexing.build(default, embedder, SilentReporter()),
        indexing.build(milvus, embedder, SilentReporter()),
    )


def answers(paths: Paths, embedder: FakeEmbedder, settings: list[Settings]) -> list[Answer]:
    store = indexing.open_store(paths.index)
    try:
        searcher = Searcher(store, embedder)
        return [searcher.ask(question, setting) for setting in settings for question in QUESTIONS]
    finally:
        store.close()


def assert_same_answers(default: Paths, milvus: Paths, embedder: FakeEmbedder, tolerance: float = 1e-4) -> None:
    """Every question in every mode: the same passages in the same order with the same highlights and abstention;
    scores equal within `tolerance`."""
    settings = [Settings(mode=mode) for mode in MODES]
    for ours, theirs in zip(answers(default, embedder, settings), answers(milvus, embedder, settings), strict=True):
        assert [hit.passage for hit in theirs.hits] == [hit.passage for hit in ours.hits], ours.question
        assert [hit.highlight for hit in theirs.hits] == [hit.highlight for hit in ours.hits]
        assert (theirs.answered, theirs.reason, theirs.unknown) == (ours.answered, ours.reason, ours.unknown)
        assert np.allclose([hit.score for hit in theirs.hits], [hit.score for hit in ours.hits], atol=tolerance)
        assert theirs.confidence == pytest.approx(ours.confidence, abs=tolerance)


def rows_in_order(paths: Paths) -> list[str]:
    store = indexing.open_store(paths.index)
    try:
        return [passage.id for passage in store.passages(range(store.size))]
    finally:
        store.close()


def milvus_state(paths: Paths) -> MilvusStore:
    return MilvusStore.open(paths.index)


def test_a_full_build_answers_exactly_as_the_default_store(stores: tuple[Paths, Paths]) -> None:
    default, milvus = stores
    embedder = FakeEmbedder()
    build_both(default, milvus, embedder)
    assert_same_answers(default, milvus, embedder, tolerance=1e-5)
    assert rows_in_order(milvus) == rows_in_order(default)
    store = milvus_state(milvus)
    try:
        assert store.document_ids() == ["no-winners-ai-race.md", "notes/glaciers.md", "notes/harbour_cranes.md"]
        essay = store.document("no-winners-ai-race.md")
        assert essay.text == ESSAY.read_text(encoding="utf-8")
        assert store.count() == store.size == rows_in_order(default).__len__()
        assert store.alias_target() == store.state.collection
        assert store.similarities([], np.ones(64, dtype=np.float32)) == {}
        assert store.keyword_scores(["glacier"], []) == {} and store.passages([]) == []
    finally:
        store.close()


def test_incremental_builds_insert_and_retire_documents_by_id_and_keep_the_answers(
    stores: tuple[Paths, Paths], corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(milvus_writer, "DRIFT", 1.0)  # never fall back to a full build here
    default, milvus = stores
    embedder = FakeEmbedder()
    build_both(default, milvus, embedder)
    collection = milvus_state(milvus).state.collection

    write_doc(corpus, "notes/avalanches.md", "avalanches on the eastern ridge", paragraphs=4)
    added = build_both(default, milvus, embedder)
    assert added[1].embedded == added[0].embedded > 0, "only the new document's passages are embedded"
    counted = manifest.read(milvus.index)
    assert counted.sentences == manifest.read(default.index).sentences, "the new passages' sentences are counted"
    assert not indexing.check_health(milvus.index, counted).damaged
    assert_same_answers(default, milvus, embedder, tolerance=2e-3)

    glaciers = corpus / "notes" / "glaciers.md"
    glaciers.write_text(glaciers.read_text(encoding="utf-8") + "\nA late note on the glaciers of the valley.\n")
    (corpus / "notes" / "harbour_cranes.md").unlink()
    changed = build_both(default, milvus, embedder)
    assert changed[1].embedded == changed[0].embedded
    assert_same_answers(default, milvus, embedder, tolerance=2e-3)
    assert rows_in_order(milvus) == rows_in_order(default), "rows stay 0..size-1 in document order"

    store = milvus_state(milvus)
    try:
        assert store.state.collection == collection, "incremental builds write into the same collection"
        assert store.count() == store.size
        assert "notes/harbour_cranes.md" not in store.document_ids()
        assert len(store.state.dead) == 2, "the changed and the removed document's old rows wait for the grace time"
    finally:
        store.close()

    monkeypatch.setattr(milvus_collections, "GRACE_SECONDS", 0.0)
    (corpus / "notes" / "avalanches.md").unlink()
    build_both(default, milvus, embedder)
    store = milvus_state(milvus)
    try:
        stored = store.client.query(store.state.collection, filter="row >= 0", output_fields=["count(*)"])
        assert int(stored[0]["count(*)"]) == store.size + sum(high - low + 1 for low, high, _ in store.state.dead)
    finally:
        store.close()
    assert_same_answers(default, milvus, embedder, tolerance=2e-3)


def test_a_drifting_average_length_and_a_full_build_switch_the_alias_to_new_collections(
    stores: tuple[Paths, Paths], corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    default, milvus = stores
    embedder = FakeEmbedder()
    build_both(default, milvus, embedder)
    first = milvus_state(milvus)
    old = first.state.collection
    first.close()
    write_doc(corpus, "notes/long.md", "a very long treatise on river sediment", paragraphs=30)
    build_both(default, milvus, embedder)  # moves the average passage length by far more than DRIFT
    store = milvus_state(milvus)
    try:
        assert store.state.collection != old
        assert store.alias_target() == store.state.collection
        assert [name for name, _ in store.state.retired] == [old], "the old collection waits for readers to move on"
        assert store.client.has_collection(old)
    finally:
        store.close()
    assert_same_answers(default, milvus, embedder, tolerance=1e-5)

    monkeypatch.setattr(milvus_collections, "GRACE_SECONDS", 0.0)
    indexing.build(milvus, embedder, SilentReporter(), full=True)
    store = milvus_state(milvus)
    try:
        assert not store.client.has_collection(old), "collections retired longer than the grace time are dropped"
        assert not store.client.has_collection(old + "_s")
        assert store.alias_target() == store.state.collection
    finally:
        store.close()


def test_filters_are_pushed_down_and_admit_what_the_default_store_admits(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    for number, (tags, day, score) in enumerate(
        [("[china, chips]", "2024-01-05", 3), ("[Europe]", "2023-11-30", 7.5), ("china_policy", "2024-03-01", 10)]
    ):
        path = write_doc(folder, f"{'news' if number else 'old'}/item_{number}.md", f"topic number {number}")
        body = path.read_text(encoding="utf-8")
        path.write_text(f"---\ntags: {tags}\ndate: {day}\nscore: {score}\n---\n{body}", encoding="utf-8")
    write_doc(folder, "plain.md", "a document without front matter")
    default, milvus = pair(tmp_path, folder)
    embedder = FakeEmbedder()
    build_both(default, milvus, embedder)
    cases = [
        ([], ["tags=china"]),
        ([], ["tags~chin"]),
        ([], ["tags!=china"]),
        ([], ["date>=2024-01-01"]),
        ([], ["date<=2023-12-31", "tags=europe"]),
        ([], ["score>=7"]),
        ([], ["score<=5"]),
        ([], ["tags=china_policy"]),  # an underscore: computed, not LIKE
        (["news"], []),
        (["news/*"], ["tags~e"]),
        (["old/item_?.md"], []),  # an underscore in the glob: computed
        (["*.md"], ["missing!=x"]),
        (["[np]*"], []),  # a character class: computed
    ]
    ours = indexing.open_store(default.index)
    theirs = indexing.open_store(milvus.index)
    try:
        for within, where in cases:
            found = make_filter(within, where)
            expected = ours.select(None, found)
            selected = theirs.select(None, found)
            assert expected is not None and selected is not None
            assert selected.tolist() == expected.tolist(), (within, where)
            if len(expected):
                settings = Settings(filter=found)
                mine = Searcher(ours, embedder).ask("topic number", settings)
                other = Searcher(theirs, embedder).ask("topic number", settings)
                assert [hit.passage.id for hit in other.hits] == [hit.passage.id for hit in mine.hits]
        doc = "news/item_1.md"
        assert theirs.select(doc, None).tolist() == ours.select(doc, None).tolist()  # type: ignore[union-attr]
    finally:
        ours.close()
        theirs.close()


BUILDER = """
import sys, time
from pathlib import Path
from qa.index import building as indexing
from qa.index import manifest
from qa.index.stores.milvus import collections as milvus_collections
from qa.index.stores.milvus import writer as milvus_writer
from qa.index.stores.registry import parse_store
from qa.kernel import paths as qa_paths
from qa.kernel.progress import SilentReporter
from tests.fakes import FakeEmbedder

corpus, index, signal, kind = sys.argv[1:5]
flush = milvus_collections.Batch.flush_batch
def slow_flush(self, entities, sentences):
    flush(self, entities, sentences)
    Path(signal).write_text("half written")
    time.sleep(60)
milvus_collections.Batch.flush_batch = slow_flush
milvus_collections.BATCH = 2
milvus_writer.DRIFT = 1.0
paths = qa_paths.resolve(corpus, index, parse_store(f"milvus:{Path(index) / 'milvus.db'}"))
indexing.build(paths, FakeEmbedder(), SilentReporter(), full=kind == "full")
"""


def physical_rows(store: MilvusStore, collection: str | None = None) -> int:
    found = store.client.query(collection or store.state.collection, filter="row >= 0", output_fields=["count(*)"])
    return int(found[0]["count(*)"])


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="uses SIGKILL")
@pytest.mark.parametrize("kind", ["incremental", "full"])
def test_a_build_killed_half_way_through_writing_leaves_the_index_answering_as_before(
    tmp_path: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    monkeypatch.setattr(milvus_writer, "DRIFT", 1.0)
    _, milvus = pair(tmp_path, corpus)
    embedder = FakeEmbedder()
    indexing.build(milvus, embedder, SilentReporter())
    before = answers(milvus, embedder, [Settings()])  # the store is closed again: another process may open Milvus Lite
    write_doc(corpus, "notes/avalanches.md", "avalanches on the eastern ridge", paragraphs=6)
    marker = tmp_path / "signal"
    builder = subprocess.Popen(
        [sys.executable, "-c", BUILDER, str(corpus), str(tmp_path / "index"), str(marker), kind],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert builder.poll() is None, builder.communicate()
            assert time.monotonic() < deadline, "the builder never wrote"
            time.sleep(0.1)
        os.kill(builder.pid, signal.SIGKILL)
    finally:
        builder.kill()
        builder.communicate()
    after = answers(milvus, embedder, [Settings()])
    assert [answer.as_json() for answer in after] == [answer.as_json() for answer in before]
    store = milvus_state(milvus)
    try:
        assert store.count() == store.size
        collections = store.client.list_collections()
        if kind == "incremental":
            assert physical_rows(store) > store.size, "the killed build had written rows nobody sees"
        else:
            assert len(collections) == 6, "the killed full build had made collections nobody names"
    finally:
        store.close()
    result = indexing.build(milvus, embedder, SilentReporter())
    assert not result.noop
    store = milvus_state(milvus)
    try:
        assert physical_rows(store) == store.size == store.count(), "the next build deleted the leftovers"
        assert "notes/avalanches.md" in store.document_ids()
        assert len(store.client.list_collections()) == 3
    finally:
        store.close()


def test_the_cli_builds_asks_and_reports_status_with_store_option_and_env(
    tmp_path: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.cli.conftest import fake_embedder_for

    def qa(*args: str) -> tuple[int, str, str]:
        import io
        from contextlib import redirect_stderr, redirect_stdout

        from qa.interfaces.cli.main import run

        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = run(list(args), make_embedder=fake_embedder_for)
        return code, out.getvalue(), err.getvalue()

    index = tmp_path / "index"
    store = f"milvus:{index / 'milvus.db'}"
    where = ["--corpus", str(corpus), "--index", str(index)]
    code, out, err = qa("index", *where, "--store", store)
    assert code == 0, err
    code, out, err = qa("status", *where, "--store", store, "--json")
    report = json.loads(out)
    assert report["vector_index"] == "milvus" and report["stale"] is False
    assert report["store"]["rows"] == report["passages"] == report["store"]["stored"]
    assert report["store"]["alias_target"] == report["store"]["collection"]
    monkeypatch.setenv(qa_paths.STORE_ENV, store)
    code, out, err = qa("ask", *where, "--json", QUESTIONS[0])
    assert code == 0, err
    assert json.loads(out)["passages"][0]["doc_id"] == "no-winners-ai-race.md"
    write_doc(corpus, "notes/avalanches.md", "avalanches on the eastern ridge")
    code, out, err = qa("status", *where)
    assert "stale" in out and "collection" in out and "rows visible" in out, out
    code, out, err = qa("status", *where, "--store", "default", "--json")
    assert json.loads(out)["built"] is False, "the default store of the same --index folder is separate"
    code, out, err = qa("ask", *where, "--store", "postgres:nope", "x")
    assert code == 2 and "unknown store" in err


def cli_status(paths: Paths, *args: str) -> tuple[int, str]:
    """Exit code and output of `qa status` on an index kept in Milvus."""
    import io
    from contextlib import redirect_stdout

    from qa.interfaces.cli.main import run
    from tests.cli.conftest import fake_embedder_for

    assert paths.store is not None and paths.root is not None
    out = io.StringIO()
    with redirect_stdout(out):
        where = ["--corpus", str(paths.corpus), "--index", str(paths.root), "--store", str(paths.store)]
        code = run(["status", *where, *args], make_embedder=fake_embedder_for)
    return code, out.getvalue()


def test_the_milvus_store_reports_its_health_and_plain_index_repairs_it(
    stores: tuple[Paths, Paths], corpus: Path
) -> None:
    # Issue 22, item 3, for an index kept in Milvus: its collections there and holding what the manifest counts.
    from qa.engine.status import index_status

    default, milvus = stores
    embedder = FakeEmbedder()
    build_both(default, milvus, embedder)
    found = manifest.read(milvus.index)
    assert indexing.check_health(milvus.index, found, verify=True).problems == ()
    store = milvus_state(milvus)
    try:
        collection = store.state.collection
        store.client.delete(collection, filter="row < 3")  # three passages lost
    finally:
        store.close()
    lost = f"Milvus collection {collection} holds {found.passages - 3:,} passages, not {found.passages:,}"
    assert indexing.check_health(milvus.index, found).problems == (lost,)
    status = index_status(milvus, lambda message: None)
    assert status.damaged and status.as_json()["damage"] == [lost]
    code, out = cli_status(milvus, "--check")
    assert code == 2 and f"(damaged: {lost} — run qa index to repair)" in out
    repaired = indexing.build(milvus, embedder, SilentReporter())
    assert repaired.repaired and not repaired.noop and repaired.passages == found.passages
    assert not index_status(milvus, lambda message: None).damaged
    assert_same_answers(default, milvus, embedder, tolerance=1e-5)

    store = milvus_state(milvus)
    try:
        sentences = store.state.sentence_collection
        store.client.drop_collection(sentences)
    finally:
        store.close()
    assert indexing.check_health(milvus.index, manifest.read(milvus.index)).problems == (
        f"Milvus collection {sentences} is missing",
    )
    assert indexing.build(milvus, embedder, SilentReporter()).repaired

    found = manifest.read(milvus.index)
    state = milvus.index / found.generation / "milvus.json"
    state.write_text(state.read_text(encoding="utf-8").replace('"bm25": "qa"', '"bm25": "QA"'), encoding="utf-8")
    assert not indexing.check_health(milvus.index, found).damaged, "the same size: only --verify sees it"
    assert indexing.check_health(milvus.index, found, verify=True).problems == (
        "milvus.json does not match its checksum",
    )
    assert indexing.build(milvus, embedder, SilentReporter(), verify=True).repaired
    assert_same_answers(default, milvus, embedder, tolerance=1e-5)


@pytest.mark.shared
def test_the_related_corpus_answers_alike(tmp_path: Path) -> None:
    if not RELATED.is_dir():
        pytest.skip("../shared/related is absent")
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(ESSAY, folder / ESSAY.name)
    shutil.copytree(RELATED, folder / "related")
    default, milvus = pair(tmp_path, folder)
    embedder = FakeEmbedder()
    build_both(default, milvus, embedder)
    assert_same_answers(default, milvus, embedder, tolerance=1e-5)


@pytest.mark.shared
def test_beir_in_milvus_reuses_the_default_vectors_and_compares_equal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from qa.interfaces.cli import main as cli
    from tests.cli.test_eval import scifact_slice
    from tests.fakes import given

    folder = scifact_slice(tmp_path / "scifact-slice")
    index = tmp_path / "index"
    where = ["--corpus", str(tmp_path), "--index", str(index), "--beir", str(folder), "--mode", "all", "--json"]
    embedder = FakeEmbedder()
    assert cli.run(["eval", *where], given(embedder)) == 0
    default = json.loads(capsys.readouterr().out)
    embedder.calls.clear()
    store = f"milvus:{index / 'milvus.db'}"
    assert cli.run(["eval", *where, "--store", store, "--compare"], given(embedder)) == 0
    milvus = json.loads(capsys.readouterr().out)
    assert embedder.calls == [40], "only the queries are embedded: the passages' vectors come from the default store"
    assert milvus["modes"] == default["modes"]
    assert milvus["comparison"] is not None


def test_bench_scale_in_milvus_searches_synthetic_corpora_exactly_below_the_threshold(tmp_path: Path) -> None:
    from qa.index.stores.milvus import bench

    rng = np.random.default_rng(0)
    real = rng.standard_normal((300, 16)).astype(np.float32)
    real /= np.linalg.norm(real, axis=1, keepdims=True)
    sentences = [f"Sentence number {number} is about topic {number % 7}." for number in range(60)]
    store = parse_store(f"milvus:{tmp_path / 'ignored.db'}")
    assert store is not None
    (point,) = bench.scale(real, sentences, ["What is topic 3 about?"], [500], folder=tmp_path, spec=store)
    assert point.passages == 500
    assert point.recall_at_10 == 1.0
    assert point.vector_index == {"kind": "milvus", "index_type": "FLAT"}
    assert point.index_mb > 0 and point.rss_mb > 0 and point.lexical_p50_ms > 0
    assert (
        str(bench.bench_paths(tmp_path, tmp_path / "index", store).store)
        == f"milvus:{tmp_path / 'index' / 'milvus.db'}"
    )


VALUES = st.one_of(
    st.sampled_from(["China", "chips", "EU", "2024-01-05", "2023-12-31T10:00", "10", "7.5", "a_b", "x%y", ""]),
    st.integers(-5, 20),
    st.floats(-10, 10, allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.dates(dt.date(2020, 1, 1), dt.date(2026, 12, 31)),
)
METADATA = st.dictionaries(
    st.sampled_from(["tags", "date", "score"]),
    st.one_of(st.none(), VALUES, st.lists(VALUES, max_size=3)),
    max_size=3,
)
CONDITIONS = st.builds(
    lambda field, op, value: f"{field}{op}{value}",
    st.sampled_from(["tags", "date", "score"]),
    st.sampled_from(["=", "!=", ">=", "<=", "~"]),
    st.sampled_from(["china", "CHIPS", "eu", "2024-01-01", "2023-12-31", "7", "7.5", "a", "true", "a_b", "x%y", "b"]),
)


@pytest.fixture(scope="module")
def metadata_collection(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, list[dict[str, Any]]]]:
    """A Milvus Lite collection of 300 generated metadata objects, as the Milvus store writes them."""
    from qa.index.stores.milvus.filters import metadata_fields
    from qa.index.stores.milvus.state import connect, release

    drawn: list[dict[str, Any]] = []

    @hypothesis_settings(max_examples=300, database=None, suppress_health_check=list(HealthCheck))
    @given(METADATA)
    def draw(metadata: dict[str, Any]) -> None:
        drawn.append(metadata)

    draw()
    uri = str(tmp_path_factory.mktemp("filters") / "filters.db")
    client = connect(uri)
    from pymilvus import DataType, MilvusClient

    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("row", DataType.INT64, is_primary=True)
    schema.add_field("meta", DataType.JSON)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=2)
    indexes = client.prepare_index_params()
    indexes.add_index(field_name="vector", index_type="FLAT", metric_type="IP")
    client.create_collection("meta", schema=schema, index_params=indexes)
    client.insert(
        "meta", [{"row": row, "meta": metadata_fields(found), "vector": [1.0, 0.0]} for row, found in enumerate(drawn)]
    )
    client.flush("meta")
    client.load_collection("meta")
    yield client, drawn
    release(uri)


@given(condition=CONDITIONS)
@hypothesis_settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
def test_pushed_down_conditions_admit_exactly_what_the_filter_admits(
    metadata_collection: tuple[Any, list[dict[str, Any]]], condition: str
) -> None:
    from qa.index.stores.milvus.filters import condition_expression
    from qa.kernel.filters import parse_condition

    client, drawn = metadata_collection
    parsed = parse_condition(condition)
    expression = condition_expression(parsed)
    plain = [json.loads(json.dumps(found, default=str)) for found in drawn]
    expected = sorted(row for row, found in enumerate(plain) if parsed.holds(found))
    if expression is None:
        assert any(mark in parsed.value for mark in "%_\\") or (parsed.op == "~" and not parsed.value)
        return
    found = sorted(int(item["row"]) for item in client.query("meta", filter=expression, output_fields=["row"]))
    assert found == expected, (condition, expression)
