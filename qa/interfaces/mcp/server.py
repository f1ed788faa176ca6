"""`qa mcp`: a Model Context Protocol server over stdio (the official `mcp` SDK's low-level server), so that
assistants and editors can ask the corpus and open the cited sources.

Tools: `ask` (question, k, mode, doc, in, where, threshold) returns the answer as structured content: each
passage's citation, offsets, highlight and resource URI, the confidence, and whether (and why not) it answered;
`status` returns the index status; `list_documents` the indexed documents with their metadata. Each document is a
resource, `qa://documents/{+doc_id}`, whose text is what the offsets index. Bad arguments, an empty question or an
unknown document come back as tool errors (`isError`) that say how to fix them; the server goes on.

The engine and the open index are made once and reused. Before each request a status check (the sizes and times of
the corpus files, as `qa status` reads them) updates the index incrementally when the corpus changed, so answers
always reflect the files as they are; a build by another process is picked up too.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, get_args
from urllib.parse import quote, unquote

from qa.documents.chunking import PassageKind
from qa.interfaces.mcp import tool_arguments
from qa.kernel.errors import InputError, QAError
from qa.kernel.progress import once
from qa.kernel.settings import DEFAULT_MODE, MODES, Settings, clean_question

if TYPE_CHECKING:
    from mcp.server.context import ServerRequestContext
    from mcp.server.lowlevel import Server

    from qa.engine.engine import Engine
    from qa.engine.status import IndexStatus
    from qa.index.manifest import DocumentEntry
    from qa.index.stores.base import PassageStore

SERVER_NAME = "qa"
URI_PREFIX = "qa://documents/"
URI_TEMPLATE = URI_PREFIX + "{+doc_id}"
MAX_K = 50
UPDATE_ATTEMPTS = 4
UPDATE_PAUSE = 0.2  # seconds before the second attempt; then twice, three times as long
_STRINGS = {"type": "array", "items": {"type": "string"}}
_FILTERS = {
    "in": _STRINGS
    | {"description": "Only documents whose path in the corpus matches one of these globs (a folder takes all below)."},
    "where": _STRINGS
    | {
        "description": "Only documents whose metadata passes every condition FIELD OP VALUE, OP one of = != >= <= "
        "(dates, numbers) or ~ (contains), e.g. date>=2024-01-01 or tags~china."
    },
}
ASK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "question": {"type": "string", "description": "The question, in plain words."},
        "k": {"type": "integer", "minimum": 1, "maximum": MAX_K, "default": 5, "description": "Passages to return."},
        "mode": {"type": "string", "enum": list(MODES), "default": DEFAULT_MODE, "description": "Retrieval mode."},
        "doc": {"type": "string", "description": "Only this document (its id, as list_documents gives it)."},
        **_FILTERS,
        "threshold": {
            "type": "number",
            "minimum": 0,
            "maximum": 1,
            "description": "Confidence below which the answer abstains (default: the calibrated one).",
        },
    },
    "required": ["question"],
    "additionalProperties": False,
}
_OFFSET = {"type": ["integer", "null"], "minimum": 0}
_PASSAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "rank": {"type": "integer", "minimum": 1},
        "passage_id": {"type": "string"},
        "doc_id": {"type": "string"},
        "title": {"type": "string"},
        "citation": {"type": "string"},
        "score": {"type": "number", "description": "The score the passages are ordered by, best first."},
        "retrieval_score": {
            "type": ["number", "null"],
            "description": "The fused retrieval score (null for a passage chosen without retrieval).",
        },
        "verifier_score": {
            "type": ["number", "null"],
            "description": "The answer verifier's probability for the passage's best sentence (null when not read).",
        },
        "start": _OFFSET
        | {"description": "Offset of the passage in the document's text; null for a metadata card (not a slice)."},
        "end": _OFFSET | {"description": "Offset just past the passage; null for a metadata card."},
        "text": {"type": "string"},
        "highlight": {
            "type": ["array", "null"],
            "items": {"type": "integer", "minimum": 0},
            "minItems": 2,
            "maxItems": 2,
            "description": "The answering sentence as [start, end] offsets within text.",
        },
        "kind": {
            "enum": list(get_args(PassageKind)),
            "description": "text: a passage of the body; front matter: a document's YAML card (start/end slice the "
            "file); metadata: the card of an HTML, PDF, Word or EPUB file, built from its metadata.",
        },
        "uri": {"type": "string"},
    },
    "required": [
        "rank",
        "passage_id",
        "doc_id",
        "title",
        "citation",
        "score",
        "retrieval_score",
        "verifier_score",
        "start",
        "end",
        "text",
        "highlight",
        "kind",
        "uri",
    ],
    "additionalProperties": False,
}
_FILTER_SCHEMA: dict[str, Any] = {
    "type": ["object", "null"],
    "properties": {"in": _STRINGS, "where": _STRINGS},
    "required": ["in", "where"],
    "additionalProperties": False,
    "description": "The filter the search used (null when none).",
}
ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "question": {"type": "string"},
        "answered": {"type": "boolean"},
        "mode": {"enum": list(MODES)},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "unknown": _STRINGS | {"description": "Names in the question that the corpus never mentions."},
        "reason": {"type": ["string", "null"], "description": "Why the answer abstains (null when answered)."},
        "scope": {
            "type": ["string", "null"],
            "description": "The document a question about a document as a whole was taken to mean.",
        },
        "passages": {"type": "array", "items": _PASSAGE_SCHEMA},
        "filter": _FILTER_SCHEMA,
    },
    "required": ["question", "answered", "mode", "confidence", "unknown", "reason", "scope", "passages", "filter"],
    "additionalProperties": False,
}
LIST_SCHEMA: dict[str, Any] = {"type": "object", "properties": _FILTERS, "additionalProperties": False}
STATUS_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": False}
DOCUMENTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "count": {"type": "integer", "minimum": 0},
        "documents": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "title": {"type": "string"},
                    "uri": {"type": "string"},
                    "passages": {"type": "integer", "minimum": 0},
                    "metadata": {"type": "object", "description": "Front matter, or the file format's own metadata."},
                },
                "required": ["id", "title", "uri", "passages", "metadata"],
                "additionalProperties": False,
            },
        },
        "filter": _FILTER_SCHEMA,
    },
    "required": ["count", "documents", "filter"],
    "additionalProperties": False,
}
INDEX_STATUS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "corpus": {"type": "string"},
        "index": {"type": "string"},
        "built": {"type": "boolean"},
        "stale": {"type": "boolean"},
        "damaged": {"type": "boolean"},
        "damage": {"type": "array", "items": {"type": "string"}},
        "documents": {"type": "integer", "minimum": 0},
        "passages": {"type": "integer", "minimum": 0},
        "model": {"type": "string"},
        "dimension": {"type": "integer", "minimum": 1},
        "vector_index": {"type": ["string", "null"]},
        "built_at": {"type": "string"},
        "build_seconds": {"type": "number"},
        "added": _STRINGS,
        "changed": _STRINGS,
        "removed": _STRINGS,
        "document_ids": _STRINGS,
        "store": {"type": "object", "description": "The store's own report (an index in another store than files)."},
    },
    "required": ["corpus", "index", "built", "stale", "damaged", "damage", "documents", "passages"],
    "additionalProperties": False,
}


def document_uri(doc_id: str) -> str:
    """The resource URI of a document: its corpus path, percent-encoded but for its slashes."""
    return URI_PREFIX + quote(doc_id, safe="/")


def document_id(uri: str) -> str:
    """The document id a resource URI names; InputError for another kind of URI."""
    if not uri.startswith(URI_PREFIX) or len(uri) == len(URI_PREFIX):
        raise InputError(f"unknown resource {uri!r}: document URIs look like {URI_PREFIX}DOC_ID")
    return unquote(uri[len(URI_PREFIX) :])


class Library:
    """The engine and its open index, shared by every request and brought up to date before each (thread-safe)."""

    def __init__(self, engine: Engine, warn: Callable[[str], None]) -> None:
        self.engine = engine
        self.reporter = _WarningReporter(once(warn))
        self._lock = threading.Lock()
        self._store: PassageStore | None = None
        self._generation: str | None = None  # the generation `_store` reads

    def current(self) -> tuple[PassageStore, IndexStatus]:
        """The open index, updated first when the corpus changed or another process rebuilt it."""
        for attempt in range(UPDATE_ATTEMPTS):
            try:
                return self._update()
            except OSError as error:  # a file vanished between listing and reading it: let the corpus settle
                if attempt == UPDATE_ATTEMPTS - 1:
                    raise QAError(f"the corpus kept changing during the update ({error}); ask again") from error
                time.sleep(UPDATE_PAUSE * (attempt + 1))
        raise AssertionError("unreachable")

    def _update(self) -> tuple[PassageStore, IndexStatus]:
        with self._lock:
            status = self.engine.status(self.reporter)
            store = self._store
            if store is None or status.stale or status.damaged or _generation(status) != self._generation:
                store, _ = self.engine.open(self.reporter, status)
                if status.stale:
                    status = self.engine.status(self.reporter)
                self._store, self._generation = store, _generation(status)
            return store, status

    def warm_up(self) -> None:
        """Open the index and load the model now, so the first question is as fast as the next (errors wait for
        the first request, which reports them)."""
        try:
            self.current()
            self.engine.load_model()
        except QAError as error:
            self.reporter.warn(str(error))

    def ask(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """The `ask` tool: the answer as `qa ask --json` gives it, each passage with its resource URI."""
        tool_arguments.check_names(arguments, ASK_SCHEMA, "ask")
        question = clean_question(tool_arguments.text(arguments, "question", required=True) or "")
        k = tool_arguments.integer(arguments, "k", 5, 1, MAX_K)
        mode = tool_arguments.text(arguments, "mode") or DEFAULT_MODE
        if mode not in MODES:
            raise InputError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        threshold = arguments.get("threshold")
        if threshold is not None and (
            isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 <= threshold <= 1
        ):
            raise InputError(f"threshold must be a number from 0 to 1, not {threshold!r}")
        found = tool_arguments.search_filter(arguments)
        settings = Settings(mode=mode, k=k, doc=tool_arguments.text(arguments, "doc"), filter=found or None)
        store, _ = self.current()
        answer = self.engine.ask(store, question, settings.with_threshold(threshold))
        result = answer.as_json()
        for passage in result["passages"]:
            passage["uri"] = document_uri(passage["doc_id"])
        result["filter"] = found.as_json() if found else None
        return result

    def status(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """The `status` tool: `qa status --json`, after any update; a damaged index is reported as it is (the other
        tools fail on it, saying that `qa index` repairs it)."""
        tool_arguments.check_names(arguments, STATUS_SCHEMA, "status")
        with self._lock:
            found = self.engine.status(self.reporter)
        if found.damaged:
            return found.as_json()
        _, found = self.current()
        return found.as_json()

    def documents(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """The `list_documents` tool: each indexed document (passing the filter) with its title, passage count,
        resource URI and metadata."""
        tool_arguments.check_names(arguments, LIST_SCHEMA, "list_documents")
        found = tool_arguments.search_filter(arguments)
        store, status = self.current()
        entries = _entries(status)
        listed = []
        for doc_id in store.document_ids():
            document = store.document(doc_id)
            if found and not found.admits(doc_id, document.metadata):
                continue
            entry = entries.get(doc_id)
            listed.append(
                {
                    "id": doc_id,
                    "title": document.title,
                    "uri": document_uri(doc_id),
                    "passages": entry.passages if entry is not None else 0,
                    "metadata": json.loads(json.dumps(dict(document.metadata), default=str)),
                }
            )
        return {"count": len(listed), "documents": listed, "filter": found.as_json() if found else None}

    def read(self, uri: str) -> tuple[str, str]:
        """A document resource: its text (what passage offsets index) and MIME type."""
        doc_id = document_id(uri)
        store, status = self.current()
        entry = _entries(status).get(doc_id)
        if entry is None or not entry.passages:
            raise InputError(f"no document {doc_id!r} in the index: list_documents gives the document ids")
        return store.document(doc_id).text, _mime_type(doc_id)

    def resources(self) -> list[tuple[str, str, str]]:
        """(URI, id, title) of every indexed document."""
        store, status = self.current()
        entries = _entries(status)
        found = [(doc_id, entries.get(doc_id)) for doc_id in store.document_ids()]
        return [
            (document_uri(doc_id), doc_id, entry.title if entry and entry.title else doc_id) for doc_id, entry in found
        ]


def _generation(status: IndexStatus) -> str | None:
    return status.manifest.generation if status.manifest is not None else None


def _entries(status: IndexStatus) -> dict[str, DocumentEntry]:
    """What the manifest remembers of each document: title and passage count."""
    return status.manifest.documents if status.manifest is not None else {}


@dataclass
class _WarningReporter:
    """Passes the core's warnings on (to stderr: stdout carries the protocol) and drops its progress."""

    warn: Callable[[str], None]

    def start(self, stage: str, total: int) -> None:
        """Ignore the stage."""

    def advance(self, steps: int = 1) -> None:
        """Ignore progress."""


def _mime_type(doc_id: str) -> str:
    suffix = doc_id.rsplit(".", 1)[-1].lower()
    return "text/markdown" if suffix in {"md", "markdown", "docx", "epub", "html", "htm"} else "text/plain"


TOOLS: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "ask": (
        "Ask the indexed documents a question. Returns the passages that answer it, best first, each with a "
        "citation to quote, character offsets into the document text (resource uri), the answering sentence as "
        "`highlight` offsets within the passage, and a confidence; `answered` is false, with a `reason`, when no "
        "passage answers confidently. Narrow the search with doc, in (path globs) or where (metadata conditions).",
        ASK_SCHEMA,
        ANSWER_SCHEMA,
    ),
    "status": (
        "The index: documents, passages, model, build time, whether it matches the corpus, and whether it is "
        "damaged (and how).",
        STATUS_SCHEMA,
        INDEX_STATUS_SCHEMA,
    ),
    "list_documents": (
        "The indexed documents: id, title, passage count, resource uri and metadata (front matter, or a file "
        "format's own: title, author, date...), optionally only those matching in/where filters.",
        LIST_SCHEMA,
        DOCUMENTS_SCHEMA,
    ),
}


def make_server(library: Library, version: str = "") -> Server[Any]:
    """The low-level MCP server over a library: tools, document resources and their template."""
    import anyio.to_thread
    from mcp import types
    from mcp.server.lowlevel import Server
    from mcp.shared.exceptions import MCPError
    from mcp.types.jsonrpc import INVALID_PARAMS

    handlers: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
        "ask": library.ask,
        "status": library.status,
        "list_documents": library.documents,
    }

    async def list_tools(
        context: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(
            tools=[
                types.Tool(name=name, description=text, input_schema=schema, output_schema=output)
                for name, (text, schema, output) in TOOLS.items()
            ]
        )

    async def call_tool(
        context: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        handler = handlers.get(params.name)
        try:
            if handler is None:
                raise InputError(f"unknown tool {params.name!r}: the tools are {', '.join(handlers)}")
            result = await anyio.to_thread.run_sync(handler, params.arguments or {})
        except QAError as error:
            return types.CallToolResult(content=[types.TextContent(type="text", text=str(error))], is_error=True)
        except Exception as error:  # a failure the core did not foresee still answers, and the server goes on
            print(f"qa: {params.name} failed: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
            message = f"{params.name} failed ({type(error).__name__}: {error}); see the server's log"
            return types.CallToolResult(content=[types.TextContent(type="text", text=message)], is_error=True)
        text = json.dumps(result, ensure_ascii=False)
        return types.CallToolResult(content=[types.TextContent(type="text", text=text)], structured_content=result)

    async def list_resources(
        context: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        try:
            found = await anyio.to_thread.run_sync(library.resources)
        except QAError as error:
            raise MCPError(INVALID_PARAMS, str(error)) from error
        return types.ListResourcesResult(
            resources=[
                types.Resource(uri=uri, name=doc_id, title=title, mime_type=_mime_type(doc_id))
                for uri, doc_id, title in found
            ]
        )

    async def list_templates(
        context: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        template = types.ResourceTemplate(
            uri_template=URI_TEMPLATE,
            name="document",
            title="Indexed document",
            description="The text of an indexed document, as passage offsets index it (doc_id: its corpus path).",
        )
        return types.ListResourceTemplatesResult(resource_templates=[template])

    async def read_resource(
        context: ServerRequestContext[Any, Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        try:
            text, mime = await anyio.to_thread.run_sync(library.read, params.uri)
        except QAError as error:
            raise MCPError(INVALID_PARAMS, str(error), {"uri": params.uri}) from error
        return types.ReadResourceResult(
            contents=[types.TextResourceContents(uri=params.uri, text=text, mime_type=mime)]
        )

    return Server(
        SERVER_NAME,
        version=version,
        title="qa: cited answers from local documents",
        instructions="Ask questions of the user's local documents with `ask`; quote the returned citations, and "
        "open a cited document through its resource uri to check a passage (start/end index its text).",
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_list_resource_templates=list_templates,
        on_read_resource=read_resource,
    )


def serve(engine: Engine, warm: bool = True) -> None:
    """Serve MCP over stdin and stdout until the client closes stdin; warnings go to stderr. With `warm`, the
    index is opened and the model loaded in the background as the server starts."""
    import anyio
    from mcp.server.stdio import stdio_server

    library = Library(engine, _stderr)
    server = make_server(library, _version())
    if warm:
        threading.Thread(target=library.warm_up, name="qa-warm-up", daemon=True).start()

    async def run() -> None:
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

    anyio.run(run)


def _stderr(message: str) -> None:
    print(f"qa: {message}", file=sys.stderr, flush=True)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("qa")
    except PackageNotFoundError:
        return ""
