"""`qa mcp` as MCP clients see it: the SDK's own stdio client spawns the server as a subprocess, lists its tools,
asks questions, opens cited sources, sends bad arguments and changes the corpus while the server runs."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest
from jsonschema.validators import validator_for
from mcp import ClientSession
from mcp.shared.exceptions import MCPError

from qa.index import manifest
from qa.kernel.paths import Paths
from tests.cli.conftest import where
from tests.conftest import ESSAY, REPO
from tests.corpora import EVERY_KIND, write_doc, write_every_kind
from tests.live import call, failure, mcp_session, qa_command, qa_env

CHIP_QUESTION = "Which company leads global chip foundries?"
ESSAY_ID = "no-winners-ai-race.md"


async def test_tools_are_listed_with_their_arguments(essay_paths: Paths) -> None:
    async with mcp_session(essay_paths) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        assert set(tools) == {"ask", "status", "list_documents"}
        ask = tools["ask"].input_schema
        assert ask["required"] == ["question"]
        assert {"question", "k", "mode", "doc", "in", "where"} <= set(ask["properties"])
        assert ask["properties"]["mode"]["enum"] == ["hybrid", "dense", "lexical"]
        assert tools["ask"].output_schema is not None
        templates = (await session.list_resource_templates()).resource_templates
        assert [template.uri_template for template in templates] == ["qa://documents/{+doc_id}"]


async def test_a_lexical_answer_cites_a_passage_the_client_can_open(essay_paths: Paths) -> None:
    async with mcp_session(essay_paths) as session:
        answer = await call(session, "ask", {"question": CHIP_QUESTION, "k": 3, "mode": "lexical"})
        assert answer["mode"] == "lexical"
        assert answer["answered"] is True
        assert answer["reason"] is None
        assert 0 < answer["confidence"] <= 1
        assert answer["filter"] is None
        assert len(answer["passages"]) == 3
        top = answer["passages"][0]
        assert top["citation"] == "There can be no winners in a US-China AI arms race, ¶6"
        assert top["uri"] == f"qa://documents/{ESSAY_ID}"
        start, end = top["highlight"]
        assert 0 <= start < end <= len(top["text"])
        opened = await session.read_resource(top["uri"])
        text = opened.contents[0].text  # type: ignore[union-attr]
        assert text[top["start"] : top["end"]] == top["text"]
        assert text == (essay_paths.corpus / ESSAY_ID).read_text(encoding="utf-8")


async def test_the_ask_schema_declares_the_scores_and_unknown_names_an_answer_carries(essay_paths: Paths) -> None:
    async with mcp_session(essay_paths) as session:
        schema = {tool.name: tool for tool in (await session.list_tools()).tools}["ask"].output_schema
        assert schema is not None
        declared = schema["properties"]["passages"]["items"]["properties"]
        answer = await call(session, "ask", {"question": "What did Angela Merkel say about chips?", "mode": "lexical"})
        assert answer["unknown"] == ["Angela Merkel"] and "unknown" in schema["properties"]
        for passage in answer["passages"]:
            assert {"score", "retrieval_score", "verifier_score"} <= set(passage) & set(declared)
            assert passage["retrieval_score"] == passage["score"] and passage["verifier_score"] is None


async def test_status_documents_and_resources(essay_paths: Paths) -> None:
    write_doc(essay_paths.corpus, "notes/harbour.md", "harbour crane fleet")
    async with mcp_session(essay_paths) as session:
        status = await call(session, "status", {})
        assert status["built"] is True
        assert status["stale"] is False
        assert status["document_ids"] == [ESSAY_ID, "notes/harbour.md"]
        listed = await call(session, "list_documents", {})
        assert listed["count"] == 2
        essay = listed["documents"][0]
        assert essay["id"] == ESSAY_ID
        assert essay["metadata"]["date"] == "2025-01-21"
        assert essay["passages"] > 10
        notes = await call(session, "list_documents", {"in": ["notes"]})
        assert [document["id"] for document in notes["documents"]] == ["notes/harbour.md"]
        dated = await call(session, "list_documents", {"where": ["date>=2025-01-01"]})
        assert [document["id"] for document in dated["documents"]] == [ESSAY_ID]
        resources = (await session.list_resources()).resources
        assert [resource.uri for resource in resources] == [
            f"qa://documents/{ESSAY_ID}",
            "qa://documents/notes/harbour.md",
        ]
        assert resources[1].title == "The harbour crane fleet"


async def test_filters_narrow_the_search(essay_paths: Paths) -> None:
    write_doc(essay_paths.corpus, "notes/chips.md", "chip foundry")
    async with mcp_session(essay_paths) as session:
        question = {"question": "chip foundry report", "mode": "lexical", "k": 5}
        everywhere = await call(session, "ask", question)
        assert {passage["doc_id"] for passage in everywhere["passages"]} == {ESSAY_ID, "notes/chips.md"}
        notes = await call(session, "ask", question | {"in": ["notes/*"]})
        assert {passage["doc_id"] for passage in notes["passages"]} == {"notes/chips.md"}
        assert notes["filter"] == {"in": ["notes/*"], "where": []}
        dated = await call(session, "ask", question | {"where": ["date>=2025-01-01"]})
        assert {passage["doc_id"] for passage in dated["passages"]} == {ESSAY_ID}
        one = await call(session, "ask", question | {"doc": "notes/chips.md", "k": 1})
        assert [passage["doc_id"] for passage in one["passages"]] == ["notes/chips.md"]


async def checked_call(session: ClientSession, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """A tool call through the official client (which checks the structured content against the tool's output
    schema), checked again here against the schema the client was given."""
    answer = await call(session, tool, arguments)
    (listed,) = [found for found in (await session.list_tools()).tools if found.name == tool]
    assert listed.output_schema is not None
    checker = validator_for(listed.output_schema)(listed.output_schema)
    assert [error.message for error in checker.iter_errors(answer)] == []
    return answer


async def test_metadata_cards_of_every_format_reach_the_official_client(paths: Paths) -> None:
    # The user's step: "Who wrote the Okavango memo?" at k=1, answered by the .docx file's card (start: null), which
    # the official client refused as "None is not of type 'integer'".
    write_every_kind(paths.corpus)
    async with mcp_session(paths) as session:
        who = await checked_call(session, "ask", {"question": "Who wrote the Okavango memo?", "k": 1})
        (card,) = who["passages"]
        assert (card["doc_id"], card["kind"], card["start"], card["end"]) == ("okavango.docx", "metadata", None, None)
        assert "author: Neo Sebego" in card["text"]
        assert card["uri"] == "qa://documents/okavango.docx"
        kinds = set()
        for doc_id in EVERY_KIND:
            answer = await checked_call(session, "ask", {"question": "Who wrote it, and when?", "doc": doc_id, "k": 50})
            kinds |= {(doc_id.rsplit(".", 1)[1], passage["kind"]) for passage in answer["passages"]}
        assert {("docx", "metadata"), ("html", "metadata"), ("pdf", "metadata"), ("epub", "metadata")} <= kinds
        assert {("md", "front matter"), ("md", "text"), ("txt", "text")} <= kinds
        listed = await checked_call(session, "list_documents", {})
        assert listed["count"] == len(EVERY_KIND)
        status = await checked_call(session, "status", {})
        assert status["documents"] == len(EVERY_KIND)


@pytest.mark.model
async def test_the_users_docx_questions_with_the_real_model(paths: Paths) -> None:
    # The corpus the user tried: the essay, a Markdown note, a .txt and a .docx of their own.
    shutil.copy(ESSAY, paths.corpus / ESSAY.name)
    write_every_kind(paths.corpus)
    for doc_id in ("harbour.html", "chips.pdf", "delta.epub", "notes/plain.md"):
        (paths.corpus / doc_id).unlink()
    async with mcp_session(paths, real_model=True) as session:
        who = await checked_call(session, "ask", {"question": "Who wrote the Okavango memo?", "k": 1})
        assert [(passage["doc_id"], passage["kind"]) for passage in who["passages"]] == [("okavango.docx", "metadata")]
        question = "How much did the field station spend on solar panel repairs?"
        for k in (1, 2, 5):
            spent = await checked_call(session, "ask", {"question": question, "k": k})
            assert spent["passages"][0]["doc_id"] == "station.txt"
            assert "4,200 dollars" in spent["passages"][0]["text"]


BAD_CALLS: list[tuple[str, dict[str, object], str]] = [
    ("ask", {"question": "   "}, "the question is empty"),
    ("ask", {}, "question is required"),
    ("ask", {"question": 42}, "question must be a string"),
    ("ask", {"question": CHIP_QUESTION, "k": 0}, "k must be a whole number from 1 to 50, not 0"),
    ("ask", {"question": CHIP_QUESTION, "k": "many"}, 'k must be a whole number from 1 to 50, not "many"'),
    ("ask", {"question": CHIP_QUESTION, "mode": "fuzzy"}, "mode must be one of hybrid, dense, lexical"),
    ("ask", {"question": CHIP_QUESTION, "doc": "missing.md"}, "no document 'missing.md' in the index"),
    ("ask", {"question": CHIP_QUESTION, "where": ["date"]}, "cannot read the filter 'date'"),
    ("ask", {"question": CHIP_QUESTION, "in": [""]}, "--in needs a path pattern"),
    ("ask", {"question": CHIP_QUESTION, "in": [3]}, "in must be a list of strings"),
    ("ask", {"question": CHIP_QUESTION, "threshold": 2}, "threshold must be a number from 0 to 1"),
    ("ask", {"question": CHIP_QUESTION, "top": 3}, "ask got unknown argument(s) top"),
    ("status", {"verbose": True}, "status got unknown argument(s) verbose: it takes no arguments"),
    ("search", {"question": CHIP_QUESTION}, "unknown tool 'search': the tools are ask, status, list_documents"),
]


async def test_bad_arguments_are_tool_errors_and_the_server_goes_on(essay_paths: Paths) -> None:
    async with mcp_session(essay_paths) as session:
        for tool, arguments, message in BAD_CALLS:
            assert message in await failure(session, tool, arguments), (tool, arguments)
            answer = await call(session, "ask", {"question": CHIP_QUESTION, "mode": "lexical", "k": 1})
            assert answer["passages"][0]["doc_id"] == ESSAY_ID


async def test_an_unknown_document_resource_is_an_error_and_the_server_goes_on(essay_paths: Paths) -> None:
    async with mcp_session(essay_paths) as session:
        with pytest.raises(MCPError, match=r"no document 'gone\.md' in the index"):
            await session.read_resource("qa://documents/gone.md")
        with pytest.raises(MCPError, match="document URIs look like qa://documents/DOC_ID"):
            await session.read_resource("file:///etc/passwd")
        assert (await call(session, "status", {}))["documents"] == 1


async def test_a_corpus_change_while_the_server_runs_is_seen_by_the_next_request(essay_paths: Paths) -> None:
    question = {"question": "orchard apple harvest", "mode": "lexical", "k": 3}
    async with mcp_session(essay_paths) as session:
        before = await call(session, "ask", question)
        assert all(passage["doc_id"] == ESSAY_ID for passage in before["passages"])
        write_doc(essay_paths.corpus, "orchard.md", "orchard apple harvest")
        added = await call(session, "ask", question)
        assert added["passages"][0]["doc_id"] == "orchard.md"
        assert (await call(session, "status", {}))["document_ids"] == [ESSAY_ID, "orchard.md"]
        (essay_paths.corpus / "orchard.md").unlink()
        removed = await call(session, "ask", question)
        assert all(passage["doc_id"] == ESSAY_ID for passage in removed["passages"])
        with pytest.raises(MCPError, match=r"no document 'orchard\.md'"):
            await session.read_resource("qa://documents/orchard.md")


async def test_an_emptied_corpus_is_a_tool_error_until_documents_come_back(essay_paths: Paths) -> None:
    essay = essay_paths.corpus / ESSAY_ID
    text = essay.read_bytes()
    async with mcp_session(essay_paths) as session:
        await call(session, "status", {})
        essay.unlink()
        assert "has no documents" in await failure(session, "ask", {"question": CHIP_QUESTION})
        essay.write_bytes(text)
        answer = await call(session, "ask", {"question": CHIP_QUESTION, "mode": "lexical", "k": 1})
        assert answer["passages"][0]["doc_id"] == ESSAY_ID


@pytest.mark.model
async def test_real_questions_with_the_real_model(essay_paths: Paths) -> None:
    async with mcp_session(essay_paths, real_model=True) as session:
        answer = await call(session, "ask", {"question": CHIP_QUESTION})
        assert answer["mode"] == "hybrid"
        assert answer["answered"] is (answer["reason"] is None)
        assert 0 <= answer["confidence"] <= 1
        top = answer["passages"][0]
        assert top["citation"] == "There can be no winners in a US-China AI arms race, ¶6"
        assert "TSMC" in top["text"]
        start, end = top["highlight"]
        assert 0 <= start < end <= len(top["text"])
        who = await call(session, "ask", {"question": "Who wrote the essay?", "k": 3})
        assert any("Graylin" in passage["text"] for passage in who["passages"])
        unknown = await call(session, "ask", {"question": "What is the boiling point of liquid nitrogen?"})
        assert unknown["answered"] is False
        assert unknown["reason"]
        dense = await call(session, "ask", {"question": CHIP_QUESTION, "mode": "dense", "k": 2})
        assert len(dense["passages"]) == 2


async def test_a_damaged_index_is_said_by_status_and_repaired_by_qa_index(essay_paths: Paths) -> None:
    # Issue 22, item 3: `status` called a damaged index fresh.
    question = {"question": CHIP_QUESTION, "mode": "lexical", "k": 1}
    async with mcp_session(essay_paths) as session:
        await call(session, "ask", question)  # builds the index
        vectors = essay_paths.index / manifest.read(essay_paths.index).generation / "vectors.npy"
        with vectors.open("r+b") as stream:
            stream.truncate(vectors.stat().st_size // 2)
        status = await call(session, "status", {})
        assert status["damaged"] is True and status["damage"][0].startswith("vectors.npy is truncated to ")
        assert "run qa index to repair" in await failure(session, "ask", question)
        repaired = subprocess.run(
            qa_command("index", *where(essay_paths)),
            env=qa_env(),
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
        assert repaired.returncode == 0 and repaired.stdout.startswith("index was damaged (vectors.npy is truncated")
        status = await call(session, "status", {})
        assert (status["damaged"], status["damage"]) == (False, [])
        assert (await call(session, "ask", question))["passages"][0]["doc_id"] == ESSAY_ID
