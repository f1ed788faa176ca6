"""`qa mcp`: serve the corpus to assistants and editors over the Model Context Protocol on stdio."""

from __future__ import annotations

import click

from qa.interfaces.cli.options import location_options
from qa.kernel import paths as qa_paths


@click.command("mcp")
@location_options
def mcp_command(corpus: str | None, index_dir: str | None, model: str | None) -> None:
    """Serve the corpus to assistants and editors over MCP on stdio: tools ask, status and list_documents.

    Add it to a client's configuration as the command `qa mcp --corpus DIR --index DIR`.
    """
    from qa.engine.engine import Engine
    from qa.interfaces.mcp.server import serve

    paths = qa_paths.resolve(corpus, index_dir)
    serve(Engine(paths, model, click.get_current_context().find_root().obj))
