"""The results of answering: the cited passages (hits) for a question, and whether they answer it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from qa.documents.chunking import Passage
from qa.kernel.settings import Mode


@dataclass(frozen=True)
class Hit:
    """One returned passage. `score` is what the results are ordered by, best first: the retrieval score, or, when
    the verifier reranks, the weighted mean of its probability and the retrieval score (see `ordering_scores`); in an
    answer about a document as a whole, 1 for the card when a line of it holds the detail asked (0 when none does)
    and each passage's centrality as a share of the most there can be (a conclusion's weighs lateness too).
    `retrieval_score` is the fused retrieval score (cards weighted down; None for a passage chosen without
    retrieval), `verifier_score` the verifier's probability for the passage's best sentence (None when the verifier
    did not read it), `dense` and `lexical` its cosine and BM25 score, and `highlight` the answering span as offsets
    within `passage.text`."""

    rank: int
    passage: Passage
    score: float
    dense: float | None
    lexical: float | None
    highlight: tuple[int, int] | None
    retrieval_score: float | None = None
    verifier_score: float | None = None

    def as_json(self) -> dict[str, Any]:
        """The hit as one entry of an answer's `passages`."""
        return {
            "rank": self.rank,
            "passage_id": self.passage.id,
            "doc_id": self.passage.doc_id,
            "title": self.passage.title,
            "citation": self.passage.citation,
            "score": self.score,
            "retrieval_score": self.retrieval_score,
            "verifier_score": self.verifier_score,
            "start": self.passage.start if self.passage.located else None,
            "end": self.passage.end if self.passage.located else None,
            "text": self.passage.text,
            "highlight": list(self.highlight) if self.highlight else None,
            "kind": self.passage.kind,
        }


@dataclass(frozen=True)
class Answer:
    """The passages for a question, best first; `answered` is False when none is a confident answer.

    `confidence` is the verifier's calibrated probability that the best highlighted sentence answers (without a
    verifier: the best answering sentence's similarity to the question); `unknown` lists names in the question
    that the corpus never mentions; `scope` names the document a question about a document as a whole was taken
    to mean.
    """

    question: str
    mode: Mode
    answered: bool
    confidence: float
    hits: tuple[Hit, ...]
    seconds: float
    unknown: tuple[str, ...] = ()
    reason: str | None = None
    scope: str | None = None

    def citation(self, hit: Hit) -> str:
        """The hit's citation, which also names its file when another document among the hits bears its title."""
        passage = hit.passage
        shared = any(
            other.passage.title == passage.title and other.passage.doc_id != passage.doc_id for other in self.hits
        )
        return f"{passage.citation} ({passage.doc_id})" if shared else passage.citation

    def as_json(self) -> dict[str, Any]:
        """The JSON object `qa ask --json` prints for this answer."""
        return {
            "question": self.question,
            "answered": self.answered,
            "mode": self.mode,
            "confidence": self.confidence,
            "unknown": list(self.unknown),
            "reason": self.reason,
            "scope": self.scope,
            "passages": [hit.as_json() for hit in self.hits],
        }


@dataclass(frozen=True)
class Ranking:
    """Candidate rows best first, with fused, dense and BM25 scores by row."""

    rows: list[int]
    fused: dict[int, float]
    dense: dict[int, float]
    lexical: dict[int, float]
    query_vector: np.ndarray | None
    terms: set[str]
