"""`qa bench`: speed and memory on this machine, each figure beside a bare baseline measured back to back."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from qa.answering.answerability import AnswerabilityModel, Judgement, Support
from qa.answering.retrieval import MODES, Searcher, Settings
from qa.benchmarks.scaling import scale_points
from qa.evaluation.gold import load_gold
from qa.index import building
from qa.index.stores.registry import backend_for
from qa.index.stores.synthetic import ScalePoint
from qa.kernel.errors import CorpusError
from qa.kernel.measuring import peak_rss_mb, percentile_ms
from qa.kernel.paths import Paths, StoreSpec
from qa.kernel.progress import SilentReporter
from qa.models.embedding import Embedder, SentenceTransformerEmbedder
from qa.models.onnx.graph import split_variant
from qa.models.verifier.model import Candidate, Verifier

Note = Callable[[str], None]

ROUNDS = 2
COLD_ROUNDS = 3
QUESTIONS = 40
_BARE_LOAD = (
    "import sys\nfrom sentence_transformers import SentenceTransformer\n"
    "SentenceTransformer(sys.argv[1], device='cpu').encode(['How fast is a bare model load?'])\n"
)


@dataclass(frozen=True)
class ModeLatency:
    """Warm `Searcher.ask` latency of one mode, and its ratio to a bare query embedding."""

    mode: str
    p50_ms: float
    p95_ms: float
    ratio: float


@dataclass(frozen=True)
class Report:
    """Everything `qa bench` measured; ratios compare runs made back to back."""

    machine: dict[str, Any]
    passages: int
    build_passages_per_s: float
    bare_encode_passages_per_s: float
    build_ratio: float
    noop_index_s: float
    bare_query_p50_ms: float
    modes: tuple[ModeLatency, ...]
    cold_ask_s: float
    bare_cold_s: float
    cold_ratio: float
    status_s: float
    peak_rss_mb: float
    peak_children_rss_mb: float
    scale: tuple[ScalePoint, ...]
    app_first_answer_s: float | None = None  # launch to first answer in the app, the question typed at once
    runtime: str = ""  # what served the model on the qa side: onnxruntime (fp32 or int8) or sentence-transformers
    verifier_p50_ms: float | None = None  # answer checking's share of a warm hybrid ask (None: no checking model)
    store: str = "default"  # where the benchmark index was kept: the default files, or another store (KIND:LOCATION)

    def as_json(self) -> dict[str, Any]:
        """The flat JSON object of `qa bench --json`; query figures at the top level are the hybrid mode's."""
        hybrid = self.modes[0]
        found = asdict(self)
        found["modes"] = {mode.mode: asdict(mode) for mode in self.modes}
        return found | {"query_p50_ms": hybrid.p50_ms, "query_p95_ms": hybrid.p95_ms, "query_ratio": hybrid.ratio}


def run(
    corpus: Path,
    model: str | None = None,
    sizes: Sequence[int] = (),
    note: Note = lambda _: None,
    work: Path | None = None,
    store: StoreSpec | None = None,
    app: AppProbe | None = None,
) -> Report:
    """Benchmark building, querying and starting up on `corpus` in a temporary index under `work` (kept in `store`
    when given: each store keeps its benchmark index apart from the user's), then `sizes`; the app's first answer
    is timed through `app` (what the interface that has an app passes in; None: not timed).

    The qa side runs the embedder `qa` itself uses (ONNX Runtime, exported first if need be); the bare baselines
    run sentence-transformers on the same model."""
    from qa.engine.engine import default_embedder

    embedder = default_embedder(model)
    bare = SentenceTransformerEmbedder(split_variant(model)[0])
    if work is not None:
        work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="qa-bench-", dir=work) as folder:
        paths = backend_for(store).bench_paths(corpus, Path(folder) / "index", store)
        note("loading the model and building a first index (warm-up)")
        building.build(paths, embedder, SilentReporter(), full=True)
        opened = building.open_store(paths.index)
        texts = [passage.text for passage in opened.passages(range(opened.size))]
        opened.close()
        questions = _questions(paths, texts)
        # qa first, then the bare baselines: once torch is loaded, its threads slow ONNX Runtime's in the same
        # process (measured here: a question took 2.3 ms before torch was imported, 3.7-4.3 ms after).
        note(f"build, {len(texts)} passages, {ROUNDS} rounds; warm queries: {len(questions)} x {len(MODES)} modes")
        build_s = min(building.build(paths, embedder, SilentReporter(), full=True).seconds for _ in range(ROUNDS))
        asked, verifier_ms = _query_latency(paths, embedder, questions)
        note("the bare baselines: loading sentence-transformers, encoding the passages and the questions")
        bare.load()
        bare_s = _bare_encode(bare, texts)
        bare_query = _bare_query_p50(bare, questions)
        modes = _mode_latencies(asked, bare_query)
        note("no-op qa index, qa status")
        command = [sys.executable, "-m", "qa"]
        location = ["--corpus", str(corpus), "--index", str(paths.root or paths.index)] + (
            ["--model", model] if model else []
        )
        location += ["--store", str(paths.store)] if paths.store else []
        noop_s = _median_wall([[*command, "index", *location]], COLD_ROUNDS)[0]
        status_s = _median_wall([[*command, "status", *location]], COLD_ROUNDS)[0]
        note(f"cold qa ask against bare model load, {COLD_ROUNDS} rounds each")
        cold_s, bare_cold_s = _median_wall(
            [
                [*command, "ask", "--json", *location, questions[0]],
                [sys.executable, "-c", _BARE_LOAD, str(bare.folder or bare.name)],
            ],
            COLD_ROUNDS,
        )
        note(f"the app from launch to its first answer, {COLD_ROUNDS} rounds")
        app_s = app_first_answer(app, paths, model, questions[0], COLD_ROUNDS) if app is not None else None
        peak, children = peak_rss_mb()
        points: tuple[ScalePoint, ...] = ()
        if sizes:
            points = tuple(scale_points(paths, questions, sizes, Path(folder), note))
    return Report(
        machine=machine(),
        passages=len(texts),
        build_passages_per_s=round(len(texts) / build_s, 2),
        bare_encode_passages_per_s=round(len(texts) / bare_s, 2),
        build_ratio=round(bare_s / build_s, 3),
        noop_index_s=round(noop_s, 3),
        bare_query_p50_ms=round(bare_query, 2),
        modes=modes,
        cold_ask_s=round(cold_s, 3),
        bare_cold_s=round(bare_cold_s, 3),
        cold_ratio=round(cold_s / bare_cold_s, 3),
        status_s=round(status_s, 3),
        peak_rss_mb=peak,
        peak_children_rss_mb=children,
        scale=points,
        verifier_p50_ms=verifier_ms,
        store=str(paths.store) if paths.store else "default",
        app_first_answer_s=None if app_s is None else round(app_s, 3),
        runtime=describe_runtime(embedder),
    )


def machine() -> dict[str, Any]:
    """Where the figures came from."""
    import psutil

    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


def describe_runtime(embedder: Embedder) -> str:
    """What serves the model, e.g. 'onnxruntime fp32'."""
    runtime = getattr(embedder, "runtime", "sentence-transformers")
    return f"{runtime} {getattr(embedder, 'variant', '')}".strip() if runtime == "onnxruntime" else str(runtime)


def _bare_encode(bare: SentenceTransformerEmbedder, texts: list[str]) -> float:
    """Best-of seconds of a bare sentence-transformers `encode` of the texts."""
    found: list[float] = []
    for _ in range(ROUNDS):
        began = time.perf_counter()
        bare.model.encode(texts, batch_size=bare.batch_size)
        found.append(time.perf_counter() - began)
    return min(found)


def _bare_query_p50(bare: SentenceTransformerEmbedder, questions: list[str]) -> float:
    """Median milliseconds of a bare sentence-transformers `encode` of one question."""
    for question in questions[:3]:
        bare.model.encode([question])
    found: list[float] = []
    for question in questions:
        began = time.perf_counter()
        bare.model.encode([question])
        found.append(time.perf_counter() - began)
    return statistics.median(found) * 1000


def _median_wall(commands: list[list[str]], rounds: int) -> list[float]:
    """Median wall seconds of each command, the commands alternated round by round."""
    walls: list[list[float]] = [[] for _ in commands]
    environment = os.environ | {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    for _ in range(rounds):
        for command, found in zip(commands, walls, strict=True):
            began = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, env=environment)
            found.append(time.perf_counter() - began)
    return [statistics.median(found) for found in walls]


def _questions(paths: Paths, texts: list[str]) -> list[str]:
    """The gold questions beside the corpus, else openings of passages."""
    gold = paths.default_gold
    if gold.is_file():
        found = [question.question for question in load_gold(gold)]
    else:
        found = [" ".join(text.split()[:12]) for text in texts]
    if not found:
        raise CorpusError(f"no questions to benchmark: add {gold}")
    return found[:QUESTIONS]


class _TimedVerifier:
    """Notes how long each call of the verifier inside takes."""

    def __init__(self, inner: Verifier) -> None:
        self.inner = inner
        self.seconds: list[float] = []

    def verify(self, question: str, candidates: Sequence[Candidate]) -> np.ndarray:
        """The inner verifier's probabilities, timed."""
        began = time.perf_counter()
        found = self.inner.verify(question, candidates)
        self.seconds.append(time.perf_counter() - began)
        return found


def _timed_answerability() -> _TimedAnswerability | None:
    """The default answerability model (None when $QA_ANSWERABILITY turns it off), timing each question's judgement."""
    from qa.engine.engine import default_answerability

    if default_answerability() is None:
        return None
    return _TimedAnswerability()


class _TimedAnswerability(AnswerabilityModel):
    """The shipped answerability model, noting how long each judgement takes."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []

    def judge(
        self, question: str, supports: Sequence[Support], unknown: int = 0, verifier: Verifier | None = None
    ) -> Judgement:
        """The model's judgement (with the verifier's check, when it runs), timed."""
        began = time.perf_counter()
        found = super().judge(question, supports, unknown, verifier)
        self.seconds.append(time.perf_counter() - began)
        return found


def _query_latency(
    paths: Paths, embedder: Embedder, questions: list[str]
) -> tuple[dict[str, list[float]], float | None]:
    """Seconds of each warm ask per mode, question by question in turn, and answer checking's p50 share of hybrid
    asks in milliseconds (the answerability model's, its verifier check included; without it, the verifier's; None
    without either)."""
    from qa.engine.engine import default_verifier

    inner = default_verifier()
    judge = _timed_answerability()
    timed = _TimedVerifier(inner) if inner is not None and judge is None else None  # the model times its own check
    searcher = Searcher(building.open_store(paths.index), embedder, timed or inner, judge)
    if judge is not None:
        judge.load()
    checking = judge if judge is not None else timed
    for question in questions[:3]:
        for mode in MODES:
            searcher.ask(question, Settings(mode=mode))
    verifier_seconds: list[float] = []
    asked: dict[str, list[float]] = {mode: [] for mode in MODES}
    for question in questions:
        for mode in MODES:
            if checking is not None:
                checking.seconds.clear()
            began = time.perf_counter()
            searcher.ask(question, Settings(mode=mode))
            asked[mode].append(time.perf_counter() - began)
            if mode == "hybrid" and checking is not None:
                verifier_seconds.extend(checking.seconds)
    searcher.store.close()
    verifier_p50 = round(percentile_ms(verifier_seconds, 50), 2) if verifier_seconds else None
    return asked, verifier_p50


def _mode_latencies(asked: dict[str, list[float]], bare_p50: float) -> tuple[ModeLatency, ...]:
    """Per-mode p50 and p95 in milliseconds, and the p50's ratio to the bare query embedding's."""
    return tuple(
        ModeLatency(
            mode,
            round(percentile_ms(found, 50), 2),
            round(percentile_ms(found, 95), 2),
            round(percentile_ms(found, 50) / bare_p50, 3),
        )
        for mode, found in asked.items()
    )


class AppProbe(Protocol):
    """How to time an app from launch to its first answer: the command of a fresh process that opens it, types the
    question and prints, as its last line, JSON with `answered_at` (wall-clock seconds, None: never answered)."""

    timeout_s: float

    def command(self, paths: Paths, model: str | None, question: str) -> list[str]:
        """The command that runs the probe on the index in `paths`."""
        ...


def app_first_answer(app: AppProbe, paths: Paths, model: str | None, question: str, rounds: int) -> float | None:
    """Median seconds from launching the app (a fresh process) to its first answer, the question typed as soon as
    the app takes input; None when it never answered."""
    environment = os.environ | {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    found: list[float] = []
    for _ in range(rounds):
        launched = time.time()
        done = subprocess.run(
            app.command(paths, model, question),
            capture_output=True,
            text=True,
            env=environment,
            timeout=app.timeout_s + 60,
            check=True,
        )
        answered = json.loads(done.stdout.splitlines()[-1])["answered_at"]
        if answered is None:
            return None
        found.append(answered - launched)
    return statistics.median(found)
