"""Guards for the handlers of worker reports."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

from textual.message import Message
from textual.screen import Screen

Report = TypeVar("Report", bound=Message)
Handled = TypeVar("Handled")
Owner = TypeVar("Owner", bound=Screen[None])


def while_running(handler: Callable[[Owner, Report], Handled]) -> Callable[[Owner, Report], Handled | None]:
    """Drop a worker's report that arrives once the app has begun to close: a closing app shows nothing new (no
    modal, notification or redraw while its screens are being taken down)."""

    @functools.wraps(handler)
    def handle(screen: Owner, report: Report) -> Handled | None:
        return handler(screen, report) if screen.app.is_running else None

    return handle
