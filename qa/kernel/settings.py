"""What a question may look like and the knobs of retrieval: light enough for `qa --help` and `qa status`."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Literal

from qa.kernel.errors import InputError
from qa.kernel.filters import Filter

Mode = Literal["hybrid", "dense", "lexical"]
MODES: tuple[Mode, ...] = ("hybrid", "dense", "lexical")
DEFAULT_MODE: Mode = "hybrid"
MAX_QUESTION_CHARS = 2_000
CANDIDATES = 100
# The answer verifier's probability below which an answer abstains: chosen on validation questions (never the
# held-out articles or the gold sets) to keep false abstentions at or under 5%; see qa/models/verifier/model_card.md.
VERIFIER_THRESHOLD = 0.3
VERIFIER_RERANK = True  # order the verified top passages by the verifier (chosen with qa eval on validation data)
# With the rerank, the verified passages are ordered by their best sentence's probability plus this weight times their
# retrieval score (0: by the verifier alone; chosen on validation questions like the threshold)
RERANK_BLEND = 1.0
VERIFY_PASSAGES = 5  # the verifier reads the best sentences of this many top passages...
VERIFY_SENTENCES = 3  # ...this many per passage, in one batch

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Settings:
    """Tunable knobs of retrieval; defaults were chosen with `qa eval` (see README)."""

    mode: Mode = DEFAULT_MODE
    k: int = 5
    dense_weight: float = 0.4
    sentence_weight: float = 0.2
    threshold: float = 0.35
    lexical_threshold: float = 0.25
    verifier_threshold: float = VERIFIER_THRESHOLD
    verifier_rerank: bool = VERIFIER_RERANK
    rerank_blend: float = RERANK_BLEND
    verify_passages: int = VERIFY_PASSAGES
    verify_sentences: int = VERIFY_SENTENCES
    candidates: int = CANDIDATES
    doc: str | None = None
    filter: Filter | None = None

    def __post_init__(self) -> None:
        if self.k < 1:
            raise InputError(f"k must be at least 1, not {self.k}")

    def with_threshold(self, threshold: float | None) -> Settings:
        """These settings with one abstention threshold for every mode and the verifier (unchanged when `threshold`
        is None)."""
        if threshold is None:
            return self
        return replace(self, threshold=threshold, lexical_threshold=threshold, verifier_threshold=threshold)


def clean_question(question: str) -> str:
    """The question with control characters and runs of white space folded to single spaces; errors if unusable."""
    cleaned = _CONTROL.sub(" ", question)
    if not cleaned.strip():
        raise InputError('the question is empty: type one, e.g. "Which company leads global chip foundries?"')
    if len(cleaned) > MAX_QUESTION_CHARS:
        raise InputError(f"the question is {len(cleaned):,} characters long; keep it under {MAX_QUESTION_CHARS:,}")
    return " ".join(cleaned.split())
