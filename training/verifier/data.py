"""Pairs for the verifier from SQuAD 2.0: the article split, positives, in-paragraph and retrieved negatives."""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from qa.evaluation.gold import contains_answer
from qa.evaluation.squad import Article, Paragraph, Question
from qa.models.verifier.model import Candidate, neighbours, pair_text, question_text
from training.answerability.build_data import SQUAD_HELDOUT_ARTICLES

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "squad2-train" / "train-v2.0-first10.json"
# Held out entirely: never trained on, never used to choose anything (one of the two articles with unanswerables); the
# answerability model holds out the same three.
TEST_ARTICLES = SQUAD_HELDOUT_ARTICLES
# Calibration, threshold and checkpoint choice: a whole article plus a quarter of Zelda's paragraphs.
VALIDATION_ARTICLES = ("IPod",)
VALIDATION_SHARE = {"The_Legend_of_Zelda:_Twilight_Princess": 0.25}
RETRIEVED_NEGATIVES = 3


@dataclass(frozen=True)
class Pair:
    """One (question, candidate) pair with its label; `group` ties the pairs of one question together."""

    group: str
    question: str
    text: str
    label: int
    in_paragraph: bool
    answerable: bool


@dataclass(frozen=True)
class Unit:
    """A paragraph of an article and the split it belongs to."""

    article: str
    paragraph: Paragraph
    split: str


def split_units(articles: list[Article], seed: int) -> list[Unit]:
    """Every paragraph with its split: test (held-out articles), validation, or train."""
    rng = random.Random(seed)
    units: list[Unit] = []
    for article in articles:
        if article.title in TEST_ARTICLES:
            units.extend(Unit(article.title, p, "test") for p in article.paragraphs)
        elif article.title in VALIDATION_ARTICLES:
            units.extend(Unit(article.title, p, "validation") for p in article.paragraphs)
        elif article.title in VALIDATION_SHARE:
            count = round(len(article.paragraphs) * VALIDATION_SHARE[article.title])
            chosen = set(rng.sample(range(len(article.paragraphs)), count))
            units.extend(
                Unit(article.title, p, "validation" if i in chosen else "train")
                for i, p in enumerate(article.paragraphs)
            )
        else:
            units.extend(Unit(article.title, p, "train") for p in article.paragraphs)
    return units


def _sentences(paragraph: Paragraph) -> list[str]:
    return [paragraph.context[s:e] for s, e in paragraph.sentences]


def _answers(question: Question) -> list[str]:
    return [a.text for a in question.answers + question.plausible]


def build_pairs(units: list[Unit], cache: Path, seed: int) -> dict[str, list[Pair]]:
    """Pairs per split; retrieved negatives come from other paragraphs of the same split, nearest by the bundled
    MiniLM cosine, never containing a gold or plausible answer string."""
    rng = random.Random(seed)
    vectors = _embeddings(units, cache)
    out: dict[str, list[Pair]] = {"train": [], "validation": [], "test": []}
    for split in out:  # noqa: PLC0206 - filled in place
        chosen = [u for u in units if u.split == split]
        pool: list[tuple[int, str, str]] = []  # (unit index, title, candidate text)
        pool_texts: list[str] = []
        for number, unit in enumerate(chosen):
            sentences = _sentences(unit.paragraph)
            title = unit.article.replace("_", " ")
            for index in range(len(sentences)):
                pool.append((number, title, pair_text(neighbours(sentences, index, title))))
                pool_texts.append(sentences[index])
        sentence_matrix = np.stack([vectors[text] for text in pool_texts])
        for number, unit in enumerate(chosen):
            sentences = _sentences(unit.paragraph)
            title = unit.article.replace("_", " ")
            for question in unit.paragraph.questions:
                positives = unit.paragraph.answer_sentences(question)
                asked = question_text(question.question)
                group = question.id
                answerable = not question.is_impossible
                for index in range(len(sentences)):
                    text = pair_text(neighbours(sentences, index, title))
                    out[split].append(Pair(group, asked, text, int(index in positives), True, answerable))
                sims = sentence_matrix @ vectors[question.question]
                added = 0
                for candidate in np.argsort(-sims):
                    owner, _, text = pool[int(candidate)]
                    if owner == number or contains_answer(pool_texts[int(candidate)], _answers(question)):
                        continue
                    out[split].append(Pair(group, asked, text, 0, False, answerable))
                    added += 1
                    if added == RETRIEVED_NEGATIVES:
                        break
        rng.shuffle(out[split]) if split == "train" else None
    return out


def _embeddings(units: list[Unit], cache: Path) -> dict[str, np.ndarray]:
    """Bundled-MiniLM vectors of every sentence and question, cached in `cache` (an .npz and a .json of keys)."""
    texts = sorted(
        {s for u in units for s in _sentences(u.paragraph)} | {q.question for u in units for q in u.paragraph.questions}
    )
    keys, matrix = cache / "embedding-keys.json", cache / "embeddings.npy"
    if keys.is_file() and matrix.is_file() and json.loads(keys.read_text()) == texts:
        return dict(zip(texts, np.load(matrix), strict=True))
    from sentence_transformers import SentenceTransformer

    from qa.models.embedding import bundled_model_path

    model = SentenceTransformer(str(bundled_model_path()), device="cpu")
    embedded = model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(matrix, embedded)
    keys.write_text(json.dumps(texts))
    return dict(zip(texts, embedded, strict=True))


def candidate_of(sentences: list[str], index: int, title: str) -> Candidate:
    """The candidate for one sentence of a paragraph (as at query time)."""
    return neighbours(sentences, index, title)


def as_rows(pairs: list[Pair]) -> list[dict[str, object]]:
    """Pairs as JSON rows."""
    return [asdict(pair) for pair in pairs]
