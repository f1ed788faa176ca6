"""Calibrate the served confidence and choose the abstention threshold on validation questions, end to end.

    .venv/bin/python -m training.verifier.calibrate

Asks every validation question (the IPod article and the Zelda paragraphs held out of training; never the held-out
test articles, never a gold set) through the real pipeline (hybrid retrieval over all ten articles, the shipped
verifier). Pass 1 records every verified candidate and fits a logistic stack of the model's logit and the
candidate's embedding similarity to "this sentence holds the answer"; pass 2 asks again with it and picks the
highest threshold that keeps false abstentions at or under TARGET. Writes SCALE, SIMILARITY and SHIFT into
qa/verifier.py, VERIFIER_THRESHOLD into qa/settings.py, and the figures into training/verifier/out/calibration.json.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from qa import squad, verifier
from qa.engine import Engine
from qa.evaluation import QuestionResult, auroc, contains_answer, evaluate
from qa.paths import Paths
from qa.progress import SilentReporter
from qa.settings import Settings, clean_question
from qa.verifier import Candidate, OnnxVerifier
from training.verifier import data
from training.verifier.export import ROOT
from training.verifier.train import OUT, SEED

TARGET = 0.04  # a margin under the 5% the issue allows, for questions unlike the validation ones
SETTINGS = ROOT / "qa" / "settings.py"
SOURCE = ROOT / "qa" / "verifier.py"


class Recording:
    """The shipped verifier, noting every question's candidates and raw logits."""

    def __init__(self) -> None:
        self.inner = OnnxVerifier()
        self.seen: list[tuple[str, list[Candidate], np.ndarray]] = []

    def verify(self, question: str, candidates: Sequence[Candidate]) -> np.ndarray:
        """Calibrated probabilities, noting the raw logits."""
        logits = self.inner.logits(question, candidates)
        self.seen.append((question, list(candidates), logits))
        return verifier.calibrated(logits, np.array([c.similarity for c in candidates]))


def validation_gold(articles: list[squad.Article]) -> list:
    """Gold questions of the validation paragraphs."""
    units = data.split_units(articles, SEED)
    chosen = {q.id for unit in units if unit.split == "validation" for q in unit.paragraph.questions}
    return [g for g in squad.gold_questions(articles) if g.id in chosen]


def fit(features: np.ndarray, labels: np.ndarray, steps: int = 200) -> np.ndarray:
    """Logistic regression weights (last one the intercept) by Newton's method, lightly regularised."""
    x = np.hstack([features, np.ones((len(features), 1))])
    w = np.zeros(x.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(x @ w)))
        gradient = x.T @ (p - labels) + 1e-3 * w
        hessian = (x * (p * (1 - p))[:, None]).T @ x + 1e-3 * np.eye(x.shape[1])
        w -= np.linalg.solve(hessian, gradient)
    return w


def threshold_for(results: Sequence[QuestionResult], target: float) -> float:
    """The highest threshold whose false abstentions on answerable questions stay at or under `target`."""
    answerable = [r for r in results if r.answerable]
    best = 0.0
    for candidate in np.round(np.arange(0.01, 0.96, 0.01), 2):
        refused = sum(1 for r in answerable if not r.answered or (r.confidence or 0.0) < candidate)
        if refused / len(answerable) <= target:
            best = float(candidate)
    return best


def main() -> None:
    """Ask, fit, ask again, choose, write."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index", type=Path, default=OUT / "index", help="where the SQuAD index is cached")
    args = parser.parse_args()
    articles = squad.load(data.DATA)
    gold = validation_gold(articles)
    answers = {clean_question(g.question): (g.answerable, g.answers) for g in gold}
    index_root = args.index
    recording = Recording()
    engine = Engine(Paths(corpus=OUT / "corpus", index=index_root), make_verifier=lambda: recording)
    store = squad.open_index(index_root, data.DATA, articles, engine.embedder, SilentReporter())
    engine.load_model()
    searcher = engine.searcher(store)
    settings = replace(Settings(), verifier_threshold=0.0)
    before = evaluate(searcher, gold, settings)
    rows, labels = [], []
    for question, candidates, logits in recording.seen:
        answerable, expected = answers[question]
        for candidate, logit in zip(candidates, logits.tolist(), strict=True):
            rows.append([logit, candidate.similarity])
            labels.append(float(answerable and contains_answer(candidate.sentence, expected)))
    weights = fit(np.array(rows), np.array(labels))  # which candidate answers: ranks the highlights
    # then one Platt step on each question's best stacked score, so `confidence` (the best candidate's probability)
    # is calibrated against "the top highlighted sentence holds the answer"; both steps are monotone, so the ranking
    # of candidates stays the stack's
    stacked, correct = [], []
    results_by_question = {clean_question(r.question): r for r in before.results}
    for question, candidates, logits in recording.seen:
        found = results_by_question.get(question)
        if found is None:
            continue
        values = weights[0] * logits + weights[1] * np.array([c.similarity for c in candidates]) + weights[2]
        stacked.append([float(values.max())])
        _, expected = answers[question]
        best = candidates[int(np.argmax(values))]
        correct.append(float(found.answerable and contains_answer(best.sentence, expected)))
    platt_weights = fit(np.array(stacked), np.array(correct))
    alpha, beta = float(platt_weights[0]), float(platt_weights[1])
    verifier.SCALE = round(alpha * float(weights[0]), 6)
    verifier.SIMILARITY = round(alpha * float(weights[1]), 6)
    verifier.SHIFT = round(alpha * float(weights[2]) + beta, 6)
    logit_only = fit(np.array(rows)[:, :1], np.array(labels))
    plain = evaluate(searcher, gold, settings)
    reranked = evaluate(searcher, gold, replace(settings, verifier_rerank=True))
    rerank = reranked.hit_at["hit@1"] + (reranked.answer_sentence_accuracy or 0) > plain.hit_at["hit@1"] + (
        plain.answer_sentence_accuracy or 0
    )
    after = reranked if rerank else plain
    threshold = threshold_for(after.results, TARGET)
    results = list(after.results)
    record = {
        "questions": len(results),
        "answerable": sum(r.answerable for r in results),
        "candidates": len(rows),
        "scale": verifier.SCALE,
        "similarity": verifier.SIMILARITY,
        "shift": verifier.SHIFT,
        "logit_only": [round(float(v), 6) for v in logit_only],
        "candidate_auroc_logit": auroc([bool(y) for y in labels], [r[0] for r in rows]),
        "candidate_auroc_similarity": auroc([bool(y) for y in labels], [r[1] for r in rows]),
        "threshold": threshold,
        "rerank": rerank,
        "without_rerank": {"hit@1": plain.hit_at["hit@1"], "sentence": plain.answer_sentence_accuracy},
        "with_rerank": {"hit@1": reranked.hit_at["hit@1"], "sentence": reranked.answer_sentence_accuracy},
        "target_false_abstentions": TARGET,
        "ece_before": before.ece,
        "ece_after": after.ece,
        "auroc_answerable_before": before.auroc,
        "auroc_answerable_after": after.auroc,
        "answer_sentence_accuracy": after.answer_sentence_accuracy,
        "hit@1": after.hit_at["hit@1"],
        "false_abstentions_at_threshold": round(
            sum(1 for r in results if r.answerable and (not r.answered or (r.confidence or 0) < threshold))
            / max(1, sum(r.answerable for r in results)),
            4,
        ),
        "abstention_recall_at_threshold": round(
            sum(1 for r in results if not r.answerable and (not r.answered or (r.confidence or 0) < threshold))
            / max(1, sum(not r.answerable for r in results)),
            4,
        ),
    }
    print(json.dumps(record, indent=1), flush=True)
    (OUT / "calibration.json").write_text(json.dumps(record, indent=1))
    source = SOURCE.read_text()
    for name in ("SCALE", "SIMILARITY", "SHIFT"):
        value = getattr(verifier, name)
        source = re.sub(rf"^{name} = .*$", f"{name} = {value!r}", source, count=1, flags=re.MULTILINE)
    SOURCE.write_text(source)
    settings_source = re.sub(
        r"^VERIFIER_THRESHOLD = .*$",
        f"VERIFIER_THRESHOLD = {threshold!r}",
        SETTINGS.read_text(),
        count=1,
        flags=re.MULTILINE,
    )
    settings_source = re.sub(
        r"^VERIFIER_RERANK = \S+", f"VERIFIER_RERANK = {rerank!r}", settings_source, count=1, flags=re.MULTILINE
    )
    SETTINGS.write_text(settings_source)


if __name__ == "__main__":
    main()
