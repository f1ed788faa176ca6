"""`qa bench` times the app from launch to its first answer through this probe: the command of a fresh process that
opens the app headless, types a question at once and reports when the answer showed. The bench reaches the app only
through the `AppProbe` the command line passes it."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from qa.kernel.paths import Paths

APP_PROBE = "import sys\nfrom qa.interfaces.tui.probe import app_probe\napp_probe(*sys.argv[1:])\n"
APP_TIMEOUT_S = 120.0


class TerminalAppProbe:
    """The terminal app's probe (a `qa.benchmarks.bench.AppProbe`)."""

    timeout_s = APP_TIMEOUT_S

    def command(self, paths: Paths, model: str | None, question: str) -> list[str]:
        """A fresh Python process running `app_probe` on the index in `paths`."""
        return [sys.executable, "-c", APP_PROBE, str(paths.corpus), str(paths.index), model or "", question]


def app_probe(corpus: str, index: str, model: str, question: str) -> None:
    """In a fresh process: open the app headless, type the question at once (pasted, then Enter), and print as JSON
    the wall-clock time its first answer showed (None: not within APP_TIMEOUT_S) and the top-level modules loaded."""
    import asyncio

    from textual.widgets import Input

    from qa.interfaces.tui.app import create_app

    app = create_app(Paths(Path(corpus), Path(index)), model or None)

    async def first_answer() -> float | None:
        async with app.run_test(size=(120, 40)) as pilot:
            app.screen.query_one(Input).value = question
            await pilot.press("enter")
            deadline = time.monotonic() + APP_TIMEOUT_S
            while time.monotonic() < deadline:
                if app.screen.query("#results ListItem"):
                    return time.time()
                await asyncio.sleep(0.005)
        return None

    answered = asyncio.run(first_answer())
    modules = sorted({name.split(".")[0] for name in sys.modules})
    print(json.dumps({"answered_at": answered, "modules": modules}))
