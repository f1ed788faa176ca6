"""The app's pieces on their own: rendering helpers, records, the editor command, the engine and the reporter."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from textual.content import Content
from textual.message import Message

from qa.answering.retrieval import Hit, Settings
from qa.documents.base import Document
from qa.documents.chunking import Passage
from qa.engine.engine import Engine, SerialEmbedder, SerialSpanEmbedder, serial
from qa.engine.status import index_status
from qa.interfaces.tui import records
from qa.interfaces.tui.citing import passage_line
from qa.interfaces.tui.editor import editor_command
from qa.interfaces.tui.keybar import key_lines
from qa.interfaces.tui.messages import BuildProgressed, WorkWarned
from qa.interfaces.tui.reporter import MessageReporter
from qa.interfaces.tui.results import answer_sentence, passage_content, reflow, score_bar
from qa.interfaces.tui.source import location, spaced, split_document
from qa.interfaces.tui.status import (
    built_label,
    built_labels,
    fitted,
    index_summaries,
    index_summary,
    model_label,
    status_lines,
)
from qa.kernel.errors import QAError
from qa.kernel.filters import Filter, make_filter
from qa.kernel.paths import Paths
from qa.kernel.progress import SilentReporter
from tests.conftest import build_index
from tests.fakes import FakeEmbedder, given
from tests.tui.conftest import FOOLS_ERRAND


def make_hit(text: str = "First one.\nSecond one here.\n\nThird.", highlight: tuple[int, int] | None = (11, 27)) -> Hit:
    passage = Passage(
        id="doc.md#2",
        doc_id="doc.md",
        title="A Title",
        text=text,
        start=20,
        end=20 + len(text),
        paragraphs=(2, 3),
        citation="A Title, ¶2–3",
        sentences=((0, 10), (11, 27), (29, 35)),
    )
    return Hit(rank=1, passage=passage, score=0.5, dense=0.5, lexical=None, highlight=highlight)


# Rendering


@pytest.mark.parametrize(
    ("score", "bar"),
    [(0.0, "░" * 10), (1.0, "█" * 10), (1.7, "█" * 10), (-0.3, "░" * 10), (0.5, "█████░░░░░"), (0.55, "█████▌░░░░")],
)
def test_score_bar_fills_in_eighths(score: float, bar: str) -> None:
    assert score_bar(score) == bar
    assert len(score_bar(score)) == 10


def test_reflow_joins_lines_but_keeps_paragraphs_and_offsets() -> None:
    text = "one\ntwo\n\nthree\nfour"
    assert reflow(text) == "one two\n\nthree four"
    assert len(reflow(text)) == len(text)


def test_passage_content_highlights_the_answering_sentence() -> None:
    hit = make_hit()
    content = passage_content(hit)
    assert content.plain == reflow(hit.passage.text)
    assert any(span.start == 11 and span.end == 27 for span in content.spans)
    assert passage_content(make_hit(highlight=None)).spans == []


def test_answer_sentence_is_the_highlight_on_one_line() -> None:
    assert answer_sentence(make_hit()) == "Second one here."
    assert answer_sentence(make_hit(highlight=None)) == "First one. Second one here. Third."


def test_split_document_keeps_whole_lines_around_the_passage() -> None:
    text = "line one\nline two has the passage start here\nand its end here\nline four\n"
    start = text.index("passage")
    end = text.index("its end") + len("its end")
    before, skipped_before, block, skipped_after, after = split_document(text, start, end)
    assert before == "line one"
    assert block == "line two has the passage start here\nand its end here"
    assert after == "line four\n"
    assert skipped_before == skipped_after == 0


def test_split_document_leaves_out_far_context() -> None:
    lines = [f"line {number}" for number in range(2000)]
    text = "\n".join(lines)
    start = text.index("line 1000")
    before, skipped_before, block, skipped_after, after = split_document(text, start, start + 9, limit=100)
    assert block == "line 1000"
    assert len(before) <= 100 and before.endswith("line 999")
    assert len(after) <= 100 and after.startswith("line 1001")
    assert skipped_before > 900 and skipped_after > 900
    assert skipped_before + before.count("\n") + 1 == 1000


def test_spaced_separates_long_line_paragraphs_only() -> None:
    long_line = "word " * 40
    assert spaced(f"{long_line}\n{long_line}") == f"{long_line}\n\n{long_line}"
    assert spaced("- a\n- b") == "- a\n- b"


def test_location_and_line() -> None:
    hit = make_hit()
    document = Document(id="doc.md", path=Path("doc.md"), title="A Title", text="x\n" * 10 + "y" * 40, content_hash="")
    assert passage_line(document, hit) == 11
    assert location(hit, 11) == "doc.md · ¶2–3 · line 11"


def test_status_labels() -> None:
    assert model_label("sentence-transformers/all-MiniLM-L6-v2") == "all-MiniLM-L6-v2"
    assert model_label("fake-hash-64") == "fake-hash-64"
    assert built_label("2025-01-21T12:00:00+00:00", 1.54) == "built 2025-01-21 12:00 UTC (1.5 s)"


def test_index_summary(essay_paths: Paths) -> None:
    assert index_summary(index_status(essay_paths, SilentReporter().warn)).plain == "no index yet"
    build_index(essay_paths, FakeEmbedder())
    summary = index_summary(index_status(essay_paths, SilentReporter().warn)).plain
    assert summary == "1 document · 23 passages · built 2025-01-21 12:00 UTC (1.5 s) · fresh"
    (essay_paths.corpus / "new.md").write_text("# New\n\nSomething new.\n", encoding="utf-8")
    assert index_summary(index_status(essay_paths, SilentReporter().warn)).plain.endswith("stale")

    assert built_labels("2025-01-21T12:00:00+00:00", 1.54) == [
        "built 2025-01-21 12:00 UTC (1.5 s)",
        "built 2025-01-21 12:00 UTC",
        "built 2025-01-21",
    ]


def test_status_lines_give_way_from_the_build_time_and_keep_fresh_and_the_filter(essay_paths: Paths) -> None:
    build_index(essay_paths, FakeEmbedder())
    status = index_status(essay_paths, SilentReporter().warn)
    assert [summary.plain for summary in index_summaries(status)] == [
        "1 document · 23 passages · built 2025-01-21 12:00 UTC (1.5 s) · fresh",
        "1 document · 23 passages · built 2025-01-21 12:00 UTC · fresh",
        "1 document · 23 passages · built 2025-01-21 · fresh",
        "1 document · 23 passages · fresh",
        "1 document · fresh",
        "fresh",
    ]
    lines = [line.plain for line in status_lines("updating the index…", status, make_filter(["notes"]))]
    assert lines[0] == (
        "updating the index… · 1 document · 23 passages · built 2025-01-21 12:00 UTC (1.5 s) · fresh · filter in:notes"
    )
    assert lines[-1] == "updating the index… · fresh · filter in:notes"
    assert [line.plain for line in status_lines("", None, Filter())] == [""]
    assert [line.plain for line in status_lines("opening the index…", None, Filter())] == ["opening the index…"]
    versions = [Content("a long version"), Content("short"), Content("s")]
    assert fitted(versions, 20).plain == "a long version"
    assert fitted(versions, 13).plain == "short"
    assert fitted(versions, 0).plain == "s", "the shortest when none fits"


def test_key_lines_wrap_between_keys_never_inside_one() -> None:
    parts = [Content(text) for text in ["F1 Help", "F2 Mode", "F5 Rebuild", "^q Quit"]]
    assert [line.plain for line in key_lines(parts, 80)] == ["F1 Help  F2 Mode  F5 Rebuild  ^q Quit"]
    assert [line.plain for line in key_lines(parts, 20)] == ["F1 Help  F2 Mode", "F5 Rebuild  ^q Quit"]
    assert [line.plain for line in key_lines(parts, 16)] == ["F1 Help  F2 Mode", "F5 Rebuild", "^q Quit"]
    assert [line.plain for line in key_lines(parts, 5)] == ["F1 Help", "F2 Mode", "F5 Rebuild", "^q Quit"]
    assert [line.plain for line in key_lines([], 80)] == [""]


# Records


def test_history_is_newest_first_and_each_question_once(tmp_path: Path) -> None:
    path = tmp_path / "index" / "history.jsonl"
    when = dt.datetime(2025, 1, 21, 9, 30, tzinfo=dt.UTC)
    records.append_history(path, "first?", "hybrid", when)
    records.append_history(path, "second?", "dense", when + dt.timedelta(minutes=1))
    records.append_history(path, "first?", "lexical", when + dt.timedelta(minutes=2))
    with path.open("a", encoding="utf-8") as stream:
        stream.write("not json\n[1, 2]\n")
    entries = records.read_history(path)
    assert [(entry.question, entry.mode) for entry in entries] == [("first?", "lexical"), ("second?", "dense")]
    assert entries[0].asked_at == "2025-01-21T09:32:00+00:00"
    assert records.read_history(tmp_path / "absent.jsonl") == []


def test_gold_records_are_dpr_style_with_unique_ids(tmp_path: Path) -> None:
    path = tmp_path / "corpus" / "gold" / "mine.jsonl"
    assert records.append_gold(path, FOOLS_ERRAND, "Gina  Raimondo,\nadmitted", "essay.md") == "mine-001"
    assert records.append_gold(path, FOOLS_ERRAND, "Gina Raimondo, admitted", "essay.md") is None
    assert records.append_gold(path, "Another?", "an answer", "essay.md") == "mine-002"
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert lines[0] == {
        "id": "mine-001",
        "question": FOOLS_ERRAND,
        "answers": ["Gina Raimondo, admitted"],
        "doc_id": "essay.md",
        "answerable": True,
    }


def test_gold_records_load_as_a_gold_set(tmp_path: Path) -> None:
    evaluation = pytest.importorskip("qa.evaluation.gold")
    path = tmp_path / "mine.jsonl"
    records.append_gold(path, FOOLS_ERRAND, "a sentence", "essay.md")
    records.append_gold(path, "Second?", "another sentence", "essay.md")
    loaded = evaluation.load_gold(path)
    assert [question.id for question in loaded] == ["mine-001", "mine-002"]


def test_unwritable_records_are_a_qa_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(QAError, match="cannot write"):
        records.append_history(blocker / "history.jsonl", "q?", "hybrid")


# Editor


def test_editor_command_uses_visual_then_editor_with_the_line(tmp_path: Path) -> None:
    text_file = tmp_path / "doc.md"
    text_file.write_text("x", encoding="utf-8")
    assert editor_command(text_file, 7, {"EDITOR": "vim"}) == ["vim", "+7", str(text_file)]
    assert editor_command(text_file, 7, {"EDITOR": "vim", "VISUAL": "code --wait"})[:2] == ["code", "--wait"]
    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(b"%PDF")
    assert editor_command(pdf, 7, {"EDITOR": "vim"}) == ["vim", str(pdf)]


def test_editor_command_errors_name_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(QAError, match="no longer there"):
        editor_command(tmp_path / "gone.md", 1, {"EDITOR": "vim"})
    monkeypatch.setattr("qa.interfaces.tui.editor.shutil.which", lambda name: None)
    with pytest.raises(QAError, match=r"set \$EDITOR"):
        editor_command(tmp_path / "gone.md", 1, {})


# Engine


class SpanFake(FakeEmbedder):
    """A fake that also embeds spans, recording how many texts each call got and whether calls overlapped."""

    batch_size = 4

    def __init__(self) -> None:
        super().__init__()
        self.span_calls: list[int] = []
        self.active = 0
        self.overlapped = False

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.active += 1
        self.overlapped |= self.active > 1
        time.sleep(0.001)
        try:
            return super().embed(texts)
        finally:
            self.active -= 1

    def embed_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]], progress: object = None
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        self.span_calls.append(len(texts))
        vectors = self.embed(texts)
        return vectors, [
            self.embed([text[s:e] for s, e in text_spans]) for text, text_spans in zip(texts, spans, strict=True)
        ]


def test_serial_keeps_whether_the_embedder_embeds_spans() -> None:
    lock = threading.Lock()
    assert type(serial(FakeEmbedder(), lock)) is SerialEmbedder
    assert isinstance(serial(SpanFake(), lock), SerialSpanEmbedder)
    assert serial(FakeEmbedder(), lock).name == "fake-hash-64"


def test_serial_span_embedder_works_a_batch_at_a_time_with_the_same_results() -> None:
    inner = SpanFake()
    wrapped = serial(inner, threading.Lock())
    assert isinstance(wrapped, SerialSpanEmbedder)
    texts = [f"text number {number} about chips" for number in range(10)]
    spans = [[(0, 4), (5, 11)] for _ in texts]
    vectors, pooled = wrapped.embed_spans(texts, spans)
    assert inner.span_calls == [4, 4, 2]
    expected_vectors, expected_pooled = SpanFake().embed_spans(texts, spans)
    np.testing.assert_allclose(vectors, expected_vectors)
    assert len(pooled) == 10
    for got, expected in zip(pooled, expected_pooled, strict=True):
        np.testing.assert_allclose(got, expected)


def test_serial_embedder_lets_one_thread_at_a_time_use_the_model() -> None:
    inner = SpanFake()
    wrapped = serial(inner, threading.Lock())
    threads = [threading.Thread(target=lambda: [wrapped.embed(["a b c"]) for _ in range(20)]) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not inner.overlapped


def test_engine_opens_builds_and_answers(essay_paths: Paths) -> None:
    engine = Engine(essay_paths, make_embedder=given(FakeEmbedder()))
    reporter = SilentReporter()
    status = engine.status(reporter)
    assert status.stale and not status.built
    store, result = engine.open(reporter, status)
    assert result is not None and result.passages == 23
    answer = engine.ask(store, FOOLS_ERRAND, Settings(mode="hybrid"))
    assert answer.hits[0].passage.citation.endswith("¶3")
    assert engine.load_model() == 0.0
    store, rebuilt = engine.rebuild(reporter)
    assert rebuilt.noop


def test_engine_embedder_is_made_once_from_the_model_option(essay_paths: Paths) -> None:
    engine = Engine(essay_paths, model="/nonexistent/model")
    assert engine.embedder is engine.embedder
    assert engine.embedder.name == "/nonexistent/model"


# Reporter


class Collector:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    def post_message(self, message: Message) -> bool:
        self.messages.append(message)
        return True


def test_reporter_posts_each_warning_once_and_progress_that_coalesces() -> None:
    target = Collector()
    reporter = MessageReporter(target)
    reporter.warn("skipped x")
    reporter.warn("skipped x")  # the same file, met again by the build's own scan of the corpus
    reporter.start("embedding", 1000)
    for _ in range(1000):
        reporter.advance()
    warned = [message for message in target.messages if isinstance(message, WorkWarned)]
    progress = [message for message in target.messages if isinstance(message, BuildProgressed)]
    assert [message.text for message in warned] == ["skipped x"]
    assert progress[0].done == 0 and progress[0].total == 1000
    assert progress[-1].done == 1000
    # the app's queue keeps only the latest of the progress waiting there (see test_app for the drawing)
    assert progress[0].can_replace(progress[-1])
    assert not progress[0].can_replace(warned[0])
    assert not warned[0].can_replace(progress[0])
