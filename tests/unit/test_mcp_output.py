"""Every MCP tool's structured output passes its own declared output schema (checked with `jsonschema`, as the
official SDK client checks it): for every kind of passage (text, front matter, metadata), every kind of document qa
reads, every mode, answers and abstentions, with and without filters."""

from __future__ import annotations

import posixpath
from typing import Any

import pytest
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for

from qa.engine.engine import Engine
from qa.interfaces.mcp.server import TOOLS, Library
from qa.kernel.paths import Paths
from qa.kernel.settings import MODES
from tests.corpora import EVERY_KIND, write_every_kind
from tests.fakes import FakeEmbedder, given

CARD_KINDS = {".md": "front matter", ".html": "metadata", ".pdf": "metadata", ".docx": "metadata", ".epub": "metadata"}


def validator(tool: str) -> Validator:
    """The validator of the tool's declared output schema, after checking that schema is itself valid."""
    schema = TOOLS[tool][2]
    cls = validator_for(schema)
    cls.check_schema(schema)
    checker: Validator = cls(schema)
    return checker


def assert_valid(tool: str, output: dict[str, Any]) -> None:
    errors = [f"{error.json_path}: {error.message}" for error in validator(tool).iter_errors(output)]
    assert errors == [], errors


@pytest.fixture
def library(paths: Paths) -> Library:
    """The MCP server's tools over a corpus of every kind of document, with the fake embedder."""
    write_every_kind(paths.corpus)
    return Library(Engine(paths, None, given(FakeEmbedder())), lambda message: None)


def test_every_tool_declares_a_valid_output_schema() -> None:
    assert set(TOOLS) == {"ask", "status", "list_documents"}
    for tool, (_, arguments, output) in TOOLS.items():
        validator_for(arguments).check_schema(arguments)
        assert output is not None, f"{tool} declares no output schema"
        validator(tool)


def test_a_metadata_card_with_null_offsets_passes_the_ask_schema(library: Library) -> None:
    # The user's step: "Who wrote the Okavango memo?" answered by the Word file's card, whose offsets are null.
    answer = library.ask({"question": "Who wrote the Okavango memo?", "k": 1})
    (card,) = answer["passages"]
    assert (card["doc_id"], card["kind"], card["start"], card["end"]) == ("okavango.docx", "metadata", None, None)
    assert "author: Neo Sebego" in card["text"]
    assert_valid("ask", answer)


@pytest.mark.parametrize("mode", MODES)
def test_ask_output_passes_its_schema_for_every_passage_and_document_kind(library: Library, mode: str) -> None:
    kinds: dict[str, set[str]] = {}
    questions = ["Who wrote it?", "What does it say about repairs, fees and floods?", "When did it come out?"]
    for doc_id in EVERY_KIND:
        for question in questions:
            answer = library.ask({"question": question, "doc": doc_id, "k": 50, "mode": mode})
            assert_valid("ask", answer)
            for passage in answer["passages"]:
                kinds.setdefault(posixpath.splitext(passage["doc_id"])[1], set()).add(passage["kind"])
    question = "ferry tickets, solar panels, cranes, wafers, guides and herons"
    everywhere = library.ask({"question": question, "k": 50, "mode": mode})
    assert_valid("ask", everywhere)
    assert len({passage["doc_id"] for passage in everywhere["passages"]}) > 1
    assert set(kinds) == set(EVERY_KIND.values()), "every kind of document was answered from"
    for suffix, found in kinds.items():
        assert "text" in found, suffix
        if suffix in CARD_KINDS:
            assert CARD_KINDS[suffix] in found, suffix
    assert set().union(*kinds.values()) == {"text", "front matter", "metadata"}


def test_abstentions_and_filtered_answers_pass_the_ask_schema(library: Library) -> None:
    abstained = library.ask({"question": "What is the boiling point of liquid nitrogen?", "threshold": 1})
    assert abstained["answered"] is False and abstained["reason"]
    assert_valid("ask", abstained)
    filter_ = {"in": ["*.docx", "*.epub"], "where": ["date>=2023-01-01"]}
    filtered = library.ask({"question": "guides, floods and herons", "k": 50} | filter_)
    assert {passage["doc_id"] for passage in filtered["passages"]} == {"okavango.docx", "delta.epub"}
    assert filtered["filter"] == filter_
    assert_valid("ask", filtered)


def test_list_documents_output_passes_its_schema_with_every_format_metadata(library: Library) -> None:
    listed = library.documents({})
    assert_valid("list_documents", listed)
    assert [document["id"] for document in listed["documents"]] == sorted(EVERY_KIND)
    by_id = {document["id"]: document for document in listed["documents"]}
    assert by_id["okavango.docx"]["metadata"]["author"] == "Neo Sebego"
    assert by_id["delta.epub"]["metadata"]["date"] == "2023-11-30"
    assert by_id["notes/ferry.md"]["metadata"]["tags"] == ["islands", "boats"]
    assert by_id["station.txt"]["metadata"] == {}
    filtered = library.documents({"in": ["notes"], "where": ["author~marsh"]})
    assert [document["id"] for document in filtered["documents"]] == ["notes/ferry.md"]
    assert_valid("list_documents", filtered)


def test_status_output_passes_its_schema(library: Library, paths: Paths) -> None:
    status = library.status({})
    assert status["built"] is True and status["documents"] == len(EVERY_KIND)
    assert_valid("status", status)
    (paths.corpus / "station.txt").unlink()
    after = library.status({})
    assert after["documents"] == len(EVERY_KIND) - 1
    assert_valid("status", after)
