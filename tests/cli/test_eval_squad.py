"""`qa eval --squad`: a SQuAD file indexed once, every question asked, held-out articles, errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from qa.kernel.paths import Paths
from tests.cli.conftest import Result, assert_one_line_error, where
from tests.pictures import assert_png
from tests.unit.test_squad import TINY


def test_eval_squad_reports_sentence_accuracy_auroc_and_ece(qa: Callable[..., Result], paths: Paths) -> None:
    result = qa("eval", *where(paths), "--squad", str(TINY), "--mode", "lexical", "--json")
    assert result.code == 0, result.err
    data = result.json()
    lexical = data["modes"]["lexical"]
    assert (lexical["answerable"], lexical["unanswerable"]) == (5, 1)
    assert 0 <= lexical["answer_sentence_accuracy"] <= 1
    assert lexical["auroc"] is None or 0 <= lexical["auroc"] <= 1
    assert 0 <= lexical["ece"] <= 1
    assert data["articles"] == 2
    cached = list((paths.index / "squad").iterdir())
    assert len(cached) == 1
    again = qa("eval", *where(paths), "--squad", str(TINY), "--mode", "lexical", "--holdout", "Mountain_Pass", "--json")
    assert again.code == 0, again.err
    held = again.json()
    assert held["asked_articles"] == ["Mountain_Pass"]
    assert held["modes"]["lexical"]["answerable"] == 2
    assert list((paths.index / "squad").iterdir()) == cached  # indexed once


def test_eval_squad_report_draws_the_pictures_of_the_set(
    qa: Callable[..., Result], paths: Paths, tmp_path: Path
) -> None:
    report = tmp_path / "squad.md"
    arguments = ("--squad", str(TINY), "--mode", "lexical", "--report", str(report))
    result = qa("eval", *where(paths), *arguments)
    assert result.code == 0, result.err
    assert "Threshold that keeps false abstentions at or under 5%:" in result.out
    drawn = sorted(path.name for path in tmp_path.glob("squad-*.png"))
    assert drawn == ["squad-reliability.png", "squad-roc.png", "squad-tradeoff.png"]
    for name in drawn:
        assert_png(tmp_path / name)
        assert f"]({name})" in report.read_text(encoding="utf-8")


def test_eval_squad_errors(qa: Callable[..., Result], paths: Paths, tmp_path: Path) -> None:
    assert_one_line_error(qa("eval", *where(paths), "--holdout", "IPod"), "--holdout", "--squad")
    assert_one_line_error(
        qa("eval", *where(paths), "--squad", str(TINY), "--holdout", "Atlantis"), "no article Atlantis"
    )
    assert_one_line_error(qa("eval", *where(paths), "--squad", str(tmp_path / "none.json")), "does not exist")
