"""The answer verifier: a small cross-encoder that reads a question against a candidate sentence and its neighbours
and gives the probability that the sentence answers it. Served by ONNX Runtime; torch is never imported here.

The model is trained by `python -m training.verifier.train` (see qa/models/verifier/model_card.md).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from qa.kernel.errors import ModelError

if TYPE_CHECKING:
    import onnxruntime
    from tokenizers import Tokenizer

MODEL_DIR = Path(__file__).parent
MODEL_FILE = "verifier.onnx"
TOKENIZER_FILE = "tokenizer.json"
MODEL_SHA256 = "924cc217f03be55a3af8b7656f0c664438a06923511f53e704eeba849d46e40b"
MAX_LENGTH = 128
QUESTION_WORDS = 40  # longer questions are cut so the sentence always fits
CONTEXT_WORDS = 16  # words of each neighbouring sentence kept as context
# Calibration: p = sigmoid(SCALE * logit + SIMILARITY * similarity + SHIFT). SCALE and SHIFT: the Platt step of the
# export on validation pairs (never held-out articles or gold sets); `training.verifier.calibrate` can refit all three
# as a stack with the candidate's embedding similarity for the verifier deciding alone (not rerun for this model, so
# SIMILARITY is 0 and VERIFIER_THRESHOLD is the previous model's).
SCALE = 0.809899
SIMILARITY = 0.0
SHIFT = -0.984625
REBUILD = "python -m training.verifier.train (or reinstall qa: the model ships in qa/models/verifier)"


@dataclass(frozen=True)
class Candidate:
    """A sentence to verify, with the sentences around it in its passage and the passage's title."""

    sentence: str
    before: str = ""
    after: str = ""
    title: str = ""
    similarity: float = 0.0  # the sentence's embedding cosine with the question, as retrieval scored it


def pair_text(candidate: Candidate) -> str:
    """The second segment the model reads after the question: the sentence, then [SEP], then its context
    (title, the end of the previous sentence and the start of the next)."""
    before = " ".join(candidate.before.split()[-CONTEXT_WORDS:])
    after = " ".join(candidate.after.split()[:CONTEXT_WORDS])
    context = " ... ".join(part for part in (before, after) if part)
    title = candidate.title.strip()
    if title:
        context = f"{title}: {context}" if context else title
    sentence = " ".join(candidate.sentence.split())
    return f"{sentence} [SEP] {context}" if context else sentence


def question_text(question: str) -> str:
    """The question as the model reads it: at most QUESTION_WORDS words."""
    return " ".join(question.split()[:QUESTION_WORDS])


def neighbours(sentences: Sequence[str], index: int, title: str = "") -> Candidate:
    """The candidate for sentence `index` of a run of sentences."""
    return Candidate(
        sentences[index],
        sentences[index - 1] if index > 0 else "",
        sentences[index + 1] if index + 1 < len(sentences) else "",
        title,
    )


def calibrated(
    logits: np.ndarray,
    similarities: np.ndarray | None = None,
    scale: float | None = None,
    shift: float | None = None,
    similarity: float | None = None,
) -> np.ndarray:
    """Probabilities from raw logits and the candidates' similarities by the logistic calibration (the module's
    constants unless given)."""
    scale = SCALE if scale is None else scale
    shift = SHIFT if shift is None else shift
    similarity = SIMILARITY if similarity is None else similarity
    value = scale * np.asarray(logits, dtype=np.float64) + shift
    if similarities is not None:
        value = value + similarity * np.asarray(similarities, dtype=np.float64)
    return np.asarray(1.0 / (1.0 + np.exp(-value)))


@runtime_checkable
class Verifier(Protocol):
    """Scores (question, candidate) pairs: the probability that each candidate sentence answers the question."""

    def verify(self, question: str, candidates: Sequence[Candidate]) -> np.ndarray:
        """One probability per candidate, in order, from one batch."""
        ...


class OnnxVerifier:
    """The shipped verifier, loaded on first use and checked by sha256."""

    name = "verifier"

    def __init__(self, folder: Path | None = None, sha256: str | None = MODEL_SHA256) -> None:
        self.folder = folder or MODEL_DIR
        self.sha256 = sha256
        self._lock = threading.Lock()
        self._session: onnxruntime.InferenceSession | None = None
        self._tokenizer: Tokenizer | None = None

    def load(self) -> None:
        """Open the model and its tokenizer now (errors name the file and the fix)."""
        from qa.models.onnx.runtime import load_tokenizer, open_session

        with self._lock:
            if self._session is not None:
                return
            model = self.folder / MODEL_FILE
            tokenizer_path = self.folder / TOKENIZER_FILE
            try:
                session = open_session(model, self.sha256)
                if not tokenizer_path.is_file():
                    raise ModelError(f"tokenizer {tokenizer_path} is missing")
                tokenizer = load_tokenizer(tokenizer_path, MAX_LENGTH)
            except ModelError as error:
                raise ModelError(f"the answer verifier cannot load: {error}; rebuild it with {REBUILD}") from error
            tokenizer.enable_truncation(max_length=MAX_LENGTH, strategy="only_second")
            self._inputs = {item.name for item in session.get_inputs()}
            self._tokenizer, self._session = tokenizer, session

    def logits(self, question: str, candidates: Sequence[Candidate]) -> np.ndarray:
        """Raw model scores, one per candidate, in one batch."""
        if not candidates:
            return np.zeros(0, dtype=np.float32)
        self.load()
        assert self._session is not None and self._tokenizer is not None
        asked = question_text(question)
        with self._lock:
            encodings = self._tokenizer.encode_batch([(asked, pair_text(candidate)) for candidate in candidates])
            feed = {
                "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
            }
            output = self._session.run(None, {key: value for key, value in feed.items() if key in self._inputs})
        return np.asarray(output[0], dtype=np.float32).reshape(len(candidates))

    def verify(self, question: str, candidates: Sequence[Candidate]) -> np.ndarray:
        """Calibrated probabilities, one per candidate."""
        similarities = np.array([candidate.similarity for candidate in candidates])
        return calibrated(self.logits(question, candidates), similarities)


def sigmoid(value: float) -> float:
    """The logistic function."""
    return 1.0 / (1.0 + math.exp(-value))
