"""Pairs for the verifier from the blind writers' questions (training/answerability/data): each question against its
document's sentences, the writer's answering or imitated sentence among them, so a near miss teaches the model the
sentence it was made to resemble."""

from __future__ import annotations

import json
import random
import re

from qa.evaluation.gold import contains_answer, fold
from qa.models.verifier.model import neighbours, pair_text, question_text
from training.answerability.build_data import Document
from training.answerability.corpora import DATA, materialise
from training.verifier.data import Pair

HARD_NEGATIVES = 4  # sentences of the document sharing the most words with the question (besides the imitated one)
FAR_NEGATIVES = 2  # other sentences of the document, drawn with the seed
# The blind training sets the shipped verifier learned from (sets written later train the answerability model only).
SETS = ("scifact_a", "wh_a", "squad", "scifact_c", "wh_c")
_WORD = re.compile(r"[a-z0-9]+")


def _words(text: str) -> set[str]:
    return {word for word in _WORD.findall(text.lower()) if len(word) > 2}


def _title(text: str) -> str:
    """The document's first heading, else its first line."""
    for line in text.splitlines():
        if line.strip():
            return line.lstrip("#").strip()
    return ""


def _matches(sentence: str, quoted: str) -> bool:
    """Whether a sentence of the document is (part of) the sentence the writer quoted, or holds it."""
    left, right = fold(sentence), fold(quoted)
    return bool(left) and bool(right) and (left in right or right in left)


def rows(split: str) -> list[dict[str, object]]:
    """The blind questions of the training sets on one side of the split (train or validation)."""
    found: list[dict[str, object]] = []
    for name in SETS:
        path = DATA / f"blind_{name}.jsonl"
        lines = path.read_text(encoding="utf-8").splitlines()
        found.extend(row for row in map(json.loads, lines) if row["split"] == split)
    return found


def build_pairs(seed: int) -> dict[str, list[Pair]]:
    """Train and validation pairs of every blind training set (held-out sets are never read)."""
    rng = random.Random(seed)
    documents: dict[tuple[str, str], Document] = {}
    out: dict[str, list[Pair]] = {}
    for split in ("train", "validation"):
        pairs: list[Pair] = []
        for row in rows(split):
            key = (str(row["set"]), str(row["doc_id"]))
            if key not in documents:
                documents[key] = Document((materialise(key[0]) / key[1]).read_text(encoding="utf-8"))
            document = documents[key]
            pairs.extend(_question_pairs(row, document, rng))
        out[split] = pairs
    return out


def _question_pairs(row: dict[str, object], document: Document, rng: random.Random) -> list[Pair]:
    """One question's pairs: its answering sentences (positive), the imitated sentence of a near miss, the
    sentences sharing most words with it and a few others (negative)."""
    sentences = document.sentences
    title = _title(document.text)
    answers = [str(a) for a in row["answers"]]  # type: ignore[attr-defined]
    quoted = str(row["sentence"])
    answerable = bool(row["answerable"])
    imitated = [i for i, s in enumerate(sentences) if _matches(s, quoted)]
    if not imitated:
        return []
    positives = [i for i in imitated if contains_answer(sentences[i], answers)] if answerable else []
    if answerable and not positives:
        return []
    holding = {i for i, s in enumerate(sentences) if answerable and contains_answer(s, answers)}
    asked = _words(str(row["question"]))
    others = [i for i in range(len(sentences)) if i not in holding and i not in imitated]
    others.sort(key=lambda i: -len(asked & _words(sentences[i])))
    hard = others[:HARD_NEGATIVES]
    far = rng.sample(others[HARD_NEGATIVES:], min(FAR_NEGATIVES, len(others[HARD_NEGATIVES:])))
    group = str(row["id"])
    question = question_text(str(row["question"]))

    def pair(index: int, label: int, inside: bool) -> Pair:
        return Pair(group, question, pair_text(neighbours(sentences, index, title)), label, inside, answerable)

    found = [pair(i, 1, True) for i in positives]
    found += [pair(i, 0, True) for i in imitated if i not in positives][:1]
    found += [pair(i, 0, True) for i in hard[: HARD_NEGATIVES - (0 if answerable else 1)]]
    found += [pair(i, 0, False) for i in far]
    return found


def count(pairs: dict[str, list[Pair]]) -> dict[str, int]:
    """Questions per split."""
    return {split: len({p.group for p in found}) for split, found in pairs.items()}
