"""`qa bench`: speed and memory on this machine, each figure beside a bare baseline measured back to back."""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa import indexing, milvus_bench
from qa.embedding import Embedder, SentenceTransformerEmbedder, split_variant
from qa.errors import CorpusError
from qa.evaluation import load_gold, percentile
from qa.lexical import LexicalIndex
from qa.paths import Paths
from qa.progress import SilentReporter
from qa.retrieval import CANDIDATES, MODES, Searcher, Settings
from qa.store import FAISS, LEXICAL, Store, configure_vector_index
from qa.verifier import Candidate, Verifier

Note = Callable[[str], None]

ROUNDS = 2
SCALE_SIZES = (10_000, 100_000, 1_000_000)
COLD_ROUNDS = 3
QUESTIONS = 40
SCALE_QUERIES = 200
RECALL_K = 10
NOISE = 0.7
SEED = 7
_BLOCK = 100_000
_BARE_LOAD = (
    "import sys\nfrom sentence_transformers import SentenceTransformer\n"
    "SentenceTransformer(sys.argv[1], device='cpu').encode(['How fast is a bare model load?'])\n"
)
_PROBE = "import sys\nfrom qa.bench import probe\nprobe(sys.argv[1])\n"
_APP_PROBE = "import sys\nfrom qa.bench import app_probe\napp_probe(*sys.argv[1:])\n"
APP_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class ModeLatency:
    """Warm `Searcher.ask` latency of one mode, and its ratio to a bare query embedding."""

    mode: str
    p50_ms: float
    p95_ms: float
    ratio: float


@dataclass(frozen=True)
class ScalePoint:
    """Search at one synthetic corpus size: vector and keyword index, each built and queried."""

    passages: int
    build_s: float
    query_p50_ms: float
    recall_at_10: float
    index_mb: float
    rss_mb: float
    vector_index: dict[str, Any]
    lexical_build_s: float
    lexical_p50_ms: float


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
    verifier_p50_ms: float | None = None  # the answer verifier's share of a warm hybrid ask (None: no verifier)
    store: str = "default"  # where the benchmark index was kept: the default files, or milvus:URI

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
    store: str | None = None,
) -> Report:
    """Benchmark building, querying and starting up on `corpus` in a temporary index under `work` (kept in `store`,
    "milvus:URI", when given: see `qa.milvus_bench`), then `sizes`.

    The qa side runs the embedder `qa` itself uses (ONNX Runtime, exported first if need be); the bare baselines
    run sentence-transformers on the same model."""
    from qa.engine import default_embedder

    embedder = default_embedder(model)
    bare = SentenceTransformerEmbedder(split_variant(model)[0])
    if work is not None:
        work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="qa-bench-", dir=work) as folder:
        paths = milvus_bench.bench_paths(corpus, Path(folder) / "index", store)
        note("loading the model and building a first index (warm-up)")
        indexing.build(paths, embedder, SilentReporter(), full=True)
        opened = indexing.open_store(paths.index)
        texts = [passage.text for passage in opened.passages(range(opened.size))]
        opened.close()
        questions = _questions(paths, texts)
        # qa first, then the bare baselines: once torch is loaded, its threads slow ONNX Runtime's in the same
        # process (measured here: a question took 2.3 ms before torch was imported, 3.7-4.3 ms after).
        note(f"build, {len(texts)} passages, {ROUNDS} rounds; warm queries: {len(questions)} x {len(MODES)} modes")
        build_s = min(indexing.build(paths, embedder, SilentReporter(), full=True).seconds for _ in range(ROUNDS))
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
        location += ["--store", paths.store] if paths.store else []
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
        app_s = app_first_answer(paths, model, questions[0], COLD_ROUNDS)
        peak, children = _peak_rss_mb()
        points: tuple[ScalePoint, ...] = ()
        if sizes:
            real, sentences = _real_samples(paths) if paths.store is None else milvus_bench.real_samples(paths)
            if paths.store is None:
                points = tuple(scale(real, sentences, questions, sizes, folder=Path(folder), note=note))
            else:
                points = tuple(
                    milvus_bench.scale(
                        real, sentences, questions, sizes, folder=Path(folder), store=paths.store, note=note
                    )
                )
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
        store=paths.store or "default",
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


def _query_latency(
    paths: Paths, embedder: Embedder, questions: list[str]
) -> tuple[dict[str, list[float]], float | None]:
    """Seconds of each warm ask per mode, question by question in turn, and the verifier's p50 share of hybrid asks
    in milliseconds (None without a verifier)."""
    from qa.engine import default_verifier

    inner = default_verifier()
    timed = _TimedVerifier(inner) if inner is not None else None
    searcher = Searcher(indexing.open_store(paths.index), embedder, timed)
    for question in questions[:3]:
        for mode in MODES:
            searcher.ask(question, Settings(mode=mode))
    verifier_seconds: list[float] = []
    asked: dict[str, list[float]] = {mode: [] for mode in MODES}
    for question in questions:
        for mode in MODES:
            if timed is not None:
                timed.seconds.clear()
            began = time.perf_counter()
            searcher.ask(question, Settings(mode=mode))
            asked[mode].append(time.perf_counter() - began)
            if timed is not None and mode == "hybrid":
                verifier_seconds.extend(timed.seconds)
    searcher.store.close()
    verifier_p50 = round(_percentile(verifier_seconds, 50), 2) if verifier_seconds else None
    return asked, verifier_p50


def _mode_latencies(asked: dict[str, list[float]], bare_p50: float) -> tuple[ModeLatency, ...]:
    """Per-mode p50 and p95 in milliseconds, and the p50's ratio to the bare query embedding's."""
    return tuple(
        ModeLatency(
            mode,
            round(_percentile(found, 50), 2),
            round(_percentile(found, 95), 2),
            round(_percentile(found, 50) / bare_p50, 3),
        )
        for mode, found in asked.items()
    )


def app_first_answer(paths: Paths, model: str | None, question: str, rounds: int) -> float | None:
    """Median seconds from launching the app (a fresh process) to its first answer, the question typed as soon as
    the app takes input; None when it never answered."""
    environment = os.environ | {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    found: list[float] = []
    for _ in range(rounds):
        launched = time.time()
        done = subprocess.run(
            [sys.executable, "-c", _APP_PROBE, str(paths.corpus), str(paths.index), model or "", question],
            capture_output=True,
            text=True,
            env=environment,
            timeout=APP_TIMEOUT_S + 60,
            check=True,
        )
        answered = json.loads(done.stdout.splitlines()[-1])["answered_at"]
        if answered is None:
            return None
        found.append(answered - launched)
    return statistics.median(found)


def app_probe(corpus: str, index: str, model: str, question: str) -> None:
    """In a fresh process: open the app headless, type the question at once (pasted, then Enter), and print as JSON
    the wall-clock time its first answer showed (None: not within APP_TIMEOUT_S) and the top-level modules loaded."""
    import asyncio

    from textual.widgets import Input

    from qa.tui.app import create_app

    app = create_app(Paths(Path(corpus), Path(index)), model or None)

    async def first_answer() -> float | None:
        async with app.run_test(size=(120, 40)) as pilot:
            app.screen.query_one(Input).value = question
            await pilot.press("enter")
            deadline = time.monotonic() + APP_TIMEOUT_S
            while time.monotonic() < deadline:
                if app.screen.query("#results ListItem"):
                    return time.time()
                await asyncio.sleep(0.005)
        return None

    answered = asyncio.run(first_answer())
    modules = sorted({name.split(".")[0] for name in sys.modules})
    print(json.dumps({"answered_at": answered, "modules": modules}))


def _percentile(seconds: Sequence[float], percent: float) -> float:
    """The percentile of durations in seconds, in milliseconds."""
    return percentile([value * 1000 for value in seconds], percent)


def _own_peak_rss_mb() -> float:
    """Peak resident memory of this process alone (VmHWM; getrusage would count its parent's peak from before exec)."""
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return _peak_rss_mb()[0]


def _peak_rss_mb() -> tuple[float, float]:
    """Peak resident memory of this process and of its largest child so far, in MB."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return round(own * scale / 2**20, 1), round(children * scale / 2**20, 1)


def synthesize(real: np.ndarray, count: int, rng: np.random.Generator, noise: float = NOISE) -> np.ndarray:
    """Unit vectors like `real`: a random blend of two real vectors plus noise shaped by their covariance."""
    dimension = real.shape[1]
    centred = real - real.mean(axis=0)
    shape = np.linalg.cholesky(np.cov(centred.T) + 1e-6 * np.eye(dimension)).astype(np.float32)
    out = np.empty((count, dimension), dtype=np.float32)
    for start in range(0, count, _BLOCK):
        size = min(_BLOCK, count - start)
        first, second = rng.integers(len(real), size=(2, size))
        weight = rng.uniform(0.6, 1.0, size=(size, 1)).astype(np.float32)
        blend = weight * real[first] + (1 - weight) * real[second]
        blend += noise * (rng.standard_normal((size, dimension), dtype=np.float32) @ shape.T)
        out[start : start + size] = blend / np.linalg.norm(blend, axis=1, keepdims=True)
    return out


def synthetic_texts(sentences: Sequence[str], count: int, rng: np.random.Generator) -> list[str]:
    """Passages of three to six real sentences drawn at random."""
    lengths = rng.integers(3, 7, size=count)
    picks = rng.integers(len(sentences), size=int(lengths.sum()))
    texts: list[str] = []
    offset = 0
    for length in lengths:
        texts.append(" ".join(sentences[i] for i in picks[offset : offset + length]))
        offset += length
    return texts


def recall_at(found: np.ndarray, truth: np.ndarray, k: int = RECALL_K) -> float:
    """Mean share of each query's true top k that the approximate top k found."""
    shares = [len(set(row[:k].tolist()) & set(exact[:k].tolist())) / k for row, exact in zip(found, truth, strict=True)]
    return float(np.mean(shares))


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int = RECALL_K) -> np.ndarray:
    """Row ids of each query's exact top k by inner product."""
    import faiss

    _, rows = faiss.knn(queries, vectors, k, metric=faiss.METRIC_INNER_PRODUCT)
    return np.asarray(rows)


def _real_samples(paths: Paths) -> tuple[np.ndarray, list[str]]:
    """Passage and sentence vectors of the benchmark index, and its sentences."""
    store = Store.open(paths.index)
    passages = store.passages(range(store.size))
    real = np.concatenate([np.asarray(store.vectors), np.asarray(store.sentence_vectors)]).astype(np.float32)
    store.close()
    return real, [passage.text[start:end] for passage in passages for start, end in passage.sentences]


def scale(
    real: np.ndarray,
    sentences: Sequence[str],
    questions: Sequence[str],
    sizes: Sequence[int],
    *,
    folder: Path,
    note: Note = lambda _: None,
) -> list[ScalePoint]:
    """Build and query synthetic corpora of each size; a tenth of `real` is held out to draw the queries from."""
    rng = np.random.default_rng(SEED)
    order = rng.permutation(len(real))
    held_out, seen = real[order[: max(1, len(real) // 10)]], real[order[max(1, len(real) // 10) :]]
    queries = synthesize(held_out, SCALE_QUERIES, rng)
    points: list[ScalePoint] = []
    for size in sizes:
        note(f"scale {size:,}: synthesising vectors, exact top {RECALL_K}")
        vectors = synthesize(seen, size, rng)
        truth = exact_top(vectors, queries)
        note(f"scale {size:,}: building the vector index")
        began = time.perf_counter()
        built, described = indexing.make_vector_index(vectors)
        build_s = time.perf_counter() - began
        del vectors
        note(f"scale {size:,}: building BM25")
        texts = synthetic_texts(sentences, size, rng)
        began = time.perf_counter()
        lexical = LexicalIndex.build(texts)
        lexical_s = time.perf_counter() - began
        del texts
        note(f"scale {size:,}: querying from a fresh process")
        place = folder / f"scale-{size}"
        measured = _probe_saved(place, built, described, lexical, queries=queries, truth=truth, questions=questions)
        points.append(
            ScalePoint(
                passages=size,
                build_s=round(build_s, 2),
                query_p50_ms=measured["query_p50_ms"],
                recall_at_10=measured["recall_at_10"],
                index_mb=measured["index_mb"],
                rss_mb=measured["rss_mb"],
                vector_index=described,
                lexical_build_s=round(lexical_s, 2),
                lexical_p50_ms=measured["lexical_p50_ms"],
            )
        )
        del built, lexical
    return points


def _probe_saved(
    folder: Path,
    built: Any,
    described: dict[str, Any],
    lexical: LexicalIndex,
    *,
    queries: np.ndarray,
    truth: np.ndarray,
    questions: Sequence[str],
) -> dict[str, Any]:
    """Save one size's indexes, query them from a fresh process as `qa ask` would load them, then delete them."""
    import faiss

    folder.mkdir(parents=True)
    faiss.write_index(built, str(folder / FAISS))
    lexical.save(folder / LEXICAL)
    np.save(folder / "queries.npy", queries)
    np.save(folder / "truth.npy", truth)
    settings = {"vector_index": described, "questions": list(questions), "passages": lexical.size}
    (folder / "probe.json").write_text(json.dumps(settings), encoding="utf-8")
    found = subprocess.run([sys.executable, "-c", _PROBE, str(folder)], check=True, capture_output=True, text=True)
    measured: dict[str, Any] = json.loads(found.stdout)
    measured["index_mb"] = round((folder / FAISS).stat().st_size / 2**20, 1)
    shutil.rmtree(folder)
    return measured


def probe(folder: str) -> None:
    """In a fresh process: load the saved indexes, query them one question at a time, print JSON figures."""
    import faiss

    place = Path(folder)
    settings = json.loads((place / "probe.json").read_text(encoding="utf-8"))
    vector_index = configure_vector_index(faiss.read_index(str(place / FAISS)), settings["vector_index"])
    lexical = LexicalIndex.load(place / LEXICAL, settings["passages"])
    queries, truth = np.load(place / "queries.npy"), np.load(place / "truth.npy")
    dense: list[float] = []
    rows = np.zeros((len(queries), RECALL_K), dtype=np.int64)
    for number, query in enumerate(queries):
        began = time.perf_counter()
        _, found = vector_index.search(query.reshape(1, -1), CANDIDATES)
        dense.append(time.perf_counter() - began)
        rows[number] = found[0, :RECALL_K]
    keyword: list[float] = []
    for question in settings["questions"]:
        began = time.perf_counter()
        scores = lexical.scores(question)
        np.argpartition(-scores, min(CANDIDATES, len(scores) - 1))[:CANDIDATES]
        keyword.append(time.perf_counter() - began)
    figures = {
        "query_p50_ms": round(_percentile(dense, 50), 3),
        "recall_at_10": round(recall_at(rows, truth), 4),
        "lexical_p50_ms": round(_percentile(keyword, 50), 3),
        "rss_mb": _own_peak_rss_mb(),
    }
    print(json.dumps(figures))
