"""What answering at a confidence threshold gives on a set of questions: the operating point at every threshold
(answer rate, accuracy, false abstentions, near misses refused), the threshold that keeps false abstentions at or
under a limit, and the reliability of the confidence in bins.

A question is answered at threshold t when its confidence is at least t; an answer is correct when the question is
answerable and the top passage's highlighted sentence holds its answer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

FALSE_ABSTENTION_LIMIT = 0.05  # the threshold `qa eval` prints keeps false abstentions at or under this share
CALIBRATION_BINS = 10


@dataclass(frozen=True)
class OperatingPoint:
    """Answering the questions whose confidence is at least `threshold` (None: qa's own answered/abstained).

    `answer_rate` is the share of all questions answered; `accuracy` the share of answered questions answered
    correctly (None when none is answered); `false_abstentions` the share of answerable questions refused (None
    without any); `near_misses_refused` the share of unanswerable questions refused (None without any)."""

    threshold: float | None
    answer_rate: float
    accuracy: float | None
    false_abstentions: float | None
    near_misses_refused: float | None


@dataclass(frozen=True)
class Bin:
    """One bin of a reliability diagram: confidences in [low, high), their count, mean and the share correct."""

    low: float
    high: float
    questions: int
    confidence: float
    accuracy: float


def _point(
    threshold: float | None, answered: int, answered_answerable: int, correct: int, answerable: int, questions: int
) -> OperatingPoint:
    """The operating point from counts: questions answered, of them answerable and correct, out of the totals."""
    unanswerable = questions - answerable
    answered_unanswerable = answered - answered_answerable
    return OperatingPoint(
        threshold=threshold,
        answer_rate=round(answered / questions, 4) if questions else 0.0,
        accuracy=round(correct / answered, 4) if answered else None,
        false_abstentions=round((answerable - answered_answerable) / answerable, 4) if answerable else None,
        near_misses_refused=round((unanswerable - answered_unanswerable) / unanswerable, 4) if unanswerable else None,
    )


def sweep(confidences: Sequence[float], answerable: Sequence[bool], correct: Sequence[bool]) -> list[OperatingPoint]:
    """The operating point at every distinct confidence, highest threshold first (each answers more questions)."""
    questions = sorted(zip(confidences, answerable, correct, strict=True), key=lambda question: -question[0])
    total_answerable = sum(answerable)
    points: list[OperatingPoint] = []
    answered_answerable = right = 0
    for index, (confidence, is_answerable, is_correct) in enumerate(questions):
        answered_answerable += is_answerable
        right += is_answerable and is_correct
        if index + 1 < len(questions) and questions[index + 1][0] == confidence:
            continue  # a threshold answers every question of its confidence at once
        points.append(_point(confidence, index + 1, answered_answerable, right, total_answerable, len(questions)))
    return points


def decision(answered: Sequence[bool], answerable: Sequence[bool], correct: Sequence[bool]) -> OperatingPoint:
    """The operating point of answers as they were given or refused."""
    given = [
        (is_answerable, is_correct)
        for is_answered, is_answerable, is_correct in zip(answered, answerable, correct, strict=True)
        if is_answered
    ]
    return _point(
        None,
        len(given),
        sum(is_answerable for is_answerable, _ in given),
        sum(is_answerable and is_correct for is_answerable, is_correct in given),
        sum(answerable),
        len(answered),
    )


def chosen_threshold(points: Sequence[OperatingPoint], limit: float = FALSE_ABSTENTION_LIMIT) -> OperatingPoint | None:
    """The point of the highest threshold whose false abstentions are at or under `limit` (None without any
    answerable question)."""
    return next(
        (point for point in points if point.false_abstentions is not None and point.false_abstentions <= limit), None
    )


def reliability(confidences: Sequence[float], correct: Sequence[bool], bins: int = CALIBRATION_BINS) -> list[Bin]:
    """The non-empty bins of equal width over [0, 1] (a confidence of 1 or more falls in the last)."""
    found: list[Bin] = []
    for low in range(bins):
        inside = [
            (confidence, hit)
            for confidence, hit in zip(confidences, correct, strict=True)
            if low / bins <= confidence < (low + 1) / bins or (low == bins - 1 and confidence >= 1)
        ]
        if inside:
            mean = sum(confidence for confidence, _ in inside) / len(inside)
            share = sum(hit for _, hit in inside) / len(inside)
            found.append(Bin(low / bins, (low + 1) / bins, len(inside), mean, share))
    return found


def calibration_error(bins: Sequence[Bin]) -> float | None:
    """Expected calibration error: the gap between mean confidence and accuracy of each bin, weighted by its share
    of the questions (None for no questions)."""
    total = sum(found.questions for found in bins)
    if not total:
        return None
    return sum(found.questions / total * abs(found.confidence - found.accuracy) for found in bins)
