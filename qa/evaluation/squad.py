"""SQuAD 1.1 and 2.0 JSON: articles, paragraphs and questions, with each paragraph cut into sentences."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.documents.base import Document
from qa.documents.chunking import ChunkingParams, Passage, Span, chunk, split_sentences
from qa.evaluation.gold import GoldQuestion
from qa.kernel.errors import InputError
from qa.kernel.settings import Mode, Settings

if TYPE_CHECKING:
    from qa.engine.engine import Engine
    from qa.index.stores.base import PassageStore
    from qa.kernel.progress import Reporter
    from qa.models.embedding import Embedder


@dataclass(frozen=True)
class Answer:
    """An answer string and where it starts in its paragraph."""

    text: str
    start: int

    @property
    def end(self) -> int:
        """Offset just past the answer."""
        return self.start + len(self.text)


@dataclass(frozen=True)
class Question:
    """A question about one paragraph; unanswerable ones carry their plausible (wrong) answers instead."""

    id: str
    question: str
    answers: tuple[Answer, ...]
    is_impossible: bool = False
    plausible: tuple[Answer, ...] = ()


@dataclass(frozen=True)
class Paragraph:
    """A context paragraph, its sentences (offsets within `context`) and its questions."""

    context: str
    sentences: tuple[Span, ...]
    questions: tuple[Question, ...]

    def answer_sentences(self, question: Question) -> set[int]:
        """Indices of the sentences that overlap a gold answer (none for an unanswerable question)."""
        found: set[int] = set()
        for answer in question.answers:
            for index, (start, end) in enumerate(self.sentences):
                if answer.start < end and start < answer.end:
                    found.add(index)
        return found


@dataclass(frozen=True)
class Article:
    """A Wikipedia article: title (underscores kept, as in SQuAD) and paragraphs in order."""

    title: str
    paragraphs: tuple[Paragraph, ...]

    @property
    def name(self) -> str:
        """The title for people: underscores as spaces."""
        return self.title.replace("_", " ")

    @property
    def questions(self) -> list[Question]:
        """Every question of the article."""
        return [question for paragraph in self.paragraphs for question in paragraph.questions]


def load(path: Path) -> list[Article]:
    """Read a SQuAD 1.1 or 2.0 JSON file; questions without `is_impossible` are answerable."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return [_article(item) for item in raw["data"]]
    except FileNotFoundError as error:
        raise InputError(f"{path} does not exist: --squad takes a SQuAD 1.1 or 2.0 JSON file") from error
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise InputError(f"{path} is not SQuAD JSON ({type(error).__name__}: {error})") from error


def select(articles: list[Article], titles: Sequence[str]) -> list[Article]:
    """The articles named in `titles` (underscores or spaces, case-insensitive); errors on an unknown name."""
    wanted = {_key(title): title for title in titles}
    chosen = [article for article in articles if _key(article.title) in wanted]
    missing = set(wanted) - {_key(article.title) for article in chosen}
    if missing:
        known = ", ".join(article.title for article in articles)
        names = ", ".join(sorted(wanted[key] for key in missing))
        raise InputError(f"no article {names} in the SQuAD file; it has: {known}")
    return chosen


def _key(title: str) -> str:
    return title.replace(" ", "_").casefold()


def _article(item: dict[str, Any]) -> Article:
    return Article(str(item["title"]), tuple(_paragraph(raw) for raw in item["paragraphs"]))


def _paragraph(raw: dict[str, Any]) -> Paragraph:
    context = str(raw["context"])
    return Paragraph(context, tuple(split_sentences(context)), tuple(_question(qa) for qa in raw["qas"]))


def _question(raw: dict[str, Any]) -> Question:
    answers = tuple(Answer(str(a["text"]), int(a["answer_start"])) for a in raw.get("answers", []))
    plausible = tuple(Answer(str(a["text"]), int(a["answer_start"])) for a in raw.get("plausible_answers", []))
    impossible = bool(raw.get("is_impossible", False))
    if not impossible and not answers:
        raise ValueError(f"question {raw.get('id')} has no answers and is not marked impossible")
    return Question(str(raw["id"]), str(raw["question"]), answers, impossible, plausible)


# `qa eval --squad`: open retrieval over every article of the file, one document per article

KIND = "squad"
PARAGRAPH_BREAK = "\n\n"


def documents_of(articles: list[Article], source: Path) -> tuple[list[Document], list[Passage]]:
    """One document per article (title, then its paragraphs as written, blank lines between), cut into passages by
    the same chunker as any corpus."""
    docs: list[Document] = []
    passages: list[Passage] = []
    for article in articles:
        text = PARAGRAPH_BREAK.join(paragraph.context.strip() for paragraph in article.paragraphs)
        document = Document(article.title, source, article.name, text, "")
        docs.append(document)
        passages.extend(chunk(document))
    return docs, passages


def gold_questions(articles: list[Article]) -> list[GoldQuestion]:
    """Every question as a gold question of its article's document."""
    return [
        GoldQuestion(
            id=question.id,
            question=question.question,
            answers=tuple(dict.fromkeys(answer.text for answer in question.answers)),
            doc_id=article.title,
            answerable=not question.is_impossible,
        )
        for article in articles
        for question in article.questions
    ]


def open_index(
    index_root: Path, source: Path, articles: list[Article], embedder: Embedder, reporter: Reporter
) -> PassageStore:
    """The index of the file's articles, built once and cached under the index folder (as `--beir` does)."""
    from qa.index.cached import cached_index, keyed_folder

    docs, passages = documents_of(articles, source)
    folder = keyed_folder(index_root / KIND, source.stem, source, embedder)
    return cached_index(
        folder, embedder, reporter, source, len(passages), lambda: (docs, passages), ChunkingParams().as_dict()
    )


def evaluate(
    engine: Engine,
    source: Path,
    holdout: Sequence[str],
    settings: Settings,
    modes: Sequence[Mode],
    reporter: Reporter,
) -> tuple[dict[str, Any], str]:
    """The `qa eval --squad` report: every question of the file (or of the `holdout` articles only) asked against
    all its articles, and the key its runs are saved under."""
    from qa.evaluation import gold as evaluation

    articles = load(source)
    asked = select(articles, holdout) if holdout else articles
    questions = gold_questions(asked)
    store = open_index(engine.paths.index, source, articles, engine.embedder, reporter)
    if any(mode != "lexical" for mode in modes):
        engine.load_model()
    searcher = engine.searcher(store)
    reports = []
    for mode in modes:
        reporter.start(f"questions ({mode})", len(questions))
        reports.append(evaluation.evaluate(searcher, questions, replace(settings, mode=mode), reporter.advance))
    label = f"{source}" + (f" (held-out articles: {', '.join(a.title for a in asked)})" if holdout else "")
    data = evaluation.report_json(reports, settings.k, label)
    data["articles"] = len(articles)
    data["asked_articles"] = [article.title for article in asked]
    suffix = "-".join(sorted(_key(a.title) for a in asked)) if holdout else "all"
    return data, f"{KIND}-{source.stem}-{hashlib.sha256(suffix.encode()).hexdigest()[:8]}"
