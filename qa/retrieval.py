"""Answer a question from a built index: search, fuse, deduplicate, highlight and abstain."""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from qa.chunking import Passage
from qa.embedding import Embedder
from qa.errors import InputError
from qa.index import Store
from qa.lexical import tokenize

Mode = Literal["hybrid", "dense", "lexical"]
MODES: tuple[Mode, ...] = ("hybrid", "dense", "lexical")
DEFAULT_MODE: Mode = "hybrid"
MAX_QUESTION_CHARS = 2_000
CANDIDATES = 100

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Settings:
    """Tunable knobs of retrieval; defaults were chosen with `qa eval` (see README)."""

    mode: Mode = DEFAULT_MODE
    k: int = 5
    dense_weight: float = 0.6
    threshold: float = 0.42
    candidates: int = CANDIDATES
    doc: str | None = None


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
    """The passages for a question, best first; `answered` is False when none is a confident answer."""

    question: str
    mode: Mode
    answered: bool
    confidence: float
    hits: tuple[Hit, ...]
    seconds: float


def clean_question(question: str) -> tuple[str, bool]:
    """The question with control characters replaced by spaces, and whether any were; errors if unusable."""
    cleaned = _CONTROL.sub(" ", question)
    if not cleaned.strip():
        raise InputError("the question is empty: ask something, e.g. qa ask \"Who leads chip foundries?\"")
    if len(cleaned) > MAX_QUESTION_CHARS:
        raise InputError(f"the question is {len(cleaned):,} characters long; keep it under {MAX_QUESTION_CHARS:,}")
    return " ".join(cleaned.split()), cleaned != question


class Searcher:
    """Runs questions against one opened index."""

    def __init__(self, store: Store, embedder: Embedder | None) -> None:
        self.store = store
        self.embedder = embedder

    def ask(self, question: str, settings: Settings | None = None) -> Answer:
        """The top passages for the question under the given settings."""
        settings = settings or Settings()
        began = time.perf_counter()
        question, _ = clean_question(question)
        if settings.k < 1:
            raise InputError(f"k must be at least 1, not {settings.k}")
        rows = self._rows(settings.doc)
        query_vector = None
        if settings.mode != "lexical":
            if self.embedder is None:
                raise InputError(f"mode {settings.mode} needs the embedding model")
            query_vector = self.embedder.embed([question])[0]
        dense_scores = self._dense(query_vector, rows, settings.candidates) if query_vector is not None else {}
        lexical_all = self.store.lexical.scores(question) if settings.mode != "dense" else None
        lexical_scores = _top(lexical_all, rows, settings.candidates) if lexical_all is not None else {}
        candidates = set(dense_scores) | set(lexical_scores)
        if query_vector is not None and lexical_scores:
            missing = sorted(candidates - set(dense_scores))
            if missing:
                sims = np.asarray(self.store.vectors[missing]) @ query_vector
                dense_scores.update(zip(missing, sims.tolist(), strict=True))
        if lexical_all is not None:
            lexical_scores = {row: float(lexical_all[row]) for row in candidates}
        fused = fuse(dense_scores, lexical_scores, settings)
        ordered = sorted(fused, key=lambda row: (-fused[row], row))
        chosen = _distinct(self.store, ordered, settings.k)
        query_terms = set(tokenize([question])[0])
        hits = tuple(
            Hit(
                rank=rank,
                passage=passage,
                score=round(fused[row], 4),
                dense=round(dense_scores[row], 4) if row in dense_scores else None,
                lexical=round(lexical_scores[row], 4) if row in lexical_scores else None,
                highlight=self._highlight(row, passage, query_vector, query_terms),
            )
            for rank, (row, passage) in enumerate(chosen, start=1)
        )
        confidence = _confidence(hits, dense_scores, query_terms, settings)
        return Answer(
            question=question,
            mode=settings.mode,
            answered=bool(hits) and confidence >= settings.threshold,
            confidence=round(confidence, 4),
            hits=hits,
            seconds=time.perf_counter() - began,
        )

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
    ) -> tuple[int, int] | None:
        """The sentence that best answers: sentence-vector similarity plus a little word overlap."""
        if not passage.sentences:
            return None
        overlap = np.array([_overlap(passage.text[s:e], terms) for s, e in passage.sentences])
        scores = 0.3 * overlap
        if query is not None:
            sentence_rows = self.store.sentence_rows(row)
            scores = scores + np.asarray(self.store.sentence_vectors[sentence_rows.start : sentence_rows.stop]) @ query
        return passage.sentences[int(np.argmax(scores))]


def fuse(dense: dict[int, float], lexical: dict[int, float], settings: Settings) -> dict[int, float]:
    """One score per candidate: cosine, BM25 scaled by the best candidate, or their weighted blend."""
    if settings.mode == "dense":
        return dict(dense)
    top = max(lexical.values(), default=0.0)
    scaled = {row: (score / top if top > 0 else 0.0) for row, score in lexical.items()}
    if settings.mode == "lexical":
        return scaled
    weight = settings.dense_weight
    rows = set(dense) | set(scaled)
    return {row: weight * dense.get(row, 0.0) + (1 - weight) * scaled.get(row, 0.0) for row in rows}


def _confidence(hits: tuple[Hit, ...], dense: dict[int, float], terms: set[str], settings: Settings) -> float:
    """How sure the top passage answers: its cosine, or for lexical mode its share of the question's words."""
    if not hits:
        return 0.0
    best = hits[0]
    coverage = _overlap(best.passage.text, terms)
    if settings.mode == "lexical":
        return coverage
    return (best.dense or 0.0) + 0.1 * coverage


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


def with_mode(settings: Settings, mode: Mode) -> Settings:
    """The same settings in another mode."""
    return replace(settings, mode=mode)
