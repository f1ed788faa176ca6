"""How central each passage is to its document, and its key sentence: computed once at index time from the vectors,
so document-level questions ("what is the gist?") cost nothing extra at query time."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence

import numpy as np

from qa.documents.chunking import Passage

TITLE_WEIGHT = 0.5  # the title states what a document is about: passages close to it are more central
MIN_KEY_WORDS = 4  # a key sentence is a sentence, not a heading or a scrap


def score_passages(passages: Sequence[Passage], vectors: np.ndarray, sentence_vectors: np.ndarray) -> list[Passage]:
    """The passages with `centrality` (cosine to the document's centroid plus a title prior) and `key_sentence`
    (the sentence that best states what the document is about) filled in; cards keep theirs."""
    starts = np.cumsum([0, *(len(passage.sentences) for passage in passages)])
    scored: list[Passage] = []
    for _, group in itertools.groupby(range(len(passages)), key=lambda row: passages[row].doc_id):
        rows = list(group)
        text_rows = [row for row in rows if passages[row].kind == "text"]
        sentences = [np.asarray(sentence_vectors[starts[row] : starts[row + 1]]) for row in text_rows]
        if not text_rows or not sum(len(block) for block in sentences):
            scored.extend(passages[row] for row in rows)
            continue
        centroid = _unit(np.concatenate(sentences).mean(axis=0))
        title = _title_vector(passages, rows, sentence_vectors, starts)
        for row in rows:
            passage = passages[row]
            if passage.kind != "text":
                scored.append(passage)
                continue
            block = np.asarray(sentence_vectors[starts[row] : starts[row + 1]])
            centrality = float(vectors[row] @ centroid) + (
                TITLE_WEIGHT * float(vectors[row] @ title) if title is not None else 0.0
            )
            key = _key_sentence(passage, block, centroid, title)
            scored.append(dataclasses.replace(passage, centrality=round(centrality, 6), key_sentence=key))
    return scored


def _title_vector(
    passages: Sequence[Passage], rows: list[int], sentence_vectors: np.ndarray, starts: np.ndarray
) -> np.ndarray | None:
    """The vector of the card's `title:` line, when the document has a card that names its title."""
    for row in rows:
        passage = passages[row]
        if passage.kind == "text":
            continue
        for index, (start, end) in enumerate(passage.sentences):
            if passage.text[start:end].lower().startswith("title:"):
                return _unit(np.asarray(sentence_vectors[starts[row] + index]))
    return None


def _key_sentence(passage: Passage, block: np.ndarray, centroid: np.ndarray, title: np.ndarray | None) -> int:
    """Index of the passage's most central whole sentence, -1 when it has none."""
    if not len(block):
        return -1
    scores = block @ centroid + (TITLE_WEIGHT * (block @ title) if title is not None else 0.0)
    words = np.array([len(passage.text[start:end].split()) for start, end in passage.sentences])
    scores = np.where(words >= MIN_KEY_WORDS, scores, scores - 10.0)
    return int(np.argmax(scores))


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector
