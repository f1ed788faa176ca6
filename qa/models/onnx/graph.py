"""An exported sentence-transformers transformer on ONNX Runtime: the model folder's layout (tokenizer, pooling,
normalisation) read from its configuration, and the forward passes, pooled in NumPy."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.kernel.errors import ModelError
from qa.models.embedding import (
    Progress,
    Span,
    fill_missing,
    pool_spans,
)

if TYPE_CHECKING:
    import onnxruntime
    from tokenizers import Encoding, Tokenizer

FP32 = "fp32"
INT8 = "int8"
VARIANT_TAG = ":int8"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
POOLING_MODES = ("cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken")
_LEGACY_POOLING = {  # sentence-transformers' older boolean keys, in its concatenation order
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}
_NO_LIMIT = 100_000  # tokenizer_config.json says 1e30 when it sets no limit
FORWARD_BATCH = 4  # texts per forward pass on ONNX Runtime (see OnnxModel)
FORWARD_WORKERS = 2  # forward passes at once: this project's machines have two cores
WINDOW = 8  # batches per worker computed ahead of the caller, which bounds the memory of token vectors
Warn = Callable[[str], None]


def split_variant(model: str | None) -> tuple[str | None, str]:
    """The --model value without a trailing ':int8', and the variant it asks for (fp32 or int8); ':int8' alone means
    the bundled model in int8."""
    if model is not None and model.endswith(VARIANT_TAG):
        return model[: -len(VARIANT_TAG)] or None, INT8
    return model, FP32


class UnsupportedModelError(ModelError):
    """A model folder whose pipeline the ONNX path does not reproduce (sentence-transformers serves it instead)."""


@dataclass(frozen=True)
class ModelLayout:
    """What a sentence-transformers folder does around its transformer, as its configuration files say."""

    transformer: Path  # the folder holding tokenizer.json and the transformer's config.json
    max_seq_length: int
    pooling: tuple[str, ...]
    normalize: bool
    dimension: int  # width of one token vector

    @property
    def output_dimension(self) -> int:
        """Width of one text vector (pooling modes are concatenated)."""
        return self.dimension * len(self.pooling)

    @property
    def tokenizer(self) -> Path:
        """The model's own fast-tokenizer file."""
        return self.transformer / "tokenizer.json"


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise UnsupportedModelError(f"{path} is unreadable ({type(error).__name__})") from error


def read_layout(folder: Path) -> ModelLayout:
    """The layout of a sentence-transformers folder: Transformer, Pooling and an optional Normalize, nothing else."""
    modules = _read_json(folder / "modules.json")
    if not isinstance(modules, list) or not modules:
        raise UnsupportedModelError(f"{folder} has no modules.json")
    kinds = [str(module.get("type", "")).rsplit(".", 1)[-1] if isinstance(module, dict) else "" for module in modules]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise UnsupportedModelError(f"its modules are {' + '.join(kinds)}, not Transformer + Pooling (+ Normalize)")
    transformer = folder / str(modules[0].get("path", ""))
    settings = _read_json(transformer / "sentence_bert_config.json") or {}
    if settings.get("do_lower_case"):
        raise UnsupportedModelError("its sentence_bert_config.json lower-cases texts")
    limit = settings.get("max_seq_length")
    if not isinstance(limit, int):
        tokenizer_limit = (_read_json(transformer / "tokenizer_config.json") or {}).get("model_max_length")
        positions = (_read_json(transformer / "config.json") or {}).get("max_position_embeddings")
        limits = [value for value in (tokenizer_limit, positions) if isinstance(value, int) and value < _NO_LIMIT]
        if not limits:
            raise UnsupportedModelError("its configuration sets no maximum sequence length")
        limit = min(limits)
    if not (transformer / "tokenizer.json").is_file():
        raise UnsupportedModelError(f"{transformer} has no tokenizer.json")
    pooling = _read_json(folder / str(modules[1].get("path", "")) / "config.json")
    if not isinstance(pooling, dict):
        raise UnsupportedModelError("its Pooling module has no config.json")
    dimension = pooling.get("embedding_dimension", pooling.get("word_embedding_dimension"))
    mode = pooling.get("pooling_mode")
    if mode is None:
        modes = tuple(name for key, name in _LEGACY_POOLING.items() if pooling.get(key)) or ("mean",)
    else:
        modes = (mode,) if isinstance(mode, str) else tuple(mode) if isinstance(mode, list) else ()
    if not isinstance(dimension, int) or not modes or not set(modes) <= set(POOLING_MODES):
        raise UnsupportedModelError(f"its pooling ({mode or 'legacy keys'}, dimension {dimension}) is not supported")
    return ModelLayout(transformer, limit, modes, kinds[-1] == "Normalize", dimension)


def pool(tokens: np.ndarray, mask: np.ndarray, modes: Sequence[str]) -> np.ndarray:
    """Text vectors from token vectors (texts, tokens, width) and their attention mask, as sentence-transformers'
    Pooling computes them (right padding), modes concatenated in order."""
    weights = mask.astype(np.float32)[..., None]
    rows = np.arange(len(tokens))
    parts: list[np.ndarray] = []
    for mode in modes:
        if mode == "cls":
            parts.append(tokens[rows, mask.argmax(axis=1)])
        elif mode == "max":
            parts.append(np.where(weights > 0, tokens, -np.inf).max(axis=1))
        elif mode in ("mean", "mean_sqrt_len_tokens"):
            total = tokens.sum(axis=1) if mask.all() else np.einsum("btd,bt->bd", tokens, weights[..., 0])
            count = np.maximum(weights.sum(axis=1), 1e-9)
            parts.append(total / (count if mode == "mean" else np.sqrt(count)))
        elif mode == "weightedmean":
            weighted = weights * np.arange(1, tokens.shape[1] + 1, dtype=np.float32)[None, :, None]
            parts.append((tokens * weighted).sum(axis=1) / np.maximum(weighted.sum(axis=1), 1e-9))
        elif mode == "lasttoken":
            parts.append(tokens[rows, mask.shape[1] - 1 - mask[:, ::-1].argmax(axis=1)])
        else:
            raise UnsupportedModelError(f"pooling mode {mode!r} is not supported")
    return np.concatenate(parts, axis=1).astype(np.float32, copy=False)


def normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as torch.nn.functional.normalize does."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    scaled: np.ndarray = (vectors / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)
    return scaled


class OnnxModel:
    """An exported transformer on ONNX Runtime, with its folder's tokenizer and pooling: texts in, vectors out.

    A lone text (a question) runs on `session`, whose threads share the forward pass. Many texts are sorted by
    length and run a few at a time (`batch_size`), `workers` forward passes at once, on the one-thread session
    `open_batch_session` opens on first need (`session` when not given). Measured on this 2-core machine: one-thread
    forward passes of 2-4 texts cost 13-14 ms of CPU per passage, against 18 ms for batches of 32 sorted by length,
    33 ms for the unsorted batches of 32 the engine hands over, and 25 ms for batches of 4 on a two-thread session;
    a question takes 2.8 ms on two threads against 4.5 ms on one. Not thread-safe: the engine lets one thread at a
    time use the model.
    """

    def __init__(
        self,
        session: onnxruntime.InferenceSession,
        tokenizer: Tokenizer,
        layout: ModelLayout,
        batch_size: int = FORWARD_BATCH,
        workers: int = FORWARD_WORKERS,
        open_batch_session: Callable[[], onnxruntime.InferenceSession] | None = None,
    ) -> None:
        self.session = session
        self.layout = layout
        self.batch_size = batch_size
        self.workers = workers
        self._open_batch_session = open_batch_session
        self._batch_session: onnxruntime.InferenceSession | None = None if open_batch_session else session
        padding = tokenizer.padding
        self._pad_id = int(padding["pad_id"]) if padding else 0
        tokenizer.no_padding()  # batches are padded here, after sorting by length
        self.tokenizer = tokenizer
        names = [found.name for found in session.get_inputs()]
        if not set(names) <= set(INPUTS) or "input_ids" not in names:
            raise ModelError(f"the ONNX graph takes inputs {names}, not {list(INPUTS)}")
        self._inputs = names
        self._output = session.get_outputs()[0].name

    @property
    def dimension(self) -> int:
        """Length of each vector."""
        return self.layout.output_dimension

    @property
    def batch_session(self) -> onnxruntime.InferenceSession:
        """The session for batches, opened on first need (a process that only answers questions never opens it)."""
        if self._batch_session is None:
            assert self._open_batch_session is not None
            self._batch_session = self._open_batch_session()
        return self._batch_session

    def _encode(self, texts: Sequence[str]) -> list[Encoding]:
        if len(texts) == 1:
            return [self.tokenizer.encode(texts[0])]
        return list(self.tokenizer.encode_batch(list(texts)))

    def token_vectors(
        self, encodings: Sequence[Encoding], session: onnxruntime.InferenceSession | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Token vectors (texts, tokens, width) of right-padded encodings, and their attention mask (computed by
        `session`, else the lone-text one)."""
        width = max(len(encoding.ids) for encoding in encodings)
        arrays = {
            "input_ids": np.full((len(encodings), width), self._pad_id, dtype=np.int64),
            "attention_mask": np.zeros((len(encodings), width), dtype=np.int64),
            "token_type_ids": np.zeros((len(encodings), width), dtype=np.int64),
        }
        for row, encoding in enumerate(encodings):
            size = len(encoding.ids)
            arrays["input_ids"][row, :size] = encoding.ids
            arrays["attention_mask"][row, :size] = encoding.attention_mask
            arrays["token_type_ids"][row, :size] = encoding.type_ids
        found = session or self.session
        (tokens,) = found.run([self._output], {name: arrays[name] for name in self._inputs})
        return np.asarray(tokens, dtype=np.float32), arrays["attention_mask"]

    def text_vectors(self, tokens: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Pooled (and, as the folder says, normalised) text vectors; always unit length, as every Embedder's."""
        vectors = pool(tokens, mask, self.layout.pooling)
        return normalize(normalize(vectors) if self.layout.normalize else vectors)

    def _forward(self, encodings: Sequence[Encoding]) -> Iterator[tuple[list[int], np.ndarray, np.ndarray]]:
        """Each batch of rows (longest texts first) with its token vectors and mask, computed `workers` at a time
        (the session releases the GIL), a bounded window ahead of the caller."""
        order = sorted(range(len(encodings)), key=lambda row: -len(encodings[row].ids))
        batches = [order[start : start + self.batch_size] for start in range(0, len(order), self.batch_size)]
        if len(encodings) == 1:
            yield (order, *self.token_vectors(encodings))
            return
        session = self.batch_session
        if self.workers <= 1 or len(batches) <= 1:
            for batch in batches:
                yield (batch, *self.token_vectors([encodings[row] for row in batch], session))
            return
        window = self.workers * WINDOW
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="qa-onnx") as pool:
            for start in range(0, len(batches), window):
                part = batches[start : start + window]
                found = pool.map(lambda batch: self.token_vectors([encodings[row] for row in batch], session), part)
                for batch, (tokens, mask) in zip(part, found, strict=True):
                    yield batch, tokens, mask

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts as normalised float32 rows."""
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return vectors
        for batch, tokens, mask in self._forward(self._encode(texts)):
            vectors[batch] = self.text_vectors(tokens, mask)
        return vectors

    def embed_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[Span]], progress: Progress | None = None
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Embed texts and mean-pool their token vectors over each span, one forward pass per batch."""
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        pooled: list[np.ndarray] = [np.zeros((len(s), self.layout.dimension), dtype=np.float32) for s in spans]
        if not texts:
            return vectors, pooled
        encodings = self._encode(texts)
        missing: list[tuple[int, int]] = []
        for batch, tokens, mask in self._forward(encodings):
            vectors[batch] = self.text_vectors(tokens, mask)
            for row, text_index in enumerate(batch):
                offsets = encodings[text_index].offsets
                missing.extend(pool_spans(tokens[row], offsets, spans[text_index], pooled[text_index], text_index))
            if progress:
                progress(len(batch))
        fill_missing(self.embed, texts, spans, pooled, missing)
        return vectors, pooled
