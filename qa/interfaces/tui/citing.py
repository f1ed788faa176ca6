"""What the user can do with a cited passage, from the results or from its source: mark it as the right answer,
copy the quote with its citation, open its file in an editor. Outcomes are told in notifications."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import SuspendNotSupported

from qa.interfaces.tui import records
from qa.interfaces.tui.editor import editor_command
from qa.interfaces.tui.results import answer_sentence
from qa.kernel.errors import QAError

if TYPE_CHECKING:
    from textual.screen import Screen

    from qa.answering.answer import Hit
    from qa.documents.base import Document


def passage_line(document: Document, hit: Hit) -> int:
    """The 1-based line of the document where the passage starts."""
    return document.text.count("\n", 0, hit.passage.start) + 1


def mark(screen: Screen[Any], gold: Path, question: str, hit: Hit) -> None:
    """Add the question and the passage's answering sentence to the user's gold set at `gold`."""
    try:
        added = records.append_gold(gold, question, answer_sentence(hit), hit.passage.doc_id)
    except QAError as error:
        screen.notify(str(error), severity="error")
        return
    if added is None:
        screen.notify(f"Already in {gold}.", title="Gold set")
    else:
        screen.notify(f"Added {added} to {gold}.", title="Marked as the right answer")


def copy(screen: Screen[Any], hit: Hit, citation: str) -> None:
    """Copy the quote (the answering sentence) and its citation to the clipboard."""
    screen.app.copy_to_clipboard(f'"{answer_sentence(hit)}" — {citation}')
    screen.notify("Copied the quote and its citation.", timeout=2)


def edit(screen: Screen[Any], corpus: Path, hit: Hit, document: Document) -> None:
    """Open the passage's file (its copy in `corpus` when there is one) in $EDITOR at the passage's line."""
    try:
        in_corpus = corpus / hit.passage.doc_id
        command = editor_command(in_corpus if in_corpus.is_file() else Path(document.path), passage_line(document, hit))
    except QAError as error:
        screen.notify(str(error), severity="error")
        return
    try:
        with screen.app.suspend():
            subprocess.run(command, check=False)
    except SuspendNotSupported:
        screen.notify("This terminal cannot hand over to an editor.", severity="error")
    except OSError as error:
        screen.notify(f"Cannot run {command[0]}: {error.strerror or error}: set $EDITOR", severity="error")
