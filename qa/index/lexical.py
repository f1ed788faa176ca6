"""BM25 keyword search over passages: built and written with bm25s, read back with NumPy alone."""

from __future__ import annotations

import bisect
import json
import logging
import math
import re
from collections.abc import Iterable, Sequence
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import bm25s

K1 = 1.2
B = 0.75
PARAMETERS: dict[str, Any] = {
    "k1": K1,
    "b": B,
    "method": "lucene",
    "stemmer": "english",
    "stopwords": "en",
    "fields": ["title", "text"],
}


MIN_STARTING = 3  # a name's word this long or longer is known when it starts an indexed word...
# ...followed by digits or by one of these endings ("cin" of "cin2", "europ" of "european"; not "intel" of "intellig")
ENDINGS = frozenset({"s", "es", "n", "an", "ean", "ian", "ese", "ish", "i", "ic"})
MIN_STEM_PREFIX = 5  # an indexed word this long or longer may start a name's word...
STEM_PREFIX_SHARE = 0.6  # ...when it holds at least this share of its letters
COLUMNS = ("data", "indices", "indptr")  # bm25s's files of the sparse score matrix: {name}.csc.index.npy
_WORD = re.compile(r"(?u)\b\w\w+\b")
_CAPITALISED = r"(?:[A-Z][\w-]*[a-z][\w-]*|[A-Z]{3,})\b"
_NAME = re.compile(rf"\b{_CAPITALISED}(?:[ \t]+{_CAPITALISED})*")


# bm25s's English stop words (bm25s.stopwords.STOPWORDS_EN; a test keeps them equal), here because importing bm25s
# pulls in SciPy, about a fifth of a cold `qa ask`, and a query needs none of it.
STOPWORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then there these they "
    "this to was will with".split()
)


@cache
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Lower-cased words of two or more characters, English stop words removed, Snowball-stemmed."""
    stemmer = _stemmer()
    return [
        stemmer.stemWords([word for word in _WORD.findall(text.lower()) if word not in STOPWORDS]) for text in texts
    ]


class LexicalIndex:
    """A BM25 index whose rows line up with the passage rows of the vector index: bm25s's term-by-passage score
    matrix (CSC arrays)."""

    def __init__(
        self,
        terms: dict[str, int],
        columns: tuple[np.ndarray, np.ndarray, np.ndarray],
        size: int,
        retriever: bm25s.BM25 | None = None,
    ) -> None:
        self.data, self.indices, self.indptr = columns
        # bm25s gives the empty word the id after the last column; no query holds it
        self.terms = {term: column for term, column in terms.items() if column < len(self.indptr) - 1}
        self.size = size
        self.retriever = retriever  # the bm25s index a build made, which `save` writes

    @classmethod
    def build(cls, texts: Sequence[str]) -> LexicalIndex:
        """Index texts, one BM25 document each."""
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.ERROR)
        retriever = bm25s.BM25(k1=K1, b=B, method="lucene")
        retriever.index(tokenize(texts) or [[]], show_progress=False)
        scores = retriever.scores
        return cls(retriever.vocab_dict, (scores["data"], scores["indices"], scores["indptr"]), len(texts), retriever)

    def save(self, folder: Path) -> None:
        """Write the files of an index made by `build` into folder (bm25s's format)."""
        assert self.retriever is not None, "only a built index is written"
        self.retriever.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path, size: int) -> LexicalIndex:
        """Memory-map an index written by `save` (ValueError when its files do not make one)."""
        terms = json.loads((folder / "vocab.index.json").read_text(encoding="utf-8"))
        data, indices, indptr = (np.load(folder / f"{name}.csc.index.npy", mmap_mode="r") for name in COLUMNS)
        if not (
            isinstance(terms, dict)
            and data.ndim == indices.ndim == indptr.ndim == 1
            and len(indptr) >= 1
            and np.issubdtype(data.dtype, np.floating)
            and np.issubdtype(indices.dtype, np.integer)
            and np.issubdtype(indptr.dtype, np.integer)
            and len(data) == len(indices) == int(indptr[-1])
            and all(isinstance(column, int) and 0 <= column < len(indptr) for column in terms.values())
        ):
            raise ValueError(f"the keyword index in {folder} is inconsistent")
        return cls(terms, (data, indices, indptr), size)

    def scores(self, query: str) -> np.ndarray:
        """The BM25 score of every row for the query (zeros when no query word is indexed)."""
        return self.token_scores(tokenize([query])[0])

    def token_scores(self, tokens: list[str]) -> np.ndarray:
        """`scores` for a query already split by `tokenize`: each occurrence of an indexed term adds its column, in
        float32 and in query order, as bm25s does (so the sums are bm25s's to the bit)."""
        scores = np.zeros(self.size, dtype=np.float32)
        for token in tokens:
            column = self.terms.get(token)
            if column is not None:
                at = slice(int(self.indptr[column]), int(self.indptr[column + 1]))
                rows = self.indices[at]
                inside = rows < self.size
                scores[rows[inside]] += self.data[at][inside]
        return scores

    def unknown_names(self, question: str) -> list[str]:
        """Names in the question (runs of capitalised words) of which no word occurs in any indexed passage."""
        return unknown_names(question, self.vocabulary)

    @cached_property
    def vocabulary(self) -> Lexicon:
        """The indexed words, for telling which names of a question the corpus knows."""
        return Lexicon(self.terms)


class Lexicon:
    """A corpus's stemmed words, sorted. A word of a question is known when it is indexed; when it starts an indexed
    word that goes on with digits or a demonym's or plural's ending ("CIN" of an indexed "CIN2", "Europe" of
    "European", not "Intel" of "intelligence"); or when an indexed word of at least MIN_STEM_PREFIX letters and
    STEM_PREFIX_SHARE of its length starts it ("Egyptians" when "Egypt" is indexed)."""

    def __init__(self, words: Iterable[str]) -> None:
        self.words = sorted(words)
        self.exact = frozenset(self.words)

    def knows(self, stem: str) -> bool:
        """Whether the stemmed word `stem` is known to the corpus."""
        if stem in self.exact:
            return True
        if len(stem) >= MIN_STARTING:
            at = bisect.bisect_left(self.words, stem)
            while at < len(self.words) and self.words[at].startswith(stem):
                rest = self.words[at][len(stem) :]
                if rest.isdigit() or rest in ENDINGS:
                    return True
                at += 1
        for size in range(len(stem) - 1, max(MIN_STEM_PREFIX, math.ceil(len(stem) * STEM_PREFIX_SHARE)) - 1, -1):
            if stem[:size] in self.exact:
                return True
        return False


def unknown_names(question: str, vocabulary: Lexicon) -> list[str]:
    """Names in the question (runs of capitalised words) none of whose stemmed words the vocabulary knows."""
    words = question.split(maxsplit=1)
    after_first_word = len(question) - len(words[1]) if len(words) == 2 else 0  # its capital says nothing
    names = [match.group() for match in _NAME.finditer(question, after_first_word)]
    return [
        name
        for name, stems in zip(names, tokenize(names), strict=True)
        if stems and not any(vocabulary.knows(stem) for stem in stems)
    ]
