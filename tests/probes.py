"""Probes: Python run in a fresh interpreter from the repository, whose last line of output is JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from tests.conftest import REPO


def probe(code: str, *arguments: str, timeout: float = 300) -> Any:
    """Run `code` with `arguments` in a fresh interpreter (failing on a non-zero exit) and parse its last line."""
    done = subprocess.run(
        [sys.executable, "-c", code, *arguments], capture_output=True, text=True, cwd=REPO, timeout=timeout, check=True
    )
    return json.loads(done.stdout.splitlines()[-1])
