"""BM25 keyword search over passages, with bm25s and an English stemmer."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import bm25s

K1 = 1.2
B = 0.75
PARAMETERS: dict[str, Any] = {"k1": K1, "b": B, "method": "lucene", "stemmer": "english", "stopwords": "en"}


@cache
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Lower-cased, stop-worded, stemmed word tokens of each text."""
    os.environ.setdefault("DISABLE_TQDM", "1")
    from bm25s.tokenization import Tokenizer

    tokenizer = Tokenizer(stopwords="en", stemmer=_stemmer())
    tokens = tokenizer.tokenize(list(texts), return_as="string", show_progress=False)
    return [[token for token in row if token] for row in tokens]


class LexicalIndex:
    """A BM25 index whose rows line up with the passage rows of the vector index."""

    def __init__(self, retriever: bm25s.BM25, size: int) -> None:
        self.retriever = retriever
        self.size = size

    @classmethod
    def build(cls, texts: Sequence[str]) -> LexicalIndex:
        """Index texts, one BM25 document each."""
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.ERROR)
        retriever = bm25s.BM25(k1=K1, b=B, method="lucene")
        retriever.index(tokenize(texts) or [[]], show_progress=False)
        return cls(retriever, len(texts))

    def save(self, folder: Path) -> None:
        """Write the index files into folder."""
        self.retriever.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path, size: int) -> LexicalIndex:
        """Memory-map an index written by `save`."""
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.ERROR)
        retriever = bm25s.BM25.load(str(folder), mmap=True, show_progress=False)
        return cls(retriever, size)

    def scores(self, query: str) -> np.ndarray:
        """The BM25 score of every row for the query (zeros when no query word is indexed)."""
        ids = self.retriever.get_tokens_ids(tokenize([query])[0])
        if not ids:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self.retriever.get_scores_from_ids(ids), dtype=np.float32)[: self.size]
