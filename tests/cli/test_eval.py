"""`qa eval`: gold-set tables and JSON, reports, comparisons, errors, and BEIR folders."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest

from qa.engine.engine import EmbedderFactory
from qa.evaluation import beir
from qa.interfaces.cli import main
from qa.kernel.paths import Paths
from qa.models.embedding import Embedder
from tests.cli.conftest import fake_embedder_for, where
from tests.conftest import ESSAY, REPO, SCIFACT
from tests.fakes import FakeEmbedder, given
from tests.pictures import assert_png

GOLD = REPO / "corpus" / "gold" / "essay.jsonl"


@pytest.fixture
def gold_paths(essay_paths: Paths) -> Paths:
    (essay_paths.corpus / "gold").mkdir()
    shutil.copy(GOLD, essay_paths.corpus / "gold" / "essay.jsonl")
    return essay_paths


def qa(*args: str, make_embedder: EmbedderFactory = fake_embedder_for) -> int:
    return main.run(list(args), make_embedder)


def test_eval_json_reports_every_mode_on_the_default_gold_set(
    gold_paths: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    assert qa("eval", *where(gold_paths), "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data["modes"]) == {"hybrid", "dense", "lexical"}
    lexical = data["modes"]["lexical"]
    assert lexical["answerable"] >= 60
    assert lexical["unanswerable"] >= 15
    # BM25 does not depend on the fake embedder: it must find most paraphrased answers on the essay
    assert lexical["hit_at"]["hit@5"] >= 0.85
    assert 0 <= lexical["mrr_at_10"] <= 1
    assert lexical["latency_p50_ms"] > 0
    assert all("question" in failure and "top_citation" in failure for failure in lexical["failures"])
    assert json.loads((gold_paths.index / "manifest.json").read_text())["documents"].keys() == {ESSAY.name}


def test_eval_table_report_and_compare(gold_paths: Paths, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "report.md"
    assert qa("eval", *where(gold_paths), "--mode", "lexical", "--report", str(report)) == 0
    table = capsys.readouterr().out
    assert "Hit@1" in table
    assert table.splitlines()[2].startswith("lexical")
    assert "| lexical |" in report.read_text(encoding="utf-8")
    assert qa("eval", *where(gold_paths), "--mode", "lexical", "--compare", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    before_after = data["comparison"]["metrics"]["lexical"]["hit@1"]
    assert before_after[0] == before_after[1] == data["modes"]["lexical"]["hit_at"]["hit@1"]
    assert data["comparison"]["newly_failing"] == {"lexical": []}
    assert len(list(gold_paths.runs.glob("essay-*.json"))) == 2


def test_eval_report_draws_its_pictures_and_every_output_gives_the_five_percent_threshold(
    gold_paths: Paths, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "essay.md"
    assert qa("eval", *where(gold_paths), "--mode", "lexical", "--report", str(report)) == 0
    text = capsys.readouterr().out.splitlines()
    row = text[text.index("Threshold that keeps false abstentions at or under 5%:") + 2].split()
    assert row[0] == "lexical" and float(row[4]) <= 0.05
    markdown = report.read_text(encoding="utf-8")
    for figure in ("reliability", "roc", "tradeoff"):
        assert_png(tmp_path / f"essay-{figure}.png")
        assert f"](essay-{figure}.png)" in markdown
    assert "## Threshold that keeps false abstentions at or under 5%" in markdown
    assert qa("eval", *where(gold_paths), "--mode", "lexical", "--json") == 0
    lexical = json.loads(capsys.readouterr().out)["modes"]["lexical"]
    chosen, points = lexical["chosen_threshold"], lexical["tradeoff"]
    assert chosen["threshold"] == pytest.approx(float(row[1]), abs=5e-4)
    higher = [point for point in points if point["threshold"] > chosen["threshold"]]
    assert chosen["false_abstentions"] <= 0.05 < min(point["false_abstentions"] for point in higher)


def test_eval_any_gold_file(essay_paths: Paths, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gold = tmp_path / "mine.jsonl"
    rows = [
        {"id": "t", "question": "Which company leads global chip foundries?", "answers": ["TSMC"]},
        {"id": "u", "question": "How do I bake sourdough bread?", "answers": [], "answerable": False},
    ]
    gold.write_text("\n".join(json.dumps(row) for row in rows), encoding="utf-8")
    assert qa("eval", *where(essay_paths), "--gold", str(gold), "--mode", "lexical", "--json", "-k", "3") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["k"] == 3
    assert data["modes"]["lexical"]["answerable"] == 1
    assert data["modes"]["lexical"]["hit_at"]["hit@3"] == 1.0


def test_eval_warns_when_gold_documents_are_not_indexed(
    essay_paths: Paths, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gold = tmp_path / "elsewhere.jsonl"
    rows = [
        {"id": "a", "question": "Which company leads chip foundries?", "answers": ["TSMC"], "doc_id": "related/x.md"},
        {"id": "b", "question": "Who called export controls a fool's errand?", "answers": ["Raimondo"]},
    ]
    gold.write_text("\n".join(json.dumps(row) for row in rows), encoding="utf-8")
    assert qa("eval", *where(essay_paths), "--gold", str(gold), "--mode", "lexical", "--json") == 0
    captured = capsys.readouterr()
    assert "1 of 2 gold questions name a document that is not in the index (first: related/x.md)" in captured.err
    assert json.loads(captured.out)["modes"]["lexical"]["answerable"] == 2
    rows[0]["doc_id"] = ESSAY.name
    gold.write_text("\n".join(json.dumps(row) for row in rows), encoding="utf-8")
    assert qa("eval", *where(essay_paths), "--gold", str(gold), "--mode", "lexical", "--json") == 0
    assert "not in the index" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--gold", "missing.jsonl"], "does not exist"),
        (["-k", "0"], "at least 1"),
        (["--mode", "fuzzy"], "fuzzy"),
        (["--beir", "nowhere"], "corpus.jsonl is missing"),
    ],
)
def test_eval_bad_input_is_one_line(
    essay_paths: Paths, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert qa("eval", *where(essay_paths), *args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert message in captured.err


def scifact_slice(folder: Path, documents: int = 200, queries: int = 40) -> Path:
    """A BEIR folder of `documents` SciFact abstracts that holds every judged document of `queries` test queries."""
    if not SCIFACT.is_dir():
        pytest.skip("../shared/data/scifact is absent")
    qrels: dict[str, list[str]] = {}
    for line in (SCIFACT / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        query_id, doc_id, _ = line.split("\t")
        qrels.setdefault(query_id, []).append(doc_id)
    chosen = sorted(qrels)[:queries]
    needed = {doc_id for query_id in chosen for doc_id in qrels[query_id]}
    corpus = [json.loads(line) for line in (SCIFACT / "corpus.jsonl").read_text(encoding="utf-8").splitlines()]
    rest = [row for row in corpus if row["_id"] not in needed]
    keep = [row for row in corpus if row["_id"] in needed] + random.Random(7).sample(rest, documents - len(needed))
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(row) for row in keep), encoding="utf-8")
    shutil.copy(SCIFACT / "queries.jsonl", folder / "queries.jsonl")
    lines = ["query-id\tcorpus-id\tscore"] + [f"{q}\t{d}\t1" for q in chosen for d in qrels[q]]
    (folder / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def test_eval_beir_slice_lexical(paths: Paths, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = scifact_slice(tmp_path / "scifact-slice")
    report = tmp_path / "beir.md"
    assert qa("eval", *where(paths), "--beir", str(folder), "--mode", "lexical", "--json", "--report", str(report)) == 0
    assert [path.name for path in tmp_path.glob("beir*")] == ["beir.md"], "no confidences, no pictures"
    data = json.loads(capsys.readouterr().out)
    assert (data["documents"], data["queries"]) == (200, 40)
    scores = data["modes"]["lexical"]
    # BM25 over 200 abstracts that include every relevant one: far better than chance
    assert scores["ndcg@10"] > 0.6
    assert scores["recall@100"] >= scores["ndcg@10"] - 0.2
    assert 0 < scores["mrr@10"] <= 1
    cached = list((paths.index / "beir").iterdir())
    assert len(cached) == 1
    assert qa("eval", *where(paths), "--beir", str(folder), "--mode", "lexical", "--json") == 0
    assert json.loads(capsys.readouterr().out)["modes"] == data["modes"]
    assert list((paths.index / "beir").iterdir()) == cached


def test_eval_beir_all_modes_embeds_the_queries_once(
    paths: Paths, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = scifact_slice(tmp_path / "scifact-slice")
    embedder = FakeEmbedder()
    assert (
        qa("eval", *where(paths), "--beir", str(folder), "--mode", "lexical", "--json", make_embedder=given(embedder))
        == 0
    )  # builds the cache
    embedder.calls.clear()
    assert (
        qa("eval", *where(paths), "--beir", str(folder), "--mode", "all", "--json", make_embedder=given(embedder)) == 0
    )
    assert set(json.loads(capsys.readouterr().out.splitlines()[-1])["modes"]) == {"hybrid", "dense", "lexical"}
    assert embedder.calls == [40], "one batch of the 40 queries serves both modes that need vectors"


def test_beir_measures_match_hand_computed_values() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"b": 1, "c": 1}}
    ranked = {"q1": {"x": 3.0, "a": 2.0}, "q2": {"b": 2.0, "y": 1.5, "c": 1.0}}
    scores = beir.measure(qrels, ranked)
    ndcg_q1 = 1 / 1.5849625  # relevant at rank 2: 1/log2(3), ideal 1
    ndcg_q2 = (1 + 1 / 2) / (1 + 1 / 1.5849625)  # relevant at ranks 1 and 3
    assert scores["ndcg@10"] == pytest.approx((ndcg_q1 + ndcg_q2) / 2, abs=1e-4)
    assert scores["mrr@10"] == pytest.approx((0.5 + 1) / 2, abs=1e-4)
    assert scores["recall@100"] == 1.0


@pytest.mark.model
@pytest.mark.slow
def test_eval_beir_slice_dense_with_the_real_model(
    paths: Paths,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    real_embedder: Embedder,
) -> None:
    folder = scifact_slice(tmp_path / "scifact-slice")
    assert (
        qa("eval", *where(paths), "--beir", str(folder), "--mode", "all", "--json", make_embedder=given(real_embedder))
        == 0
    )
    modes = json.loads(capsys.readouterr().out)["modes"]
    assert modes["dense"]["ndcg@10"] > 0.6
    assert modes["hybrid"]["ndcg@10"] >= modes["dense"]["ndcg@10"] - 0.05
