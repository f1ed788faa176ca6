"""How counts read in messages, in the CLI and the app alike."""

from __future__ import annotations


def plural(count: int, noun: str) -> str:
    """ "1 passage", "2 passages"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
