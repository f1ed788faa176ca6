"""The answer verifier: its input text, loading checks (missing, corrupt, wrong sha256), the engine seam, and how
retrieval uses it (with a fake verifier; the shipped model in `model` tests)."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from qa.answering import answerability
from qa.answering.answerability import Check
from qa.answering.retrieval import Searcher, Settings, abstention_reason, ordering_scores
from qa.documents.chunking import Passage
from qa.engine.engine import Engine
from qa.index.building import build
from qa.index.stores.files.store import Store
from qa.kernel.errors import ModelError
from qa.kernel.paths import Paths
from qa.kernel.progress import SilentReporter
from qa.models.verifier import model as verifier
from qa.models.verifier.model import Candidate, OnnxVerifier, pair_text
from tests.fakes import FakeEmbedder, FakeVerifier, given


def test_pair_text_puts_the_sentence_first_then_title_and_neighbours() -> None:
    text = pair_text(Candidate("It opened in 1850.", "The lighthouse stands on the pier.", "It is white.", "Port"))
    assert text == "It opened in 1850. [SEP] Port: The lighthouse stands on the pier. ... It is white."
    assert pair_text(Candidate("Alone.")) == "Alone."
    long = " ".join(f"w{n}" for n in range(100))
    cut = pair_text(Candidate("S.", long, long))
    assert cut.count("w") == 2 * verifier.CONTEXT_WORDS
    assert verifier.question_text(long).split() == long.split()[: verifier.QUESTION_WORDS]


def test_calibrated_is_a_probability() -> None:
    probabilities = verifier.calibrated(np.array([-50.0, 0.0, 50.0]), None, 1.0, 0.0)
    assert probabilities.tolist() == pytest.approx([0.0, 0.5, 1.0])


def _copy_model(tmp_path: Path) -> Path:
    folder = tmp_path / "verifier"
    shutil.copytree(verifier.MODEL_DIR, folder)
    return folder


def test_missing_model_is_a_one_line_error_naming_the_file_and_the_fix(tmp_path: Path) -> None:
    scorer = OnnxVerifier(tmp_path / "nowhere")
    with pytest.raises(ModelError) as caught:
        scorer.verify("q?", [Candidate("s.")])
    message = str(caught.value)
    assert "\n" not in message
    assert str(tmp_path / "nowhere" / verifier.MODEL_FILE) in message
    assert "missing" in message and "training.verifier.train" in message


def test_corrupt_model_fails_its_sha256_check(tmp_path: Path) -> None:
    folder = _copy_model(tmp_path)
    model = folder / verifier.MODEL_FILE
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="sha256"):
        OnnxVerifier(folder).load()


def test_unreadable_model_without_a_checksum_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "verifier"
    folder.mkdir()
    (folder / verifier.MODEL_FILE).write_bytes(b"not an onnx graph")
    shutil.copy(verifier.MODEL_DIR / verifier.TOKENIZER_FILE, folder / verifier.TOKENIZER_FILE)
    with pytest.raises(ModelError, match="not a usable ONNX graph"):
        OnnxVerifier(folder, sha256=None).load()


def test_missing_tokenizer_is_named(tmp_path: Path) -> None:
    folder = _copy_model(tmp_path)
    (folder / verifier.TOKENIZER_FILE).unlink()
    with pytest.raises(ModelError, match=r"tokenizer .*tokenizer\.json is missing"):
        OnnxVerifier(folder).load()


def test_shipped_files_match_the_recorded_checksum() -> None:
    from qa.models.onnx.runtime import file_sha256

    model = verifier.MODEL_DIR / verifier.MODEL_FILE
    assert model.stat().st_size <= 30_000_000
    assert file_sha256(model) == verifier.MODEL_SHA256
    assert (verifier.MODEL_DIR / "model_card.md").is_file()


@pytest.fixture
def essay_store(essay_paths: Paths) -> Iterator[Store]:
    build(essay_paths, FakeEmbedder(), SilentReporter())
    opened = Store.open(essay_paths.index)
    yield opened
    opened.close()


def test_engine_makes_the_verifier_once_through_its_seam(essay_paths: Paths, essay_store: Store) -> None:
    fake = FakeVerifier()
    made: list[int] = []

    def make() -> FakeVerifier:
        made.append(1)
        return fake

    engine = Engine(essay_paths, make_embedder=given(FakeEmbedder()), make_verifier=make)
    assert engine.verifier is fake and engine.verifier is fake
    assert engine.searcher(essay_store).verifier is fake
    assert made == [1]
    assert Engine(essay_paths, make_embedder=given(FakeEmbedder()), make_verifier=lambda: None).verifier is None


@pytest.mark.parametrize("check", [None, Check(2, 1.0, 0.5)])
def test_default_verifier_checks_when_the_shipped_model_asks_and_the_environment_overrides(
    essay_paths: Paths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, check: Check | None
) -> None:
    folder = tmp_path / "shipped"
    folder.mkdir()
    raw = json.loads((answerability.MODEL_DIR / answerability.MODEL_FILE).read_text())
    raw["check"] = None if check is None else asdict(check)
    (folder / answerability.MODEL_FILE).write_text(json.dumps(raw))
    monkeypatch.setattr(answerability, "MODEL_DIR", folder)
    monkeypatch.setattr(
        answerability, "MODEL_SHA256", hashlib.sha256((folder / answerability.MODEL_FILE).read_bytes()).hexdigest()
    )
    monkeypatch.delenv("QA_VERIFIER")
    monkeypatch.delenv("QA_ANSWERABILITY")
    assert isinstance(Engine(essay_paths).verifier, OnnxVerifier) == (check is not None)
    monkeypatch.setenv("QA_ANSWERABILITY", "off")  # the similarity checks decide: no verifier unless asked for
    assert Engine(essay_paths).verifier is None
    for off in ("off", "OFF", "0", "no"):
        monkeypatch.setenv("QA_VERIFIER", off)
        assert Engine(essay_paths).verifier is None
    for on in ("on", "ON", "1", "yes"):
        monkeypatch.setenv("QA_VERIFIER", on)
        assert isinstance(Engine(essay_paths).verifier, OnnxVerifier)


def test_the_verifier_reads_top_sentences_in_one_batch_and_sets_highlight_and_confidence(essay_store: Store) -> None:
    fake = FakeVerifier()
    searcher = Searcher(essay_store, FakeEmbedder(), fake)
    answer = searcher.ask("Which company leads global chip foundries?", Settings(verifier_threshold=0.1))
    assert len(fake.batches) == 1
    settings = Settings()
    assert 1 <= fake.batches[0] <= settings.verify_passages * settings.verify_sentences
    top = answer.hits[0]
    assert top.highlight is not None
    sentence = top.passage.text[top.highlight[0] : top.highlight[1]]
    words = {"which", "company", "leads", "global", "chip", "foundries"}
    share = len(words & set(sentence.lower().replace(",", " ").replace(".", " ").split())) / len(words)
    assert answer.confidence == pytest.approx(max(share, answer.confidence), abs=1e-4)
    assert 0 <= answer.confidence <= 1


def test_abstains_below_the_verifier_threshold_with_its_reason(essay_store: Store) -> None:
    searcher = Searcher(essay_store, FakeEmbedder(), FakeVerifier())
    answer = searcher.ask(
        "Which company leads global chip foundries?", Settings(threshold=0.0, verifier_threshold=0.99)
    )
    assert not answer.answered
    assert answer.reason is not None and "verifier" in answer.reason and "0.99" in answer.reason


def test_with_a_verifier_unknown_names_refuse_only_when_no_passage_is_close() -> None:
    text = "Tokyo leads the chip race."
    passage = Passage("d#1", "d", "Doc", text, 0, len(text), (1, 1), "Doc, ¶1", ((0, len(text)),))
    support = [(passage, np.array([0.6]))]
    assert abstention_reason("Who leads Nippon?", support, 0.6, 0.35, ("Nippon",), 0.9, 0.5) is None
    far = abstention_reason("Who leads Nippon?", support, 0.2, 0.35, ("Nippon",), 0.9, 0.5)
    assert far == "it never mentions Nippon"
    without = abstention_reason("Who leads Nippon?", support, 0.6, 0.35, ("Nippon",))
    assert without == "it never mentions Nippon"


@pytest.mark.model
def test_shipped_verifier_prefers_the_answering_sentence() -> None:
    scorer = OnnxVerifier()
    probabilities = scorer.verify(
        "When was the lighthouse built?",
        [
            Candidate("The lighthouse on the breakwater was built in 1850.", "The port is old.", "", "Harbour Town"),
            Candidate("Fishmongers sell cod and crab at the market.", "", "", "Harbour Town"),
        ],
    )
    assert probabilities.shape == (2,)
    assert probabilities[0] > probabilities[1]
    assert ((probabilities >= 0) & (probabilities <= 1)).all()


@pytest.mark.model
def test_real_engine_answers_with_the_shipped_verifier(
    essay_paths: Paths, real_embedder: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QA_VERIFIER", "on")
    engine = Engine(essay_paths, make_embedder=given(real_embedder))  # type: ignore[arg-type]
    assert isinstance(engine.verifier, OnnxVerifier)
    store, _ = engine.open(SilentReporter())
    answer = engine.ask(store, "Which company leads global chip foundries?")
    assert answer.answered
    top = answer.hits[0]
    assert top.highlight is not None and "TSMC" in top.passage.text[top.highlight[0] : top.highlight[1]]


def test_rerank_orders_the_verified_passages_by_their_best_sentence(essay_store: Store) -> None:
    question = "Which company leads global chip foundries?"
    verified = 3
    plain = Searcher(essay_store, FakeEmbedder(), FakeVerifier()).ask(
        question, Settings(verifier_threshold=0.0, verifier_rerank=False, verify_passages=verified)
    )
    ranked = Searcher(essay_store, FakeEmbedder(), FakeVerifier()).ask(
        question, Settings(verifier_threshold=0.0, verifier_rerank=True, verify_passages=verified)
    )
    top = [hit.passage.id for hit in plain.hits[:verified]]
    assert sorted(hit.passage.id for hit in ranked.hits[:verified]) == sorted(top)
    assert [hit.passage.id for hit in ranked.hits[verified:]] == [hit.passage.id for hit in plain.hits[verified:]]
    assert [hit.rank for hit in ranked.hits] == list(range(1, len(ranked.hits) + 1))


def test_ordering_scores_are_the_weighted_mean_of_probability_and_retrieval_score() -> None:
    assert ordering_scores([0.8, 0.6, 0.4], {}, 1.0) == [0.8, 0.6, 0.4]
    mean = ordering_scores([0.8, 0.6, 0.4], {0: 0.1, 1: 0.9}, 1.0)
    assert mean == pytest.approx([0.45, 0.75, 0.2]), "a passage the verifier did not read counts as probability 0"
    assert ordering_scores([0.8, 0.6], {0: 0.1, 1: 0.9}, 0.0) == pytest.approx([0.1, 0.9])
    assert ordering_scores([0.8, 0.6], {0: 0.1, 1: 0.9}, 3.0) == pytest.approx([0.625, 0.675])


class LaterFirstVerifier:
    """A verifier that trusts later candidates more (they come passage by passage), so that it reorders them."""

    name = "later-first"

    def verify(self, question: str, candidates: Sequence[Candidate]) -> np.ndarray:
        return np.linspace(0.1, 1.0, len(candidates))


def test_reranked_results_show_the_score_that_orders_them_and_keep_both_scores(essay_store: Store) -> None:
    settings = Settings(verifier_threshold=0.0, verify_passages=3, k=6)
    question = "Which company leads global chip foundries?"
    plain = Searcher(essay_store, FakeEmbedder()).ask(question, settings)
    answer = Searcher(essay_store, FakeEmbedder(), LaterFirstVerifier()).ask(question, settings)
    scores = [hit.score for hit in answer.hits]
    assert scores == sorted(scores, reverse=True)
    assert [hit.passage.id for hit in answer.hits[:3]] == [hit.passage.id for hit in plain.hits[:3]][::-1]
    assert [hit.verifier_score is not None for hit in answer.hits] == [True] * 3 + [False] * 3
    for hit, before in zip(answer.hits, [*plain.hits[:3][::-1], *plain.hits[3:]], strict=True):
        assert hit.retrieval_score == before.score == before.retrieval_score
        probability = hit.verifier_score or 0.0
        expected = (probability + settings.rerank_blend * before.score) / (1 + settings.rerank_blend)
        assert hit.score == pytest.approx(expected, abs=2e-4)
    passage = answer.as_json()["passages"][0]
    top = answer.hits[0]
    assert (passage["score"], passage["retrieval_score"], passage["verifier_score"]) == (
        top.score,
        top.retrieval_score,
        top.verifier_score,
    )


@pytest.mark.parametrize("stdin", [False, True])
def test_a_damaged_verifier_stops_qa_ask_with_one_line(
    essay_paths: Paths,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    stdin: bool,
) -> None:
    # `qa ask` loads the verifier before its first question: a damaged one stops it, one question or many.
    import io

    from qa.interfaces.cli import main as cli

    folder = _copy_model(tmp_path)
    model = folder / verifier.MODEL_FILE
    model.write_bytes(model.read_bytes()[:-64] + b"\0" * 64)
    monkeypatch.setattr(verifier, "MODEL_DIR", folder)
    monkeypatch.setenv("QA_VERIFIER", "on")
    where = ["--corpus", str(essay_paths.corpus), "--index", str(essay_paths.index)]
    question = "Which company leads global chip foundries?"
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{question}\n{question}\n"))
    code = cli.run(["ask", "--json", *where, *([] if stdin else [question])], given(FakeEmbedder()))
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert lines[-1].startswith("qa: error: the answer verifier cannot load") and "sha256" in lines[-1]
    assert "Traceback" not in captured.err
