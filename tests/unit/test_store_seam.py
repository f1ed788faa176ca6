"""The store seam proved by a third backend: a small in-memory store registered through the public registry, built,
updated in place and asked the essay gold set by the ordinary pipeline, with the answers of the default store."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qa.answering.retrieval import Searcher, Settings
from qa.documents.base import Document
from qa.documents.chunking import Passage
from qa.evaluation.gold import evaluate, load_gold
from qa.index import building
from qa.index.lexical import LexicalIndex
from qa.index.manifest import Changes, Manifest
from qa.index.stores import registry
from qa.index.stores.base import Health, Written
from qa.index.stores.shared import generation_health, lexical_text, passage_key
from qa.kernel.errors import IndexCorruptError, InputError
from qa.kernel.filters import Filter
from qa.kernel.paths import Paths, StoreSpec, resolve
from qa.kernel.progress import Reporter, SilentReporter
from tests.conftest import REPO
from tests.corpora import essay_with_notes, write_doc
from tests.fakes import FakeEmbedder

GOLD = REPO / "corpus" / "gold" / "essay.jsonl"
MARKER = "memory.json"


@dataclass(frozen=True)
class Generation:
    """One generation held in memory: documents and passages in document order, with their vectors."""

    docs: tuple[Document, ...]
    passages: tuple[Passage, ...]
    vectors: np.ndarray
    sentence_vectors: np.ndarray

    @property
    def sentence_starts(self) -> np.ndarray:
        counts = [len(passage.sentences) for passage in self.passages]
        return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)


SPACE: dict[str, dict[str, Generation]] = {}  # location -> generation name -> generation


class MemoryStore:
    """A PassageStore over one in-memory generation (exact search; BM25 as the default store scores it)."""

    def __init__(self, found: Manifest, generation: Generation) -> None:
        self.manifest = found
        self.generation = generation
        self.lexical = LexicalIndex.build([lexical_text(passage) for passage in generation.passages])
        self.closed = False

    @property
    def size(self) -> int:
        return len(self.generation.passages)

    def rows_of(self, doc_id: str) -> range:
        rows = [row for row, passage in enumerate(self.generation.passages) if passage.doc_id == doc_id]
        return range(rows[0], rows[-1] + 1) if rows else range(0)

    def select(self, doc: str | None, found: Filter | None) -> np.ndarray | None:
        if doc is None and not found:
            return None
        if doc is not None and not self.rows_of(doc):
            raise InputError(f"no document {doc!r} in the index")
        admitted = [
            item.id
            for item in self.generation.docs
            if (doc is None or item.id == doc) and (not found or found.admits(item.id, item.metadata))
        ]
        rows = [row for doc_id in admitted for row in self.rows_of(doc_id)]
        return np.asarray(sorted(rows), dtype=np.int64)

    def dense(self, query: np.ndarray, count: int, rows: np.ndarray | None) -> dict[int, float]:
        chosen = np.arange(self.size) if rows is None else rows
        if not len(chosen):
            return {}
        sims = self.generation.vectors[chosen] @ query
        order = np.argsort(-sims, kind="stable")[:count]
        return {int(chosen[i]): float(sims[i]) for i in order}

    def similarities(self, rows: Sequence[int], query: np.ndarray) -> dict[int, float]:
        return {int(row): float(self.generation.vectors[row] @ query) for row in rows}

    def keyword(self, terms: list[str], count: int, rows: np.ndarray | None) -> dict[int, float]:
        scores = self.lexical.token_scores(terms)
        chosen = np.arange(self.size) if rows is None else rows
        if not len(chosen):
            return {}
        picked = scores[chosen]
        best = np.argpartition(-picked, min(count, len(picked)) - 1)[:count]
        return {int(chosen[i]): float(picked[i]) for i in best if picked[i] > 0}

    def keyword_scores(self, terms: list[str], rows: Sequence[int]) -> dict[int, float]:
        scores = self.lexical.token_scores(terms)
        return {int(row): float(scores[row]) for row in rows}

    def sentence_scores(self, row: int, query: np.ndarray) -> np.ndarray:
        starts = self.generation.sentence_starts
        scores: np.ndarray = self.generation.sentence_vectors[starts[row] : starts[row + 1]] @ query
        return scores

    def best_sentence_scores(self, rows: Sequence[int], query: np.ndarray) -> dict[int, float]:
        return {row: float(scores.max()) if len(scores := self.sentence_scores(row, query)) else 0.0 for row in rows}

    def passages(self, rows: Sequence[int]) -> list[Passage]:
        return [self.generation.passages[row] for row in rows]

    def unknown_names(self, question: str) -> list[str]:
        return self.lexical.unknown_names(question)

    def document(self, doc_id: str) -> Document:
        return next(item for item in self.generation.docs if item.id == doc_id)

    def document_ids(self) -> list[str]:
        return sorted(item.id for item in self.generation.docs)

    def load(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def cached_rows(self) -> dict[str, tuple[int, int, int]]:
        starts = self.generation.sentence_starts
        return {
            passage_key(passage): (row, int(starts[row]), len(passage.sentences))
            for row, passage in enumerate(self.generation.passages)
        }

    @property
    def vectors(self) -> np.ndarray:
        return self.generation.vectors

    @property
    def sentence_vectors(self) -> np.ndarray:
        return self.generation.sentence_vectors


def _generation(index: Path, found: Manifest) -> Generation:
    marker = index / found.generation / MARKER
    try:
        location = json.loads(marker.read_text(encoding="utf-8"))["location"]
        return SPACE[location][found.generation]
    except (OSError, KeyError) as error:
        raise IndexCorruptError(f"no generation {found.generation} in memory") from error


def _written(space: dict[str, Generation], folder: Path, location: str, generation: Generation) -> Written:
    folder.mkdir(parents=True)
    (folder / MARKER).write_text(json.dumps({"location": location}), encoding="utf-8")
    space[folder.name] = generation
    files = {MARKER: (folder / MARKER).stat().st_size}
    return Written(files, {"kind": "memory"}, len(generation.passages), int(generation.sentence_vectors.shape[0]))


class MemoryUpdate:
    """An update in place: the previous generation's untouched documents carried over, the fresh ones added."""

    def __init__(self, writer: MemoryWriter, previous: Generation) -> None:
        self.writer = writer
        self.previous = previous
        self.closed = False

    def accept(self, fresh: list[Passage]) -> int | None:
        return len(fresh) + sum(1 for passage in self.previous.passages if passage.doc_id in self.writer.kept_ids)

    def cache(self, fresh: list[Passage]) -> MemoryStore:
        return MemoryStore(self.writer.previous_manifest, self.previous)  # type: ignore[arg-type]

    def write(
        self,
        folder: Path,
        docs: list[Document],
        fresh: list[Passage],
        vectors: np.ndarray,
        sentence_vectors: np.ndarray,
        changes: Changes,
        reporter: Reporter,
    ) -> Written:
        old = MemoryStore(self.writer.previous_manifest, self.previous)  # type: ignore[arg-type]
        new_docs = {item.id: item for item in docs}
        fresh_rows: dict[str, list[int]] = {}
        for row, passage in enumerate(fresh):
            fresh_rows.setdefault(passage.doc_id, []).append(row)
        out_docs: list[Document] = []
        out_passages: list[Passage] = []
        out_vectors: list[np.ndarray] = []
        out_sentences: list[np.ndarray] = []
        fresh_starts = np.concatenate([[0], np.cumsum([len(passage.sentences) for passage in fresh])]).astype(int)
        for source in changes.sources:
            if source.id in new_docs:
                out_docs.append(new_docs[source.id])
                for row in fresh_rows.get(source.id, []):
                    out_passages.append(fresh[row])
                    out_vectors.append(vectors[row])
                    out_sentences.append(sentence_vectors[fresh_starts[row] : fresh_starts[row + 1]])
            elif source.id in self.writer.kept_ids and old.rows_of(source.id):
                out_docs.append(old.document(source.id))
                for row in old.rows_of(source.id):
                    out_passages.append(old.passages([row])[0])
                    out_vectors.append(old.vectors[row])
                    out_sentences.append(
                        old.sentence_vectors[
                            old.generation.sentence_starts[row] : old.generation.sentence_starts[row + 1]
                        ]
                    )
        dimension = self.previous.vectors.shape[1]
        generation = Generation(
            tuple(out_docs),
            tuple(out_passages),
            np.stack(out_vectors).astype(np.float32) if out_vectors else np.zeros((0, dimension), np.float32),
            np.concatenate(out_sentences).astype(np.float32) if out_sentences else np.zeros((0, dimension), np.float32),
        )
        self.writer.updates += 1
        return _written(self.writer.space, folder, self.writer.spec.location, generation)

    def close(self) -> None:
        self.closed = True


class MemoryWriter:
    """A StoreWriter into memory: updates in place when the previous generation is one of its own."""

    kept = None

    def __init__(self, index: Path, spec: StoreSpec, previous: Manifest | None) -> None:
        self.spec = spec
        self.space = SPACE.setdefault(spec.location, {})
        self.previous_manifest = previous
        self.previous = (
            _generation(index, previous)
            if previous is not None and previous.vector_index.get("kind") == "memory"
            else None
        )
        self.kept_ids: set[str] = set()
        self.updates = 0
        self.published: list[str] = []

    @property
    def cache(self) -> MemoryStore | None:
        if self.previous is None or self.previous_manifest is None:
            return None
        return MemoryStore(self.previous_manifest, self.previous)

    def update(self, previous: Manifest, changes: Changes) -> MemoryUpdate | None:
        if self.previous is None:
            return None
        self.kept_ids = set(changes.unchanged)
        return MemoryUpdate(self, self.previous)

    def write(
        self,
        folder: Path,
        docs: list[Document],
        passages: list[Passage],
        vectors: np.ndarray,
        sentence_vectors: np.ndarray,
        reporter: Reporter,
    ) -> Written:
        for _ in range(4):
            reporter.advance()
        generation = Generation(
            tuple(docs), tuple(passages), vectors.astype(np.float32), sentence_vectors.astype(np.float32)
        )
        return _written(self.space, folder, self.spec.location, generation)

    def publish(self, index: Path, found: Manifest) -> None:
        self.published.append(found.generation)

    def close(self) -> None:
        pass


class MemoryBackend:
    """A third StoreBackend, held in this process."""

    name = "memory"
    kinds = frozenset({"memory"})
    metavar = "memory:NAME"
    usage = "memory:NAME (in this process)"
    help = "Keep the index in memory: memory:NAME"

    def __init__(self) -> None:
        self.writers: list[MemoryWriter] = []

    def spec(self, location: str) -> StoreSpec:
        return StoreSpec(self.name, location.strip())

    def open(self, index: Path, found: Manifest) -> MemoryStore:
        return MemoryStore(found, _generation(index, found))

    def writer(
        self, index: Path, spec: StoreSpec | None, previous: Manifest | None, chunking: dict[str, int]
    ) -> MemoryWriter:
        assert spec is not None
        writer = MemoryWriter(index, spec, previous)
        self.writers.append(writer)
        return writer

    def cache(self, index: Path, found: Manifest) -> None:
        return None

    def status(self, index: Path, found: Manifest) -> dict[str, Any]:
        return {"kind": "memory", "generations": len(SPACE.get(self.location_of(index, found), {}))}

    def health(self, index: Path, found: Manifest, verify: bool = False) -> Health:
        health = generation_health(index / found.generation, found.files, verify)
        if health.damaged:
            return health
        try:
            held = _generation(index, found)
        except IndexCorruptError as error:
            return health.adding([str(error)])
        if len(held.passages) != found.passages:
            return health.adding([f"memory holds {len(held.passages)} passages, not {found.passages}"])
        return health

    def describe(self, report: dict[str, Any]) -> str:
        return f"memory, {report['generations']} generations"

    def location_of(self, index: Path, found: Manifest) -> str:
        return str(json.loads((index / found.generation / MARKER).read_text(encoding="utf-8"))["location"])

    def bench_paths(self, corpus: Path, index: Path, spec: StoreSpec | None) -> Paths:
        return resolve(corpus, index, spec)

    def real_samples(self, paths: Paths) -> tuple[np.ndarray, list[str]]:
        raise NotImplementedError

    def scale(self, *args: Any, **kwargs: Any) -> list[Any]:
        raise NotImplementedError


@pytest.fixture
def memory() -> Iterator[MemoryBackend]:
    backend = MemoryBackend()
    registry.register_backend(backend)
    try:
        yield backend
    finally:
        registry.unregister_backend(backend.name)
        SPACE.clear()


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return essay_with_notes(tmp_path / "corpus")


def comparable(report: Any) -> list[tuple[Any, ...]]:
    return [
        (result.id, result.rank, result.answered, result.top_citation, result.sentence_correct)
        for result in report.results
    ]


def test_the_registry_parses_and_names_a_registered_backend(memory: MemoryBackend) -> None:
    assert registry.parse_store("memory:first") == StoreSpec("memory", "first")
    assert registry.backend_for(StoreSpec("memory", "first")) is memory
    metavar, described = registry.store_option_help()
    assert "memory:NAME" in metavar and "Keep the index in memory" in described
    with pytest.raises(InputError, match=r"--store takes .*memory:NAME \(in this process\)"):
        registry.parse_store("nowhere:at-all")


def test_a_registered_backend_builds_updates_and_answers_the_gold_set(
    memory: MemoryBackend, corpus: Path, tmp_path: Path
) -> None:
    spec = registry.parse_store("memory:essay")
    paths = resolve(corpus, tmp_path / "index", spec)
    assert paths.store == spec and paths.index.parent == tmp_path / "index"
    embedder = FakeEmbedder()

    first = building.build(paths, embedder, SilentReporter())
    assert not first.noop and first.documents == 3 and first.embedded == first.passages
    assert building.open_store(paths.index).manifest.vector_index == {"kind": "memory"}
    assert memory.writers[-1].published, "a full build publishes its generation"
    built = building.open_store(paths.index).manifest.generation

    write_doc(corpus, "notes/avalanches.md", "avalanches on the eastern ridge")
    (corpus / "notes" / "glaciers.md").unlink()
    embedder.calls.clear()
    second = building.build(paths, embedder, SilentReporter())
    assert memory.writers[-1].updates == 1, "the change was applied in place, through Update"
    assert second.documents == 3 and 0 < second.embedded < second.passages
    opened = building.open_store(paths.index)
    assert "notes/avalanches.md" in opened.document_ids() and "notes/glaciers.md" not in opened.document_ids()
    assert len(SPACE["essay"]) == 2
    kept = {path.name for path in paths.index.iterdir() if path.is_dir()}
    assert kept == {opened.manifest.generation, built}, "the new generation and the one it replaced"
    assert building.build(paths, embedder, SilentReporter()).noop

    from qa.engine.status import index_status

    status = index_status(paths, lambda message: None)
    assert status.store == {"kind": "memory", "generations": 2} and not status.stale
    assert registry.describe_status(status.store) == "memory, 2 generations"

    default = Paths(corpus, tmp_path / "default")
    building.build(default, FakeEmbedder(), SilentReporter())
    gold = load_gold(GOLD)
    for mode in ("hybrid", "dense", "lexical"):
        settings = Settings(mode=mode)
        in_memory = evaluate(Searcher(opened, embedder, None), gold, settings)
        on_files = evaluate(Searcher(building.open_store(default.index), embedder, None), gold, settings)
        assert comparable(in_memory) == comparable(on_files), mode
        assert in_memory.hit_at == on_files.hit_at and in_memory.mrr_at_10 == on_files.mrr_at_10
    assert in_memory.hit_at["hit@5"] > 0.5, "the gold set is answered, not merely answered alike"


def test_a_registered_backend_reports_its_health_and_the_pipeline_rebuilds_what_is_damaged(
    memory: MemoryBackend, corpus: Path, tmp_path: Path
) -> None:
    from qa.engine.status import index_status

    paths = resolve(corpus, tmp_path / "index", registry.parse_store("memory:essay"))
    building.build(paths, FakeEmbedder(), SilentReporter())
    assert not index_status(paths, lambda message: None).damaged
    found = building.open_store(paths.index).manifest
    del SPACE["essay"][found.generation]  # the store lost the generation the manifest names
    status = index_status(paths, lambda message: None)
    assert status.damaged and status.as_json()["damage"] == [f"no generation {found.generation} in memory"]
    embedder = FakeEmbedder()
    result = building.build(paths, embedder, SilentReporter())
    assert result.repaired and not result.noop and result.embedded == result.passages, "nothing of it was trusted"
    assert (result.added, result.changed, result.changes.removed) == ([], [], []), "told against its manifest"
    assert not index_status(paths, lambda message: None).damaged
    assert building.build(paths, embedder, SilentReporter()).noop
