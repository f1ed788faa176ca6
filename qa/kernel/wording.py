"""How counts and the names a corpus lacks read in messages, in the CLI and the app alike."""

from __future__ import annotations

from collections.abc import Sequence


def plural(count: int, noun: str) -> str:
    """ "1 passage", "2 passages"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def not_in_corpus(names: Sequence[str]) -> str | None:
    """ "Not in the corpus: Xi Jinping" for the names of a question that no document mentions; None for none."""
    return f"Not in the corpus: {', '.join(names)}" if names else None
