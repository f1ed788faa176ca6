"""Options that change behaviour: --threshold in every mode, --report for BEIR, and file-system errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from qa.evaluation import gold as evaluation
from qa.evaluation import reports
from qa.kernel.errors import InputError
from qa.kernel.paths import Paths
from tests.cli.conftest import Result, where

FOUNDRIES = "Which company leads global chip foundries?"


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_threshold_decides_abstention_in_every_mode(qa: Callable[..., Result], essay_paths: Paths, mode: str) -> None:
    strict = qa("ask", *where(essay_paths), "--mode", mode, "--threshold", "1", "--json", FOUNDRIES).json()
    lenient = qa("ask", *where(essay_paths), "--mode", mode, "--threshold", "0", "--json", FOUNDRIES).json()
    assert strict["answered"] is False
    assert lenient["answered"] is True
    assert [p["passage_id"] for p in strict["passages"]] == [p["passage_id"] for p in lenient["passages"]]


@pytest.mark.parametrize("command", ["ask", "eval"])
@pytest.mark.parametrize("value", ["1.5", "-0.1", "high"])
def test_threshold_outside_zero_to_one_is_refused(
    qa: Callable[..., Result], essay_paths: Paths, command: str, value: str
) -> None:
    args = [FOUNDRIES] if command == "ask" else []
    result = qa(command, *where(essay_paths), "--threshold", value, *args)
    assert result.code == 2
    assert result.err.startswith("qa: error: ")
    assert result.err.count("\n") == 1
    assert "--threshold" in result.err
    assert not essay_paths.index.exists(), "refused before any work"


def test_index_folder_that_is_a_file_is_one_line(qa: Callable[..., Result], essay_paths: Paths) -> None:
    essay_paths.index.write_text("not a folder", encoding="utf-8")
    result = qa("index", *where(essay_paths))
    assert result.code == 2
    assert result.err.startswith("qa: error: ")
    assert result.err.count("\n") == 1
    assert "Traceback" not in result.err
    assert essay_paths.index.read_text(encoding="utf-8") == "not a folder"


def test_report_into_a_missing_folder_fails_before_evaluating(
    qa: Callable[..., Result], essay_paths: Paths, tmp_path: Path
) -> None:
    result = qa("eval", *where(essay_paths), "--report", str(tmp_path / "nowhere" / "r.md"))
    assert result.code == 2
    assert "does not exist" in result.err
    assert not essay_paths.index.exists()


def test_beir_markdown_report() -> None:
    data = {
        "beir": "slice",
        "split": "test",
        "queries": 2,
        "documents": 3,
        "at": "now",
        "modes": {"lexical": {"ndcg@10": 0.5, "recall@100": 1.0, "mrr@10": 0.25}},
    }
    report = reports.markdown_report(data)
    assert "| mode | nDCG@10 | Recall@100 | MRR@10 |" in report
    assert "| lexical | 0.5000 | 1.0000 | 0.2500 |" in report


@pytest.mark.parametrize("answers", ['"TSMC"', "[1, 2]", '{"a": 1}'])
def test_gold_answers_must_be_a_list_of_strings(tmp_path: Path, answers: str) -> None:
    gold = tmp_path / "g.jsonl"
    gold.write_text(f'{{"id": "a", "question": "Who?", "answers": {answers}}}\n', encoding="utf-8")
    with pytest.raises(InputError, match="list of strings"):
        evaluation.load_gold(gold)


def test_gold_file_that_is_not_utf8(tmp_path: Path) -> None:
    gold = tmp_path / "g.jsonl"
    gold.write_bytes(json.dumps({"id": "a", "question": "Qui a dit «non»?", "answers": ["x"]}).encode("utf-16"))
    with pytest.raises(InputError, match="not UTF-8"):
        evaluation.load_gold(gold)
