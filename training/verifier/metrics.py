"""AUROC, per-question sentence accuracy and question-level scores for verifier pairs (numpy only)."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from training.verifier.data import Pair


def auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (ties count half)."""
    labels = np.asarray(labels).astype(bool)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if not positives or not negatives:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = np.asarray(scores)[order]
    i = 0
    while i < len(sorted_scores):
        j = i
        while j + 1 < len(sorted_scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def summary(pairs: list[Pair], logits: np.ndarray) -> dict[str, float]:
    """Pair AUROC; for answerable questions, whether the best in-paragraph sentence holds the answer and whether
    the best of all candidates does; question AUROC of the best score (answerable vs unanswerable)."""
    groups: dict[str, list[int]] = defaultdict(list)
    for index, pair in enumerate(pairs):
        groups[pair.group].append(index)
    labels = np.array([pair.label for pair in pairs])
    paragraph_hits, all_hits, best, answerable = [], [], [], []
    for members in groups.values():
        inside = [i for i in members if pairs[i].in_paragraph]
        is_answerable = pairs[members[0]].answerable
        best.append(float(max(logits[i] for i in members)))
        answerable.append(is_answerable)
        if is_answerable:
            paragraph_hits.append(labels[max(inside, key=lambda i: logits[i])] == 1)
            all_hits.append(labels[max(members, key=lambda i: logits[i])] == 1)
    result = {
        "pairs": len(pairs),
        "questions": len(groups),
        "pair_auroc": auroc(labels, logits),
        "sentence_accuracy_paragraph": float(np.mean(paragraph_hits)) if paragraph_hits else float("nan"),
        "sentence_accuracy_all": float(np.mean(all_hits)) if all_hits else float("nan"),
    }
    if not all(answerable):
        result["question_auroc"] = auroc(np.array(answerable), np.array(best))
    return {key: round(value, 4) if isinstance(value, float) else value for key, value in result.items()}
