"""`qa bench --scale`: search at synthetic corpus sizes, built from real MiniLM vectors and sentences of the corpus,
in whichever store the benchmark index is kept (each backend builds and queries its own; see
`qa.index.stores.synthetic` for what they share)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from qa.index.stores.registry import backend_for
from qa.index.stores.synthetic import Note, ScalePoint
from qa.kernel.paths import Paths

SCALE_SIZES = (10_000, 100_000, 1_000_000)


def scale_points(
    paths: Paths, questions: Sequence[str], sizes: Sequence[int], folder: Path, note: Note = lambda _: None
) -> list[ScalePoint]:
    """Build and query synthetic corpora of each size like the benchmark index in `paths` (its store's own index),
    drawn from that index's vectors and sentences."""
    backend = backend_for(paths.store)
    real, sentences = backend.real_samples(paths)
    return backend.scale(real, sentences, questions, sizes, folder=folder, spec=paths.store, note=note)
