"""The command that opens a document in the user's editor at a line."""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path

from qa.documents.loading import TEXT_SUFFIXES
from qa.kernel.errors import QAError

FALLBACK_EDITORS = ("nano", "vi")


def editor_command(path: Path, line: int, environ: dict[str, str] | None = None) -> list[str]:
    """`$VISUAL`/`$EDITOR` (else nano or vi) with `+LINE` for text files, then the path."""
    environ = dict(os.environ) if environ is None else environ
    configured = environ.get("VISUAL") or environ.get("EDITOR")
    if configured:
        editor = shlex.split(configured)
    else:
        found = next((name for name in FALLBACK_EDITORS if shutil.which(name)), None)
        if found is None:
            raise QAError("no editor found: set $EDITOR, e.g. export EDITOR=vim")
        editor = [found]
    if not path.is_file():
        raise QAError(f"{path} is no longer there: rebuild the index (F5)")
    at_line = [f"+{line}"] if path.suffix.lower() in TEXT_SUFFIXES else []
    return [*editor, *at_line, str(path)]
