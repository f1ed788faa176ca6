"""Passages: paragraph and sentence boundaries, exact offsets, overlap, merging, headings and citations."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.documents.base import Document
from qa.documents.chunking import ChunkingParams, Passage, chunk, split_sentences
from tests.conftest import ESSAY
from tests.corpora import load_file

# Words that are neither abbreviations nor single letters, so every "." in generated text ends a sentence.
VOCABULARY = ("river", "stone", "light", "model", "paper", "chip", "cloud", "trade", "policy", "market", "signal")
WORD = re.compile(r"\S+")


def words(text: str) -> int:
    return len(WORD.findall(text))


def sentence(count: int, seed: int) -> str:
    """A sentence of `count` words ending with a full stop, capitalised."""
    chosen = [VOCABULARY[(seed + 3 * i) % len(VOCABULARY)] for i in range(count)]
    return " ".join(chosen).capitalize() + "."


def paragraph(sentences: int, words_each: int, seed: int = 0) -> str:
    return " ".join(sentence(words_each, seed + i) for i in range(sentences))


def document(text: str, body_start: int = 0, title: str = "Doc", doc_id: str = "doc.md") -> Document:
    return Document(id=doc_id, path=Path(doc_id), title=title, text=text, content_hash="x", body_start=body_start)


def load_text(tmp_path: Path, name: str, text: str) -> Document:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    loaded, _ = load_file(path, tmp_path)
    assert loaded is not None
    return loaded


def assert_exact(doc: Document, passages: list[Passage]) -> None:
    """The core invariant: offsets slice the document to the passage text, sentences lie inside it."""
    for passage in passages:
        assert doc.text[passage.start : passage.end] == passage.text
        assert passage.text.strip() == passage.text != ""
        if passage.kind == "text":
            assert passage.start >= doc.body_start
        else:  # the card: the front matter between its fences
            assert passage.kind == "front matter" and 0 < passage.start < passage.end < doc.body_start
        assert passage.doc_id == doc.id
        previous_end = 0
        for start, end in passage.sentences:
            assert 0 <= previous_end <= start < end <= len(passage.text)
            previous_end = end


# --- the Hypothesis property ------------------------------------------------------------------------


@dataclass
class Generated:
    """A generated Markdown document and the absolute spans of its sentences and headings."""

    text: str
    body_start: int
    sentences: list[tuple[int, int]]
    headings: list[tuple[int, int]]


@st.composite
def generated_documents(draw: st.DrawFn) -> Generated:
    """Front matter (sometimes), then headings and paragraphs, each paragraph hard-wrapped or on one line."""
    text = ""
    if draw(st.booleans()):
        text = "---\ntitle: Generated\ntags: [a, b]\n---\n"
    body_start = len(text)
    spans: list[tuple[int, int]] = []
    headings: list[tuple[int, int]] = []
    blocks = draw(st.integers(min_value=1, max_value=8))
    for index in range(blocks):
        if index:
            text += "\n" * draw(st.integers(min_value=2, max_value=3))
        if draw(st.integers(min_value=0, max_value=4)) == 0:
            level = draw(st.integers(min_value=1, max_value=3))
            title = sentence(draw(st.integers(min_value=1, max_value=5)), draw(st.integers(0, 50)))[:-1]
            headings.append((len(text), len(text) + level + 1 + len(title)))
            text += "#" * level + " " + title
            continue
        count = draw(st.integers(min_value=1, max_value=14))
        lengths = draw(st.lists(st.integers(min_value=1, max_value=30), min_size=count, max_size=count))
        pieces = [sentence(length, draw(st.integers(0, 50))) for length in lengths]
        body = " ".join(pieces)
        offset = 0
        for piece in pieces:
            spans.append((len(text) + offset, len(text) + offset + len(piece)))
            offset += len(piece) + 1
        if draw(st.booleans()):
            body = hard_wrap(body, draw(st.integers(min_value=40, max_value=90)))
        text += body
    if draw(st.booleans()):
        text += "\n"
    return Generated(text, body_start, spans, headings)


def body(passages: list[Passage]) -> list[Passage]:
    """The passages of a document's body: all but its card."""
    return [passage for passage in passages if passage.kind == "text"]


def hard_wrap(body: str, width: int) -> str:
    """Turn spaces into newlines so no line is longer than width; offsets stay the same."""
    chars = list(body)
    line_start = 0
    last_space = -1
    for index, char in enumerate(chars):
        if char == " ":
            last_space = index
        if index - line_start >= width and last_space > line_start:
            chars[last_space] = "\n"
            line_start = last_space + 1
    return "".join(chars)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated_documents())
def test_passages_slice_the_document_exactly_and_respect_sentences(generated: Generated) -> None:
    doc = document(generated.text, generated.body_start)
    params = ChunkingParams()
    everything = chunk(doc, params)
    assert_exact(doc, everything)
    passages = body(everything)
    assert len(everything) - len(passages) == (1 if generated.body_start else 0), "a card for front matter"
    units = set(generated.sentences) | set(generated.headings)
    starts = {start for start, _ in units}
    ends = {end for _, end in units}
    sentence_set = set(generated.sentences)
    for passage in passages:
        # Never mid-sentence: a passage starts and ends where a sentence or heading does.
        assert passage.start in starts
        assert passage.end in ends
        absolute = [(passage.start + start, passage.start + end) for start, end in passage.sentences]
        assert set(absolute) <= units
        assert sum(words(doc.text[s:e]) for s, e in absolute if (s, e) in sentence_set) <= params.max_words
        first, last = passage.paragraphs
        assert 1 <= first <= last or not (set(absolute) & sentence_set)
    # Every sentence is somewhere.
    covered = {(p.start + s, p.start + e) for p in passages for s, e in p.sentences}
    assert sentence_set <= covered
    # Ids are unique and chunking is deterministic.
    assert len({passage.id for passage in everything}) == len(everything)
    assert chunk(doc, params) == everything


# --- specific behaviour ------------------------------------------------------------------------------


def test_hard_wrapped_lines_form_one_paragraph() -> None:
    first = hard_wrap(paragraph(6, 12, seed=1), 72)
    second = hard_wrap(paragraph(6, 12, seed=2), 72)
    assert first.count("\n") >= 3
    doc = document(f"{first}\n\n{second}\n")
    passages = chunk(doc)
    assert_exact(doc, passages)
    assert [p.paragraphs for p in passages] == [(1, 1), (2, 2)]
    assert passages[0].text == first
    assert passages[1].text == second
    assert [p.id for p in passages] == ["doc.md#1", "doc.md#2"]


def test_unwrapped_lines_are_paragraphs_of_their_own() -> None:
    lines = [paragraph(5, 14, seed=i) for i in range(3)]
    assert all(len(line) > 100 for line in lines)
    doc = document("\n".join(lines))
    passages = chunk(doc)
    assert [p.text for p in passages] == lines
    assert [p.paragraphs for p in passages] == [(1, 1), (2, 2), (3, 3)]


def test_long_paragraph_splits_at_sentences_with_one_sentence_of_overlap() -> None:
    params = ChunkingParams()
    text = paragraph(30, 15)  # 450 words
    doc = document(text)
    passages = chunk(doc, params)
    assert_exact(doc, passages)
    assert len(passages) >= 3
    assert all(words(p.text) <= params.max_words for p in passages)
    assert all(p.paragraphs == (1, 1) for p in passages)
    assert [p.id for p in passages] == [f"doc.md#1.{n}" for n in range(1, len(passages) + 1)]
    sentence_spans = split_sentences(text)
    for before, after in itertools.pairwise(passages):
        last = (before.start + before.sentences[-1][0], before.start + before.sentences[-1][1])
        first = (after.start + after.sentences[0][0], after.start + after.sentences[0][1])
        assert last == first, "consecutive windows share exactly their boundary sentence"
        assert before.end > after.start
        assert len(set(after_span(after)) & set(after_span(before))) == 1
    assert passages[0].start == 0
    assert passages[-1].end == len(text)
    assert {span for p in passages for span in after_span(p)} == set(sentence_spans)


def after_span(passage: Passage) -> list[tuple[int, int]]:
    return [(passage.start + s, passage.start + e) for s, e in passage.sentences]


def test_tiny_paragraphs_merge_with_a_neighbour() -> None:
    tiny = [paragraph(1, 8, seed=i) for i in range(3)]
    doc = document("\n\n".join(tiny))
    passages = chunk(doc)
    assert len(passages) == 1
    assert passages[0].paragraphs == (1, 3)
    assert passages[0].citation == "Doc, ¶1–3"
    assert passages[0].id == "doc.md#1-3"


def test_tiny_last_paragraph_joins_the_one_before() -> None:
    doc = document(paragraph(6, 14) + "\n\n" + sentence(5, 3))
    passages = chunk(doc)
    assert len(passages) == 1
    assert passages[0].paragraphs == (1, 2)
    assert passages[0].text.endswith(sentence(5, 3))


def test_paragraphs_of_good_size_stay_apart() -> None:
    doc = document("\n\n".join(paragraph(6, 14, seed=i) for i in range(3)))
    assert [p.paragraphs for p in chunk(doc)] == [(1, 1), (2, 2), (3, 3)]


def test_headings_stay_with_the_passage_they_introduce(tmp_path: Path) -> None:
    text = f"---\ntitle: Guide\n---\n# Intro\n\n{paragraph(5, 14, 1)}\n\n## Second part\n\n{paragraph(5, 14, 2)}\n"
    doc = load_text(tmp_path, "guide.md", text)
    passages = body(chunk(doc))
    assert_exact(doc, passages)
    assert len(passages) == 2
    assert passages[0].text.startswith("# Intro\n\n")
    assert passages[0].heading == "Intro"
    assert passages[1].text.startswith("## Second part\n\n")
    assert passages[1].heading == "Second part"
    assert [p.paragraphs for p in passages] == [(1, 1), (2, 2)], "headings are not numbered as paragraphs"
    assert "title:" not in passages[0].text


def test_front_matter_is_its_own_passage_the_card(tmp_path: Path) -> None:
    doc = load_text(tmp_path, "a.md", f"---\ntitle: A\ndate: 2024-01-01\n---\n{paragraph(4, 15)}\n")
    card, *passages = chunk(doc)
    assert doc.body_start > 0
    assert card.kind == "front matter" and card.text == "title: A\ndate: 2024-01-01"
    assert passages[0].start == doc.body_start
    assert all("date:" not in p.text and p.kind == "text" for p in passages)


def test_citation_and_id_name_the_document_and_paragraphs() -> None:
    doc = document("\n\n".join(paragraph(5, 14, seed=i) for i in range(2)), title="My Title", doc_id="sub/a.md")
    passages = chunk(doc)
    assert [p.citation for p in passages] == ["My Title, ¶1", "My Title, ¶2"]
    assert [p.id for p in passages] == ["sub/a.md#1", "sub/a.md#2"]
    assert all(p.title == "My Title" for p in passages)


def test_blank_body_gives_no_passages() -> None:
    assert chunk(document("\n\n   \n")) == []


def test_split_sentences_keeps_abbreviations_together() -> None:
    text = "Mr. Smith met Dr. Jones in Washington. The U.S. team agreed! Did they? Yes."
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == [
        "Mr. Smith met Dr. Jones in Washington.",
        "The U.S. team agreed!",
        "Did they?",
        "Yes.",
    ]


def test_split_sentences_handles_scraped_text_without_spaces_and_quotes() -> None:
    text = "It was a “fool’s errand.”Ironically, the policy.The end came in 2024. 47% agreed."
    pieces = [text[s:e] for s, e in split_sentences(text)]
    assert pieces == ["It was a “fool’s errand.”", "Ironically, the policy.", "The end came in 2024.", "47% agreed."]


def test_split_sentences_within_a_range() -> None:
    text = "xx  First one. Second one.  yy"
    spans = split_sentences(text, 2, len(text) - 2)
    assert [text[s:e] for s, e in spans] == ["First one.", "Second one."]


def test_essay_passages(tmp_path: Path) -> None:
    doc = load_text(tmp_path, ESSAY.name, ESSAY.read_text(encoding="utf-8"))
    params = ChunkingParams()
    passages = body(chunk(doc, params))
    assert_exact(doc, passages)
    counts = [words(p.text) for p in passages]
    assert 15 <= len(passages) <= 40
    assert max(counts) <= params.max_words
    assert sorted(counts)[len(counts) // 2] >= 60, "most passages are of a useful size"
    # Paragraph numbers run on without gaps or repeats.
    numbers = [n for p in passages for n in range(p.paragraphs[0], p.paragraphs[1] + 1)]
    assert numbers == list(range(1, numbers[-1] + 1))
    tsmc = next(p for p in passages if "TSMC" in p.text)
    assert tsmc.citation == f"There can be no winners in a US-China AI arms race, ¶{tsmc.paragraphs[0]}"
    assert all(p.text.rstrip()[-1] in '.!?”")' for p in passages[:-1])
