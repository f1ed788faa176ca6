"""Answer a question from a built index: search, fuse, deduplicate, highlight and abstain."""

from __future__ import annotations

import time
import unicodedata
from dataclasses import dataclass
from typing import Any

import numpy as np

from qa.answer_types import answer_type, paired_terms, pairs
from qa.chunking import Passage
from qa.embedding import Embedder
from qa.errors import InputError
from qa.lexical import tokenize
from qa.settings import CANDIDATES, DEFAULT_MODE, MAX_QUESTION_CHARS, MODES, Mode, Settings, clean_question
from qa.store import Store

__all__ = [
    "CANDIDATES",
    "DEFAULT_MODE",
    "MAX_QUESTION_CHARS",
    "MODES",
    "Answer",
    "Hit",
    "Mode",
    "Ranking",
    "Searcher",
    "Settings",
    "clean_question",
    "fuse",
]

CONFIDENCE_DEPTH = 3
OVERLAP_WEIGHT = 0.3
MIN_HIGHLIGHT_WORDS = 4  # shorter "sentences" are headings or scraps ("Paul Triolo ("): highlight them last
FRAGMENT_PENALTY = 1.0


@dataclass(frozen=True)
class Hit:
    """One returned passage: `highlight` is the answering span as offsets within `passage.text`."""

    rank: int
    passage: Passage
    score: float
    dense: float | None
    lexical: float | None
    highlight: tuple[int, int] | None

    def as_json(self) -> dict[str, Any]:
        """The hit as one entry of an answer's `passages`."""
        return {
            "rank": self.rank,
            "passage_id": self.passage.id,
            "doc_id": self.passage.doc_id,
            "title": self.passage.title,
            "citation": self.passage.citation,
            "score": self.score,
            "start": self.passage.start,
            "end": self.passage.end,
            "text": self.passage.text,
            "highlight": list(self.highlight) if self.highlight else None,
        }


@dataclass(frozen=True)
class Answer:
    """The passages for a question, best first; `answered` is False when none is a confident answer.

    `confidence` is the best answering sentence's similarity to the question; `unknown` lists names in the
    question that the corpus never mentions.
    """

    question: str
    mode: Mode
    answered: bool
    confidence: float
    hits: tuple[Hit, ...]
    seconds: float
    unknown: tuple[str, ...] = ()
    reason: str | None = None

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


class Searcher:
    """Runs questions against one opened index."""

    def __init__(self, store: Store, embedder: Embedder | None) -> None:
        self.store = store
        self.embedder = embedder

    def ask(self, question: str, settings: Settings | None = None) -> Answer:
        """The top passages for the question under the given settings."""
        settings = settings or Settings()
        began = time.perf_counter()
        question = clean_question(question)
        ranking = self.rank(question, settings)
        chosen = _distinct(self.store, ranking.rows, settings.k)
        scored = [self._sentence_scores(row, passage, ranking.query_vector, ranking.terms) for row, passage in chosen]
        highlights = [_highlight(passage, *scores) for (_, passage), scores in zip(chosen, scored, strict=True)]
        hits = tuple(
            Hit(
                rank=rank,
                passage=passage,
                score=round(ranking.fused[row], 4),
                dense=round(ranking.dense[row], 4) if row in ranking.dense else None,
                lexical=round(ranking.lexical[row], 4) if row in ranking.lexical else None,
                highlight=span,
            )
            for rank, ((row, passage), (span, _)) in enumerate(zip(chosen, highlights, strict=True), start=1)
        )
        unknown = tuple(self.store.lexical.unknown_names(question))
        confidence = max((score for _, score in highlights[:CONFIDENCE_DEPTH]), default=0.0)
        threshold = settings.lexical_threshold if ranking.query_vector is None else settings.threshold
        support = [(passage, scores[0]) for (_, passage), scores in zip(chosen, scored, strict=True)]
        reason = abstention_reason(question, support[:CONFIDENCE_DEPTH], confidence, threshold, unknown)
        return Answer(
            question=question,
            mode=settings.mode,
            answered=reason is None,
            confidence=round(confidence, 4),
            hits=hits,
            seconds=time.perf_counter() - began,
            unknown=unknown,
            reason=reason,
        )

    def rank(self, question: str, settings: Settings, query_vector: np.ndarray | None = None) -> Ranking:
        """Candidate rows for the question, best first, with their scores (no deduplication)."""
        rows = self._rows(settings.doc)
        if settings.mode != "lexical" and query_vector is None:
            if self.embedder is None:
                raise InputError(f"mode {settings.mode} needs the embedding model")
            query_vector = self.embedder.embed([question])[0]
        if settings.mode == "lexical":
            query_vector = None
        dense = self._dense(query_vector, rows, settings.candidates) if query_vector is not None else {}
        terms = tokenize([question])[0]
        lexical_all = self.store.lexical.token_scores(terms) if settings.mode != "dense" else None
        lexical = _top(lexical_all, rows, settings.candidates) if lexical_all is not None else {}
        candidates = set(dense) | set(lexical)
        if query_vector is not None and lexical:
            missing = sorted(candidates - set(dense))
            if missing:
                sims = np.asarray(self.store.vectors[missing]) @ query_vector
                dense.update(zip(missing, sims.tolist(), strict=True))
        if lexical_all is not None:
            lexical = {row: float(lexical_all[row]) for row in candidates}
        sentence = {}
        if settings.mode == "hybrid" and query_vector is not None and settings.sentence_weight > 0:
            sentence = self.store.best_sentence_scores(sorted(candidates), query_vector)
        fused = fuse(dense, lexical, settings, sentence)
        ordered = sorted(fused, key=lambda row: (-fused[row], row))
        return Ranking(ordered, fused, dense, lexical, query_vector, set(terms))

    def _rows(self, doc: str | None) -> range | None:
        if doc is None:
            return None
        rows = self.store.rows_of(doc)
        if not rows:
            raise InputError(f"no document {doc!r} in the index: qa status --json lists document ids")
        return rows

    def _dense(self, query: np.ndarray, rows: range | None, count: int) -> dict[int, float]:
        if rows is not None:
            sims = np.asarray(self.store.vectors[rows.start : rows.stop]) @ query
            order = np.argsort(-sims)[:count]
            return {rows.start + int(i): float(sims[i]) for i in order}
        count = min(count, self.store.size)
        scores, found = self.store.vector_index.search(query.reshape(1, -1).astype(np.float32), count)
        return {int(row): float(score) for row, score in zip(found[0], scores[0], strict=True) if row >= 0}

    def _sentence_scores(
        self, row: int, passage: Passage, query: np.ndarray | None, terms: set[str]
    ) -> tuple[np.ndarray, np.ndarray]:
        """How well each sentence answers (its vector's cosine with the question, else word overlap), and the
        share of question words it contains."""
        overlap = np.array([_overlap(passage.text[s:e], terms) for s, e in passage.sentences])
        if query is None:
            return overlap, overlap
        return self.store.sentence_scores(row, query), overlap


def fuse(
    dense: dict[int, float], lexical: dict[int, float], settings: Settings, sentence: dict[int, float] | None = None
) -> dict[int, float]:
    """One score per candidate: cosine, BM25 scaled by the best candidate, or (hybrid) a weighted blend of the
    passage cosine, the best sentence cosine and the scaled BM25 score."""
    if settings.mode == "dense":
        return dict(dense)
    top = max(lexical.values(), default=0.0)
    scaled = {row: (score / top if top > 0 else 0.0) for row, score in lexical.items()}
    if settings.mode == "lexical":
        return scaled
    sentence = sentence or {}
    dense_weight = settings.dense_weight
    sentence_weight = settings.sentence_weight if sentence else 0.0
    lexical_weight = 1 - dense_weight - sentence_weight
    return {
        row: dense_weight * dense.get(row, 0.0)
        + sentence_weight * sentence.get(row, 0.0)
        + lexical_weight * scaled.get(row, 0.0)
        for row in set(dense) | set(scaled)
    }


def abstention_reason(
    question: str,
    support: list[tuple[Passage, np.ndarray]],
    confidence: float,
    threshold: float,
    unknown: tuple[str, ...],
) -> str | None:
    """Why the top passages (each with how well every sentence answers) give no confident answer, or None."""
    if not support:
        return "no passage shares a word with the question"
    if unknown:
        return f"it never mentions {', '.join(unknown)}"
    if confidence < threshold:
        return f"the highlighted sentences score at most {confidence:.2f}, below the {threshold:.2f} threshold"
    sentences = [
        (passage.text[start:end], float(score))
        for passage, scores in support
        for (start, end), score in zip(passage.sentences, scores, strict=True)
    ]
    kind = answer_type(question)
    if kind is not None and max((score for text, score in sentences if kind.stated_in(text)), default=-1.0) < threshold:
        return f"no sentence close to the question states {kind.name}"
    terms = paired_terms(question)
    if terms is not None and not pairs(terms, (text for text, _ in sentences)):
        return f"no sentence mentions the {terms[0]} of {terms[1]}"
    return None


def _highlight(passage: Passage, support: np.ndarray, overlap: np.ndarray) -> tuple[tuple[int, int] | None, float]:
    """The sentence that best answers, preferring whole sentences to scraps, and its support."""
    if not passage.sentences:
        return None, 0.0
    words = np.array([len(passage.text[s:e].split()) for s, e in passage.sentences])
    fragment = (
        np.where(words < MIN_HIGHLIGHT_WORDS, FRAGMENT_PENALTY, 0.0) if words.max() >= MIN_HIGHLIGHT_WORDS else 0.0
    )
    best = int(np.argmax(support + OVERLAP_WEIGHT * overlap - fragment))
    return passage.sentences[best], float(support[best])


def _overlap(text: str, terms: set[str]) -> float:
    if not terms:
        return 0.0
    return len(terms & set(tokenize([text])[0])) / len(terms)


def _top(scores: np.ndarray, rows: range | None, count: int) -> dict[int, float]:
    offset = 0
    if rows is not None:
        scores, offset = scores[rows.start : rows.stop], rows.start
    count = min(count, len(scores))
    best = np.argpartition(-scores, count - 1)[:count]
    return {offset + int(row): float(scores[row]) for row in best if scores[row] > 0}


def _distinct(store: Store, ordered: list[int], k: int) -> list[tuple[int, Passage]]:
    """The first k passages that neither overlap nor nearly repeat one already chosen."""
    chosen: list[tuple[int, Passage]] = []
    batch = 4 * k
    for start in range(0, len(ordered), batch):
        rows = ordered[start : start + batch]
        for row, passage in zip(rows, store.passages(rows), strict=True):
            if not any(_repeats(passage, other) for _, other in chosen):
                chosen.append((row, passage))
                if len(chosen) == k:
                    return chosen
    return chosen


def _repeats(passage: Passage, other: Passage) -> bool:
    if passage.doc_id == other.doc_id and passage.start < other.end and other.start < passage.end:
        return True
    words, other_words = _words(passage.text), _words(other.text)
    if not words or not other_words:
        return False
    return len(words & other_words) / len(words | other_words) >= 0.9


def _words(text: str) -> set[str]:
    return set(unicodedata.normalize("NFKC", text).lower().split())
