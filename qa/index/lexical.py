"""BM25 keyword search over passages: built and written with bm25s, read back with NumPy alone."""

from __future__ import annotations

import bisect
import importlib.util
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


@cache
def _analyzer() -> tuple[Any, frozenset[str]]:
    import Stemmer

    return Stemmer.Stemmer("english"), frozenset(_stopwords())


def _stopwords() -> tuple[str, ...]:
    """bm25s's English stop words, read from its module alone: importing the bm25s package pulls in SciPy, about a
    fifth of a cold `qa ask`, and a query needs none of it."""
    package = importlib.util.find_spec("bm25s")
    assert package is not None and package.origin is not None, "bm25s is a dependency of qa"
    spec = importlib.util.spec_from_file_location("_bm25s_stopwords", Path(package.origin).with_name("stopwords.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return tuple(module.STOPWORDS_EN)


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Lower-cased words of two or more characters, English stop words removed, Snowball-stemmed."""
    stemmer, stopwords = _analyzer()
    return [
        stemmer.stemWords([word for word in _WORD.findall(text.lower()) if word not in stopwords]) for text in texts
    ]


class LexicalIndex:
    """A BM25 index whose rows line up with the passage rows of the vector index: bm25s's eager scores, a sparse
    term-by-passage matrix (CSC arrays), so a query's score is a sum of its terms' columns."""

    def __init__(
        self,
        terms: dict[str, int],
        columns: tuple[np.ndarray, np.ndarray, np.ndarray],
        size: int,
        retriever: bm25s.BM25 | None = None,
    ) -> None:
        self.terms = terms
        self.data, self.indices, self.indptr = columns
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
        """Memory-map an index written by `save`."""
        terms = json.loads((folder / "vocab.index.json").read_text(encoding="utf-8"))
        data, indices, indptr = (np.load(folder / f"{name}.csc.index.npy", mmap_mode="r") for name in COLUMNS)
        return cls(terms, (data, indices, indptr), size)

    def scores(self, query: str) -> np.ndarray:
        """The BM25 score of every row for the query (zeros when no query word is indexed)."""
        return self.token_scores(tokenize([query])[0])

    def token_scores(self, tokens: list[str]) -> np.ndarray:
        """`scores` for a query already split by `tokenize`: each occurrence of an indexed term adds its column."""
        ids = [self.terms[token] for token in tokens if token in self.terms]
        if not ids:
            return np.zeros(self.size, dtype=np.float32)
        rows = np.concatenate([self.indices[self.indptr[i] : self.indptr[i + 1]] for i in ids])
        values = np.concatenate([self.data[self.indptr[i] : self.indptr[i + 1]] for i in ids])
        return np.bincount(rows, weights=values, minlength=self.size).astype(np.float32)[: self.size]

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
