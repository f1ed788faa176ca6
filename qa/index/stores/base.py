"""The seam between searching and storage: what any store of an index (local files or Milvus) offers a search."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from qa.documents.base import Document
    from qa.documents.chunking import Passage
    from qa.index.manifest import Manifest
    from qa.kernel.filters import Filter


class PassageStore(Protocol):
    """What answering needs from an index, whatever engine holds it: candidates by vector and by keyword (drawn
    from a selection of rows when filtered), passage rows, sentence vectors and documents. Rows are integers
    numbering the passages in document order, each document's rows contiguous."""

    @property
    def size(self) -> int:
        """Number of passages."""
        ...

    @property
    def manifest(self) -> Manifest:
        """The manifest of the generation being read."""
        ...

    def select(self, doc: str | None, found: Filter | None) -> np.ndarray | None:
        """The rows a search may return (sorted), or None for all; errors when `doc` is not indexed."""
        ...

    def dense(self, query: np.ndarray, count: int, rows: np.ndarray | None) -> dict[int, float]:
        """The `count` rows (among `rows`) whose passage vectors are closest to the query, with their cosines."""
        ...

    def similarities(self, rows: Sequence[int], query: np.ndarray) -> dict[int, float]:
        """The cosine between the query and the passage vector of each row."""
        ...

    def keyword(self, terms: list[str], count: int, rows: np.ndarray | None) -> dict[int, float]:
        """The `count` rows (among `rows`) with the highest positive BM25 scores for the query's terms."""
        ...

    def keyword_scores(self, terms: list[str], rows: Sequence[int]) -> dict[int, float]:
        """The BM25 score of each row for the query's terms."""
        ...

    def sentence_scores(self, row: int, query: np.ndarray) -> np.ndarray:
        """The cosine between the query and each sentence of the passage at `row`."""
        ...

    def best_sentence_scores(self, rows: Sequence[int], query: np.ndarray) -> dict[int, float]:
        """For each row, the highest cosine between the query and one of its sentences."""
        ...

    def passages(self, rows: Sequence[int]) -> list[Passage]:
        """Passages at the given rows, in that order."""
        ...

    def unknown_names(self, question: str) -> list[str]:
        """Names in the question of which no word occurs in any indexed passage."""
        ...

    def document(self, doc_id: str) -> Document:
        """The stored document with this id."""
        ...

    def document_ids(self) -> list[str]:
        """Ids of the indexed documents, sorted."""
        ...

    def load(self) -> None:
        """Open what the store reads now, so that the first question is as fast as the next."""
        ...

    def close(self) -> None:
        """Release what the store holds open."""
        ...
