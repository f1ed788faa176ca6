"""Gold-set metrics on hand-computed cases, gold loading, saved runs and comparisons."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.evaluation import gold as evaluation
from qa.evaluation import reports, runs
from qa.evaluation.gold import GoldQuestion, QuestionResult
from qa.kernel.errors import InputError


def result(
    rank: int | None, answered: bool = True, answerable: bool = True, ms: float = 1.0, id: str = "q"
) -> QuestionResult:
    return QuestionResult(id, "?", answerable, rank, answered, ("x",), "cite", ms)


def test_containment_folds_case_and_whitespace() -> None:
    assert evaluation.contains_answer("The  TSMC\nfoundry", ["tsmc foundry"])
    assert evaluation.contains_answer("a fool’s errand", ["nothing", "FOOL’S ERRAND"])
    assert not evaluation.contains_answer("TSMC", ["Samsung"])
    assert not evaluation.contains_answer("anything", ["  "])


def test_hit_at_k_and_mrr_match_hand_computed_values() -> None:
    # ranks 1, 2, 4, none: Hit@1 = 1/4, Hit@3 = 2/4, Hit@5 = 3/4, MRR@10 = (1 + 1/2 + 1/4 + 0) / 4
    report = evaluation.summarise("hybrid", [result(1), result(2), result(4), result(None)])
    assert report.hit_at == {"hit@1": 0.25, "hit@3": 0.5, "hit@5": 0.75}
    assert report.mrr_at_10 == pytest.approx((1 + 0.5 + 0.25) / 4, abs=1e-4)
    assert [failure.rank for failure in report.failures(3)] == [4, None]


def test_rank_beyond_ten_counts_nothing_for_mrr() -> None:
    report = evaluation.summarise("dense", [result(11), result(1)])
    assert report.mrr_at_10 == 0.5


def test_abstention_precision_recall_and_false_rate() -> None:
    results = [
        result(1, answered=True),
        result(1, answered=False),  # a wrong abstention
        result(None, answered=False, answerable=False),  # right
        result(None, answered=False, answerable=False),  # right
        result(None, answered=True, answerable=False),  # missed
    ]
    report = evaluation.summarise("hybrid", results)
    assert report.abstention_precision == pytest.approx(2 / 3, abs=1e-4)
    assert report.abstention_recall == pytest.approx(2 / 3, abs=1e-4)
    assert report.false_abstention_rate == 0.5
    assert (report.answerable, report.unanswerable) == (2, 3)


def test_latency_percentiles_interpolate() -> None:
    report = evaluation.summarise("lexical", [result(1, ms=value) for value in (1.0, 2.0, 3.0, 4.0, 100.0)])
    assert report.latency_p50_ms == 3.0
    assert report.latency_p95_ms == pytest.approx(80.8)


def write_lines(path: Path, rows: list[object]) -> Path:
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    return path


def test_load_gold_reads_answerable_and_unanswerable(tmp_path: Path) -> None:
    gold = write_lines(
        tmp_path / "g.jsonl",
        [
            {"id": "a", "question": "Who?", "answers": ["X"], "doc_id": "d.md"},
            {"id": "b", "question": "Why?", "answers": [], "answerable": False},
        ],
    )
    assert evaluation.load_gold(gold) == [
        GoldQuestion("a", "Who?", ("X",), "d.md", True),
        GoldQuestion("b", "Why?", (), None, False),
    ]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["not json"], "g.jsonl:1"),
        ([{"id": "a", "answers": ["x"]}], "KeyError"),
        ([{"id": "a", "question": "q", "answers": []}], "lists no answers"),
        ([{"id": "a", "question": "q", "answers": ["x"]}, {"id": "a", "question": "r", "answers": ["y"]}], "duplicate"),
        ([], "no questions"),
    ],
)
def test_load_gold_rejects_bad_files_naming_the_line(tmp_path: Path, rows: list[object], message: str) -> None:
    path = tmp_path / "g.jsonl"
    path.write_text("\n".join(row if isinstance(row, str) else json.dumps(row) for row in rows), encoding="utf-8")
    with pytest.raises(InputError, match=message):
        evaluation.load_gold(path)


def test_missing_gold_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        evaluation.load_gold(tmp_path / "none.jsonl")


def test_runs_are_saved_and_compared(tmp_path: Path) -> None:
    before = evaluation.report_json([evaluation.summarise("hybrid", [result(1, id="a"), result(None, id="b")])], 5, "g")
    after = evaluation.report_json([evaluation.summarise("hybrid", [result(9, id="a"), result(2, id="b")])], 5, "g")
    folder = tmp_path / "runs"
    runs.save_run(folder, "g-1", before)
    assert runs.previous_run(folder, "g-1") == json.loads(json.dumps(before))
    assert runs.previous_run(folder, "other") is None
    comparison = runs.compare_runs(before, after)
    assert comparison.newly_passing == {"hybrid": ["b"]}
    assert comparison.newly_failing == {"hybrid": ["a"]}
    assert comparison.metrics["hybrid"]["hit@1"] == (0.5, 0.0)
    markdown = reports.markdown_report(after, comparison)
    assert "| hybrid |" in markdown
    assert "newly failing: a" in markdown


def test_gold_key_depends_on_the_file(tmp_path: Path) -> None:
    assert evaluation.gold_key(tmp_path / "a.jsonl") == evaluation.gold_key(tmp_path / "a.jsonl")
    assert evaluation.gold_key(tmp_path / "a.jsonl") != evaluation.gold_key(tmp_path / "x" / "a.jsonl")
