"""The ONNX Runtime path without torch: model layouts, pooling, the embedder over a tiny graph, and the export cache
(export itself stands in: it writes the tiny graph)."""

from __future__ import annotations

import itertools
import json
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qa.engine import engine
from qa.kernel.errors import ModelError
from qa.kernel.paths import Paths
from qa.kernel.progress import SilentReporter
from qa.models import embedding
from qa.models.embedding import DEFAULT_MODEL, SentenceTransformerEmbedder
from qa.models.onnx import export, graph, runtime
from qa.models.onnx.embedding import OnnxEmbedder
from qa.models.onnx.graph import (
    INT8,
    POOLING_MODES,
    ModelLayout,
    OnnxModel,
    UnsupportedModelError,
    pool,
    read_layout,
    split_variant,
)
from tests import onnx_fakes
from tests.fakes import FakeEmbedder, given
from tests.onnx_fakes import DIMENSION, model_folder, tiny_graph

TEXTS = [
    "TSMC is the global leader in foundries. Taiwan matters.",
    "Short one.",
    "Export controls are a fool's errand, the authors argue; cooperation on safety is the better course.",
]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return model_folder(tmp_path / "model")


@pytest.fixture
def exports(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Export without torch: the tiny graph is 'exported' and passes its checks; each export's file is listed."""
    made: list[Path] = []

    def fake_export(model: object, path: Path) -> None:
        made.append(path)
        tiny_graph(path)

    monkeypatch.setattr(export, "torch_export", fake_export)
    monkeypatch.setattr(export, "check_layout", lambda model, layout: None)
    monkeypatch.setattr(export, "verify", lambda reference, exported: 1.0)
    monkeypatch.setattr(SentenceTransformerEmbedder, "model", property(lambda self: "a model, no torch"))
    return made


def cache_files(digest: str) -> list[str]:
    place = export.cache_folder(digest)
    return sorted(path.name for path in place.iterdir()) if place.is_dir() else []


def by_hand(text: str, layout: ModelLayout) -> np.ndarray:
    """The tiny graph's mean-pooled, normalised vector of a text, computed without the graph."""
    tokenizer = runtime.load_tokenizer(layout.tokenizer, layout.max_seq_length)
    vector = onnx_fakes.table()[tokenizer.encode(text).ids].mean(axis=0)
    unit: np.ndarray = vector / np.linalg.norm(vector)
    return unit


def tiny_model(folder: Path, tmp_path: Path, batch_size: int = 2) -> OnnxModel:
    model = export.load(tiny_graph(tmp_path / "tiny.onnx"), None, read_layout(folder))
    model.batch_size = batch_size
    return model


# Variants and layouts


def test_split_variant() -> None:
    assert split_variant(None) == (None, "fp32")
    assert split_variant("some/model") == ("some/model", "fp32")
    assert split_variant("some/model:int8") == ("some/model", INT8)
    assert split_variant(":int8") == (None, INT8)


def test_layout_of_the_bundled_model_comes_from_its_configuration() -> None:
    layout = read_layout(embedding.bundled_model_path())
    assert layout == ModelLayout(embedding.bundled_model_path(), 256, ("mean",), True, 384)
    assert layout.output_dimension == 384 and layout.tokenizer.is_file()


def test_layout_reads_new_and_legacy_pooling_keys(tmp_path: Path) -> None:
    assert read_layout(model_folder(tmp_path / "a")).pooling == ("mean",)
    assert read_layout(model_folder(tmp_path / "b", pooling=["cls", "max"])).pooling == ("cls", "max")
    layout = read_layout(model_folder(tmp_path / "c", pooling="cls", normalize=False))
    assert (layout.pooling, layout.normalize, layout.output_dimension) == (("cls",), False, DIMENSION)


def test_layout_takes_the_shorter_limit_when_sentence_bert_config_sets_none(tmp_path: Path) -> None:
    folder = model_folder(tmp_path / "m")
    (folder / "sentence_bert_config.json").unlink()
    (folder / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 1e30}), encoding="utf-8")
    (folder / "config.json").write_text(json.dumps({"max_position_embeddings": 512}), encoding="utf-8")
    assert read_layout(folder).max_seq_length == 512
    (folder / "config.json").unlink()
    with pytest.raises(UnsupportedModelError, match="maximum sequence length"):
        read_layout(folder)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda folder: (folder / "modules.json").unlink(), "no modules.json"),
        (lambda folder: (folder / "tokenizer.json").unlink(), "no tokenizer.json"),
        (lambda folder: (folder / "modules.json").write_text("{", encoding="utf-8"), "unreadable"),
        (
            lambda folder: (folder / "sentence_bert_config.json").write_text('{"do_lower_case": true}', "utf-8"),
            "lower-cases",
        ),
        (
            lambda folder: (folder / "1_Pooling" / "config.json").write_text('{"pooling_mode": "odd"}', "utf-8"),
            "pooling",
        ),
        (
            lambda folder: (folder / "1_Pooling" / "config.json").write_text('{"pooling_mode": 1}', "utf-8"),
            "pooling",
        ),
    ],
)
def test_layouts_the_onnx_path_does_not_reproduce(folder: Path, change: object, message: str) -> None:
    assert callable(change)
    change(folder)
    with pytest.raises(UnsupportedModelError, match=message):
        read_layout(folder)


def test_extra_modules_are_not_reproduced(tmp_path: Path) -> None:
    folder = model_folder(tmp_path / "m", modules=["Transformer", "Pooling", "Dense", "Normalize"])
    with pytest.raises(UnsupportedModelError, match="Transformer \\+ Pooling \\+ Dense \\+ Normalize"):
        read_layout(folder)


# Pooling


def pool_by_hand(tokens: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    rows = []
    for vectors, real in zip(tokens, mask.astype(bool), strict=True):
        kept = vectors[real]
        positions = np.flatnonzero(real) + 1.0
        rows.append(
            {
                "cls": kept[0],
                "max": kept.max(axis=0),
                "mean": kept.mean(axis=0),
                "mean_sqrt_len_tokens": kept.sum(axis=0) / np.sqrt(len(kept)),
                "weightedmean": (kept * positions[:, None]).sum(axis=0) / positions.sum(),
                "lasttoken": kept[-1],
            }[mode]
        )
    return np.stack(rows)


@pytest.mark.parametrize("mode", POOLING_MODES)
def test_pooling_of_right_padded_batches_matches_row_by_row(mode: str) -> None:
    rng = np.random.default_rng(1)
    tokens = rng.standard_normal((4, 7, 5)).astype(np.float32)
    mask = np.zeros((4, 7), dtype=np.int64)
    for row, length in enumerate((7, 3, 1, 5)):
        mask[row, :length] = 1
    np.testing.assert_allclose(pool(tokens, mask, [mode]), pool_by_hand(tokens, mask, mode), rtol=1e-5, atol=1e-6)


def test_pooling_modes_concatenate_in_order() -> None:
    tokens = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    mask = np.ones((2, 3), dtype=np.int64)
    both = pool(tokens, mask, ["cls", "mean"])
    assert both.shape == (2, 8)
    np.testing.assert_allclose(both[:, :4], tokens[:, 0])
    np.testing.assert_allclose(both[:, 4:], tokens.mean(axis=1))


# The embedder over the tiny graph


def test_vectors_are_the_pooled_token_vectors(folder: Path, tmp_path: Path) -> None:
    model = tiny_model(folder, tmp_path)
    vectors = model.embed(TEXTS)
    assert vectors.shape == (3, DIMENSION) and vectors.dtype == np.float32
    for text, vector in zip(TEXTS, vectors, strict=True):
        np.testing.assert_allclose(vector, by_hand(text, model.layout), atol=1e-6)


def test_sorted_padded_batches_give_each_text_its_own_vector(folder: Path, tmp_path: Path) -> None:
    model = tiny_model(folder, tmp_path, batch_size=2)
    texts = [*TEXTS, "A", "Another text of middling length here."]
    np.testing.assert_allclose(model.embed(texts), np.concatenate([model.embed([text]) for text in texts]), atol=1e-6)
    assert model.embed([]).shape == (0, DIMENSION)


def test_span_vectors_pool_the_tokens_inside_each_span(folder: Path, tmp_path: Path) -> None:
    model = tiny_model(folder, tmp_path)
    spans = [[(0, 39), (40, 55)], [(0, 10)], [(0, 98)]]
    vectors, sentences = model.embed_spans(TEXTS, spans)
    np.testing.assert_allclose(vectors, model.embed(TEXTS), atol=1e-6)
    assert [block.shape for block in sentences] == [(2, DIMENSION), (1, DIMENSION), (1, DIMENSION)]
    for text, text_spans, block in zip(TEXTS, spans, sentences, strict=True):
        for (start, end), vector in zip(text_spans, block, strict=True):
            # Context-free token vectors: the span's tokens are those of the sentence alone, minus [CLS] and [SEP].
            tokenizer = model.tokenizer
            ids = tokenizer.encode(text[start:end], add_special_tokens=False).ids
            expected = onnx_fakes.table()[ids].mean(axis=0)
            np.testing.assert_allclose(vector, expected / np.linalg.norm(expected), atol=1e-5)


def test_spans_cut_off_by_the_token_limit_are_embedded_alone(folder: Path, tmp_path: Path) -> None:
    model = tiny_model(folder, tmp_path)
    text = " ".join(["Chips matter."] * 150) + " The last sentence."
    end = len(text)
    steps: list[int] = []
    _, (block,) = model.embed_spans([text], [[(0, 13), (end - 18, end)]], steps.append)
    np.testing.assert_allclose(block[1], model.embed(["The last sentence."])[0], atol=1e-6)
    assert steps == [1]


def test_batches_run_on_several_threads_with_the_same_vectors(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tiny_model(folder, tmp_path, batch_size=1)
    texts = [f"Text number {i} with {'many ' * i}words." for i in range(40)]
    spans = [[(0, len(text))] for text in texts]
    monkeypatch.setattr(graph, "WINDOW", 2)  # several windows of batches
    threads: set[str] = set()
    run = model.token_vectors
    meeting = threading.Barrier(2, timeout=30)  # the first two batches wait for each other: two threads or a failure
    calls = itertools.count()

    def noting(encodings: Any, session: Any = None) -> tuple[np.ndarray, np.ndarray]:
        threads.add(threading.current_thread().name)
        if next(calls) < 2:
            meeting.wait()
        return run(encodings, session)

    monkeypatch.setattr(model, "token_vectors", noting)
    vectors, sentences = model.embed_spans(texts, spans)
    assert len(threads) == 2 and all(name.startswith("qa-onnx") for name in threads)
    model.workers = 1
    threads.clear()
    alone, alone_sentences = model.embed_spans(texts, spans)
    assert threads == {threading.current_thread().name}
    np.testing.assert_allclose(vectors, alone, atol=1e-6)
    np.testing.assert_allclose(np.concatenate(sentences), np.concatenate(alone_sentences), atol=1e-6)
    np.testing.assert_allclose(vectors, np.concatenate([model.embed([text]) for text in texts]), atol=1e-6)


def test_a_lone_text_runs_on_the_main_session_and_batches_on_their_own(folder: Path, tmp_path: Path) -> None:
    graph = tiny_graph(tmp_path / "tiny.onnx")
    opened: list[Any] = []

    def open_batch() -> Any:
        opened.append(runtime.open_session(graph, None, threads=1))
        return opened[-1]

    layout = read_layout(folder)
    model = OnnxModel(
        runtime.open_session(graph, None, threads=2),
        runtime.load_tokenizer(layout.tokenizer, 256),
        layout,
        open_batch_session=open_batch,
    )
    lone = model.embed(["one question"])
    assert opened == []
    both = model.embed(["two", "one question"])
    model.embed_spans(["and", "more", "texts"], [[(0, 3)], [], []])
    assert len(opened) == 1 and model.batch_session is opened[0]
    np.testing.assert_allclose(both[1], lone[0], atol=1e-6)


def test_a_graph_with_other_inputs_is_refused(folder: Path, tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["pixels"], ["out"])],
        "other",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(tmp_path / "other.onnx"))
    with pytest.raises(ModelError, match="inputs"):
        export.load(tmp_path / "other.onnx", None, read_layout(folder))


# Export, cache and fallback


def test_first_use_exports_once_and_later_uses_the_cache(folder: Path, exports: list[Path]) -> None:
    first = OnnxEmbedder(str(folder), warn=pytest.fail)
    vectors = first.embed(TEXTS)
    assert first.runtime == "onnxruntime" and len(exports) == 1
    digest = first.weights_sha256
    assert digest is not None
    assert cache_files(digest) == [".lock", "fp32.json", "fp32.onnx"], "no temporary file is left"
    record = json.loads((export.cache_folder(digest) / "fp32.json").read_text(encoding="utf-8"))
    assert record["sha256"] == runtime.file_sha256(export.cache_folder(digest) / "fp32.onnx")
    assert (record["weights_sha256"], record["variant"], record["dimension"]) == (digest, "fp32", DIMENSION)
    second = OnnxEmbedder(str(folder), warn=pytest.fail)
    np.testing.assert_allclose(second.embed(TEXTS), vectors)
    assert len(exports) == 1 and not second.warnings


def test_the_cache_folder_follows_qa_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_CACHE", str(tmp_path / "elsewhere"))
    assert runtime.cache_dir() == tmp_path / "elsewhere"
    monkeypatch.delenv("QA_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert runtime.cache_dir() == tmp_path / "xdg" / "qa"


def test_same_name_and_weights_as_sentence_transformers() -> None:
    onnx, reference = OnnxEmbedder(), SentenceTransformerEmbedder()
    assert (
        (onnx.name, onnx.weights_sha256)
        == (reference.name, reference.weights_sha256)
        == (
            DEFAULT_MODEL,
            embedding.BUNDLED_SHA256,
        )
    )
    assert OnnxEmbedder(":int8").name == DEFAULT_MODEL + ":int8"
    assert OnnxEmbedder(":int8").weights_sha256 == embedding.BUNDLED_SHA256


def test_a_corrupt_cached_graph_is_exported_again_after_one_warning(folder: Path, exports: list[Path]) -> None:
    digest = OnnxEmbedder(str(folder)).weights_sha256
    assert digest is not None
    vectors = OnnxEmbedder(str(folder)).embed(TEXTS)
    graph = export.cache_folder(digest) / "fp32.onnx"
    data = bytearray(graph.read_bytes())
    data[len(data) // 2] ^= 0xFF
    graph.write_bytes(bytes(data))
    again = OnnxEmbedder(str(folder), warn=lambda message: None)
    np.testing.assert_allclose(again.embed(TEXTS), vectors)
    assert len(exports) == 2
    (warning,) = again.warnings
    assert "fails its sha256 check: exporting it again" in warning and "\n" not in warning
    assert OnnxEmbedder(str(folder), warn=pytest.fail).embed(TEXTS).shape == (3, DIMENSION)


@pytest.mark.parametrize(
    "record",
    [{"weights_sha256": "0" * 64}, {"format": 0}, {"dimension": 3}, {"sha256": None}],
)
def test_a_foreign_record_is_exported_again(folder: Path, exports: list[Path], record: dict[str, object]) -> None:
    embedder = OnnxEmbedder(str(folder))
    embedder.embed(TEXTS)
    assert embedder.weights_sha256 is not None
    path = export.cache_folder(embedder.weights_sha256) / "fp32.json"
    path.write_text(json.dumps(json.loads(path.read_text(encoding="utf-8")) | record), encoding="utf-8")
    again = OnnxEmbedder(str(folder), warn=lambda message: None)
    again.embed(TEXTS)
    assert len(exports) == 2 and len(again.warnings) == 1


def test_a_graph_without_its_record_counts_as_not_exported(folder: Path, exports: list[Path]) -> None:
    embedder = OnnxEmbedder(str(folder))
    assert embedder.weights_sha256 is not None
    place = export.cache_folder(embedder.weights_sha256)
    place.mkdir(parents=True)
    (place / "fp32.onnx").write_bytes(b"half a graph from a killed export")
    embedder.embed(TEXTS)
    assert len(exports) == 1 and not embedder.warnings


def test_a_failed_export_falls_back_to_sentence_transformers_with_one_warning(
    folder: Path, exports: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(model: object, path: Path) -> None:
        path.write_bytes(b"partial")
        raise RuntimeError("unsupported operator aten::something\nwith a long traceback")

    monkeypatch.setattr(export, "torch_export", broken)
    said: list[str] = []
    embedder = OnnxEmbedder(str(folder), warn=said.append)
    assert embedder.backend is embedder.reference
    assert embedder.runtime == "sentence-transformers"
    (warning,) = said
    assert "\n" not in warning and "RuntimeError: unsupported operator aten::something" in warning
    assert "using sentence-transformers" in warning
    assert embedder.warnings == said
    assert embedder.weights_sha256 is not None
    assert cache_files(embedder.weights_sha256) == [".lock"], "nothing half-written is left"


def test_vectors_that_differ_from_sentence_transformers_are_not_kept(
    folder: Path, exports: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export, "verify", lambda reference, exported: 0.9991)
    said: list[str] = []
    embedder = OnnxEmbedder(str(folder), warn=said.append)
    assert embedder.backend is embedder.reference
    assert "cosine 0.999100" in said[0]
    assert embedder.weights_sha256 is not None
    assert cache_files(embedder.weights_sha256) == [".lock"]


def test_unsupported_folders_and_hub_names_fall_back_without_torch(tmp_path: Path) -> None:
    dense = model_folder(tmp_path / "dense", modules=["Transformer", "Pooling", "Dense"])
    for model, reason in ((str(dense), "Dense"), ("org/a-hub-model", "--model with a folder")):
        said: list[str] = []
        embedder = OnnxEmbedder(model, warn=said.append)
        assert embedder.backend is embedder.reference
        assert len(said) == 1 and reason in said[0]


def test_an_unwritable_cache_falls_back_and_says_how_to_fix_it(
    folder: Path, exports: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("QA_CACHE", str(blocker))
    said: list[str] = []
    embedder = OnnxEmbedder(str(folder), warn=said.append)
    assert embedder.backend is embedder.reference
    assert "set QA_CACHE to a writable folder" in said[0]


def test_int8_never_falls_back(folder: Path, exports: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export, "verify", lambda reference, exported: 0.5)
    with pytest.raises(ModelError, match=r"cannot run model .*:int8"):
        OnnxEmbedder(f"{folder}:int8", warn=pytest.fail).embed(TEXTS)


def test_int8_is_quantised_from_the_fp32_graph(folder: Path, exports: list[Path]) -> None:
    fp32 = OnnxEmbedder(str(folder))
    int8 = OnnxEmbedder(f"{folder}:int8", warn=pytest.fail)
    assert int8.name == fp32.name + ":int8" and int8.weights_sha256 == fp32.weights_sha256
    found = int8.embed(TEXTS)
    assert len(exports) == 1, "the fp32 graph is exported once, then quantised"
    assert fp32.weights_sha256 is not None
    assert cache_files(fp32.weights_sha256) == [".lock", "fp32.json", "fp32.onnx", "int8.json", "int8.onnx"]
    assert (found * fp32.embed(TEXTS)).sum(axis=1).min() > export.INT8_COSINE
    again = OnnxEmbedder(f"{folder}:int8", warn=pytest.fail)
    np.testing.assert_allclose(again.embed(TEXTS), found)
    assert len(exports) == 1


def test_warnings_go_to_stderr_on_one_line_by_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    OnnxEmbedder("org/a-hub-model").backend  # noqa: B018
    err = capsys.readouterr().err
    assert err.startswith("qa: warning: model 'org/a-hub-model' cannot run on ONNX Runtime")
    assert err.count("\n") == 1


def test_the_default_factory_serves_the_bundled_model_on_onnx_runtime() -> None:
    made = engine.default_embedder(None)
    assert isinstance(made, OnnxEmbedder) and made.variant == "fp32"
    assert isinstance(engine.default_embedder(":int8"), OnnxEmbedder)


def test_weights_checksums_are_remembered_by_file_identity(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hashed: list[Path] = []
    real = embedding.weights_hash

    def counting(path: Path) -> str | None:
        hashed.append(path)
        return real(path)

    monkeypatch.setattr(embedding, "weights_hash", counting)
    first = embedding.remembered_weights_hash(folder)
    assert first == real(folder) and embedding.remembered_weights_hash(folder) == first
    assert len(hashed) == 1
    (folder / "model.safetensors").write_bytes(b"other weights, same folder")
    assert embedding.remembered_weights_hash(folder) == real(folder) != first
    assert len(hashed) == 2


def test_the_engine_passes_loading_warnings_to_its_reporter(essay_paths: Paths) -> None:
    class Warned(FakeEmbedder):
        def __init__(self) -> None:
            super().__init__()
            self.warnings: list[str] = []

        def load(self) -> None:
            self.warnings.append("model X cannot run on ONNX Runtime; using sentence-transformers")

    made = engine.Engine(essay_paths, make_embedder=given(Warned()))
    reporter = SilentReporter()
    made.load_model(reporter)
    assert reporter.warnings == ["model X cannot run on ONNX Runtime; using sentence-transformers"]
    assert made.load_model(reporter) == 0.0 and len(reporter.warnings) == 1, "said once, when loading"
