"""Sentence-transformers models on ONNX Runtime: tokenizer, pooling and normalisation in NumPy, read from the model's
configuration, so serving needs neither torch nor sentence-transformers."""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from functools import cached_property

import numpy as np

from qa.kernel.errors import ModelError
from qa.models.embedding import (
    BATCH_SIZE,
    Progress,
    SentenceTransformerEmbedder,
    Span,
    checked_weights,
    remembered_weights_hash,
)
from qa.models.onnx.graph import FP32, INT8, VARIANT_TAG, OnnxModel, Warn, split_variant


def _print_warning(message: str) -> None:
    print(f"qa: warning: {message}", file=sys.stderr, flush=True)


class OnnxEmbedder:
    """A sentence-transformers model served by ONNX Runtime, so queries, builds and the app never import torch.

    The transformer is exported once per weights checksum, on first need, into the cache folder (see
    `export` beside it), checked against sentence-transformers before first use; pooling and normalisation follow the
    folder's configuration. Same `name` and `weights_sha256` as `SentenceTransformerEmbedder` for the same model, so
    indexes built by either open with the other. A model the ONNX path cannot serve is served by sentence-transformers
    after a one-line warning, passed to `warn` (default: stderr) and kept in `warnings`. `model` may end in ':int8'
    for the quantised graph: another name, so an int8 index refuses fp32 queries and the reverse.
    """

    def __init__(self, model: str | None = None, batch_size: int = BATCH_SIZE, warn: Warn | None = None) -> None:
        # batch_size: texts the engine hands over at a time (it holds the model for each handful, so a question
        # asked during a build waits at most that long); ONNX Runtime then runs them a few at a time
        base, self.variant = split_variant(model)
        self.reference = SentenceTransformerEmbedder(base, batch_size)
        self.name = self.reference.name + (VARIANT_TAG if self.variant == INT8 else "")
        self.folder = self.reference.folder
        self.batch_size = batch_size
        self.warnings: list[str] = []
        self._warn = warn or _print_warning
        self._backend: OnnxModel | SentenceTransformerEmbedder | None = None
        self._lock = threading.Lock()

    @cached_property
    def weights_sha256(self) -> str | None:
        """The checksum of the sentence-transformers weights, as the manifest keeps it (the bundled model's is
        checked); remembered by the file's size, times and inode, since this path serves the ONNX graph instead."""
        if self.folder is None:
            return None
        return checked_weights(self.reference.name, self.folder, remembered_weights_hash(self.folder))

    def warn(self, message: str) -> None:
        """Keep a warning and pass it on."""
        self.warnings.append(message)
        self._warn(message)

    @property
    def backend(self) -> OnnxModel | SentenceTransformerEmbedder:
        """The model that embeds: the ONNX graph (exported now if need be), else sentence-transformers."""
        with self._lock:
            if self._backend is None:
                self._backend = self._open()
            return self._backend

    @property
    def runtime(self) -> str:
        """What serves the model: 'onnxruntime' or 'sentence-transformers' (opens the model)."""
        return "onnxruntime" if isinstance(self.backend, OnnxModel) else "sentence-transformers"

    def _open(self) -> OnnxModel | SentenceTransformerEmbedder:
        from qa.models.onnx import export

        try:
            return export.open_model(self.reference, self.weights_sha256, self.variant, self.warn)
        except export.ExportError as error:
            if self.variant != FP32:
                raise ModelError(f"cannot run model {self.name!r}: {error}") from error
            self.warn(
                f"model {self.name!r} cannot run on ONNX Runtime ({error}); "
                "using sentence-transformers, which starts slower"
            )
            return self.reference

    def load(self) -> None:
        """Open the model now (exporting it first if need be) and take the slow first forward pass."""
        self.embed(["warm up"])

    @property
    def dimension(self) -> int:
        """Length of each vector."""
        return self.backend.dimension

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts as normalised float32 rows."""
        return self.backend.embed(texts)

    def embed_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[Span]], progress: Progress | None = None
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Embed texts and mean-pool their token vectors over each span, one forward pass per batch."""
        return self.backend.embed_spans(texts, spans, progress)


def make_embedder(model: str | None, warn: Warn | None = None) -> OnnxEmbedder:
    """The embedder for a --model value (None: the bundled model): ONNX Runtime, or sentence-transformers when the
    model cannot be exported."""
    return OnnxEmbedder(model, warn=warn)
