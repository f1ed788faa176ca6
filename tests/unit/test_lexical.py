"""The BM25 index: built and written by bm25s, read back and scored with NumPy alone, with bm25s's very scores."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from qa.index.building import build
from qa.index.lexical import STOPWORDS, LexicalIndex, tokenize
from qa.index.stores.files.store import LEXICAL, Store
from qa.kernel.errors import IndexCorruptError
from qa.kernel.paths import Paths
from qa.kernel.progress import SilentReporter
from tests.fakes import FakeEmbedder
from tests.probes import probe

TEXTS = [
    "Taiwan's TSMC makes most of the world's advanced chips.",
    "Export controls on chips and chip-making tools tightened in 2022 and again in 2023.",
    "The essay argues that an arms race in AI has no winners, only risks for every side.",
    "Rogue groups and bad actors, not rival states, are the real threat the authors see.",
    "",
]
QUERIES = [
    "Who makes the world's advanced chips?",
    "chips chips export controls",  # a repeated term counts twice, as in bm25s
    "arms race winners",
    "zebra quantum",  # no indexed term
    "the and of",  # stop words only
]


@pytest.fixture
def written(tmp_path: Path) -> Path:
    LexicalIndex.build(TEXTS).save(tmp_path / "bm25")
    return tmp_path / "bm25"


def test_read_back_scores_are_bm25s_scores(written: Path) -> None:
    import bm25s

    reference = bm25s.BM25.load(str(written), mmap=True, show_progress=False)
    loaded = LexicalIndex.load(written, len(TEXTS))
    for query in QUERIES:
        ids = reference.get_tokens_ids(tokenize([query])[0])
        expected = reference.get_scores_from_ids(ids) if ids else np.zeros(len(TEXTS), dtype=np.float32)
        found = loaded.scores(query)
        assert found.dtype == np.float32 and found.shape == (len(TEXTS),)
        np.testing.assert_array_equal(found, expected[: len(TEXTS)], err_msg=query)  # to the bit
    assert loaded.scores("chips")[0] > 0 and loaded.scores("zebra").max() == 0


def test_read_back_index_scores_as_the_built_one(written: Path) -> None:
    built = LexicalIndex.build(TEXTS)
    loaded = LexicalIndex.load(written, len(TEXTS))
    for query in QUERIES:
        np.testing.assert_array_equal(loaded.scores(query), built.scores(query), err_msg=query)
    assert set(loaded.terms) == set(built.terms) and "chip" in loaded.terms


def test_stop_words_are_bm25s_english_ones() -> None:
    from bm25s.stopwords import STOPWORDS_EN

    assert frozenset(STOPWORDS_EN) == STOPWORDS
    assert tokenize(["The chips and the tools of Taiwan"]) == [["chip", "tool", "taiwan"]]


def test_querying_a_written_index_imports_neither_bm25s_nor_scipy(written: Path) -> None:
    found = probe(
        "import json, sys\n"
        "from pathlib import Path\n"
        "from qa.index.lexical import LexicalIndex\n"
        "index = LexicalIndex.load(Path(sys.argv[1]), int(sys.argv[2]))\n"
        "scores = index.scores('Who makes advanced chips?')\n"
        "print(json.dumps({'best': int(scores.argmax()), 'modules': sorted({m.split('.')[0] for m in sys.modules})}))",
        str(written),
        str(len(TEXTS)),
    )
    assert found["best"] == 0, "the probe really scored"
    assert "numpy" in found["modules"]
    assert not {"bm25s", "scipy"} & set(found["modules"])


def _write_vocabulary(folder: Path, terms: object) -> None:
    (folder / "vocab.index.json").write_text(json.dumps(terms), encoding="utf-8")


@pytest.mark.parametrize(
    "damage",
    [
        lambda folder: _write_vocabulary(folder, ["chip", "tool"]),  # not a mapping
        lambda folder: _write_vocabulary(folder, {"chip": 10_000}),  # a term beyond the matrix
        lambda folder: _write_vocabulary(folder, {"chip": -1}),
        lambda folder: np.save(folder / "indices.csc.index.npy", np.zeros(3, dtype=np.float32)),
        lambda folder: np.save(folder / "data.csc.index.npy", np.zeros(1, dtype=np.float32)),  # too short
        lambda folder: np.save(folder / "indptr.csc.index.npy", np.zeros(0, dtype=np.int32)),
    ],
)
def test_inconsistent_files_are_refused_at_load(written: Path, damage: Callable[[Path], object]) -> None:
    damage(written)
    with pytest.raises(ValueError, match=r"keyword index .* is inconsistent"):
        LexicalIndex.load(written, len(TEXTS))


@pytest.mark.parametrize("emptied", ["vocab.index.json", "indptr.csc.index.npy"])
def test_a_damaged_keyword_index_is_a_corrupt_index(
    essay_paths: Paths, fake_embedder: FakeEmbedder, emptied: str
) -> None:
    build(essay_paths, fake_embedder, SilentReporter())
    store = Store.open(essay_paths.index)
    try:
        (store.folder / LEXICAL / emptied).write_bytes(b"")
        with pytest.raises(IndexCorruptError, match=r"keyword index .* is unreadable"):
            store.lexical.scores("TSMC")
    finally:
        store.close()
