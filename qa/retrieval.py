"""Answer a question from a built index: search, fuse, deduplicate, highlight and abstain."""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import dataclass

import numpy as np

from qa.chunking import Passage
from qa.embedding import Embedder
from qa.errors import InputError
from qa.index import Store
from qa.lexical import tokenize
from qa.settings import CANDIDATES, DEFAULT_MODE, MAX_QUESTION_CHARS, MODES, Mode, Settings, clean_question

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

_QUANTITY_QUESTION = re.compile(r"\s*(how (much|many)|what (percentage|share|number|amount|fraction))\b", re.IGNORECASE)
_QUANTITY = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|dozens?|"
    r"hundreds?|thousands?|millions?|billions?|trillions?|percent|half|third|quarter|decade)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Hit:
    """One returned passage: `highlight` is the answering span as offsets within `passage.text`."""

    rank: int
    passage: Passage
    score: float
    dense: float | None
    lexical: float | None
    highlight: tuple[int, int] | None


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
        if settings.k < 1:
            raise InputError(f"k must be at least 1, not {settings.k}")
        ranking = self.rank(question, settings)
        chosen = _distinct(self.store, ranking.rows, settings.k)
        highlights = [self._highlight(row, passage, ranking.query_vector, ranking.terms) for row, passage in chosen]
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
        support = [score for _, score in highlights[:CONFIDENCE_DEPTH]]
        confidence = max(support, default=0.0)
        threshold = settings.lexical_threshold if ranking.query_vector is None else settings.threshold
        answered = bool(hits) and confidence >= threshold and not unknown and _has_answer_type(question, hits)
        return Answer(
            question=question,
            mode=settings.mode,
            answered=answered,
            confidence=round(confidence, 4),
            hits=hits,
            seconds=time.perf_counter() - began,
            unknown=unknown,
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
        lexical_all = self.store.lexical.scores(question) if settings.mode != "dense" else None
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
        return Ranking(ordered, fused, dense, lexical, query_vector, set(tokenize([question])[0]))

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

    def _highlight(
        self, row: int, passage: Passage, query: np.ndarray | None, terms: set[str]
    ) -> tuple[tuple[int, int] | None, float]:
        """The sentence that best answers and how well: its vector's cosine with the question (else word overlap)."""
        if not passage.sentences:
            return None, 0.0
        overlap = np.array([_overlap(passage.text[s:e], terms) for s, e in passage.sentences])
        support = overlap
        if query is not None:
            sentence_rows = self.store.sentence_rows(row)
            support = np.asarray(self.store.sentence_vectors[sentence_rows.start : sentence_rows.stop]) @ query
        words = np.array([len(passage.text[s:e].split()) for s, e in passage.sentences])
        fragment = (
            np.where(words < MIN_HIGHLIGHT_WORDS, FRAGMENT_PENALTY, 0.0) if words.max() >= MIN_HIGHLIGHT_WORDS else 0.0
        )
        best = int(np.argmax(support + OVERLAP_WEIGHT * overlap - fragment))
        return passage.sentences[best], float(support[best])


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


def _has_answer_type(question: str, hits: tuple[Hit, ...]) -> bool:
    """A how-much or how-many question is only answered by top passages that state some quantity."""
    if not _QUANTITY_QUESTION.match(question):
        return True
    return any(_QUANTITY.search(hit.passage.text) for hit in hits[:CONFIDENCE_DEPTH])


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
