"""Answers about a document as a whole: which document a question means, the line of its card that holds a detail,
and its most central passages (for its thesis) or closing ones (for its conclusion)."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from weakref import WeakKeyDictionary

from qa.answering.answer import Answer, Hit, Ranking
from qa.answering.lists import is_item
from qa.answering.questions import Aspect, DocumentQuestion
from qa.documents.centrality import TITLE_WEIGHT
from qa.documents.chunking import Passage, Span
from qa.index.stores.base import PassageStore
from qa.kernel.settings import Settings

SCOPE_DEPTH = 50  # the documents of this many top-ranked passages are the candidates for "this essay"
CLOSING_SHARE = 1 / 3  # a conclusion is sought among the last third of a document's passages...
CLOSING_WEIGHT = 0.3  # ...the later the better (the last passage gains this much over the first of them)
FIELDS: dict[Aspect, tuple[str, ...]] = {
    "author": ("authors", "author", "by", "byline", "creator", "creators", "writer", "speaker"),
    "date": ("date", "published", "published_time", "publication_date", "created", "issued", "modified_time"),
    "venue": ("publication", "publisher", "journal", "magazine", "site_name", "venue", "hostname", "sitename"),
    "source": ("source_url", "url", "source", "link", "canonical"),
    "title": ("title",),
    "occasion": ("title", "date"),  # a speech's title names where it was given
}
GENRE_BOOST = 0.3  # passages of the kind of document a question names ("the essay") gain this share of their score
MAX_DOCUMENTS = 500  # beyond this many documents, kinds are not looked up
_AUTHORED = ("authors", "author")
_GENRES = {word: _AUTHORED for word in ("essay", "article", "piece", "op-ed", "column", "authors", "writers")}
# Kinds of document that have authors but are not what "the essay" or "the article" means.
_OTHER_GENRES = re.compile(r"\b(memo|memorandum|minutes|notes|letter|report|speech|remarks|statement)\b")
_GENRE_WORD = re.compile(
    r"\b(essay|article|piece|op-?ed|column|authors|writers|statement|speech|remarks|readout|executive order|"
    r"memorandum|fact sheet)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Located:
    """A passage chosen for a document-level answer, with its row, the sentence to highlight and its score."""

    row: int
    passage: Passage
    highlight: Span | None
    score: float


def preferred(store: PassageStore, question: str) -> set[str]:
    """The documents of the kind the question names: an essay, article or piece, or its authors, mean documents
    with authors (those named a memo, minutes, notes, a letter, report or speech only when no other has authors);
    a statement, speech, readout or order, documents so titled. Empty when it names none, when every
    document would do, or when the corpus is too large to look through."""
    word = _genre(question)
    if word is None:
        return set()
    details = _details(store)
    if details is None:
        return set()
    fields = _GENRES.get(word)
    found = {
        doc_id
        for doc_id, (title, metadata) in details.items()
        if (fields is not None and any(metadata.get(field) for field in fields))
        or (fields is None and word.replace("-", " ") in _named(title, doc_id))
    }
    if fields is not None:  # an essay's authors: not those of a document named a memo, minutes or a speech
        found = {doc_id for doc_id in found if not _OTHER_GENRES.search(_named(details[doc_id][0], doc_id))} or found
    return set() if len(found) == len(details) else found


def _named(title: str, doc_id: str) -> str:
    """A document's title and file name, lower-cased, hyphens and underscores as spaces."""
    return re.sub(r"[-_.]", " ", f"{title} {doc_id}").lower()


def prefer(store: PassageStore, ranking: Ranking, question: str) -> Ranking:
    """The ranking with the passages of the documents the question names (see `preferred`) lifted."""
    wanted = preferred(store, question)
    if not wanted:
        return ranking
    rows = ranking.rows[: SCOPE_DEPTH * 2]
    fused = dict(ranking.fused)
    for row, passage in zip(rows, store.passages(rows), strict=True):
        if passage.doc_id in wanted:
            fused[row] *= 1 + GENRE_BOOST
    ordered = sorted(ranking.rows, key=lambda row: (-fused[row], row))
    return replace(ranking, rows=ordered, fused=fused)


def scope(store: PassageStore, ranked: Sequence[int], question: str, aspect: Aspect | None = None) -> str | None:
    """The document the question most plausibly means, among those of the kind it names (see `preferred`) and,
    for a detail, those whose metadata has it: the document of the best-ranked card (a card describes its
    document as such questions do), else of the best-ranked passage. None when nothing was ranked."""
    wanted = preferred(store, question) or _having(store, aspect)
    top = store.passages(list(ranked[:SCOPE_DEPTH]))
    fitting = [passage for passage in top if not wanted or passage.doc_id in wanted]
    for passage in fitting:
        if passage.kind != "text":
            return passage.doc_id
    if fitting:
        return fitting[0].doc_id
    return min(wanted) if wanted else (top[0].doc_id if top else None)


def _having(store: PassageStore, aspect: Aspect | None) -> set[str]:
    """The documents whose metadata holds the detail, empty when all or none do (or for no detail)."""
    details = _details(store) if aspect in FIELDS else None
    if details is None or aspect is None:
        return set()
    fields = FIELDS[aspect]
    if "title" in fields:
        return set()  # every document has a title
    found = {doc_id for doc_id, (_, metadata) in details.items() if any(metadata.get(field) for field in fields)}
    return set() if len(found) == len(details) else found


def _genre(question: str) -> str | None:
    found = _GENRE_WORD.search(question)
    return found.group(1).lower().replace(" ", "-").replace("oped", "op-ed") if found else None


_DETAILS: WeakKeyDictionary[PassageStore, dict[str, tuple[str, Mapping[str, Any]]] | None] = WeakKeyDictionary()


def _details(store: PassageStore) -> dict[str, tuple[str, Mapping[str, Any]]] | None:
    """Title and metadata of every document (read once per opened store), None past MAX_DOCUMENTS documents."""
    if store not in _DETAILS:
        ids = store.document_ids()
        if len(ids) > MAX_DOCUMENTS:
            _DETAILS[store] = None
        else:
            loaded = (store.document(doc_id) for doc_id in ids)
            _DETAILS[store] = {document.id: (document.title, document.metadata) for document in loaded}
    return _DETAILS[store]


def card_line(card: Passage, aspect: Aspect) -> Span | None:
    """The card's sentence (one per field) that holds the detail asked for, None when the card lacks it."""
    wanted = FIELDS.get(aspect, ())
    for field in wanted:
        for start, end in card.sentences:
            key = card.text[start:end].split(":", 1)[0].strip().lower()
            if key == field:
                return start, end
    return None


def central(rows: Sequence[int], passages: Sequence[Passage], aspect: Aspect, k: int) -> list[Located]:
    """The document's passages that best state its thesis (the most central) or its conclusion (central and late,
    among its closing third), best first, each with its key sentence."""
    text = [(row, passage) for row, passage in zip(rows, passages, strict=True) if passage.kind == "text"]
    most = 1 + TITLE_WEIGHT  # the highest centrality there can be: scores are shares of it
    scores = {row: passage.centrality / most for row, passage in text}
    if aspect == "conclusion":  # a conclusion is prose near the end, not an item of a list
        text = [(row, passage) for row, passage in text[int(len(text) * (1 - CLOSING_SHARE)) :] if not is_item(passage)]
        scores = {
            row: (passage.centrality + CLOSING_WEIGHT * place / max(1, len(text) - 1)) / (most + CLOSING_WEIGHT)
            for place, (row, passage) in enumerate(text)
        }
    chosen = sorted(text, key=lambda pair: (-scores[pair[0]], pair[0]))[:k]
    return [Located(row, passage, key_sentence(passage), scores[row]) for row, passage in chosen]


def key_sentence(passage: Passage) -> Span | None:
    """The span of the passage's key sentence (chosen at index time), None when it has none."""
    return passage.sentences[passage.key_sentence] if 0 <= passage.key_sentence < len(passage.sentences) else None


def answer_about(
    store: PassageStore,
    question: str,
    asked: DocumentQuestion,
    ranked: Sequence[int],
    settings: Settings,
    began: float,
) -> Answer | None:
    """The answer to a question about a document as a whole (its card's line for a detail, its central or closing
    passages for its thesis or conclusion), or None when the document has nothing that answers that way."""
    doc = settings.doc or scope(store, ranked, question, asked.aspect)
    if doc is None:
        return None
    selected = store.select(doc, None)
    rows = [int(row) for row in selected] if selected is not None else []
    passages = store.passages(rows)
    reason = None
    if asked.detail:
        card = next(
            ((row, passage) for row, passage in zip(rows, passages, strict=True) if passage.kind != "text"), None
        )
        if card is None:
            return None
        line = card_line(card[1], asked.aspect) or (
            card_line(card[1], "title") if asked.aspect == "author" else None  # a title often names its speaker
        )
        if line is None:
            reason = f"its {card[1].kind} gives no {asked.aspect}"
        opening = [
            Located(row, passage, key_sentence(passage), passage.centrality / (1 + TITLE_WEIGHT))
            for row, passage in zip(rows, passages, strict=True)
        ]
        opening = [found for found in opening if found.passage.kind == "text"][:1]  # speeches say where at once
        chosen = [Located(card[0], card[1], line, 1.0 if line else 0.0), *opening]
        chosen += [
            found
            for found in central(rows, passages, "thesis", settings.k)
            if found.row not in {o.row for o in opening}
        ]
        chosen = chosen[: settings.k]
    else:
        chosen = central(rows, passages, asked.aspect, settings.k)
    if not chosen:
        return None
    confidence = min(1.0, max(0.0, chosen[0].score))  # the card's (or the most central passage's) score
    ordered = sorted(chosen, key=lambda found: -found.score)  # shown by score; ties keep card, opening, central
    hits = tuple(
        Hit(rank, found.passage, round(found.score, 4), None, None, found.highlight)
        for rank, found in enumerate(ordered, start=1)
    )
    return Answer(
        question=question,
        mode=settings.mode,
        answered=reason is None,
        confidence=round(confidence, 4),
        hits=hits,
        seconds=time.perf_counter() - began,
        reason=reason,
        scope=doc,
    )
