"""Real `qa` processes for the integration and soak tests: an MCP client session (the SDK's own stdio client) on a
spawned `qa mcp`, and a spawned `qa index --watch`; with the fake embedder unless the real model is asked for."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from qa.kernel.paths import Paths
from tests.conftest import REPO

# `qa` with the fake embedder behind it, through the CLI's embedder seam (cli.run's make_embedder).
FAKE_QA = (
    "import sys\n"
    "from qa.interfaces.cli.main import run\n"
    "from tests.fakes import FakeEmbedder, given\n"
    "sys.exit(run(sys.argv[1:], given(FakeEmbedder())))\n"
)
PASSED_ENV = (
    "HOME",
    "PATH",
    "TMPDIR",
    "XDG_DATA_HOME",
    "HF_HUB_OFFLINE",
    "QA_CACHE",
    "QA_VERIFIER",
    "QA_ANSWERABILITY",
)


def qa_command(*args: str, real_model: bool = False) -> list[str]:
    """The command line of one `qa` process: `python -m qa ...`, or the fake-embedder `qa`."""
    return [sys.executable, "-m", "qa", *args] if real_model else [sys.executable, "-c", FAKE_QA, *args]


def qa_env(real_model: bool = False) -> dict[str, str]:
    """The environment of a spawned `qa`: the test's own isolation settings; no verifier with the fake embedder."""
    env = {key: os.environ[key] for key in PASSED_ENV if key in os.environ}
    env["PYTHONUNBUFFERED"] = "1"
    if not real_model:
        env["QA_VERIFIER"] = "off"
        env["QA_ANSWERABILITY"] = "off"
    return env


@asynccontextmanager
async def mcp_session(paths: Paths, real_model: bool = False) -> AsyncIterator[ClientSession]:
    """An initialised MCP client session on `qa mcp` serving `paths`, spawned as a subprocess over stdio."""
    command = qa_command("mcp", "--corpus", str(paths.corpus), "--index", str(paths.index), real_model=real_model)
    parameters = StdioServerParameters(command=command[0], args=command[1:], env=qa_env(real_model), cwd=REPO)
    with open(os.devnull, "w") as quiet:
        async with stdio_client(parameters, errlog=quiet) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            yield session


async def call(session: ClientSession, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """The structured content of a tool call that must succeed."""
    result = await session.call_tool(tool, arguments)
    assert not result.is_error, result.content
    content: dict[str, Any] = result.structured_content
    assert json.loads(result.content[0].text) == content  # type: ignore[union-attr]
    return content


async def failure(session: ClientSession, tool: str, arguments: dict[str, Any]) -> str:
    """The message of a tool call that must come back as a tool error."""
    result = await session.call_tool(tool, arguments)
    assert result.is_error, result.structured_content
    text: str = result.content[0].text  # type: ignore[union-attr]
    return text


def start_watch(paths: Paths, errors: Path, real_model: bool = False) -> subprocess.Popen[str]:
    """`qa index --watch` on `paths`: its stdout (one line per update) piped to the test, its stderr to `errors`."""
    command = qa_command(
        "index", "--watch", "--corpus", str(paths.corpus), "--index", str(paths.index), real_model=real_model
    )
    with errors.open("w") as stream:
        return subprocess.Popen(
            command, cwd=REPO, env=qa_env(real_model), stdout=subprocess.PIPE, stderr=stream, text=True, bufsize=1
        )


def run_in_terminal(command: list[str], until: bytes, size: tuple[int, int], timeout: float = 60) -> bytes:
    """Run a full-screen `qa` in a pseudo-terminal of `size` (columns, rows) until its output shows `until`, then
    press Ctrl-Q; everything it drew. Fails when it never shows `until` or does not exit cleanly."""
    import fcntl
    import pty
    import select
    import struct
    import termios
    import time

    leader, follower = pty.openpty()
    columns, rows = size
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = qa_env() | {"TERM": "xterm-256color", "COLUMNS": str(columns), "LINES": str(rows)}
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stdin=follower, stdout=follower, stderr=follower, start_new_session=True
    )
    os.close(follower)
    drawn = b""
    deadline = time.monotonic() + timeout
    try:
        while until not in drawn:
            assert time.monotonic() < deadline, f"never drew {until!r}; drew {drawn[-2000:]!r}"
            if select.select([leader], [], [], 0.2)[0]:
                try:
                    drawn += os.read(leader, 65536)
                except OSError:  # the process ended
                    break
        assert until in drawn, f"ended without drawing {until!r}: {drawn[-2000:]!r}"
        os.write(leader, b"\x11")  # Ctrl-Q
        end = time.monotonic() + timeout
        while process.poll() is None and time.monotonic() < end:
            if select.select([leader], [], [], 0.2)[0]:
                try:
                    drawn += os.read(leader, 65536)
                except OSError:
                    break
        assert process.wait(timeout=timeout) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(leader)
    return drawn
