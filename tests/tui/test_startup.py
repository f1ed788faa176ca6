"""The app draws before the model loads: torch is imported in a worker thread, never on the main thread."""

from __future__ import annotations

import pytest

from qa.kernel.paths import Paths
from tests.probes import probe

_PROBE = """
import asyncio, json, sys, threading
from pathlib import Path

first_import = {}

class Spy:
    def find_spec(self, name, path=None, target=None):
        if name in ("torch", "sentence_transformers") and name not in first_import:
            first_import[name] = threading.current_thread().name
        return None

sys.meta_path.insert(0, Spy())

from qa.kernel.paths import Paths
from qa.interfaces.tui.app import create_app

app = create_app(Paths(Path(sys.argv[1]), Path(sys.argv[2])))

async def main():
    async with app.run_test(size=(100, 30)) as pilot:
        for _ in range(600):
            await pilot.pause(0.1)
            if app.main.model_ready:
                break
        print(json.dumps({"first_import": first_import, "ready": app.main.model_ready}))

asyncio.run(main())
"""


@pytest.mark.model
def test_torch_loads_in_a_worker_thread_after_the_first_draw(essay_paths: Paths) -> None:
    found = probe(_PROBE, str(essay_paths.corpus), str(essay_paths.index))
    assert found["ready"]
    assert found["first_import"]["torch"].startswith("qa-worker")
