"""`qa ask` with the fake embedder: JSON Lines, stdin batches, options, environment and open-or-build."""

from __future__ import annotations

import shutil
from typing import Any

import click
import pytest

from qa.answering.answer import Answer, Hit
from qa.documents.chunking import Passage
from qa.interfaces.cli.rendering import render_answer
from qa.kernel.paths import Paths
from tests.cli.conftest import where
from tests.conftest import ESSAY

PASSAGE_KEYS = {
    *("rank", "passage_id", "doc_id", "title", "citation", "score", "start", "end", "text", "highlight", "kind"),
    *("retrieval_score", "verifier_score"),
}
EXTRA = "# Harbour notes\n\nThe harbour cranes were painted red in 1999. Ships now dock at night.\n"


def test_json_answer_for_one_question(qa: Any, essay_paths: Paths) -> None:
    result = qa("ask", *where(essay_paths), "--json", "Which company leads global chip foundries?")
    assert result.code == 0
    (answer,) = result.json_lines()
    assert {"question", "answered", "passages"} <= set(answer)
    assert answer["question"] == "Which company leads global chip foundries?"
    assert isinstance(answer["answered"], bool)
    assert [p["rank"] for p in answer["passages"]] == [1, 2, 3, 4, 5]
    text = ESSAY.read_text(encoding="utf-8")
    for passage in answer["passages"]:
        assert set(passage) == PASSAGE_KEYS
        assert passage["kind"] in {"text", "front matter"}
        assert passage["doc_id"] == ESSAY.name
        assert passage["title"] == "There can be no winners in a US-China AI arms race"
        assert passage["citation"].startswith(passage["title"] + ", ¶")
        assert passage["passage_id"].startswith(ESSAY.name + "#")
        assert text[passage["start"] : passage["end"]] == passage["text"]
        start, end = passage["highlight"]
        assert 0 <= start < end <= len(passage["text"])
        assert isinstance(passage["score"], float)
        assert passage["retrieval_score"] == passage["score"], "without the verifier, retrieval orders the results"
        assert passage["verifier_score"] is None
    scores = [passage["score"] for passage in answer["passages"]]
    assert scores == sorted(scores, reverse=True)
    # The index was missing: it was built first, and stderr said so.
    assert "no index" in result.err and "building" in result.err
    assert (essay_paths.index / "manifest.json").is_file()


def test_second_ask_uses_the_fresh_index_quietly(qa: Any, essay_paths: Paths) -> None:
    assert qa("index", *where(essay_paths)).code == 0
    result = qa("ask", *where(essay_paths), "--json", "TSMC")
    assert result.code == 0
    assert result.err == ""
    assert len(result.json_lines()) == 1


def test_stdin_batch_prints_one_json_line_per_question(qa: Any, essay_paths: Paths) -> None:
    questions = ["Which company leads global chip foundries?", "Who is Gina Raimondo?", "What is a fool's errand?"]
    stdin = "\n".join(questions)
    result = qa("ask", *where(essay_paths), "--json", "-k", "2", stdin=stdin)
    assert result.code == 0
    answers = result.json_lines()
    assert [a["question"] for a in answers] == questions
    assert all(len(a["passages"]) == 2 for a in answers)
    assert "qa:" in result.err, "building the index is reported on stderr, not stdout"


def test_blank_stdin_lines_each_get_an_error_line_and_exit_code_2(qa: Any, essay_paths: Paths) -> None:
    # The user's step: 4 lines in, one blank and one of spaces; every line gets its output line, in step.
    stdin = "Which company leads global chip foundries?\n\n   \nWho is Gina Raimondo?\n"
    result = qa("ask", *where(essay_paths), "--json", "-k", "2", stdin=stdin)
    assert result.code == 2
    answers = result.json_lines()
    assert [a["question"] for a in answers] == [
        "Which company leads global chip foundries?",
        "",
        "   ",
        "Who is Gina Raimondo?",
    ]
    assert [bool(a["passages"]) for a in answers] == [True, False, False, True]
    for blank in answers[1:3]:
        assert blank["answered"] is False
        assert blank["error"].startswith("the question is empty")
    errors = [line for line in result.err.splitlines() if line.startswith("qa: error:")]
    assert len(errors) == 2 and all("the question is empty" in line for line in errors)


def test_blank_stdin_lines_in_text_mode_are_said_and_exit_code_2(qa: Any, essay_paths: Paths) -> None:
    result = qa("ask", *where(essay_paths), "-k", "1", stdin="TSMC foundries\n\t \nRaimondo\n")
    assert result.code == 2
    assert result.out.count("1. There can be no winners") == 2, "both questions are answered as usual"
    errors = [line for line in result.err.splitlines() if line.startswith("qa: error:")]
    assert errors == ['qa: error: the question is empty: type one, e.g. "Which company leads global chip foundries?"']


def test_stdin_batch_reports_a_bad_line_and_goes_on(qa: Any, essay_paths: Paths) -> None:
    result = qa("ask", *where(essay_paths), "--json", stdin="TSMC\n\x01\x02\nRaimondo\n")
    assert result.code == 2
    lines = result.json_lines()
    assert [a["question"] for a in lines] == ["TSMC", "\x01\x02", "Raimondo"], "one output line per input line"
    assert lines[1]["answered"] is False and lines[1]["passages"] == [] and "empty" in lines[1]["error"]
    assert "error" not in lines[0] and lines[0]["passages"]
    errors = [line for line in result.err.splitlines() if line.startswith("qa: error:")]
    assert len(errors) == 1 and "empty" in errors[0]


def test_plain_text_answer_cites_and_highlights(qa: Any, essay_paths: Paths) -> None:
    result = qa("ask", *where(essay_paths), "-k", "2", "TSMC foundries Taiwan")
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0].startswith("No confident answer") or lines[0].startswith("1. ")
    first = next(line for line in lines if line.startswith("1. "))
    assert first.startswith("1. There can be no winners in a US-China AI arms race, ¶")
    assert any(line.startswith("2. ") for line in lines)
    assert not any(line.startswith("3. ") for line in lines)
    assert "**" in result.out
    assert "\x1b[" not in result.out, "no colour codes when stdout is not a terminal"


def test_k_mode_and_doc_options(qa: Any, essay_paths: Paths) -> None:
    (essay_paths.corpus / "notes").mkdir()
    (essay_paths.corpus / "notes" / "harbour.md").write_text(EXTRA, encoding="utf-8")
    result = qa("ask", *where(essay_paths), "--json", "-k", "1", "--mode", "lexical", "harbour cranes")
    (answer,) = result.json_lines()
    assert len(answer["passages"]) == 1
    assert answer["passages"][0]["doc_id"] == "notes/harbour.md"
    assert answer["passages"][0]["title"] == "Harbour notes"
    restricted = qa("ask", *where(essay_paths), "--json", "-k", "3", "--doc", ESSAY.name, "harbour cranes")
    (answer,) = restricted.json_lines()
    assert answer["passages"] and {p["doc_id"] for p in answer["passages"]} == {ESSAY.name}


def test_environment_chooses_corpus_and_index(
    qa: Any, essay_paths: Paths, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setenv("QA_CORPUS", str(essay_paths.corpus))
    monkeypatch.setenv("QA_INDEX", str(essay_paths.index))
    result = qa("ask", "--json", "TSMC")
    assert result.code == 0
    assert result.json_lines()[0]["passages"][0]["doc_id"] == ESSAY.name
    assert (essay_paths.index / "manifest.json").is_file()
    # Options win over the environment.
    other = tmp_path / "other-corpus"
    other.mkdir()
    (other / "harbour.md").write_text(EXTRA, encoding="utf-8")
    result = qa("ask", "--corpus", str(other), "--index", str(tmp_path / "other-index"), "--json", "harbour")
    assert {p["doc_id"] for p in result.json_lines()[0]["passages"]} == {"harbour.md"}
    assert (tmp_path / "other-index" / "manifest.json").is_file()


def test_default_folders_are_corpus_and_index_in_the_working_directory(
    qa: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "corpus").mkdir()
    shutil.copy(ESSAY, tmp_path / "corpus" / ESSAY.name)
    monkeypatch.chdir(tmp_path)
    result = qa("ask", "--json", "TSMC")
    assert result.code == 0
    assert (tmp_path / "index" / "manifest.json").is_file()


def test_stale_index_is_updated_first(qa: Any, essay_paths: Paths) -> None:
    assert qa("index", *where(essay_paths)).code == 0
    (essay_paths.corpus / "harbour.md").write_text(EXTRA, encoding="utf-8")
    result = qa("ask", *where(essay_paths), "--json", "--mode", "lexical", "harbour cranes")
    assert result.code == 0
    assert "changed" in result.err
    assert result.json_lines()[0]["passages"][0]["doc_id"] == "harbour.md"


def test_another_model_is_refused_until_a_full_rebuild(qa: Any, essay_paths: Paths) -> None:
    assert qa("index", *where(essay_paths)).code == 0
    refused = qa("ask", *where(essay_paths), "--model", "other-model", "TSMC")
    assert refused.code == 2
    assert refused.out == ""
    assert refused.err.count("\n") == 1 and "run qa index --full" in refused.err
    assert qa("index", *where(essay_paths), "--model", "other-model", "--full").code == 0
    assert qa("ask", *where(essay_paths), "--model", "other-model", "--json", "TSMC").code == 0


def test_citations_of_documents_with_one_title_name_their_files() -> None:
    def hit(rank: int, doc_id: str, title: str) -> Hit:
        text = "The leaders met in Lima and agreed on nuclear command."
        passage = Passage(f"{doc_id}#1", doc_id, title, text, 0, len(text), (1, 1), f"{title}, ¶1", ((0, len(text)),))
        return Hit(rank, passage, 1.0 / rank, None, None, (0, len(text)))

    readout = "Readout of the Meeting"
    answer = Answer(
        "Where did they meet?",
        "hybrid",
        True,
        0.8,
        (hit(1, "2023-readout.md", readout), hit(2, "2024-readout.md", readout), hit(3, "essay.md", "Essay")),
        0.01,
    )
    headers = [line for line in render_answer(answer).splitlines() if line[:2] in {"1.", "2.", "3."}]
    assert headers[0].startswith("1. Readout of the Meeting, ¶1 (2023-readout.md)")
    assert headers[1].startswith("2. Readout of the Meeting, ¶1 (2024-readout.md)")
    assert headers[2].startswith("3. Essay, ¶1  [")


def test_the_text_answer_names_what_the_corpus_lacks(qa: Any, essay_paths: Paths) -> None:
    result = qa("ask", *where(essay_paths), "What did Angela Merkel say about export controls?")
    assert result.code == 0
    assert "Not in the corpus: Angela Merkel" in result.out.splitlines()
    plain = qa("ask", *where(essay_paths), "Which company leads global chip foundries?")
    assert "Not in the corpus" not in plain.out


def test_an_answered_question_still_names_what_the_corpus_lacks() -> None:
    text = "Donald Trump posted on January 17 that he had restarted direct dialogue."
    passage = Passage("e#9", "e", "Essay", text, 0, len(text), (9, 9), "Essay, ¶9", ((0, len(text)),))
    hit = Hit(1, passage, 0.7, None, None, (0, len(text)))
    answer = Answer("What did Xi Jinping say to Trump?", "hybrid", True, 0.7, (hit,), 0.01, ("Xi Jinping",))
    lines = click.unstyle(render_answer(answer)).splitlines()
    assert lines[0] == "Not in the corpus: Xi Jinping"
    assert lines[1].startswith("1. Essay, ¶9  [0.700]")
    nothing = render_answer(Answer("Who is Xi Jinping?", "lexical", False, 0.0, (), 0.01, ("Xi Jinping",)))
    assert click.unstyle(nothing).splitlines()[-1] == "Not in the corpus: Xi Jinping"


def test_a_file_skipped_while_the_index_updates_is_reported_once(qa: Any, essay_paths: Paths) -> None:
    loop = essay_paths.corpus / "loop.md"
    loop.symlink_to(loop)
    assert qa("index", *where(essay_paths)).code == 0
    with (essay_paths.corpus / ESSAY.name).open("a", encoding="utf-8") as essay:
        essay.write("\nA paragraph added since the index was built.\n")
    answered = qa("ask", *where(essay_paths), "TSMC")
    assert answered.code == 0
    assert "the corpus changed since the index was built" in answered.err
    assert answered.err.count("loop.md") == 1, "the status check and the build both meet the file; it is said once"


def test_a_question_with_control_characters_is_answered(qa: Any, essay_paths: Paths) -> None:
    assert qa("index", *where(essay_paths)).code == 0
    answered = qa("ask", *where(essay_paths), "--json", "Who\x1b[2J leads\x07 chip foundries?\x7f")
    assert answered.code == 0
    assert answered.err == ""
    assert '"question": "Who [2J leads chip foundries?"' in answered.out
    assert "\x1b" not in answered.out
    assert "\x07" not in answered.out


def test_stdin_questions_go_on_after_a_bad_one(qa: Any, essay_paths: Paths) -> None:
    assert qa("index", *where(essay_paths)).code == 0
    batch = qa(
        "ask",
        *where(essay_paths),
        "--json",
        stdin="Who leads chip foundries?\n" + "y" * 100_000 + "\nWhat is DeepSeek?\n",
    )
    assert batch.code == 2
    answers = batch.json_lines()
    assert [bool(answer["passages"]) for answer in answers] == [True, False, True]
    assert answers[1]["error"] == "the question is 100,000 characters long; keep it under 2,000"
    assert batch.err == "qa: error: the question is 100,000 characters long; keep it under 2,000\n"
