"""Files the app appends to: the question history and the user's gold set."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.kernel.errors import QAError

GOLD_ID_PREFIX = "mine-"


@dataclass(frozen=True)
class HistoryEntry:
    """One asked question."""

    question: str
    mode: str
    asked_at: str


def _lines(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a JSON Lines file; unreadable lines are skipped, a missing file is empty."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as error:
        raise QAError(f"cannot read {path} ({type(error).__name__}): check its permissions or remove it") from error
    records = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def _append(path: Path, record: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as stream:
            stream.write(json.dumps(record, ensure_ascii=False) + "\n")
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise QAError(f"cannot write {path} ({reason}): check the folder's permissions") from error


def append_history(path: Path, question: str, mode: str, now: dt.datetime | None = None) -> None:
    """Remember a question asked in the app."""
    asked_at = (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
    _append(path, {"question": question, "mode": mode, "asked_at": asked_at})


def read_history(path: Path) -> list[HistoryEntry]:
    """Asked questions, newest first, each question once (its latest asking)."""
    seen: set[str] = set()
    entries: list[HistoryEntry] = []
    for record in reversed(_lines(path)):
        question = record.get("question")
        if not isinstance(question, str) or not question.strip() or question in seen:
            continue
        seen.add(question)
        entries.append(HistoryEntry(question, str(record.get("mode", "")), str(record.get("asked_at", ""))))
    return entries


def append_gold(path: Path, question: str, answer: str, doc_id: str) -> str | None:
    """Add a DPR-style gold question whose answer text the passage contains; its id, or None when already there."""
    answer = " ".join(answer.split())
    records = _lines(path)
    for record in records:
        if record.get("question") == question and answer in record.get("answers", []):
            return None
    taken = {str(record.get("id")) for record in records}
    number = len(records) + 1
    while f"{GOLD_ID_PREFIX}{number:03d}" in taken:
        number += 1
    gold_id = f"{GOLD_ID_PREFIX}{number:03d}"
    _append(path, {"id": gold_id, "question": question, "answers": [answer], "doc_id": doc_id, "answerable": True})
    return gold_id
