"""Exported ONNX graphs of sentence-transformers models: found in the cache, else exported once with torch.

The cache holds, per weights checksum, `fp32.onnx` (the transformer, token vectors out) and optionally `int8.onnx`
(its dynamic int8 quantisation), each beside a JSON record of its own sha256. A record is written last, after the
graph is in place and has passed its probe, so a killed export leaves nothing that looks finished; a graph that fails
its sha256 check is exported again. Only `export` and `quantize` import torch, sentence-transformers or the
quantiser: opening a cached graph needs onnxruntime and tokenizers alone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.kernel.errors import ModelError
from qa.models.embedding import SentenceTransformerEmbedder, Span
from qa.models.onnx.graph import FP32, INPUTS, INT8, ModelLayout, OnnxModel, UnsupportedModelError, Warn, read_layout
from qa.models.onnx.runtime import THREADS, cache_dir, file_sha256, load_tokenizer, open_session, read_json

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

FORMAT = 1
OPSET = 17
PROBE_COSINE = 0.99999  # an fp32 export must give sentence-transformers' vectors
INT8_COSINE = 0.9  # a sanity floor for the quantised graph against the fp32 one (its quality is for qa eval)
# Measured on the essay (questions and passages) against fp32: quantising the matrix products per tensor gave a
# lowest cosine of 0.939, per channel 0.989; adding the token embedding table (Gather) costs little (0.984) and
# shrinks the file from 56 MB to 21 MB, so it loads faster.
INT8_OPERATORS = ("MatMul", "Gather")
_LONG = " ".join(
    ["Export controls on advanced chips were meant to slow progress, yet they spurred domestic work."] * 30
)
PROBE: tuple[str, ...] = (
    "Which company leads global chip foundries?",
    "TSMC is the global leader in foundries. Taiwan matters to every chip supply chain.",
    "There can be no winners in a US-China AI arms race.",
    "A",
    "",
    "Naïve café owners in São Paulo paid €1,200 (about $1,300) on 2025-01-21 — 42% more. 中文也可以吗？ 🙂",
    "What did the authors recommend? They argued for cooperation on safety standards, shared evaluations, and "
    "limits on autonomous weapons, rather than ever tighter export controls.",
    _LONG,  # longer than the 256-token limit: truncation must match
)
_SENTENCE = re.compile(r"[^.?!\s][^.?!]*[.?!]?")


def probe_spans(text: str) -> list[Span]:
    """The sentences of a probe text, as spans (those past the token limit exercise the re-embedding path)."""
    return [match.span() for match in _SENTENCE.finditer(text)]


class ExportError(Exception):
    """The model cannot be served on ONNX Runtime; the message (one line) says why."""


def cache_folder(digest: str) -> Path:
    """Where the exports of the weights with this checksum live."""
    return cache_dir() / "onnx" / digest


def open_model(reference: SentenceTransformerEmbedder, digest: str | None, variant: str, warn: Warn) -> OnnxModel:
    """The graph of this variant of the model whose weights have checksum `digest` on ONNX Runtime: from the cache,
    else exported (and quantised) now."""
    folder = reference.folder
    if folder is None:
        raise ExportError("a hub name has no local folder to export from; pass --model with a folder")
    if digest is None:
        raise ExportError(f"{folder} has no model.safetensors to key the export by")
    try:
        layout = read_layout(folder)
    except UnsupportedModelError as error:
        raise ExportError(str(error)) from error
    place = cache_folder(digest)
    found, problem = open_cached(place, variant, layout, digest)
    if found is not None:
        return found
    if problem is not None:
        warn(f"the cached ONNX model {place / (variant + '.onnx')} {problem}: exporting it again")
    with _locked(place):
        found, _ = open_cached(place, variant, layout, digest)  # another process may have exported it
        if found is not None:
            return found
        fp32 = None if variant == FP32 else open_cached(place, FP32, layout, digest)[0]
        if fp32 is None:
            fp32 = export(reference, digest, layout, place)
        return fp32 if variant == FP32 else quantize(fp32, layout, place, digest)


def open_cached(place: Path, variant: str, layout: ModelLayout, digest: str) -> tuple[OnnxModel | None, str | None]:
    """The cached graph, opened and checked; else None and, when a graph was there but is unusable, why."""
    record = read_json(place / f"{variant}.json")
    if record is None:
        return None, None
    expected = {"format": FORMAT, "variant": variant, "weights_sha256": digest, "dimension": layout.dimension}
    if any(record.get(key) != value for key, value in expected.items()) or not isinstance(record.get("sha256"), str):
        return None, "was exported from other weights or by another version of qa"
    try:
        return load(place / f"{variant}.onnx", record["sha256"], layout), None
    except ModelError as error:
        return None, "fails its sha256 check" if "sha256" in str(error) else f"is unusable ({error})"


def load(path: Path, sha256: str | None, layout: ModelLayout) -> OnnxModel:
    """An OnnxModel for a graph file, checked against its sha256 (None: not checked) and the model's layout: a
    session on every core for lone questions, and for batches a one-thread session opened on first need."""
    session = open_session(path, sha256, threads=THREADS)
    tokenizer = load_tokenizer(layout.tokenizer, layout.max_seq_length)
    model = OnnxModel(session, tokenizer, layout, open_batch_session=lambda: open_session(path, sha256, threads=1))
    (width,) = model.token_vectors([model.tokenizer.encode("probe")])[0].shape[2:]
    if width != layout.dimension:
        raise ModelError(f"model file {path} gives vectors of {width} dimensions, not {layout.dimension}")
    return model


@contextlib.contextmanager
def _locked(place: Path) -> Iterator[None]:
    """Hold the export lock of a cache folder (two processes never export into it at once)."""
    from filelock import FileLock

    try:
        place.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(place / ".lock"))
        lock.acquire()
    except OSError as error:
        raise ExportError(
            f"cannot write to the cache folder {place} ({error.strerror or type(error).__name__}); "
            "set QA_CACHE to a writable folder"
        ) from error
    try:
        yield
    finally:
        lock.release()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """No warnings, log lines or prints from the exporter or the quantiser: stdout may be `qa ask --json`'s."""
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(sys.stderr):
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(logging.NOTSET)


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:200]}" if text else type(error).__name__


def export(reference: SentenceTransformerEmbedder, digest: str, layout: ModelLayout, place: Path) -> OnnxModel:
    """Export the transformer with torch, check it against sentence-transformers on the probe texts, then keep it
    under the weights' checksum `digest`."""
    if reference.weights_sha256 != digest:  # hashed afresh: these are the weights about to be used
        raise ExportError(f"the weights in {reference.folder} changed while qa ran")
    model = reference.model  # imports torch; ModelError when even sentence-transformers cannot load it
    check_layout(model, layout)
    temporary = place / f".fp32.onnx.{os.getpid()}.tmp"
    try:
        try:
            torch_export(model, temporary)
            exported = load(temporary, None, layout)
        except (ExportError, KeyboardInterrupt):
            raise
        except Exception as error:  # torch, onnx and onnxruntime raise many types
            raise ExportError(f"export failed, {_one_line(error)}") from error
        lowest = verify(reference, exported)
        if lowest < PROBE_COSINE:
            raise ExportError(f"the exported graph's vectors differ from sentence-transformers' (cosine {lowest:.6f})")
        record = {"model": reference.name, "weights_sha256": digest, "dimension": layout.dimension}
        kept = _keep(temporary, place, FP32, record | {"probe_texts": len(PROBE), "probe_min_cosine": round(lowest, 7)})
    finally:
        temporary.unlink(missing_ok=True)
    with contextlib.suppress(AttributeError):  # the weights served their purpose: free them (torch stays imported)
        del reference.model
    return load(place / f"{FP32}.onnx", kept, layout)


def _keep(temporary: Path, place: Path, variant: str, record: dict[str, Any]) -> str:
    """Move a checked graph into place, then write its record (last: a record always names a whole graph); return
    the graph's sha256."""
    import json

    from qa.kernel.files import write_atomic

    with temporary.open("rb+") as handle:
        os.fsync(handle.fileno())
    digest = file_sha256(temporary)
    os.replace(temporary, place / f"{variant}.onnx")
    record = {"format": FORMAT, "variant": variant, "sha256": digest, "versions": _versions()} | record
    write_atomic(place / f"{variant}.json", json.dumps(record, indent=2, sort_keys=True))
    return digest


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found: dict[str, str] = {}
    for package in ("torch", "sentence-transformers", "onnxruntime", "tokenizers"):
        with contextlib.suppress(PackageNotFoundError):
            found[package] = version(package)
    return found


def check_layout(model: SentenceTransformer, layout: ModelLayout) -> None:
    """Refuse a folder whose configuration, as read here, differs from what sentence-transformers loaded."""
    kinds = [type(module).__name__ for module in model]
    pooling = model[1] if len(model) > 1 else None
    modes = getattr(pooling, "pooling_mode", None)
    loaded = (
        kinds,
        model.max_seq_length,
        (modes,) if isinstance(modes, str) else tuple(modes or ()),
        getattr(pooling, "embedding_dimension", getattr(pooling, "word_embedding_dimension", None)),
    )
    expected = (
        ["Transformer", "Pooling"] + (["Normalize"] if layout.normalize else []),
        layout.max_seq_length,
        layout.pooling,
        layout.dimension,
    )
    if loaded != expected:
        raise ExportError(f"sentence-transformers loads it as {loaded}, its configuration says {expected}")


def torch_export(model: SentenceTransformer, path: Path) -> None:
    """torch.onnx.export of the first module (the transformer): token vectors for any batch and length."""
    import torch

    transformer = model[0]
    sample = model.tokenizer(
        ["a probe text to trace the graph with", "a shorter one"], padding=True, return_tensors="pt"
    )
    names = [name for name in INPUTS if name in sample]

    class TokenVectors(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            return self.transformer(dict(zip(names, inputs, strict=True)))["token_embeddings"]  # type: ignore[no-any-return]

    axes = {name: {0: "batch", 1: "tokens"} for name in [*names, "token_vectors"]}
    with _quiet(), torch.no_grad():
        torch.onnx.export(
            TokenVectors().eval(),
            tuple(sample[name] for name in names),
            str(path),
            input_names=names,
            output_names=["token_vectors"],
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )


def verify(reference: SentenceTransformerEmbedder, exported: OnnxModel) -> float:
    """The lowest cosine between the exported graph's vectors and sentence-transformers' on the probe texts: one at
    a time and batched (padding), text and span vectors."""
    texts = list(PROBE)
    spans = [probe_spans(text) for text in texts]
    expected, expected_spans = reference.embed_spans(texts, spans)
    found, found_spans = exported.embed_spans(texts, spans)
    pairs = [
        (reference.embed(texts), exported.embed(texts)),
        (expected, found),
        (np.concatenate(expected_spans), np.concatenate(found_spans)),
        (reference.embed(texts[:1]), exported.embed(texts[:1])),
    ]
    return min(_lowest_cosine(first, second) for first, second in pairs)


def _lowest_cosine(first: np.ndarray, second: np.ndarray) -> float:
    if first.shape != second.shape:
        return -1.0
    norms = np.linalg.norm(first, axis=1) * np.linalg.norm(second, axis=1)
    return float(np.min(np.sum(first * second, axis=1) / np.maximum(norms, 1e-12)))


def quantize(fp32: OnnxModel, layout: ModelLayout, place: Path, digest: str) -> OnnxModel:
    """Quantise the fp32 graph's weights to int8 (dynamic quantisation, per channel, of its matrix products and token
    embedding table), check it against the fp32 graph, keep it."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    temporary = place / f".int8.onnx.{os.getpid()}.tmp"
    try:
        try:
            with _quiet():
                quantize_dynamic(
                    place / f"{FP32}.onnx",
                    temporary,
                    weight_type=QuantType.QInt8,
                    op_types_to_quantize=list(INT8_OPERATORS),
                    per_channel=True,
                )
            quantized = load(temporary, None, layout)
        except (ExportError, KeyboardInterrupt):
            raise
        except Exception as error:
            raise ExportError(f"int8 quantisation failed, {_one_line(error)}") from error
        texts = list(PROBE)
        lowest = _lowest_cosine(fp32.embed(texts), quantized.embed(texts))
        if lowest < INT8_COSINE:
            raise ExportError(f"the int8 graph's vectors are too far from fp32 (cosine {lowest:.4f})")
        record = {"weights_sha256": digest, "dimension": layout.dimension, "min_cosine_to_fp32": round(lowest, 5)}
        kept = _keep(temporary, place, INT8, record)
    finally:
        temporary.unlink(missing_ok=True)
    return load(place / f"{INT8}.onnx", kept, layout)
