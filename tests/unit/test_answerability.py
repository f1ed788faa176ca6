"""The answerability model: its signals on small fakes, loading checks (missing, damaged, wrong sha256), the decision
in the searcher (a fixed candidate set whatever k is; an abstained answer's confidence below the threshold), and the
shipped model on the real embedder."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from qa.answering import answerability
from qa.answering.answerability import (
    FEATURES,
    AnswerabilityModel,
    Check,
    Signals,
    Support,
    Weights,
    checked_logits,
    content_terms,
    names_of,
    numbers_of,
    read_weights,
)
from qa.answering.retrieval import Searcher
from qa.documents.chunking import Passage
from qa.engine.engine import Engine
from qa.index.stores.files.store import Store
from qa.kernel.errors import ModelError
from qa.kernel.paths import Paths
from qa.kernel.progress import SilentReporter
from qa.kernel.settings import Settings
from qa.models.verifier.model import Candidate
from tests.conftest import build_index
from tests.fakes import FakeEmbedder, FakeVerifier, given

_WORD = re.compile(r"\w+")


class FakeVectors:
    """Static word vectors drawn from a hash of each lower-cased word: equal words align, others barely."""

    def load(self) -> None:
        """Nothing to read."""

    def words(self, texts: Sequence[str], named: int = 1) -> list[tuple[list[str], np.ndarray, np.ndarray]]:
        out = []
        for text in texts:
            found = list(_WORD.finditer(text))
            words = [m.group().lower() for m in found]
            vectors = np.array(
                [
                    np.random.default_rng(int(hashlib.sha256(w.encode()).hexdigest()[:8], 16)).standard_normal(16)
                    for w in words
                ]
            ).reshape(len(words), 16)
            vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
            out.append((words, vectors, np.array([m.start() for m in found], dtype=np.int64)))
        return out


def passage(text: str, title: str = "Harbour Town", number: int = 1) -> Passage:
    """A passage of one document, its sentences split at full stops."""
    spans = [(m.start(), m.end()) for m in re.finditer(r"[^.]+\.", text)]
    spans = [(s + len(text[s:e]) - len(text[s:e].lstrip()), e) for s, e in spans]
    return Passage(f"d#{number}", "d", title, text, 0, len(text), (number, number), f"{title}, ¶{number}", tuple(spans))


def support(text: str, cosines: list[float], fused: float = 0.6, number: int = 1) -> Support:
    return Support(passage(text, number=number), 0.5, 0.8, fused, np.array(cosines))


def weights(threshold: float = 0.5, blend: float = -1.0) -> Weights:
    """A model that trusts the share of question terms in the sentence and the worst-aligned word."""
    chosen = np.zeros(len(FEATURES))
    chosen[FEATURES.index("terms_sentence")] = 3.0
    chosen[FEATURES.index("align_min")] = 2.0
    chosen[FEATURES.index("names_missing")] = -2.0
    stage = np.zeros(len(FEATURES) + 2)
    stage[:2] = (1.0, 0.2)
    return Weights(
        FEATURES, np.zeros(len(FEATURES)), np.ones(len(FEATURES)), chosen, -3.0, stage, 0.0, threshold, blend
    )


def model_file(folder: Path, found: Weights | None = None) -> tuple[Path, str]:
    folder.mkdir(parents=True, exist_ok=True)
    found = found or weights()
    path = folder / answerability.MODEL_FILE
    path.write_text(json.dumps(found.as_json()))
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def test_question_terms_names_and_numbers() -> None:
    assert content_terms("How many ships did the Harbour Town fleet lose in 1850?") == [
        "ship",
        "harbour",
        "town",
        "fleet",
        "lose",
        "1850",
    ]
    assert names_of("When did Harbour Town open its Lighthouse Museum?") == ["Harbour Town", "Lighthouse Museum"]
    assert names_of("Harbour Town is where?") == ["Town"]  # the first word's capital says nothing
    assert numbers_of("It cost $1,200 in 1850.") == {"1200", "1850"}


def test_features_see_what_a_near_miss_lacks() -> None:
    signals = Signals(FakeVectors())  # type: ignore[arg-type]
    text = "The lighthouse was built in 1850 by the harbour board. Fishmongers sell cod at the market."
    supports = [support(text, [0.7, 0.1])]
    _, answered = signals.features("When was the lighthouse built?", supports)
    _, missed = signals.features("When was the lighthouse of Oslo built?", supports)
    column = FEATURES.index
    assert answered.shape[1] == len(FEATURES)
    assert answered[0, column("terms_sentence")] == 1.0
    assert missed[0, column("terms_sentence")] < 1.0
    assert missed[0, column("names_missing")] == 1.0 and answered[0, column("names_missing")] == 0.0
    assert missed[0, column("align_min")] < answered[0, column("align_min")]
    assert answered[0, column("type_asked")] == 1.0 and answered[0, column("type_stated")] == 1.0
    _, swapped = signals.features("What was built in 1920?", supports)
    assert swapped[0, column("numbers_missing")] == 1.0


def test_candidates_are_the_best_sentences_of_each_passage() -> None:
    signals = Signals(FakeVectors())  # type: ignore[arg-type]
    long = " ".join(f"Sentence number {i} is here." for i in range(6))
    candidates, features = signals.features("Which sentence?", [support(long, [0.1, 0.5, 0.2, 0.9, 0.0, 0.3])])
    assert len(candidates) == answerability.SENTENCES_PER_PASSAGE
    assert candidates[0].sentence == 3
    assert features.shape == (answerability.SENTENCES_PER_PASSAGE, len(FEATURES))


def test_confidence_grows_with_the_best_logit_and_is_a_probability() -> None:
    model = weights()
    rows = np.zeros((2, len(FEATURES)))
    low, high = model.confidence(rows, np.array([-2.0, -3.0])), model.confidence(rows, np.array([2.0, -3.0]))
    assert 0 < low < high < 1
    assert model.confidence(rows[:0], np.zeros(0)) == 0.0


def test_shipped_model_loads_and_matches_its_checksum() -> None:
    path = answerability.MODEL_DIR / answerability.MODEL_FILE
    assert hashlib.sha256(path.read_bytes()).hexdigest() == answerability.MODEL_SHA256
    found = read_weights(path, answerability.MODEL_SHA256)
    assert set(found.features) <= set(FEATURES)
    assert 0 < found.threshold < 1


def test_missing_damaged_and_altered_models_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="missing or unreadable") as missing:
        read_weights(tmp_path / "none.json", None)
    assert "\n" not in str(missing.value) and "training.answerability.train" in str(missing.value)
    path, digest = model_file(tmp_path)
    assert read_weights(path, digest).threshold == 0.5
    path.write_text(path.read_text().replace('"threshold": 0.5', '"threshold": 0.6'))
    with pytest.raises(ModelError, match="sha256"):
        read_weights(path, digest)
    path.write_text("{not json")
    with pytest.raises(ModelError, match="damaged"):
        read_weights(path, None)
    path.write_text(json.dumps({**weights().as_json(), "features": ["nonsense"]}))
    with pytest.raises(ModelError, match="other features"):
        read_weights(path, None)


@pytest.fixture
def essay_store(essay_paths: Paths) -> Iterator[Store]:
    build_index(essay_paths, FakeEmbedder())
    store = Store.open(essay_paths.index)
    yield store
    store.close()


def judge(tmp_path: Path, found: Weights | None = None) -> AnswerabilityModel:
    path, digest = model_file(tmp_path / "model", found)
    return AnswerabilityModel(path, digest, Signals(FakeVectors()))  # type: ignore[arg-type]


@pytest.mark.parametrize("blend", [-1.0, 0.5])
def test_the_decision_does_not_depend_on_k(essay_store: Store, tmp_path: Path, blend: float) -> None:
    searcher = Searcher(essay_store, FakeEmbedder(), None, judge(tmp_path, weights(0.3, blend)))
    for question in (
        "Which company leads global chip foundries?",
        "What do the authors recommend about trade?",
        "How many satellites did Nigeria launch in 1850?",
    ):
        answers = [searcher.ask(question, Settings(k=k)) for k in (1, 2, 3, 5, 8)]
        assert len({(a.answered, a.confidence, a.hits[0].passage.start) for a in answers}) == 1, question


def test_an_abstained_answer_is_below_the_threshold_that_refused_it(essay_store: Store, tmp_path: Path) -> None:
    searcher = Searcher(essay_store, FakeEmbedder(), None, judge(tmp_path, weights(0.99)))
    answer = searcher.ask("Which company leads global chip foundries?")
    assert not answer.answered
    assert answer.confidence < 0.99
    assert answer.reason is not None and "0.99 threshold" in answer.reason
    loose = searcher.ask("Which company leads global chip foundries?", Settings().with_threshold(0.0))
    assert loose.answered and loose.confidence == answer.confidence


def test_the_highlight_is_the_best_candidate_of_its_passage(essay_store: Store, tmp_path: Path) -> None:
    searcher = Searcher(essay_store, FakeEmbedder(), None, judge(tmp_path, weights(0.0)))
    answer = searcher.ask("Which company leads global chip foundries?")
    top = answer.hits[0]
    assert top.highlight is not None
    assert "TSMC" in top.passage.text[top.highlight[0] : top.highlight[1]]


def test_the_check_reorders_the_read_candidates_and_leaves_the_unread_below() -> None:
    logits = np.array([2.0, 1.0, 0.5, -1.0])
    # the verifier read the best two: it prefers the second (probability 0.9) to the first (0.1)
    out, checked = checked_logits(logits, np.array([0.1, 0.9]), Check(2, 1.0, 0.5))
    assert int(np.argmax(out)) == 1
    assert checked == pytest.approx(np.log(0.9 / 0.1))
    low = np.log(0.1 / 0.9)
    assert out[2] == pytest.approx(0.5 + low) and out[3] == pytest.approx(-1.0 + low)
    plain, first = checked_logits(logits, np.array([0.1, 0.9]), Check(2, 0.0, 0.5))
    assert np.array_equal(plain, logits) and first == pytest.approx(low)  # no blend: the model's best, checked


class SureVerifier(FakeVerifier):
    """A verifier that gives every candidate the same probability, noting its batches."""

    def __init__(self, probability: float, sha256: str | None = None) -> None:
        super().__init__()
        self.probability = probability
        self.sha256 = sha256  # of the file it stands for, as the shipped verifier has one

    def verify(self, question: str, candidates: Sequence[Candidate]) -> np.ndarray:
        self.batches.append(len(candidates))
        return np.full(len(candidates), self.probability)


def test_the_verifier_checks_the_best_candidates_and_moves_the_confidence(essay_store: Store, tmp_path: Path) -> None:
    question = "Which company leads global chip foundries?"
    plain = Searcher(essay_store, FakeEmbedder(), None, judge(tmp_path / "plain", weights(0.0))).ask(question)
    checked = replace(weights(0.0), check=Check(2, 1.0, 0.5))
    sure, unsure = SureVerifier(0.9), SureVerifier(0.1)
    trusted = Searcher(essay_store, FakeEmbedder(), sure, judge(tmp_path / "checked", checked)).ask(question)
    doubted = Searcher(essay_store, FakeEmbedder(), unsure, judge(tmp_path / "checked", checked)).ask(question)
    assert sure.batches == unsure.batches == [2]  # one batch of the model's two best candidates
    assert doubted.confidence < plain.confidence < trusted.confidence
    assert {hit.verifier_score for hit in trusted.hits} - {None} == {0.9}  # the passages it read say so
    assert all(hit.verifier_score is None for hit in plain.hits)
    assert (
        [h.passage.id for h in doubted.hits]
        == [h.passage.id for h in plain.hits]
        == [h.passage.id for h in trusted.hits]
    )
    for k in (1, 3, 8):
        again = Searcher(essay_store, FakeEmbedder(), unsure, judge(tmp_path / "checked", checked))
        assert again.ask(question, Settings(k=k)).confidence == doubted.confidence  # whatever k is
    assert read_weights(*model_file(tmp_path / "round", checked)).check == Check(2, 1.0, 0.5)


def test_a_check_fitted_with_another_verifier_is_a_one_line_error(essay_store: Store, tmp_path: Path) -> None:
    fitted = replace(weights(0.0), check=Check(2, 1.0, 0.5, verifier="a" * 64))
    other = SureVerifier(0.9, "b" * 64)
    searcher = Searcher(essay_store, FakeEmbedder(), other, judge(tmp_path, fitted))
    with pytest.raises(ModelError, match="fitted with another answer verifier"):
        searcher.ask("Which company leads global chip foundries?")
    same = SureVerifier(0.9, "a" * 64)
    assert Searcher(essay_store, FakeEmbedder(), same, judge(tmp_path / "same", fitted)).ask("Which company?").hits


def test_engine_makes_the_model_through_its_seam_and_the_environment_turns_it_off(
    essay_paths: Paths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = judge(tmp_path)
    engine = Engine(essay_paths, make_embedder=given(FakeEmbedder()), make_answerability=lambda: made)
    assert engine.answerability is made and engine.answerability is made
    monkeypatch.setenv("QA_ANSWERABILITY", "on")
    assert isinstance(Engine(essay_paths).answerability, AnswerabilityModel)
    monkeypatch.setenv("QA_ANSWERABILITY", "off")
    assert Engine(essay_paths).answerability is None


def test_a_damaged_shipped_model_stops_qa_ask_with_one_line(
    essay_paths: Paths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from qa.interfaces.cli import main as cli

    folder = tmp_path / "shipped"
    folder.mkdir()
    (folder / answerability.MODEL_FILE).write_bytes(
        (answerability.MODEL_DIR / answerability.MODEL_FILE).read_bytes()[:-40] + b"garbage"
    )
    monkeypatch.setattr(answerability, "MODEL_DIR", folder)
    monkeypatch.setenv("QA_ANSWERABILITY", "on")
    where = ["--corpus", str(essay_paths.corpus), "--index", str(essay_paths.index)]
    code = cli.run(["ask", *where, "Which company leads global chip foundries?"], given(FakeEmbedder()))
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert lines[-1].startswith("qa: error: ") and "answerability model" in lines[-1] and "sha256" in lines[-1]
    assert "Traceback" not in captured.err


@pytest.mark.model
def test_the_shipped_model_answers_and_refuses_on_the_essay(
    essay_paths: Paths, real_embedder: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QA_ANSWERABILITY", "on")
    engine = Engine(essay_paths, make_embedder=given(real_embedder))  # type: ignore[arg-type]
    assert isinstance(engine.answerability, AnswerabilityModel)
    store, _ = engine.open(SilentReporter())
    answer = engine.ask(store, "Which company leads global chip foundries?")
    assert answer.answered
    top = answer.hits[0]
    assert top.highlight is not None and "TSMC" in top.passage.text[top.highlight[0] : top.highlight[1]]
    refused = engine.ask(store, "What did the Okavango field station cost to build in 2019?")
    assert not refused.answered
    assert refused.confidence < engine.answerability.weights.threshold
