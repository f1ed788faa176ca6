"""Calibrate the served confidence and choose the abstention threshold on validation questions, end to end.

    .venv/bin/python -m training.verifier.calibrate

Asks every validation question (the IPod article and the Zelda paragraphs held out of training; never the held-out
test articles, never a gold set) through the real pipeline (hybrid retrieval over all ten articles, the shipped
verifier). Pass 1 records every verified candidate and fits a logistic stack of the model's logit and the
candidate's embedding similarity to "this sentence holds the answer"; pass 2 asks again with it and picks the
highest threshold that keeps false abstentions at or under TARGET. Writes SCALE, SIMILARITY and SHIFT into
qa/models/verifier/model.py, VERIFIER_THRESHOLD into qa/kernel/settings.py, and the figures into
training/verifier/out/calibration.json.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from qa.engine.engine import Engine
from qa.evaluation import squad
from qa.evaluation.gold import QuestionResult, auroc, contains_answer, evaluate
from qa.kernel.paths import Paths
from qa.kernel.progress import SilentReporter
from qa.kernel.settings import Settings, clean_question
from qa.models.verifier import model as verifier
from qa.models.verifier.model import Candidate, OnnxVerifier
from training.verifier import data
from training.verifier.export import ROOT
from training.verifier.train import OUT, SEED

TARGET = 0.04  # a margin under the 5% the issue allows, for questions unlike the validation ones
# (passages, sentences per passage) the verifier may read; the widest is recorded for the fit, each is then tried
GRID = ((3, 3), (5, 2), (5, 3))
RERANKS = (None, 0.0, 0.5, 1.0)  # no rerank, or the rerank with these blends of the retrieval score
SETTINGS = ROOT / "qa" / "kernel" / "settings.py"
SOURCE = ROOT / "qa" / "models" / "verifier" / "model.py"
CARD = ROOT / "qa" / "models" / "verifier" / "model_card.md"
SECTION = "## End-to-end calibration and threshold"


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


def refused_at(results: Sequence[QuestionResult], threshold: float, answerable: bool) -> float:
    """Share of the answerable (or unanswerable) questions that abstain at `threshold`: false abstentions (or
    abstention recall)."""
    chosen = [r for r in results if r.answerable == answerable]
    refused = sum(1 for r in chosen if not r.answered or (r.confidence or 0.0) < threshold)
    return refused / max(1, len(chosen))


def threshold_for(results: Sequence[QuestionResult], target: float) -> float:
    """The highest threshold whose false abstentions on answerable questions stay at or under `target`."""
    best = 0.0
    for candidate in np.round(np.arange(0.01, 0.96, 0.01), 2):
        if refused_at(results, float(candidate), answerable=True) <= target:
            best = float(candidate)
    return best


def card_section(record: dict[str, object]) -> str:
    """The model card's section on the end-to-end calibration, threshold and rerank choice."""
    rerank = (
        f"ordered by the verifier's best probability plus {record['rerank_blend']} × the retrieval score"
        if record["rerank"]
        else "left in retrieval order"
    )
    return f"""{SECTION} (`python -m training.verifier.calibrate`)

On the {record["questions"]} validation questions ({record["answerable"]} answerable), asked through the real pipeline
(hybrid retrieval over all ten articles; {record["candidates"]} verified candidates), a logistic stack of the model's
logit and the candidate's embedding similarity, then one Platt step on each question's best score:
`p = sigmoid({record["scale"]} · logit + {record["similarity"]} · similarity + {record["shift"]})`
(`qa.models.verifier.model.SCALE`, `SIMILARITY`, `SHIFT`). Candidate AUROC for "this sentence holds the answer": logit
{record["candidate_auroc_logit"]:.3f}, similarity alone {record["candidate_auroc_similarity"]:.3f}. Question-level ECE
{record["ece_before"]} → {record["ece_after"]}. Tried on the same questions: the best sentences of 3 or 5 top
passages, 2 or 3 per passage, and no rerank or a rerank blended with the retrieval score (`GRID` and `RERANKS`
in this script); chosen by Hit@1 + answer-sentence accuracy + abstention recall: {record["verify_passages"]} passages
× {record["verify_sentences"]} sentences, the verified passages {rerank} (Hit@1
{record["without_rerank"]["hit@1"]} → {record["with_rerank"]["hit@1"]}, answer-sentence accuracy
{record["without_rerank"]["sentence"]} → {record["with_rerank"]["sentence"]}). Threshold for at most
{record["target_false_abstentions"]:.0%} false abstentions on validation: {record["threshold"]}
(`qa.kernel.settings.VERIFIER_THRESHOLD`; validation false abstentions {record["false_abstentions_at_threshold"]},
abstention recall {record["abstention_recall_at_threshold"]}). Held-out and gold-set figures are in the README.
"""


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
    engine = Engine(  # the verifier deciding alone, as QA_ANSWERABILITY=off QA_VERIFIER=on serves it
        Paths(corpus=OUT / "corpus", index=index_root), make_verifier=lambda: recording, make_answerability=lambda: None
    )
    store = squad.open_index(index_root, data.DATA, articles, engine.embedder, SilentReporter())
    engine.load_model()
    searcher = engine.searcher(store)
    passages, sentences = max(p for p, _ in GRID), max(s for _, s in GRID)
    settings = replace(Settings(), verifier_threshold=0.0, verify_passages=passages, verify_sentences=sentences)
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
    trials = []
    for passages, sentences in GRID:
        for blend in RERANKS:
            tried = replace(
                settings,
                verify_passages=passages,
                verify_sentences=sentences,
                verifier_rerank=blend is not None,
                rerank_blend=blend or 0.0,
            )
            found = evaluate(searcher, gold, tried)
            cut = threshold_for(found.results, TARGET)
            score = (
                found.hit_at["hit@1"]
                + (found.answer_sentence_accuracy or 0)
                + refused_at(found.results, cut, answerable=False)
            )
            trials.append((score, tried, found, cut))
            print(json.dumps({"passages": passages, "sentences": sentences, "blend": blend, "score": score}))
    _, chosen, after, threshold = max(trials, key=lambda trial: trial[0])
    rerank = chosen.verifier_rerank
    plain = next(t[2] for t in trials if t[1] == replace(chosen, verifier_rerank=False, rerank_blend=0.0))
    reranked = next(t[2] for t in trials if t[1] == replace(chosen, verifier_rerank=True))
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
        "rerank_blend": chosen.rerank_blend,
        "without_rerank": {"hit@1": plain.hit_at["hit@1"], "sentence": plain.answer_sentence_accuracy},
        "with_rerank": {"hit@1": reranked.hit_at["hit@1"], "sentence": reranked.answer_sentence_accuracy},
        "target_false_abstentions": TARGET,
        "ece_before": before.ece,
        "ece_after": after.ece,
        "auroc_answerable_before": before.auroc,
        "auroc_answerable_after": after.auroc,
        "answer_sentence_accuracy": after.answer_sentence_accuracy,
        "hit@1": after.hit_at["hit@1"],
        "false_abstentions_at_threshold": round(refused_at(results, threshold, answerable=True), 4),
        "abstention_recall_at_threshold": round(refused_at(results, threshold, answerable=False), 4),
        "verify_passages": chosen.verify_passages,
        "verify_sentences": chosen.verify_sentences,
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
    for name, value in (
        ("VERIFY_PASSAGES", chosen.verify_passages),
        ("VERIFY_SENTENCES", chosen.verify_sentences),
        ("RERANK_BLEND", chosen.rerank_blend),
    ):
        settings_source = re.sub(
            rf"^{name} = [\d.]+", f"{name} = {value}", settings_source, count=1, flags=re.MULTILINE
        )
    SETTINGS.write_text(settings_source)
    if CARD.is_file():
        text = CARD.read_text()
        kept = text.split(SECTION)[0].rstrip()
        CARD.write_text(f"{kept}\n\n{card_section(record)}")


if __name__ == "__main__":
    main()
