"""Whether the top candidate sentence answers the question: cheap query-time signals over a fixed candidate set,
combined by one calibrated logistic model (numpy only; trained by `python -m training.answerability.train`).

The candidate set does not depend on how many results were asked for: the best sentences of the first
DECISION_PASSAGES distinct passages of the ranking. Each candidate gets the features in FEATURES; the model scores
each candidate (does this sentence hold the answer?), and a calibration step on the best and the runner-up score gives
`confidence`, the probability that the top candidate sentence answers.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.answering.answer_types import answer_type
from qa.index.lexical import tokenize
from qa.kernel.errors import ModelError
from qa.models.verifier.model import Candidate as Read
from qa.models.verifier.model import Verifier, neighbours

if TYPE_CHECKING:
    from tokenizers import Tokenizer

    from qa.documents.chunking import Passage

MODEL_DIR = Path(__file__).resolve().parents[1] / "models" / "answerability"
MODEL_FILE = "answerability.json"
MODEL_SHA256 = "6020cd670bc6050dd34711abd8370eae07758619c15baad07365734ca1295db0"
REBUILD = "python -m training.answerability.train (or reinstall qa: the model ships in qa/models/answerability)"
DECISION_PASSAGES = 5  # the candidate set: the first this many distinct passages of the ranking...
SENTENCES_PER_PASSAGE = 3  # ...and this many of each one's sentences (by cosine plus word overlap)
OVERLAP_WEIGHT = 0.3
MIN_WORDS = 4
WEIGHTS_TENSOR = "embeddings.word_embeddings.weight"
SIGNALS_VERSION = 1  # bumped whenever a feature's computation changes (training caches features by it)

# Words that ask rather than say: never content terms of a question.
_ASKING = frozenset(
    "what which who whom whose when where why how much many did does do was were is are has have had can could "
    "would should will according per kind type name names named called".split()
)
_NUMBER = re.compile(r"\d[\d,.]*\d|\d")
_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b")
_CAPITALISED = r"(?:[A-Z][\w-]*[a-z][\w-]*|[A-Z]{2,})\b"
_NAME = re.compile(rf"\b{_CAPITALISED}(?:[ \t]+(?:of[ \t]+|the[ \t]+)?{_CAPITALISED})*")
_NEGATION = re.compile(r"\b(not|never|no|none|neither|nor|without|fail(?:ed|s)?|n't)\b|n’t\b|n't\b", re.IGNORECASE)
_PERSON = re.compile(r"\s*(who|whom|whose)\b|.*\b(which|what)\s+(person|people|man|woman|scientist|official)\b", re.I)
_PLACE = re.compile(r"\s*where\b|.*\b(which|what)\s+(country|city|state|county|town|region|place|continent)\b", re.I)

FEATURES = (
    "sentence_cosine",  # the candidate sentence's cosine with the question
    "passage_cosine",  # its passage's cosine
    "fused",  # its passage's ranking score (hybrid blend; cards weighted down)
    "bm25_scaled",  # its passage's BM25 score scaled by the best candidate's
    "passage_rank",  # 1 / (1 + rank of its passage among the candidates)
    "fused_margin",  # its passage's fused score minus the best other passage's
    "cosine_margin",  # its cosine minus the best cosine among the other passages' candidates
    "terms_sentence",  # share of the question's content terms (stemmed) in the sentence
    "terms_passage",  # ... in the passage and its title
    "terms_missing",  # count of content terms missing from the passage
    "names_sentence",  # share of the question's names whose words all stand in the sentence (1 without names)
    "names_missing",  # count of names missing from the passage
    "numbers_sentence",  # share of the question's numbers in the sentence (1 without numbers)
    "numbers_missing",  # count of numbers (years included) missing from the passage
    "align_mean",  # token alignment: mean over question words of the best static-vector cosine to a sentence word
    "align_min",  # ... the worst-aligned question word
    "align_passage_min",  # ... the worst-aligned question word against the whole passage
    "type_asked",  # the question asks for a kind of answer (amount, date, person, place, number, duration, age)
    "type_stated",  # ... and the sentence states one
    "novelty",  # share of the sentence's content terms that the question does not use (an answer says something new)
    "negation_mismatch",  # the question is negated and the sentence is not
    "unknown_names",  # names in the question the corpus never mentions
    "fragment",  # the sentence is a scrap (fewer than MIN_WORDS words)
    "card",  # the passage is a document's card
)


@dataclass(frozen=True)
class Support:
    """One candidate passage with its retrieval scores and every sentence's cosine with the question."""

    passage: Passage
    dense: float
    lexical: float
    fused: float
    cosines: np.ndarray


@dataclass(frozen=True)
class Candidate:
    """A candidate sentence: sentence `sentence` of passage `passage` of the supports."""

    passage: int
    sentence: int


@dataclass(frozen=True)
class Judgement:
    """The model's reading of a question's candidates: each candidate's logit, the best one and `confidence`."""

    candidates: tuple[Candidate, ...]
    logits: np.ndarray
    confidence: float
    features: np.ndarray = field(repr=False)
    checked: float | None = None  # the verifier's logit for the best candidate, when it checked
    verified: dict[int, float] = field(default_factory=dict)  # its probability for each candidate it read

    def passage_verified(self, passage: int) -> float | None:
        """The verifier's probability for the best candidate of one passage (the one highlighted), or None when it
        did not read that one."""
        best = self._passage_best_index(passage)
        return None if best is None else self.verified.get(best)

    def _passage_best_index(self, passage: int) -> int | None:
        """Which candidate of one passage has the highest logit, or None when the passage has none."""
        found = [i for i, c in enumerate(self.candidates) if c.passage == passage]
        return max(found, key=lambda i: self.logits[i]) if found else None

    @property
    def best(self) -> Candidate | None:
        """The candidate most likely to answer."""
        return self.candidates[int(np.argmax(self.logits))] if self.candidates else None

    def passage_best(self, passage: int) -> tuple[int, float] | None:
        """The best candidate sentence of one passage and its logit."""
        best = self._passage_best_index(passage)
        return None if best is None else (self.candidates[best].sentence, float(self.logits[best]))


def content_terms(question: str) -> list[str]:
    """The question's content terms: stemmed words, stop words and asking words aside (order kept, no repeats)."""
    words = [w for w in re.findall(r"(?u)\b\w\w+\b", question.lower()) if w not in _ASKING]
    return list(dict.fromkeys(tokenize([" ".join(words)])[0]))


def names_of(question: str) -> list[str]:
    """Names in the question: runs of capitalised words after its first word."""
    parts = question.split(maxsplit=1)
    start = len(question) - len(parts[1]) if len(parts) == 2 else len(question)
    return [match.group() for match in _NAME.finditer(question, start)]


def numbers_of(text: str) -> set[str]:
    """Numbers in a text, with thousands separators and trailing points dropped."""
    return {match.group().replace(",", "").rstrip(".") for match in _NUMBER.finditer(text)}


@dataclass(frozen=True)
class Reading:
    """What the signals need of a passage, computed once per passage text (and cached): each sentence's stemmed
    terms, numbers and scrap flag; the passage's (title included) terms and numbers; its words' static vectors and
    where they start in `title + newline + text`."""

    sentence_terms: tuple[frozenset[str], ...]
    sentence_numbers: tuple[frozenset[str], ...]
    fragments: np.ndarray
    passage_terms: frozenset[str]
    passage_numbers: frozenset[str]
    vectors: np.ndarray
    starts: np.ndarray


def read_passage(passage: Passage, vectors: np.ndarray, starts: np.ndarray) -> Reading:
    """The reading of a passage whose words' vectors are given."""
    texts = [passage.text[s:e] for s, e in passage.sentences]
    whole = f"{passage.title}\n{passage.text}"
    return Reading(
        tuple(frozenset(words) for words in tokenize(texts)),
        tuple(frozenset(numbers_of(text)) for text in texts),
        fragments(texts),
        frozenset(tokenize([whole])[0]),
        frozenset(numbers_of(whole)),
        vectors,
        starts,
    )


def select(supports: Sequence[Support], terms: set[str], readings: Sequence[Reading]) -> list[Candidate]:
    """The fixed candidate set: each passage's SENTENCES_PER_PASSAGE best sentences by cosine plus word overlap,
    scraps last."""
    chosen: list[Candidate] = []
    for number, (support, reading) in enumerate(zip(supports, readings, strict=True)):
        passage = support.passage
        if not passage.sentences:
            continue
        overlap = np.array([_share(terms, set(words)) for words in reading.sentence_terms])
        score = support.cosines + OVERLAP_WEIGHT * overlap - reading.fragments
        for index in np.argsort(-score, kind="stable")[:SENTENCES_PER_PASSAGE].tolist():
            chosen.append(Candidate(number, index))
    return chosen


def fragments(sentences: Sequence[str]) -> np.ndarray:
    """1 for scraps (fewer than MIN_WORDS words) among whole sentences, 0 otherwise."""
    words = np.array([len(text.split()) for text in sentences])
    if not len(words) or words.max() < MIN_WORDS:
        return np.zeros(len(sentences))
    return np.where(words < MIN_WORDS, 1.0, 0.0)


def _share(needed: set[str] | frozenset[str], found: set[str] | frozenset[str]) -> float:
    return len(needed & found) / len(needed) if needed else 1.0


class TokenVectors:
    """Static word vectors from the bundled MiniLM's input-embedding matrix (read with safetensors, no torch): a
    word's vector is the mean of its word pieces' rows, normalised."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._matrix: np.ndarray | None = None
        self._tokenizer: Tokenizer | None = None

    def load(self) -> None:
        """Read the matrix and the tokenizer now."""
        with self._lock:
            if self._matrix is not None:
                return
            from safetensors import safe_open
            from tokenizers import Tokenizer

            from qa.models.embedding import bundled_model_path

            folder = self.folder or bundled_model_path()
            try:
                with safe_open(str(folder / "model.safetensors"), framework="np") as handle:
                    matrix = np.asarray(handle.get_tensor(WEIGHTS_TENSOR), dtype=np.float32)
                tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            except Exception as error:  # safetensors and tokenizers raise their own error types
                raise ModelError(f"the token vectors of {folder} cannot load ({type(error).__name__})") from error
            tokenizer.no_truncation()
            tokenizer.no_padding()
            self._tokenizer, self._matrix = tokenizer, matrix

    def words(self, texts: Sequence[str], named: int = 1) -> list[tuple[list[str], np.ndarray, np.ndarray]]:
        """For each text, its lower-cased words (for the first `named` texts only), their normalised vectors and
        the offsets where they start."""
        self.load()
        assert self._tokenizer is not None and self._matrix is not None
        out: list[tuple[list[str], np.ndarray, np.ndarray]] = []
        encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=False)
        for number, (text, encoding) in enumerate(zip(texts, encodings, strict=True)):
            named_here = number < named
            word_ids = np.array([-1 if w is None else w for w in encoding.word_ids], dtype=np.int64)
            valid = word_ids >= 0
            if not valid.any():
                out.append(([], np.zeros((0, self._matrix.shape[1]), dtype=np.float32), np.zeros(0, dtype=np.int64)))
                continue
            kept = word_ids[valid]
            firsts = np.flatnonzero(np.r_[True, kept[1:] != kept[:-1]])  # a word's pieces are consecutive
            offsets = np.array(encoding.offsets, dtype=np.int64)[valid]
            pieces = self._matrix[np.array(encoding.ids, dtype=np.int64)[valid]]
            vectors = np.add.reduceat(pieces, firsts, axis=0)
            vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
            starts = offsets[firsts, 0]
            ends = np.r_[offsets[firsts[1:] - 1, 1], offsets[-1, 1]]
            words = (
                [text[a:b].lower() for a, b in zip(starts.tolist(), ends.tolist(), strict=True)] if named_here else []
            )
            out.append((words, vectors, starts))
        return out


@cache
def _stem(word: str) -> str:
    found = tokenize([word])[0]
    return found[0] if found else ""


READINGS = 4096  # passages whose readings are kept (least recently used dropped)


class Signals:
    """Computes the FEATURES of a question's candidates; passages' readings are cached by their text."""

    def __init__(self, vectors: TokenVectors | None = None) -> None:
        self.vectors = vectors or TokenVectors()
        self._readings: OrderedDict[tuple[str, str, tuple[tuple[int, int], ...]], Reading] = OrderedDict()
        self._lock = threading.Lock()

    def readings(self, supports: Sequence[Support]) -> list[Reading]:
        """Each passage's reading, from the cache or computed now (its words' vectors in one tokenizer batch)."""
        keys = [(s.passage.title, s.passage.text, s.passage.sentences) for s in supports]
        with self._lock:
            found: dict[int, Reading] = {}
            for number, key in enumerate(keys):
                if key in self._readings:
                    self._readings.move_to_end(key)
                    found[number] = self._readings[key]
        missing = [number for number in range(len(keys)) if number not in found]
        if missing:
            texts = [f"{supports[n].passage.title}\n{supports[n].passage.text}" for n in missing]
            for number, (_, vectors, starts) in zip(missing, self.vectors.words(texts, named=0), strict=True):
                found[number] = read_passage(supports[number].passage, vectors, starts)
            with self._lock:
                for number in missing:
                    self._readings[keys[number]] = found[number]
                while len(self._readings) > READINGS:
                    self._readings.popitem(last=False)
        return [found[number] for number in range(len(keys))]

    def features(
        self, question: str, supports: Sequence[Support], unknown: int = 0
    ) -> tuple[list[Candidate], np.ndarray]:
        """The candidates and one row of FEATURES per candidate."""
        terms = content_terms(question)
        term_set = set(terms)
        readings = self.readings(supports)
        candidates = select(supports, term_set, readings)
        if not candidates:
            return [], np.zeros((0, len(FEATURES)))
        names = [set(tokenize([name])[0]) for name in names_of(question)]
        names = [name for name in names if name]
        numbers = numbers_of(question)
        kind = answer_type(question)
        person, place = bool(_PERSON.match(question)), bool(_PLACE.match(question))
        asked = kind is not None or person or place
        negated = bool(_NEGATION.search(question))
        question_names = {w for name in names for w in name}
        sentences = [supports[c.passage].passage for c in candidates]
        sentence_texts = [
            p.text[s:e]
            for p, (s, e) in ((p, p.sentences[c.sentence]) for p, c in zip(sentences, candidates, strict=True))
        ]
        sentence_terms = [readings[c.passage].sentence_terms[c.sentence] for c in candidates]
        passage_terms = [reading.passage_terms for reading in readings]
        sentence_numbers = [readings[c.passage].sentence_numbers[c.sentence] for c in candidates]
        passage_numbers = [reading.passage_numbers for reading in readings]
        aligned = self._alignment(question, supports, candidates, readings)
        fused = np.array([s.fused for s in supports])
        best_cosine = [float(s.cosines[c.sentence]) for s, c in ((supports[c.passage], c) for c in candidates)]
        rows = []
        for number, candidate in enumerate(candidates):
            support = supports[candidate.passage]
            others = np.delete(fused, candidate.passage)
            other_cosines = [x for c, x in zip(candidates, best_cosine, strict=True) if c.passage != candidate.passage]
            text = sentence_texts[number]
            in_sentence, in_passage = sentence_terms[number], passage_terms[candidate.passage]
            new = in_sentence - term_set
            if kind is not None:
                stated = kind.stated_in(text)
            elif person or place:
                stated = any(not (set(tokenize([n])[0]) <= question_names | term_set) for n in _NAME.findall(text))
            else:
                stated = False
            rows.append(
                [
                    best_cosine[number],
                    support.dense,
                    support.fused,
                    support.lexical,
                    1.0 / (1 + candidate.passage),
                    support.fused - (float(others.max()) if len(others) else 0.0),
                    best_cosine[number] - max(other_cosines, default=0.0),
                    _share(term_set, in_sentence),
                    _share(term_set, in_passage),
                    float(len(term_set - in_passage)),
                    _share_all(names, in_sentence),
                    float(sum(1 for name in names if not name <= in_passage)),
                    _share(numbers, sentence_numbers[number]),
                    float(len(numbers - passage_numbers[candidate.passage])),
                    aligned[number][0],
                    aligned[number][1],
                    aligned[number][2],
                    float(asked),
                    float(asked and stated),
                    len(new) / len(in_sentence) if in_sentence else 0.0,
                    float(negated and not _NEGATION.search(text)),
                    float(unknown),
                    float(len(text.split()) < MIN_WORDS),
                    float(support.passage.kind != "text"),
                ]
            )
        return candidates, np.array(rows, dtype=np.float64)

    def _alignment(
        self, question: str, supports: Sequence[Support], candidates: list[Candidate], readings: Sequence[Reading]
    ) -> list[tuple[float, float, float]]:
        """Per candidate: mean and minimum over the question's content words of the best cosine to a word of the
        sentence, and the minimum against the passage (its title included)."""
        words, vectors, _ = self.vectors.words([question])[0]
        keep = [
            i
            for i, word in enumerate(words)
            if word.isalnum() and len(word) > 1 and word not in _ASKING and _stem(word)
        ]
        if not keep:
            return [(1.0, 1.0, 1.0)] * len(candidates)
        asked = vectors[keep]
        similarity = [asked @ reading.vectors.T for reading in readings]
        passage_min = [float(sims.max(axis=1).min()) if sims.shape[1] else 0.0 for sims in similarity]
        out = []
        for candidate in candidates:
            support = supports[candidate.passage]
            shift = len(support.passage.title) + 1
            start, end = support.passage.sentences[candidate.sentence]
            starts = readings[candidate.passage].starts - shift
            inside = (starts >= start) & (starts < end)
            if not inside.any():
                out.append((0.0, 0.0, passage_min[candidate.passage]))
                continue
            best = similarity[candidate.passage][:, inside].max(axis=1)
            out.append((float(best.mean()), float(best.min()), passage_min[candidate.passage]))
        return out


def _share_all(names: list[set[str]], found: set[str] | frozenset[str]) -> float:
    return sum(1 for name in names if name <= found) / len(names) if names else 1.0


@dataclass(frozen=True)
class Check:
    """How the verifier checks the model's best candidates: it reads the `sentences` best by the model's logit;
    each read candidate's logit gains `blend` times the verifier's logit (a candidate it did not read, its lowest);
    `confidence` adds `weight` times the verifier's logit of the candidate that ends up best."""

    sentences: int
    blend: float
    weight: float
    verifier: str = ""  # the sha256 of the verifier file it was fitted with ("": any)


def check(
    question: str,
    supports: Sequence[Support],
    candidates: Sequence[Candidate],
    logits: np.ndarray,
    verifier: Verifier,
    check: Check,
) -> tuple[np.ndarray, float, dict[int, float]]:
    """The verifier reads the best `check.sentences` candidates; their logits after the check, its logit for the
    best, and its probability for each candidate it read (by candidate index)."""
    top = np.argsort(-logits, kind="stable")[: check.sentences].tolist()
    read = [verifier_candidate(supports[candidates[i].passage], candidates[i].sentence) for i in top]
    probabilities = np.asarray(verifier.verify(question, read), dtype=np.float64)
    out, checked = checked_logits(logits, probabilities, check)
    return out, checked, dict(zip(top, probabilities.tolist(), strict=True))


def checked_logits(logits: np.ndarray, probabilities: np.ndarray, check: Check) -> tuple[np.ndarray, float]:
    """The candidates' logits once the verifier gave `probabilities` to the best len(probabilities) of them, and its
    logit for the candidate that is best after the check."""
    top = np.argsort(-logits, kind="stable")[: len(probabilities)]
    clipped = np.clip(probabilities, 1e-6, 1 - 1e-6)
    found = np.log(clipped / (1 - clipped))
    out = logits + check.blend * float(found.min())
    out[top] = logits[top] + check.blend * found
    best = int(np.argmax(out))
    where = np.flatnonzero(top == best)
    return out, float(found[where[0]]) if len(where) else float(found.min())


def verifier_candidate(support: Support, index: int) -> Read:
    """Sentence `index` of a candidate passage as the verifier reads it: with its neighbours, the passage's title and
    the sentence's cosine with the question."""
    passage = support.passage
    texts = [passage.text[start:end] for start, end in passage.sentences]
    return replace(neighbours(texts, index, passage.title), similarity=float(support.cosines[index]))


@dataclass(frozen=True)
class Weights:
    """The model, two logistic stages: the candidate stage scores each candidate sentence (standardised features,
    weights, bias); the question stage turns the best candidate's logit, its margin over the runner-up and its
    standardised features into `confidence`, the probability that it answers. `threshold`: the confidence below
    which an answer abstains; `rerank_blend` (negative: off) orders the candidate passages by their best logit plus
    this times their retrieval score."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    question_weights: np.ndarray  # over [best logit, best - second, *standardised features of the best]
    question_bias: float
    threshold: float
    rerank_blend: float = -1.0
    check: Check | None = None

    @property
    def columns(self) -> list[int]:
        """Where the model's features stand among FEATURES."""
        return [FEATURES.index(name) for name in self.features]

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Weights:
        """The model from its JSON form."""
        return cls(
            tuple(str(name) for name in raw["features"]),
            np.asarray(raw["mean"], dtype=np.float64),
            np.asarray(raw["scale"], dtype=np.float64),
            np.asarray(raw["weights"], dtype=np.float64),
            float(raw["bias"]),
            np.asarray(raw["question_weights"], dtype=np.float64),
            float(raw["question_bias"]),
            float(raw["threshold"]),
            float(raw.get("rerank_blend", -1.0)),
            Check(**raw["check"]) if raw.get("check") else None,
        )

    def as_json(self) -> dict[str, Any]:
        """The JSON form of the model."""
        return {
            "features": list(self.features),
            "mean": [round(float(v), 8) for v in self.mean],
            "scale": [round(float(v), 8) for v in self.scale],
            "weights": [round(float(v), 8) for v in self.weights],
            "bias": round(self.bias, 8),
            "question_weights": [round(float(v), 8) for v in self.question_weights],
            "question_bias": round(self.question_bias, 8),
            "threshold": self.threshold,
            "rerank_blend": self.rerank_blend,
            "check": None if self.check is None else asdict(self.check),
        }

    def standardised(self, features: np.ndarray) -> np.ndarray:
        """The model's columns of a FEATURES matrix, standardised."""
        return np.asarray((features[:, self.columns] - self.mean) / self.scale)

    def logits(self, features: np.ndarray) -> np.ndarray:
        """One logit per candidate row of a FEATURES matrix."""
        if not len(features):
            return np.zeros(0)
        return np.asarray(self.standardised(features) @ self.weights + self.bias)

    def question_inputs(self, features: np.ndarray, logits: np.ndarray) -> np.ndarray:
        """The question stage's inputs: the best logit, its margin over the runner-up, the best's features."""
        best = int(np.argmax(logits))
        ordered = np.sort(logits)[::-1]
        second = float(ordered[1]) if len(ordered) > 1 else float(ordered[0]) - 5.0
        return np.concatenate(
            [[float(ordered[0]), float(ordered[0]) - second], self.standardised(features[best : best + 1])[0]]
        )

    def confidence(self, features: np.ndarray, logits: np.ndarray, checked: float | None = None) -> float:
        """The calibrated probability that the best candidate answers (0 without candidates); `checked`, the
        verifier's logit for the best candidate when the check ran, adds its weight."""
        if not len(logits):
            return 0.0
        value = float(self.question_inputs(features, logits) @ self.question_weights + self.question_bias)
        if checked is not None and self.check is not None:
            value += self.check.weight * checked
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, value))))


class AnswerabilityModel:
    """The shipped model, read on first use and checked by sha256."""

    def __init__(self, path: Path | None = None, sha256: str | None = "", signals: Signals | None = None) -> None:
        self.path = path or MODEL_DIR / MODEL_FILE
        self.sha256 = MODEL_SHA256 if sha256 == "" else sha256
        self.signals = signals or Signals()
        self._lock = threading.Lock()
        self._weights: Weights | None = None

    @property
    def weights(self) -> Weights:
        """The weights, loaded on first use."""
        self.load()
        assert self._weights is not None
        return self._weights

    def load(self) -> None:
        """Read and check the model file now (errors name the file and the fix)."""
        with self._lock:
            if self._weights is not None:
                return
            self._weights = read_weights(self.path, self.sha256)
        self.signals.vectors.load()

    def judge(
        self, question: str, supports: Sequence[Support], unknown: int = 0, verifier: Verifier | None = None
    ) -> Judgement:
        """The candidates of a question, their logits and the calibrated confidence; with a verifier, and weights
        that ask for its check, the verifier reads the best candidates too."""
        weights = self.weights
        with _one_blas_thread():  # small products: threads cost more than they save (and stall on a busy machine)
            candidates, features = self.signals.features(question, supports, unknown)
        logits = weights.logits(features)
        checked: float | None = None
        verified: dict[int, float] = {}
        if verifier is not None and weights.check is not None and len(logits):
            fitted, found = weights.check.verifier, getattr(verifier, "sha256", None)
            if fitted and found and fitted != found:
                raise ModelError(
                    f"the answerability model {self.path} was fitted with another answer verifier ({fitted[:12]}…, "
                    f"not {found[:12]}…); rebuild it with {REBUILD}"
                )
            logits, checked, verified = check(question, supports, candidates, logits, verifier, weights.check)
        confidence = weights.confidence(features, logits, checked)
        return Judgement(tuple(candidates), logits, confidence, features, checked, verified)


@cache
def _controller() -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _one_blas_thread() -> Any:
    """A context in which NumPy's BLAS runs on one thread."""
    return _controller().limit(limits=1, user_api="blas")


def read_weights(path: Path, sha256: str | None) -> Weights:
    """The model in `path`, refused unless its sha256 is `sha256` (None: unchecked)."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ModelError(
            f"the answerability model {path} is missing or unreadable ({error.strerror or type(error).__name__}); "
            f"rebuild it with {REBUILD}"
        ) from None
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        raise ModelError(f"the answerability model {path} fails its sha256 check; rebuild it with {REBUILD}")
    try:
        weights = Weights.from_json(json.loads(data))
    except (ValueError, KeyError, TypeError, IndexError) as error:
        raise ModelError(
            f"the answerability model {path} is damaged ({type(error).__name__}); rebuild it with {REBUILD}"
        ) from error
    size = len(weights.features)
    shapes = (len(weights.mean), len(weights.scale), len(weights.weights), len(weights.question_weights) - 2)
    if weights.check is not None and weights.check.sentences < 1:
        raise ModelError(f"the answerability model {path} checks no candidate; rebuild it with {REBUILD}")
    if not set(weights.features) <= set(FEATURES) or shapes != (size,) * 4:
        raise ModelError(f"the answerability model {path} was trained on other features; rebuild it with {REBUILD}")
    return weights


def shipped_check() -> Check | None:
    """Whether the shipped model asks the verifier to check its best candidates, and how."""
    return read_weights(MODEL_DIR / MODEL_FILE, MODEL_SHA256).check


def supports_of(
    chosen: Sequence[tuple[int, Passage]],
    fused: dict[int, float],
    dense: dict[int, float],
    lexical: dict[int, float],
    cosines: Sequence[np.ndarray],
    card_weight: float,
) -> list[Support]:
    """The candidate passages with their scores (BM25 scaled by the best candidate's, cards' fused score weighted
    down as the ranking weighs them)."""
    top = max(lexical.values(), default=0.0)
    return [
        Support(
            passage,
            float(dense.get(row, 0.0)),
            float(lexical.get(row, 0.0) / top) if top > 0 else 0.0,
            float(fused.get(row, 0.0)) * (1.0 if passage.kind == "text" else card_weight),
            np.asarray(found, dtype=np.float64),
        )
        for (row, passage), found in zip(chosen, cosines, strict=True)
    ]
