"""The one engine behind every interface: opens the index and its models, builds, answers and reports state.

Methods may block for seconds; the app calls them only from thread workers. Thread-safe.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from qa.answering.retrieval import Answer, Searcher, Settings
from qa.engine.status import IndexStatus, index_status
from qa.index import building as indexing
from qa.models.embedding import Embedder, Progress, Span, SpanEmbedder

if TYPE_CHECKING:
    from qa.answering.answerability import AnswerabilityModel
    from qa.index.building import BuildResult
    from qa.index.stores.base import PassageStore
    from qa.kernel.paths import Paths
    from qa.kernel.progress import Reporter
    from qa.models.verifier.model import Verifier

DEFAULT_BATCH = 32

EmbedderFactory = Callable[[str | None], Embedder]
VerifierFactory = Callable[[], "Verifier | None"]
AnswerabilityFactory = Callable[[], "AnswerabilityModel | None"]
VERIFIER_ENV = "QA_VERIFIER"  # "off": no cross-encoder check; "on": the verifier even without the answerability model
ANSWERABILITY_ENV = "QA_ANSWERABILITY"  # "off": the similarity checks decide instead of the answerability model
_OFF = {"off", "0", "no", "false"}
_ON = {"on", "1", "yes", "true"}


@runtime_checkable
class Loadable(Protocol):
    """An embedder whose weights load on demand: `load` loads them and takes the slow first forward pass."""

    def load(self) -> None:
        """Load now."""
        ...


def default_embedder(model: str | None) -> Embedder:
    """The embedder for a model name or folder (None: the bundled all-MiniLM-L6-v2), loaded on first use: on ONNX
    Runtime (exported once, on first need), or on sentence-transformers after a warning when it cannot be exported;
    a name ending in ':int8' asks for the int8 graph."""
    from qa.models.onnx.embedding import make_embedder

    return make_embedder(model)


class SerialEmbedder:
    """Lets one thread at a time use the model (Hugging Face tokenizers are not thread-safe)."""

    def __init__(self, inner: Embedder, lock: threading.Lock) -> None:
        self.inner = inner
        self.name = inner.name
        self._lock = lock

    @property
    def weights_sha256(self) -> str | None:
        """The inner embedder's weights checksum, recorded in the manifest."""
        found = getattr(self.inner, "weights_sha256", None)
        return found if isinstance(found, str) else None

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed while holding the model."""
        with self._lock:
            return self.inner.embed(texts)


class SerialSpanEmbedder(SerialEmbedder):
    """A SerialEmbedder for span embedders: a build holds the model one batch at a time, so questions get a turn."""

    def embed_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[Span]], progress: Progress | None = None
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Embed texts and their spans batch by batch."""
        inner = self.inner
        assert isinstance(inner, SpanEmbedder)
        step = int(getattr(inner, "batch_size", DEFAULT_BATCH))
        if len(texts) <= step:
            with self._lock:
                return inner.embed_spans(texts, spans, progress)
        vectors: list[np.ndarray] = []
        pooled: list[np.ndarray] = []
        for start in range(0, len(texts), step):
            with self._lock:
                batch_vectors, batch_pooled = inner.embed_spans(
                    texts[start : start + step], spans[start : start + step], progress
                )
            vectors.append(batch_vectors)
            pooled.extend(batch_pooled)
        return np.concatenate(vectors), pooled


def serial(embedder: Embedder, lock: threading.Lock) -> SerialEmbedder:
    """The embedder behind a lock, keeping whether it embeds spans."""
    return SerialSpanEmbedder(embedder, lock) if isinstance(embedder, SpanEmbedder) else SerialEmbedder(embedder, lock)


def default_verifier() -> Verifier | None:
    """The cross-encoder answer verifier: beside the answerability model, when the shipped model's weights ask it to
    check their best candidates; alone ($QA_ANSWERABILITY=off), only when $QA_VERIFIER is "on"; never when
    $QA_VERIFIER is "off"."""
    import os

    setting = os.environ.get(VERIFIER_ENV, "").strip().lower()
    if setting in _OFF:
        return None
    if setting not in _ON:
        if os.environ.get(ANSWERABILITY_ENV, "").strip().lower() in _OFF:
            return None
        from qa.answering.answerability import shipped_check

        if shipped_check() is None:
            return None
    from qa.models.verifier.model import OnnxVerifier

    return OnnxVerifier()


def default_answerability() -> AnswerabilityModel | None:
    """The shipped answerability model (read on first use), unless $QA_ANSWERABILITY is "off"."""
    import os

    if os.environ.get(ANSWERABILITY_ENV, "").strip().lower() in _OFF:
        return None
    from qa.answering.answerability import AnswerabilityModel

    return AnswerabilityModel()


def _load_quietly(model: Loadable) -> None:
    """Load `model`, leaving a failure for the caller's own second `load` to raise (no traceback from a thread)."""
    with contextlib.suppress(Exception):
        model.load()


class Engine:
    """Holds the embedder (made and loaded once, thread-safely) and runs core work for every interface.

    `make_embedder` is the seam for other embedders: it is called once with the model option; `make_verifier`
    likewise makes the answer verifier (None from it: answers without one).
    """

    def __init__(
        self,
        paths: Paths,
        model: str | None = None,
        make_embedder: EmbedderFactory | None = None,
        make_verifier: VerifierFactory | None = None,
        make_answerability: AnswerabilityFactory | None = None,
    ) -> None:
        self.paths = paths
        self.model_option = model
        self._make = make_embedder or default_embedder
        self._make_verifier = make_verifier or default_verifier
        self._verifier: Verifier | None = None
        self._verifier_made = False
        self._make_answerability = make_answerability or default_answerability
        self._answerability: AnswerabilityModel | None = None
        self._answerability_made = False
        self._embedder: SerialEmbedder | None = None
        self._make_lock = threading.Lock()
        self._load_lock = threading.Lock()
        self._model_lock = threading.Lock()
        self._loaded = False

    @property
    def embedder(self) -> SerialEmbedder:
        """The embedder, made on first use (cheap: the model loads in `load_model`), used by one thread at a time."""
        with self._make_lock:
            if self._embedder is None:
                self._embedder = serial(self._make(self.model_option), self._model_lock)
            return self._embedder

    def load_model(self, reporter: Reporter | None = None) -> float:
        """Load the model's weights; returns the seconds it took, 0 when it was loaded already. What loading had to
        warn of (a model served by sentence-transformers instead of ONNX Runtime) is passed to `reporter` too."""
        embedder = self.embedder
        began = time.perf_counter()
        with self._load_lock:
            if self._loaded:
                return 0.0
            verifier = self.verifier
            beside = (
                threading.Thread(target=_load_quietly, args=(verifier,)) if isinstance(verifier, Loadable) else None
            )
            if beside is not None:
                beside.start()  # the two models load side by side
            try:
                if isinstance(embedder.inner, Loadable):
                    with self._model_lock:
                        embedder.inner.load()
            finally:
                if beside is not None:
                    beside.join()
            if isinstance(verifier, Loadable):
                verifier.load()  # loaded already, or raises the error the thread met
            judge = self.answerability
            if judge is not None:
                judge.load()
            self._loaded = True
        found = getattr(embedder.inner, "warnings", [])
        if reporter is not None and isinstance(found, list):
            for message in found:
                reporter.warn(str(message))
        return time.perf_counter() - began

    def status(self, reporter: Reporter) -> IndexStatus:
        """The index status, as `qa status` reports it."""
        return index_status(self.paths, reporter.warn)

    def open(self, reporter: Reporter, status: IndexStatus | None = None) -> tuple[PassageStore, BuildResult | None]:
        """Open the index, building it first when it is missing or stale; `status`, when the caller has just read
        it, saves reading it again."""
        if status is not None and status.stale:
            self.load_model()
        store, result = indexing.open_current(self.paths, self.embedder, reporter, status)
        store.load()  # now, so the first question is as fast as the next
        return store, result

    def build(self, reporter: Reporter, full: bool = False, verify: bool = False) -> BuildResult:
        """Bring the index up to date with the corpus (from scratch with `full`; a damaged index is rebuilt, its
        content checked too with `verify`); the model loads only if needed."""
        return indexing.build(self.paths, self.embedder, reporter, full=full, verify=verify)

    def rebuild(self, reporter: Reporter, full: bool = False) -> tuple[PassageStore, BuildResult]:
        """Bring the index up to date with the corpus (from scratch with `full`) and open it."""
        self.load_model()
        result = self.build(reporter, full)
        store = indexing.open_store(self.paths.index)
        store.load()
        return store, result

    @property
    def verifier(self) -> Verifier | None:
        """The answer verifier, made on first use (its model loads on its first question)."""
        with self._make_lock:
            if not self._verifier_made:
                self._verifier = self._make_verifier()
                self._verifier_made = True
            return self._verifier

    @property
    def answerability(self) -> AnswerabilityModel | None:
        """The answerability model, made on first use (read on its first question, or by `load_model`)."""
        with self._make_lock:
            if not self._answerability_made:
                self._answerability = self._make_answerability()
                self._answerability_made = True
            return self._answerability

    def searcher(self, store: PassageStore) -> Searcher:
        """A searcher of `store` that shares this engine's embedder, verifier and answerability model."""
        return Searcher(store, self.embedder, self.verifier, self.answerability)

    def ask(self, store: PassageStore, question: str, settings: Settings | None = None) -> Answer:
        """The cited passages for the question."""
        settings = settings or Settings()
        if settings.mode != "lexical":
            self.load_model()
        return self.searcher(store).ask(question, settings)
