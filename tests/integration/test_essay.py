"""The essay with the real bundled model: known answers, exact offsets, and the real console script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qa.answering.retrieval import Answer, Searcher, Settings
from qa.index.stores.files.store import Store
from qa.interfaces.cli import main
from qa.kernel.paths import Paths
from qa.models.embedding import SentenceTransformerEmbedder
from tests.conftest import ESSAY, REPO
from tests.fakes import given

pytestmark = pytest.mark.model

FOUNDRIES = "Which company leads global chip foundries?"
ERRAND = "Who called export controls a fool's errand?"


@pytest.fixture(scope="module")
def searcher(essay_index: Paths, real_embedder: SentenceTransformerEmbedder) -> Iterator[Searcher]:
    store = Store.open(essay_index.index)
    yield Searcher(store, real_embedder)
    store.close()


def top_texts(answer: Answer, n: int = 3) -> list[str]:
    return [hit.passage.text for hit in answer.hits[:n]]


@pytest.mark.parametrize(
    ("question", "in_passage", "in_highlight"),
    [(FOUNDRIES, "TSMC", "TSMC"), (ERRAND, "Raimondo", "fool’s errand")],
)
def test_known_answers_are_found_and_highlighted(
    searcher: Searcher, question: str, in_passage: str, in_highlight: str
) -> None:
    answer = searcher.ask(question)
    assert any(in_passage in text for text in top_texts(answer))
    hit = next(hit for hit in answer.hits[:3] if in_passage in hit.passage.text)
    assert hit.highlight is not None
    assert in_highlight in hit.passage.text[slice(*hit.highlight)]


@pytest.mark.parametrize("mode", ["dense", "lexical"])
def test_single_modes_also_find_tsmc(searcher: Searcher, mode: str) -> None:
    answer = searcher.ask(FOUNDRIES, Settings(mode=mode))  # type: ignore[arg-type]
    assert any("TSMC" in text for text in top_texts(answer, 5))


def test_off_topic_question_is_not_answered(searcher: Searcher) -> None:
    answer = searcher.ask("How long should I bake sourdough bread?")
    assert not answer.answered
    assert answer.hits, "nearest passages are still shown"


@pytest.fixture
def qa(real_embedder: SentenceTransformerEmbedder, capsys: Any) -> Any:
    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main.run(list(args), given(real_embedder))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def test_json_offsets_slice_the_file_on_disk(qa: Any, essay_index: Paths) -> None:
    code, out, err = qa(
        "ask", "--corpus", str(essay_index.corpus), "--index", str(essay_index.index), "--json", FOUNDRIES
    )
    assert code == 0
    assert err == ""
    (line,) = out.splitlines()
    answer = json.loads(line)
    assert isinstance(answer["answered"], bool)
    on_disk = (essay_index.corpus / ESSAY.name).read_bytes().decode("utf-8")
    for passage in answer["passages"]:
        assert on_disk[passage["start"] : passage["end"]] == passage["text"]
        start, end = passage["highlight"]
        assert passage["text"][start:end].strip()
    assert any("TSMC" in p["text"] for p in answer["passages"][:3])


# --- the real console script, in a subprocess -------------------------------------------------------


def console(args: list[str], paths: Paths, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "qa"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "qa"]
    env = {**os.environ, "QA_CORPUS": str(paths.corpus), "QA_INDEX": str(paths.index), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [*command, *args], input=stdin, capture_output=True, text=True, env=env, cwd=REPO, timeout=300, check=False
    )


@pytest.mark.slow
def test_console_script_answers_with_json(essay_index: Paths) -> None:
    done = console(["ask", "--json", FOUNDRIES], essay_index)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    (line,) = done.stdout.splitlines()
    answer = json.loads(line)
    assert answer["question"] == FOUNDRIES
    assert any("TSMC" in p["text"] for p in answer["passages"][:3])


@pytest.mark.slow
def test_console_script_stdin_batch_builds_first(tmp_path: Path, essay_index: Paths) -> None:
    paths = Paths(corpus=tmp_path / "corpus", index=tmp_path / "index")
    shutil.copytree(essay_index.corpus, paths.corpus)
    questions = [FOUNDRIES, ERRAND, "What do the authors recommend to build trust?"]
    done = subprocess_batch(paths, questions)
    assert done.returncode == 0, done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert [a["question"] for a in answers] == questions
    assert all(len(a["passages"]) == 5 for a in answers)
    assert any("TSMC" in p["text"] for p in answers[0]["passages"][:3])
    assert any("Raimondo" in p["text"] for p in answers[1]["passages"][:3])
    assert "no index" in done.stderr
    assert (paths.index / "manifest.json").is_file()


def subprocess_batch(paths: Paths, questions: list[str]) -> subprocess.CompletedProcess[str]:
    return console(["ask", "--json"], paths, stdin="\n".join(questions) + "\n")


def test_bios_highlight_a_sentence_not_a_name_fragment(searcher: Searcher) -> None:
    triolo = searcher.ask("Where does Paul Triolo work?").hits[0]
    assert triolo.highlight is not None
    assert "DGA-Albright" in triolo.passage.text[slice(*triolo.highlight)]
    graylin = searcher.ask("What is Alvin Wang Graylin's role at HTC?").hits[0]
    assert graylin.highlight is not None
    assert len(graylin.passage.text[slice(*graylin.highlight)].split()) >= 4
