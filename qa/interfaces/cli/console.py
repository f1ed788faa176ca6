"""The CLI's stderr: progress bars and warnings for long-running core work."""

from __future__ import annotations

import sys
from typing import Any

import click

from qa.kernel.progress import once


class ClickReporter:
    """Progress bars and warnings on stderr; silent bars when stderr is not a terminal."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self._bar: Any = None
        self._warn = once(self._print)

    def warn(self, message: str) -> None:
        """Print a warning line (each distinct one once)."""
        self._warn(message)

    def _print(self, message: str) -> None:
        self._close()
        click.echo(f"qa: {message}", err=True)

    def start(self, stage: str, total: int) -> None:
        """Open a progress bar for the stage."""
        self._close()
        if self.quiet or total <= 0 or not sys.stderr.isatty():
            return
        from tqdm import tqdm

        self._bar = tqdm(total=total, desc=stage, unit="", leave=False, file=sys.stderr, dynamic_ncols=True)

    def advance(self, steps: int = 1) -> None:
        """Move the bar on."""
        if self._bar is not None:
            self._bar.update(steps)

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def finish(self) -> None:
        """Close any open bar."""
        self._close()
