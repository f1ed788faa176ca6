"""Which signals separate a written near miss from an answerable question (README, Answerability, third pass).

    python -m training.answerability.signals              # across corpora: leave one corpus family out
    python -m training.answerability.signals --held-out   # the verifier's logit per held-out set, two labels

Across corpora: for each family (SciFact, White House, the writers' SQuAD excerpts; SQuAD's own questions as a
fourth test), the candidate stage and a one-input question stage are fitted on the other families, and the AUROC of
"answerable" is measured on the left-out family's written questions. No held-out set is read.

Held-out: the shipped answerability model's candidates, checked by the shipped verifier as served; per held-out set
(and for the held-out SQuAD article that holds near misses, alone), the AUROC of the best sentence's cosine and of
the verifier's logit for the highlighted sentence, against "answerable" and against "the highlighted sentence
answers". Reads the candidate sets cached by `extract`.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

import numpy as np

from qa.answering.answerability import FEATURES, AnswerabilityModel, Signals
from qa.evaluation.gold import auroc
from qa.models.verifier.model import OnnxVerifier
from training.answerability.build_data import HELD_OUT
from training.answerability.extract import load
from training.answerability.train import (
    TRAIN_SETS,
    Checks,
    Question,
    balance,
    fit_candidates,
    question_example,
    questions,
)

HELD_OUT_SETS = (*HELD_OUT, "squad_heldout")
INPUTS = ("best_logit", "margin", *FEATURES)


def corpus_family(name: str) -> str:
    """The corpus family of a training set: SciFact, White House, the writers' SQuAD excerpts, SQuAD's own."""
    if name == "squad_own":
        return "squad"
    return {"scifact": "scifact", "wh": "white house", "squad": "squad excerpts"}[name.split("_", maxsplit=1)[0]]


def _written(q: Question) -> bool:
    return q.answerable or q.origin in ("blind", "squad")


def across_corpora() -> dict[str, dict[str, float | None]]:
    """AUROC per single question-stage input (and all of them) on each left-out family."""
    from sklearn.linear_model import LogisticRegression

    items = [q for q in questions(TRAIN_SETS, Signals()) if len(q.features)]
    balance(items)
    family_of = {name: corpus_family(name) for name in TRAIN_SETS}
    folds: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[bool]]] = {}
    for family in ("scifact", "white house", "squad excerpts", "squad"):
        left_out = {"squad excerpts", "squad"} if family.startswith("squad") else {family}
        fit_on = [q for q in items if family_of[q.set] not in left_out]
        test = [q for q in items if family_of[q.set] == family and _written(q)]
        weights = fit_candidates(fit_on, list(range(len(FEATURES))))
        x, y = zip(*(question_example(q, weights) for q in fit_on), strict=True)
        folds[family] = (
            np.array(x),
            np.array(y),
            np.array([q.weight for q in fit_on]),
            np.array([question_example(q, weights)[0] for q in test]),
            [q.answerable for q in test],
        )
    out: dict[str, dict[str, float | None]] = {}
    for name, keep in [*((name, [i]) for i, name in enumerate(INPUTS)), ("all", list(range(len(INPUTS))))]:
        row: dict[str, float | None] = {}
        for family, (x, y, w, test_x, answerable) in folds.items():
            if len(set(answerable)) < 2:
                continue
            model = LogisticRegression(C=1.0, max_iter=3000).fit(x[:, keep], y, sample_weight=w)
            found = auroc(answerable, model.predict_proba(test_x[:, keep])[:, 1].tolist())
            row[family] = None if found is None else round(found, 3)
        out[name] = row
    return out


def held_out_groups(items: list[Question]) -> list[tuple[str, list[Question]]]:
    """Each held-out set's questions, and the held-out SQuAD articles that hold near misses alone (SQuAD's own near
    misses of the held-out articles are all Spectre's: over the three articles, "answerable" partly means "not about
    Spectre")."""
    groups = [(name, [q for q in items if q.set == name]) for name in HELD_OUT_SETS]
    documents = {record["id"]: record["doc_id"] for record in load("squad_heldout")}
    squad = [q for q in items if q.set == "squad_heldout"]
    with_misses = sorted({documents[q.id] for q in squad if not q.answerable})
    inside = [q for q in squad if documents[q.id] in with_misses]
    return [*groups, *([(f"squad_heldout, {', '.join(with_misses)} only", inside)] if with_misses else [])]


def held_out() -> dict[str, dict[str, Any]]:
    """Per held-out set (and per group of `held_out_groups`): AUROC of the cosine and of the verifier's logit, against
    both labels."""
    model = AnswerabilityModel()
    weights = model.weights
    assert weights.check is not None
    unchecked = replace(weights, check=None)
    items = [q for q in questions(HELD_OUT_SETS, Signals()) if len(q.features)]
    checks = Checks(items, unchecked, OnnxVerifier())
    read: dict[tuple[str, str], tuple[bool, bool, float, float]] = {}
    for q in items:
        logits = unchecked.logits(q.features)
        checked, verifier_logit = checks.apply(q, logits, weights.check)
        answers = q.answerable and q.labels[int(np.argmax(checked))] > 0
        cosine = float(q.features[int(np.argmax(logits)), FEATURES.index("sentence_cosine")])
        read[(q.set, q.id)] = (q.answerable, bool(answers), cosine, verifier_logit)
    out: dict[str, dict[str, Any]] = {}
    for name, chosen in held_out_groups(items):
        rows = [read[(q.set, q.id)] for q in chosen]
        answerable, answers, cosine, verifier = (list(column) for column in zip(*rows, strict=True))
        out[name] = {
            "questions": len(rows),
            "answerable: cosine": auroc(answerable, cosine),
            "answerable: verifier": auroc(answerable, verifier),
            "highlight answers: cosine": auroc(answers, cosine),
            "highlight answers: verifier": auroc(answers, verifier),
        }
    return out


def main() -> None:
    """Print the table asked for."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--held-out", action="store_true", help="the verifier's logit per held-out set")
    args = parser.parse_args()
    if args.held_out:
        for name, row in held_out().items():
            cells = (f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items())
            print(f"{name:14} " + "  ".join(cells))
        return
    for name, row in across_corpora().items():
        print(f"{name:20} " + "  ".join(f"{family} {value:.3f}" for family, value in row.items() if value is not None))


if __name__ == "__main__":
    main()
