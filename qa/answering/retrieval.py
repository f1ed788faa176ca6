"""Answer a question from a built index: search, fuse, deduplicate, highlight and abstain."""

from __future__ import annotations

import time
import unicodedata
from dataclasses import replace

import numpy as np

from qa.answering.answer import Answer, Hit, Ranking
from qa.answering.answer_types import answer_type, paired_terms, pairs
from qa.answering.answerability import DECISION_PASSAGES, AnswerabilityModel, Judgement, supports_of
from qa.answering.lists import Entry, gather, is_recommendation_list, results
from qa.answering.overview import answer_about, prefer
from qa.answering.questions import DocumentQuestion, document_question
from qa.documents.chunking import Passage
from qa.index.lexical import tokenize
from qa.index.stores.base import PassageStore
from qa.kernel.errors import InputError
from qa.kernel.settings import (
    CANDIDATES,
    DEFAULT_MODE,
    MAX_QUESTION_CHARS,
    MODES,
    VERIFIER_THRESHOLD,
    Mode,
    Settings,
    clean_question,
)
from qa.models.embedding import Embedder
from qa.models.verifier.model import Candidate, Verifier, neighbours

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
    "ordering_scores",
]

CONFIDENCE_DEPTH = 3
OVERLAP_WEIGHT = 0.3
MIN_HIGHLIGHT_WORDS = 4  # shorter "sentences" are headings or scraps ("Paul Triolo ("): highlight them last
FRAGMENT_PENALTY = 1.0
MAX_REFILLS = 3  # times more passages are drawn when gathered list items leave fewer than k results
CARD_WEIGHT = 0.5  # a document's card answers questions about the document (routed to it), rarely about facts


class Searcher:
    """Runs questions against one opened index."""

    def __init__(
        self,
        store: PassageStore,
        embedder: Embedder | None,
        verifier: Verifier | None = None,
        answerability: AnswerabilityModel | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.verifier = verifier
        self.answerability = answerability

    def ask(self, question: str, settings: Settings | None = None) -> Answer:
        """The top passages for the question under the given settings."""
        settings = settings or Settings()
        began = time.perf_counter()
        question = clean_question(question)
        ranking = prefer(self.store, self.rank(question, settings), question)
        asked = document_question(question)
        if asked is not None and asked.aspect != "recommendations":
            about = answer_about(self.store, question, asked, ranking.rows, settings, began)
            if about is not None:
                return about
        judged = self.answerability is not None and ranking.query_vector is not None
        # every decision reads a fixed candidate set, whatever k is: the first DECISION_PASSAGES passages
        chosen = self._choose(ranking.rows, max(settings.k, DECISION_PASSAGES), _exhaustive(asked))
        scores = {row: ranking.fused[row] * (1.0 if passage.kind == "text" else CARD_WEIGHT) for row, passage in chosen}
        chosen.sort(key=lambda pair: -scores[pair[0]])
        scored = [self._sentence_scores(row, passage, ranking.query_vector, ranking.terms) for row, passage in chosen]
        highlights = [_highlight(passage, *scores) for (_, passage), scores in zip(chosen, scored, strict=True)]
        similarity = max((score for _, score in highlights[:CONFIDENCE_DEPTH]), default=0.0)
        verified = None
        best: dict[int, float] = {}
        judgement: Judgement | None = None
        checked: dict[int, float] = {}  # the verifier's check of the answerability model's best candidates
        unknown = tuple(self.store.unknown_names(question))
        if judged:
            chosen, scored, highlights, judgement, checked = self._judge(
                question, ranking, chosen, scored, highlights, unknown
            )
        elif self.verifier is not None and self.answerability is None and chosen:
            highlights, verified, best = self._verify(
                question, [passage for _, passage in chosen], scored, highlights, settings
            )
        retrieval = [scores[row] for row, _ in chosen]
        ordering = ordering_scores(retrieval, best if settings.verifier_rerank else {}, settings.rerank_blend)
        order = sorted(range(len(chosen)), key=lambda i: (-ordering[i], i))
        chosen = [chosen[i] for i in order]
        scored = [scored[i] for i in order]
        hits = tuple(
            Hit(
                rank=rank,
                passage=passage,
                score=round(ordering[i], 4),
                dense=round(ranking.dense[row], 4) if row in ranking.dense else None,
                lexical=round(ranking.lexical[row], 4) if row in ranking.lexical else None,
                highlight=highlights[i][0],
                retrieval_score=round(retrieval[i], 4),
                verifier_score=round(best[i], 4) if i in best else round(checked[i], 4) if i in checked else None,
            )
            for rank, (i, (row, passage)) in enumerate(zip(order, chosen, strict=True), start=1)
        )
        hits = self._gather(hits, [row for row, _ in chosen], asked)[: settings.k]
        if judgement is not None:
            assert self.answerability is not None
            confidence = judgement.confidence
            cut = (
                self.answerability.weights.threshold if settings.answer_threshold is None else settings.answer_threshold
            )
            reason = judged_reason(judgement, cut, unknown, bool(chosen))
        else:
            confidence = similarity if verified is None else verified
            threshold = settings.lexical_threshold if ranking.query_vector is None else settings.threshold
            support = [(passage, scores[0]) for (_, passage), scores in zip(chosen, scored, strict=True)]
            reason = abstention_reason(
                question,
                support[:CONFIDENCE_DEPTH],
                similarity,
                threshold,
                unknown,
                verified,
                settings.verifier_threshold,
            )
        if asked is not None and asked.aspect == "recommendations" and hits and is_recommendation_list(hits[0].passage):
            reason = None  # the list of recommendations answers, though no one item resembles the question
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
        """Candidate rows for the question, best first, with their scores (no deduplication); candidates are drawn
        only from the documents that `settings.doc` and `settings.filter` admit."""
        rows = self.store.select(settings.doc, settings.filter)
        if rows is not None and not len(rows):
            raise InputError(f"no indexed document passes the filter {settings.filter}: qa status lists the documents")
        if settings.mode != "lexical" and query_vector is None:
            if self.embedder is None:
                raise InputError(f"mode {settings.mode} needs the embedding model")
            query_vector = self.embedder.embed([question])[0]
        if settings.mode == "lexical":
            query_vector = None
        dense = self.store.dense(query_vector, settings.candidates, rows) if query_vector is not None else {}
        terms = tokenize([question])[0]
        lexical = self.store.keyword(terms, settings.candidates, rows) if settings.mode != "dense" else {}
        candidates = set(dense) | set(lexical)
        if query_vector is not None and lexical:
            dense.update(self.store.similarities(sorted(candidates - set(dense)), query_vector))
        if settings.mode != "dense":
            lexical = self.store.keyword_scores(terms, sorted(candidates))
        sentence = {}
        if settings.mode == "hybrid" and query_vector is not None and settings.sentence_weight > 0:
            sentence = self.store.best_sentence_scores(sorted(candidates), query_vector)
        fused = fuse(dense, lexical, settings, sentence)
        ordered = sorted(fused, key=lambda row: (-fused[row], row))
        return Ranking(ordered, fused, dense, lexical, query_vector, set(terms))

    def _choose(self, ordered: list[int], k: int, exhaustive: bool) -> list[tuple[int, Passage]]:
        """The first distinct passages, as many as make k results once list items are gathered into one."""
        chosen = _distinct(self.store, ordered, k)
        for _ in range(MAX_REFILLS):
            found = results(self.store, [Entry(row, passage, None, 0.0) for row, passage in chosen], exhaustive)
            if found >= k:
                break
            more = _distinct(self.store, ordered, len(chosen) + k - found)
            if len(more) == len(chosen):
                break
            chosen = more
        return chosen

    def _gather(self, hits: tuple[Hit, ...], rows: list[int], asked: DocumentQuestion | None) -> tuple[Hit, ...]:
        """The hits with consecutive items of one list merged into one (every item, when the question asks for
        all of them or for a document's recommendations)."""
        entries = [Entry(row, hit.passage, hit.highlight, hit.score) for row, hit in zip(rows, hits, strict=True)]
        gathered = gather(self.store, entries, _exhaustive(asked))
        return tuple(
            replace(
                hits[found.members[0]],
                rank=rank,
                passage=found.passage,
                highlight=found.highlight,
                score=max(hits[member].score for member in found.members),
            )
            for rank, found in enumerate(gathered, start=1)
        )

    def _judge(
        self,
        question: str,
        ranking: Ranking,
        chosen: list[tuple[int, Passage]],
        scored: list[tuple[np.ndarray, np.ndarray]],
        highlights: list[tuple[tuple[int, int] | None, float]],
        unknown: tuple[str, ...],
    ) -> tuple[
        list[tuple[int, Passage]],
        list[tuple[np.ndarray, np.ndarray]],
        list[tuple[tuple[int, int] | None, float]],
        Judgement,
        dict[int, float],
    ]:
        """The answerability model's reading of the fixed candidate set (the first DECISION_PASSAGES passages):
        each of those passages highlighted at its best candidate sentence and, with a rerank blend, reordered by it
        plus the blend times its retrieval score; and, by position, the verifier's best probability for each
        passage whose sentences it checked."""
        assert self.answerability is not None
        decision = len(chosen[:DECISION_PASSAGES])
        supports = supports_of(
            chosen[:decision],
            ranking.fused,
            ranking.dense,
            ranking.lexical,
            [support for support, _ in scored[:decision]],
            CARD_WEIGHT,
        )
        judgement = self.answerability.judge(question, supports, len(unknown), self.verifier)
        updated = list(highlights)
        best: dict[int, float] = {}
        checked: dict[int, float] = {}
        for number in range(decision):
            found = judgement.passage_best(number)
            if found is not None:
                index, logit = found
                updated[number] = (chosen[number][1].sentences[index], logit)
                best[number] = logit
            verified = judgement.passage_verified(number)
            if verified is not None:
                checked[number] = verified
        blend = self.answerability.weights.rerank_blend
        if blend >= 0 and best:
            rank = {i: best[i] + blend * supports[i].fused for i in best}
            order = sorted(range(decision), key=lambda i: (i not in rank, -rank.get(i, 0.0), i))
            order += list(range(decision, len(chosen)))
            chosen = [chosen[i] for i in order]
            scored = [scored[i] for i in order]
            updated = [updated[i] for i in order]
            checked = {place: checked[i] for place, i in enumerate(order) if i in checked}
        return chosen, scored, updated, judgement, checked

    def _verify(
        self,
        question: str,
        passages: list[Passage],
        scored: list[tuple[np.ndarray, np.ndarray]],
        highlights: list[tuple[tuple[int, int] | None, float]],
        settings: Settings,
    ) -> tuple[list[tuple[tuple[int, int] | None, float]], float, dict[int, float]]:
        """The top passages' best sentences verified in one batch: each of those passages is highlighted at its
        best verified sentence; returns the highlights, the best probability and each verified passage's best."""
        assert self.verifier is not None
        candidates: list[Candidate] = []
        owners: list[tuple[int, int]] = []
        for number, (passage, (support, overlap)) in enumerate(
            zip(passages[: settings.verify_passages], scored, strict=False)
        ):
            if not passage.sentences:
                continue
            texts = [passage.text[start:end] for start, end in passage.sentences]
            order = np.argsort(-(support + OVERLAP_WEIGHT * overlap - _fragments(texts)), kind="stable")
            for index in order[: settings.verify_sentences].tolist():
                candidates.append(replace(neighbours(texts, index, passage.title), similarity=float(support[index])))
                owners.append((number, index))
        if not candidates:
            return highlights, 0.0, {}
        probabilities = self.verifier.verify(question, candidates)
        updated = list(highlights)
        best: dict[int, tuple[float, int]] = {}
        for (number, index), probability in zip(owners, probabilities.tolist(), strict=True):
            if number not in best or probability > best[number][0]:
                best[number] = (probability, index)
        for number, (probability, index) in best.items():
            updated[number] = (passages[number].sentences[index], probability)
        return updated, float(max(probabilities)), {number: found for number, (found, _) in best.items()}

    def _sentence_scores(
        self, row: int, passage: Passage, query: np.ndarray | None, terms: set[str]
    ) -> tuple[np.ndarray, np.ndarray]:
        """How well each sentence answers (its vector's cosine with the question, else word overlap), and the
        share of question words it contains."""
        overlap = np.array([_overlap(passage.text[s:e], terms) for s, e in passage.sentences])
        if query is None:
            return overlap, overlap
        return self.store.sentence_scores(row, query), overlap


def ordering_scores(retrieval: list[float], verified: dict[int, float], blend: float) -> list[float]:
    """The score each passage is ordered by (and shown with): its retrieval score; or, when the verifier's
    probabilities `verified` (by position) rerank, the weighted mean (p + blend × r) / (1 + blend) of the
    probability p of its best sentence (0 for a passage the verifier did not read) and its retrieval score r."""
    if not verified:
        return list(retrieval)
    return [(verified.get(i, 0.0) + blend * score) / (1 + blend) for i, score in enumerate(retrieval)]


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


def judged_reason(judgement: Judgement, threshold: float, unknown: tuple[str, ...], found: bool) -> str | None:
    """Why the answerability model refuses, or None: its confidence is below the threshold (names the corpus never
    mentions are one of its signals, and are named)."""
    if not found:
        return "no passage shares a word with the question"
    if judgement.confidence >= threshold:
        return None
    why = f"the best sentence answers with probability {judgement.confidence:.3f}, below the {threshold:.2f} threshold"
    return f"it never mentions {', '.join(unknown)}; {why}" if unknown else why


def abstention_reason(
    question: str,
    support: list[tuple[Passage, np.ndarray]],
    confidence: float,
    threshold: float,
    unknown: tuple[str, ...],
    verified: float | None = None,
    verifier_threshold: float = VERIFIER_THRESHOLD,
) -> str | None:
    """Why the top passages (each with how well every sentence answers) give no confident answer, or None.

    `confidence` is the best sentence similarity; `verified`, when a verifier read the candidates, its best
    probability, which adds a reason of its own (its threshold is chosen on validation questions with the others in
    place). With a verifier, names the corpus never mentions refuse only when no sentence is close to the question
    (a paraphrased name is no reason to refuse a passage that answers)."""
    if not support:
        return "no passage shares a word with the question"
    if unknown and (verified is None or confidence < threshold):
        return f"it never mentions {', '.join(unknown)}"
    if confidence < threshold:
        return f"the highlighted sentences score at most {confidence:.2f}, below the {threshold:.2f} threshold"
    if verified is not None and verified < verifier_threshold:
        return (
            f"the verifier gives the best sentence a probability of {verified:.2f}, "
            f"below the {verifier_threshold:.2f} threshold"
        )
    sentences = [
        (passage.text, start, end, float(score))
        for passage, scores in support
        for (start, end), score in zip(passage.sentences, scores, strict=True)
    ]
    kind = answer_type(question)
    stating = (score for text, start, end, score in sentences if kind is not None and kind.stated_in(text, start, end))
    if kind is not None and max(stating, default=-1.0) < threshold:
        return f"no sentence close to the question states {kind.name}"
    terms = paired_terms(question)
    if terms is not None and not pairs(terms, (text[start:end] for text, start, end, _ in sentences)):
        return f"no sentence mentions the {terms[0]} of {terms[1]}"
    return None


def _highlight(passage: Passage, support: np.ndarray, overlap: np.ndarray) -> tuple[tuple[int, int] | None, float]:
    """The sentence that best answers, preferring whole sentences to scraps, and its support."""
    if not passage.sentences:
        return None, 0.0
    fragment = _fragments([passage.text[s:e] for s, e in passage.sentences])
    best = int(np.argmax(support + OVERLAP_WEIGHT * overlap - fragment))
    return passage.sentences[best], float(support[best])


def _fragments(sentences: list[str]) -> np.ndarray:
    """A penalty for scraps (fewer than MIN_HIGHLIGHT_WORDS words) among whole sentences, none otherwise."""
    words = np.array([len(text.split()) for text in sentences])
    if words.max() < MIN_HIGHLIGHT_WORDS:
        return np.zeros(len(sentences))
    return np.where(words < MIN_HIGHLIGHT_WORDS, FRAGMENT_PENALTY, 0.0)


def _overlap(text: str, terms: set[str]) -> float:
    if not terms:
        return 0.0
    return len(terms & set(tokenize([text])[0])) / len(terms)


def _exhaustive(asked: DocumentQuestion | None) -> bool:
    """Whether the question asks for a whole list: all of something, or a document's recommendations."""
    return asked is not None and (asked.exhaustive or asked.aspect == "recommendations")


def _distinct(store: PassageStore, ordered: list[int], k: int) -> list[tuple[int, Passage]]:
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
