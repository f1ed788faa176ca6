"""The benchmark's own arithmetic and scale harness, at sizes that run in seconds (no timings asserted)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from qa.benchmarks import bench
from qa.benchmarks.bench import ModeLatency, Report
from qa.index.stores import shared, synthetic
from qa.index.stores.files import scaling, store, writing
from qa.index.stores.synthetic import ScalePoint
from qa.interfaces.cli import main, rendering
from tests.fakes import FakeEmbedder

REQUIRED = {
    "build_passages_per_s",
    "build_ratio",
    "noop_index_s",
    "query_p50_ms",
    "query_p95_ms",
    "query_ratio",
    "cold_ask_s",
    "cold_ratio",
    "status_s",
    "peak_rss_mb",
    "scale",
    "app_first_answer_s",
    "runtime",
}
SCALE_KEYS = {"passages", "build_s", "query_p50_ms", "recall_at_10", "index_mb", "rss_mb"}


def unit_rows(count: int, dimension: int = 16, seed: int = 0) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((count, dimension)).astype(np.float32)
    unit: np.ndarray = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    return unit


def test_recall_counts_shared_ids_of_the_top_k() -> None:
    truth = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])
    assert synthetic.recall_at(truth, truth, k=4) == 1.0
    found = np.array([[4, 3, 9, 9], [5, 6, 7, 9]])
    assert synthetic.recall_at(found, truth, k=4) == pytest.approx((2 / 4 + 3 / 4) / 2)
    assert synthetic.recall_at(found, truth, k=2) == pytest.approx((0 + 1) / 2)


def test_exact_top_matches_a_full_sort() -> None:
    vectors, queries = unit_rows(300), unit_rows(5, seed=1)
    expected = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    assert (synthetic.exact_top(vectors, queries) == expected).all()


def test_synthetic_vectors_are_unit_new_and_reproducible() -> None:
    real = unit_rows(50)
    first = synthetic.synthesize(real, 1_000, np.random.default_rng(3))
    assert first.shape == (1_000, 16) and first.dtype == np.float32
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    assert (first @ real.T).max() < 0.9999, "no row is a copy of a real vector"
    assert (first == synthetic.synthesize(real, 1_000, np.random.default_rng(3))).all()


def test_synthetic_texts_are_made_of_real_sentences() -> None:
    sentences = ["Alpha one.", "Beta two.", "Gamma three."]
    texts = synthetic.synthetic_texts(sentences, 20, np.random.default_rng(0))
    assert len(texts) == 20
    for text in texts:
        parts = [part + "." for part in text.removesuffix(".").split(". ")]
        assert 3 <= len(parts) <= 6 and set(parts) <= set(sentences)


def test_scale_harness_reports_exact_recall_below_the_threshold(tmp_path: Path) -> None:
    sentences = [f"Sentence number {i} talks about chips and compute." for i in range(40)]
    (point,) = scaling.scale(
        unit_rows(200, dimension=32), sentences, ["chips", "compute power"], [2_000], folder=tmp_path
    )
    assert point.passages == 2_000
    assert point.vector_index["kind"] == "flat"
    assert point.recall_at_10 == 1.0, "exact search finds the exact top 10"
    assert point.index_mb > 0 and point.rss_mb > 0
    assert not list(tmp_path.iterdir()), "the probe files are removed"


def test_approximate_index_records_and_reapplies_its_search_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    import faiss

    monkeypatch.setattr(shared, "APPROXIMATE_THRESHOLD", 1_000)
    built, described = writing.make_vector_index(unit_rows(6_000))
    assert described["kind"] == "ivf" and described["nlist"] == 128 and described["nprobe"] == 4
    reloaded = faiss.deserialize_index(faiss.serialize_index(built))
    faiss.extract_index_ivf(reloaded).nprobe = 1
    assert faiss.extract_index_ivf(store.configure_vector_index(reloaded, described)).nprobe == described["nprobe"]


def report(scale: tuple[ScalePoint, ...] = ()) -> Report:
    modes = tuple(
        ModeLatency(mode, 10.0 + i, 20.0 + i, 1.1 + i) for i, mode in enumerate(("hybrid", "dense", "lexical"))
    )
    return Report(
        machine=bench.machine(),
        passages=100,
        build_passages_per_s=50.0,
        bare_encode_passages_per_s=52.0,
        build_ratio=0.96,
        noop_index_s=0.3,
        bare_query_p50_ms=9.0,
        modes=modes,
        cold_ask_s=9.0,
        bare_cold_s=8.0,
        cold_ratio=1.125,
        status_s=0.3,
        peak_rss_mb=900.0,
        peak_children_rss_mb=800.0,
        scale=scale,
        app_first_answer_s=1.25,
        runtime="onnxruntime fp32",
    )


def test_json_has_the_promised_keys_with_hybrid_query_figures() -> None:
    point = ScalePoint(10_000, 0.5, 0.8, 1.0, 14.6, 120.0, {"kind": "flat"}, 2.0, 1.5)
    found = json.loads(json.dumps(report((point,)).as_json()))
    assert found.keys() >= REQUIRED
    assert (found["query_p50_ms"], found["query_p95_ms"], found["query_ratio"]) == (10.0, 20.0, 1.1)
    assert set(found["modes"]) == {"hybrid", "dense", "lexical"}
    assert found["scale"][0].keys() >= SCALE_KEYS


def test_table_shows_every_mode_and_the_scale_rows() -> None:
    point = ScalePoint(10_000, 0.5, 0.8, 0.97, 14.6, 120.0, {"kind": "ivf", "nprobe": 64}, 2.0, 1.5)
    table = rendering.render_bench(report((point,)))
    assert all(f"warm ask {mode} p50/p95" in table for mode in ("hybrid", "dense", "lexical"))
    assert "10,000" in table and "0.970" in table and "nprobe=64" in table
    assert "qa on onnxruntime fp32, bare on sentence-transformers" in table
    assert any(line.startswith("app launch to first answer, s") and "1.25" in line for line in table.splitlines())


def test_an_app_that_never_answered_shows_none() -> None:
    table = rendering.render_bench(dataclasses.replace(report(), app_first_answer_s=None))
    assert any(line.startswith("app launch to first answer") and " none " in line for line in table.splitlines())


def test_the_runtime_names_what_served_the_model() -> None:
    class Served:
        runtime = "onnxruntime"
        variant = "int8"

    assert bench.describe_runtime(Served()) == "onnxruntime int8"  # type: ignore[arg-type]
    assert bench.describe_runtime(FakeEmbedder()) == "sentence-transformers"


def test_sizes_without_scale_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main.run(["bench", "1000"]) == main.EXIT_USAGE
    assert "--scale" in capsys.readouterr().err
