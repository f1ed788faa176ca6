"""What the app shows when work fails: a title, the error, how to fix it, and the fixes the app can do itself.

No Textual: the main screen shows the explanation in an ErrorScreen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from qa.documents.loading import KINDS
from qa.kernel.errors import CorpusError, IndexCorruptError, ModelError, QAError

if TYPE_CHECKING:
    from pathlib import Path

Task = Literal["model", "index", "rebuild", "ask"]
Fix = Literal["rebuild", "full-rebuild"]

TITLES: dict[Task, str] = {
    "model": "The model could not be loaded",
    "index": "The index could not be opened",
    "rebuild": "The index could not be rebuilt",
    "ask": "The question could not be answered",
}
BUG = "This is a bug in qa: please report it with the steps that led here."


@dataclass(frozen=True)
class Explanation:
    """A failure as the user reads it, with the fixes offered as buttons: (fix, label)."""

    title: str
    message: str
    fix: str = ""
    actions: tuple[tuple[Fix, str], ...] = ()


def explain_error(error: BaseException, task: Task, corpus: Path) -> Explanation:
    """How a failure of `task` is explained; `corpus` is the folder the app reads."""
    title = TITLES[task]
    if isinstance(error, CorpusError):
        fix = f"Add {KINDS} files to {corpus} (or start qa with --corpus DIR), then rebuild."
        return Explanation(title, str(error), fix, (("rebuild", "Rebuild (F5)"),))
    if isinstance(error, IndexCorruptError):
        fix = "Rebuild the index from scratch: every document is read and embedded again."
        return Explanation(title, str(error), fix, (("full-rebuild", "Rebuild from scratch"),))
    if isinstance(error, ModelError):
        return Explanation(title, str(error), "Lexical mode (keywords only) works without the model, and is now on.")
    if isinstance(error, QAError):
        return Explanation(title, str(error))
    return Explanation(title, f"{type(error).__name__}: {error}", BUG)
