"""Answer quality: gold sets judged by answer containment, with Hit@k, MRR, abstention, AUROC and calibration."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from qa.answering.retrieval import MODES, Answer, Mode, Searcher, Settings
from qa.evaluation import tradeoffs
from qa.evaluation.tradeoffs import Bin, OperatingPoint
from qa.kernel.errors import InputError
from qa.kernel.measuring import percentile

HIT_KS = (1, 3, 5)
MRR_DEPTH = 10
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class GoldQuestion:
    """A question and the strings of which a correct passage contains at least one."""

    id: str
    question: str
    answers: tuple[str, ...]
    doc_id: str | None = None
    answerable: bool = True
    kind: str | None = None  # the gold file's "type": what sort of question it is (meta, thesis, why...)


@dataclass(frozen=True)
class QuestionResult:
    """How one gold question fared: the rank of the first correct passage (None if not in the top 10)."""

    id: str
    question: str
    answerable: bool
    rank: int | None
    answered: bool
    expected: tuple[str, ...]
    top_citation: str | None
    milliseconds: float
    confidence: float | None = None
    sentence_correct: bool | None = None
    kind: str | None = None


@dataclass(frozen=True)
class ModeReport:
    """Metrics of one retrieval mode over a gold set; with confidences, what answering at each threshold would give
    (`tradeoff`, highest threshold first), the threshold that keeps false abstentions at or under 5%
    (`chosen_threshold`), qa's own answers as an operating point (`decision`) and the reliability bins."""

    mode: str
    questions: int
    answerable: int
    unanswerable: int
    hit_at: dict[str, float]
    mrr_at_10: float
    abstention_precision: float | None
    abstention_recall: float | None
    false_abstention_rate: float
    latency_p50_ms: float
    latency_p95_ms: float
    results: tuple[QuestionResult, ...] = field(repr=False)
    answer_sentence_accuracy: float | None = None
    auroc: float | None = None
    ece: float | None = None
    chosen_threshold: OperatingPoint | None = None
    decision: OperatingPoint | None = None
    reliability: tuple[Bin, ...] = ()
    tradeoff: tuple[OperatingPoint, ...] = ()

    def failures(self, k: int) -> list[QuestionResult]:
        """Answerable questions with no correct passage in the top k."""
        return [result for result in self.results if result.answerable and (result.rank is None or result.rank > k)]


def fold(text: str) -> str:
    """Case- and whitespace-insensitive form used for answer containment."""
    return _SPACE.sub(" ", text).strip().casefold()


def contains_answer(text: str, answers: Sequence[str]) -> bool:
    """Whether text contains any answer string, ignoring case and runs of white space."""
    folded = fold(text)
    return any(answer and answer in folded for answer in map(fold, answers))


def load_gold(path: Path) -> list[GoldQuestion]:
    """Read a JSON Lines gold set; a malformed line is an error naming the line."""
    if not path.is_file():
        raise InputError(f"gold set {path} does not exist: pass --gold FILE")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise InputError(f"gold set {path} is not UTF-8 text") from error
    questions: list[GoldQuestion] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            answers = raw.get("answers", [])
            if not isinstance(answers, list) or not all(isinstance(answer, str) for answer in answers):
                raise TypeError("answers must be a list of strings")
            question = GoldQuestion(
                id=str(raw.get("id") or f"line-{number}"),
                question=str(raw["question"]),
                answers=tuple(answers),
                doc_id=raw.get("doc_id"),
                answerable=bool(raw.get("answerable", True)),
                kind=str(raw["type"]) if raw.get("type") else None,
            )
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise InputError(f"{path}:{number}: not a gold question ({type(error).__name__}: {error})") from error
        if question.answerable and not question.answers:
            raise InputError(f"{path}:{number}: answerable question {question.id!r} lists no answers")
        if question.id in seen:
            raise InputError(f"{path}:{number}: duplicate id {question.id!r}")
        seen.add(question.id)
        questions.append(question)
    if not questions:
        raise InputError(f"gold set {path} has no questions")
    return questions


def first_correct_rank(answer: Answer, question: GoldQuestion) -> int | None:
    """1-based rank of the first passage that contains an answer (and is in doc_id, when given)."""
    for hit in answer.hits:
        in_document = question.doc_id is None or hit.passage.doc_id == question.doc_id
        if in_document and contains_answer(hit.passage.text, question.answers):
            return hit.rank
    return None


def highlight_correct(answer: Answer, question: GoldQuestion) -> bool:
    """Whether the top passage's highlighted sentence contains an answer (in doc_id, when given)."""
    if not answer.hits or answer.hits[0].highlight is None:
        return False
    top = answer.hits[0]
    if question.doc_id is not None and top.passage.doc_id != question.doc_id:
        return False
    start, end = top.highlight  # type: ignore[misc]
    return contains_answer(top.passage.text[start:end], question.answers)


def stray_questions(gold: Sequence[GoldQuestion], document_ids: Iterable[str]) -> list[GoldQuestion]:
    """Gold questions whose `doc_id` names no indexed document: no answer can count as found for them."""
    indexed = set(document_ids)
    return [question for question in gold if question.doc_id is not None and question.doc_id not in indexed]


def evaluate(
    searcher: Searcher, gold: Sequence[GoldQuestion], settings: Settings, advance: Callable[[], None] | None = None
) -> ModeReport:
    """Ask every gold question in one mode and score the answers (calling `advance` after each)."""
    depth = replace(settings, k=max(settings.k, MRR_DEPTH))
    results: list[QuestionResult] = []
    for question in gold:
        began = time.perf_counter()
        answer = searcher.ask(question.question, depth)
        elapsed = (time.perf_counter() - began) * 1000
        results.append(
            QuestionResult(
                id=question.id,
                question=question.question,
                answerable=question.answerable,
                rank=first_correct_rank(answer, question) if question.answerable else None,
                answered=answer.answered,
                expected=question.answers,
                top_citation=answer.hits[0].passage.citation if answer.hits else None,
                milliseconds=round(elapsed, 2),
                confidence=answer.confidence,
                sentence_correct=highlight_correct(answer, question) if question.answerable else None,
                kind=question.kind,
            )
        )
        if advance is not None:
            advance()
    return summarise(settings.mode, results)


def evaluate_gold(
    searcher: Searcher,
    gold: Path,
    questions: Sequence[GoldQuestion],
    settings: Settings,
    modes: Sequence[Mode],
    warn: Callable[[str], None],
) -> tuple[dict[str, Any], str]:
    """The `qa eval` report of the gold set's questions in each mode, and the key its runs are saved under. With
    a filter, only the questions about the documents it admits are asked (and their runs are kept apart)."""
    store = searcher.store
    if settings.filter:
        admitted = {doc for doc in store.document_ids() if settings.filter.admits(doc, store.document(doc).metadata)}
        questions = [question for question in questions if question.doc_id is None or question.doc_id in admitted]
        if not questions:
            raise InputError(f"no gold question is about a document that passes the filter {settings.filter}")
    strays = stray_questions(questions, store.document_ids())
    if strays:
        warn(
            f"warning: {len(strays)} of {len(questions)} gold questions name a document that is not in the index "
            f"(first: {strays[0].doc_id}); they cannot be found: check --corpus against the gold set"
        )
    reports = [evaluate(searcher, questions, replace(settings, mode=mode)) for mode in modes]
    key = (
        gold_key(gold)
        if not settings.filter
        else f"{gold_key(gold)}-{hashlib.sha256(str(settings.filter).encode()).hexdigest()[:8]}"
    )
    return report_json(reports, settings.k, gold), key


def summarise(mode: str, results: Sequence[QuestionResult]) -> ModeReport:
    """Containment metrics (DPR-style Hit@k, MRR@10), abstention quality and latency of a set of results."""
    answerable = [result for result in results if result.answerable]
    unanswerable = [result for result in results if not result.answerable]
    hit_at = {f"hit@{k}": _share(answerable, lambda r, k=k: r.rank is not None and r.rank <= k) for k in HIT_KS}
    mrr = _mean([1 / r.rank if r.rank is not None and r.rank <= MRR_DEPTH else 0.0 for r in answerable])
    abstained = [result for result in results if not result.answered]
    correct_abstentions = sum(1 for result in abstained if not result.answerable)
    latencies = sorted(result.milliseconds for result in results)
    confidences = [result.confidence or 0.0 for result in results]
    labels = [result.answerable for result in results]
    correct = [result.answerable and bool(result.sentence_correct) for result in results]
    bins = tradeoffs.reliability(confidences, correct)
    points = tradeoffs.sweep(confidences, labels, correct)
    return ModeReport(
        mode=mode,
        questions=len(results),
        answerable=len(answerable),
        unanswerable=len(unanswerable),
        hit_at=hit_at,
        mrr_at_10=round(mrr, 4),
        abstention_precision=round(correct_abstentions / len(abstained), 4) if abstained else None,
        abstention_recall=round(correct_abstentions / len(unanswerable), 4) if unanswerable else None,
        false_abstention_rate=_share(answerable, lambda r: not r.answered),
        latency_p50_ms=round(percentile(latencies, 50), 2),
        latency_p95_ms=round(percentile(latencies, 95), 2),
        results=tuple(results),
        answer_sentence_accuracy=_share(answerable, lambda r: bool(r.sentence_correct)),
        auroc=_rounded(auroc(labels, confidences)),
        ece=_rounded(tradeoffs.calibration_error(bins)),
        chosen_threshold=tradeoffs.chosen_threshold(points),
        decision=tradeoffs.decision([result.answered for result in results], labels, correct) if results else None,
        reliability=tuple(bins),
        tradeoff=tuple(points),
    )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def auroc(labels: Sequence[bool], scores: Sequence[float]) -> float | None:
    """Area under the ROC curve of scores for telling True labels from False (ties count half); None unless both
    occur."""
    positives = [score for score, label in zip(scores, labels, strict=True) if label]
    negatives = [score for score, label in zip(scores, labels, strict=True) if not label]
    if not positives or not negatives:
        return None
    import numpy as np

    pos, neg = np.asarray(positives)[:, None], np.asarray(negatives)[None, :]
    return float(((pos > neg).sum() + 0.5 * (pos == neg).sum()) / (pos.size * neg.size))


def _share(results: Sequence[QuestionResult], test: Any) -> float:
    return round(sum(1 for result in results if test(result)) / len(results), 4) if results else 0.0


def _mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else 0.0


# Saved runs and comparisons


def gold_key(path: Path) -> str:
    """Runs on the same gold file share this key."""
    resolved = str(path.resolve())
    return f"{path.stem}-{hashlib.sha256(resolved.encode()).hexdigest()[:8]}"


def report_json(reports: Sequence[ModeReport], k: int, gold: Path | str) -> dict[str, Any]:
    """The machine-readable form of an evaluation (what --json prints and runs save)."""
    return {
        "gold": str(gold),
        "k": k,
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "modes": {
            report.mode: {
                **{key: value for key, value in asdict(report).items() if key not in {"results", "mode"}},
                "failures": [asdict(result) for result in report.failures(k)],
                "by_type": by_type(report.results),
                "passed": sorted(result.id for result in report.results if _passed(result, k)),
                "failed": sorted(result.id for result in report.results if not _passed(result, k)),
            }
            for report in reports
        },
    }


def by_type(results: Sequence[QuestionResult]) -> dict[str, dict[str, float | int]]:
    """Hit@k and false abstentions of the answerable questions of each type (empty when the gold set has none)."""
    kinds = sorted({result.kind for result in results if result.kind and result.answerable})
    table: dict[str, dict[str, float | int]] = {}
    for kind in kinds:
        chosen = [result for result in results if result.kind == kind and result.answerable]
        table[kind] = {
            "questions": len(chosen),
            **{f"hit@{k}": _share(chosen, lambda r, k=k: r.rank is not None and r.rank <= k) for k in HIT_KS},
            "false_abstentions": _share(chosen, lambda r: not r.answered),
        }
    return table


def _passed(result: QuestionResult, k: int) -> bool:
    if result.answerable:
        return result.rank is not None and result.rank <= k and result.answered
    return not result.answered


def format_metric(value: float | None) -> str:
    """A metric with three decimals, or a dash when undefined."""
    return "-" if value is None else f"{value:.3f}"


def modes_of(choice: str) -> list[Mode]:
    """The modes an --mode option names ("all" for every mode)."""
    return list(MODES) if choice == "all" else [choice]  # type: ignore[list-item]
