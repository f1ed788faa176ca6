"""Answering at a confidence threshold, on small sets with known numbers: every operating point, the threshold that
keeps false abstentions at or under 5%, qa's own answers, reliability bins and the pictures drawn from them."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.evaluation import gold, pictures
from qa.evaluation.gold import QuestionResult
from qa.evaluation.tradeoffs import OperatingPoint, calibration_error, chosen_threshold, decision, reliability, sweep
from tests.pictures import assert_png

# 20 answerable questions (so 5% is one refused) and 4 unanswerable ones
ANSWERABLE = [0.10, 0.35, *[0.60] * 18]
CORRECT = [True, False, *[True] * 15, *[False] * 3]  # of the 18 at 0.60, 15 have the right sentence
UNANSWERABLE = [0.05, 0.30, 0.40, 0.70]
CONFIDENCES = ANSWERABLE + UNANSWERABLE
LABELS = [True] * 20 + [False] * 4
RIGHT = CORRECT + [False] * 4


def test_every_threshold_answers_the_questions_at_or_above_it() -> None:
    points = sweep(CONFIDENCES, LABELS, RIGHT)
    assert [point.threshold for point in points] == [0.70, 0.60, 0.40, 0.35, 0.30, 0.10, 0.05]
    assert points[0] == OperatingPoint(0.70, round(1 / 24, 4), 0.0, 1.0, 0.75)
    assert points[1] == OperatingPoint(0.60, round(19 / 24, 4), round(15 / 19, 4), 0.1, 0.75), "ties answer at once"
    assert points[-1] == OperatingPoint(0.05, 1.0, round(16 / 24, 4), 0.0, 0.0)


def test_the_chosen_threshold_keeps_false_abstentions_at_or_under_five_percent() -> None:
    chosen = chosen_threshold(sweep(CONFIDENCES, LABELS, RIGHT))
    # 0.35 refuses only the answerable question at 0.10 (1 of 20 = 5%); 0.60 would refuse two
    assert chosen == OperatingPoint(
        threshold=0.35,
        answer_rate=round(21 / 24, 4),  # 19 answerable and the unanswerable ones at 0.40 and 0.70
        accuracy=round(15 / 21, 4),  # the 0.35 one has the wrong sentence, the unanswerable ones count as wrong
        false_abstentions=0.05,
        near_misses_refused=0.5,
    )
    assert chosen_threshold(sweep(CONFIDENCES, LABELS, RIGHT), limit=0.0) == sweep(CONFIDENCES, LABELS, RIGHT)[-2]
    assert chosen_threshold(sweep([0.3, 0.6], [False, False], [False, False])) is None, "no answerable question"


def test_qa_s_own_answers_are_an_operating_point() -> None:
    answered = [confidence >= 0.5 for confidence in CONFIDENCES]
    assert decision(answered, LABELS, RIGHT) == OperatingPoint(None, round(19 / 24, 4), round(15 / 19, 4), 0.1, 0.75)


def test_reliability_bins_and_the_calibration_error() -> None:
    bins = reliability([0.05, 0.15, 0.95, 1.0], [False, True, True, True])
    assert [(found.low, found.high, found.questions) for found in bins] == [(0.0, 0.1, 1), (0.1, 0.2, 1), (0.9, 1.0, 2)]
    assert [found.confidence for found in bins] == pytest.approx([0.05, 0.15, 0.975])
    assert [found.accuracy for found in bins] == [0.0, 1.0, 1.0]
    assert calibration_error(bins) == pytest.approx(0.05 / 4 + 0.85 / 4 + 0.025 / 2)
    assert calibration_error([]) is None


def results(confidences: list[float], labels: list[bool], right: list[bool]) -> list[QuestionResult]:
    return [
        QuestionResult(
            id=f"q{number}",
            question="?",
            answerable=label,
            rank=1 if label else None,
            answered=confidence >= 0.5,
            expected=("x",) if label else (),
            top_citation="Doc, ¶1",
            milliseconds=1.0,
            confidence=confidence,
            sentence_correct=correct if label else None,
        )
        for number, (confidence, label, correct) in enumerate(zip(confidences, labels, right, strict=True))
    ]


def test_a_mode_report_carries_the_threshold_the_points_and_the_bins_into_its_json() -> None:
    report = gold.summarise("hybrid", results(CONFIDENCES, LABELS, RIGHT))
    assert report.chosen_threshold is not None and report.chosen_threshold.threshold == 0.35
    assert report.ece == pytest.approx(calibration_error(report.reliability), abs=1e-4)
    data = gold.report_json([report], 5, "mine.jsonl")["modes"]["hybrid"]
    assert data["chosen_threshold"]["threshold"] == 0.35
    assert data["decision"]["threshold"] is None
    assert len(data["tradeoff"]) == 7 and len(data["reliability"]) == 6


def test_pictures_are_drawn_for_each_figure_beside_the_report(tmp_path: Path) -> None:
    reports = [gold.summarise(mode, results(CONFIDENCES, LABELS, RIGHT)) for mode in ("hybrid", "lexical")]
    drawn = pictures.draw(gold.report_json(reports, 5, "sets/mine.jsonl"), tmp_path / "mine.md")
    assert [picture.path.name for picture in drawn] == ["mine-reliability.png", "mine-roc.png", "mine-tradeoff.png"]
    for picture in drawn:
        assert_png(picture.path)
    only_answerable = gold.report_json([gold.summarise("hybrid", results(ANSWERABLE, [True] * 20, CORRECT))], 5, "a")
    names = [picture.path.name for picture in pictures.draw(only_answerable, tmp_path / "a.md")]
    assert names == ["a-reliability.png", "a-tradeoff.png"], "no ROC curve without unanswerable questions"
    assert pictures.draw({"beir": "scifact", "modes": {"lexical": {"ndcg@10": 0.7}}}, tmp_path / "b.md") == []
