"""Which documents a search may draw from: path globs (`--in`) and conditions on front-matter fields (`--where`)."""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from qa.kernel.errors import InputError

Operator = Literal["=", "!=", ">=", "<=", "~"]
OPERATORS: tuple[Operator, ...] = ("!=", ">=", "<=", "=", "~")  # two-character operators are tried first
_CONDITION = re.compile(r"^\s*([A-Za-z_][\w.-]*)\s*(!=|>=|<=|=|~)\s*(.*?)\s*$")
_STARTS_CONDITION = re.compile(r"^\s*[A-Za-z_][\w.-]*\s*(!=|>=|<=|=|~)")
_FIELD = re.compile(r"^[A-Za-z_][\w.-]*$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Condition:
    """One `FIELD OP VALUE` test on a document's metadata (front matter, or a format's own metadata)."""

    field: str
    op: Operator
    value: str

    def __str__(self) -> str:
        return f"{self.field}{self.op}{self.value}"

    def holds(self, metadata: Mapping[str, Any]) -> bool:
        """Whether the document's metadata passes this test; a missing field passes only `!=`."""
        if self.field not in metadata or metadata[self.field] is None:
            return self.op == "!="
        found = metadata[self.field]
        values = found if isinstance(found, list | tuple) else [found]
        if self.op == "!=":
            return all(fold(item) != fold(self.value) for item in values)
        return any(self._holds_for(item) for item in values)

    def _holds_for(self, found: Any) -> bool:
        if self.op == "=":
            return fold(found) == fold(self.value)
        if self.op == "~":
            return fold(self.value) in fold(found)
        left, right = comparable(found), comparable(self.value)
        if type(left) is not type(right):
            return False
        return bool(left >= right) if self.op == ">=" else bool(left <= right)  # type: ignore[operator]


@dataclass(frozen=True)
class Filter:
    """Documents whose corpus path matches any of `paths` (all when empty) and whose metadata meets every
    condition."""

    paths: tuple[str, ...] = ()
    conditions: tuple[Condition, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.paths or self.conditions)

    def __str__(self) -> str:
        parts = [f"in:{pattern}" for pattern in self.paths] + [str(condition) for condition in self.conditions]
        return " ".join(parts)

    def admits(self, doc_id: str, metadata: Mapping[str, Any]) -> bool:
        """Whether the document passes the filter."""
        if self.paths and not any(_path_matches(doc_id, pattern) for pattern in self.paths):
            return False
        return all(condition.holds(metadata) for condition in self.conditions)

    def as_text(self) -> str:
        """The filter as `read_filter` reads it back: `in:GLOB` words and conditions, quoted when they hold spaces."""
        words = [f"in:{pattern}" for pattern in self.paths] + [str(condition) for condition in self.conditions]
        return " ".join(shlex.quote(word) if _needs_quotes(word) else word for word in words)

    def as_json(self) -> dict[str, list[str]]:
        """The filter as `qa ask --json` and the MCP server report it."""
        return {"in": list(self.paths), "where": [str(condition) for condition in self.conditions]}


def parse_condition(text: str) -> Condition:
    """`FIELD OP VALUE` with OP one of = != >= <= ~; errors say what is expected."""
    found = _CONDITION.match(text)
    if found is None or not found.group(3):
        raise InputError(
            f"cannot read the filter {text!r}: write FIELD OP VALUE with OP one of = != >= <= ~, "
            "e.g. date>=2024-01-01 or tags~china"
        )
    field, op, value = found.groups()
    return Condition(field, op, value.strip("\"'"))  # type: ignore[arg-type]


def make_filter(paths: Sequence[str] = (), where: Sequence[str] = ()) -> Filter:
    """The filter of `--in GLOB` and `--where FIELD OP VALUE` options (each repeatable)."""
    cleaned = tuple(pattern.strip().strip("/") for pattern in paths)
    if any(not pattern for pattern in cleaned):
        raise InputError("--in needs a path pattern, e.g. --in 'related/*' or --in '*.md'")
    return Filter(cleaned, tuple(parse_condition(text) for text in where))


def read_filter(text: str) -> Filter:
    """The filter typed as one line (the app's filter box): words, each `in:GLOB` (or `--in GLOB`) for a path glob
    or `FIELD OP VALUE` (or `--where FIELD OP VALUE`) for a condition, parsed as the options are. Quotes group words;
    a word that starts neither goes on the value before it, so `publication=MIT Technology Review` needs none.
    Empty text is no filter."""
    try:
        words = shlex.split(text)
    except ValueError:  # an apostrophe in a value (fool's errand): plain words
        words = text.split()
    paths: list[str] = []
    conditions: list[str] = []
    expect: str | None = None  # the item an option word announced
    for number, word in enumerate(words):
        following = words[number + 1] if number + 1 < len(words) else ""
        starts = _STARTS_CONDITION.match(word) or (_FIELD.match(word) and following.startswith(OPERATORS))
        if expect is None and word in {"--in", "--where"}:
            expect = word
        elif expect == "--in" or (expect is None and word.startswith("in:")):
            paths.append(word if expect else word[len("in:") :])
            expect = None
        elif expect == "--where" or starts or not conditions:
            conditions.append(word)
            expect = None
        else:
            conditions[-1] += f" {word}"
    if expect is not None:
        raise InputError(f"{expect} needs a value, e.g. --in 'notes/*' or --where date>=2024-01-01")
    return make_filter(paths, conditions)


def _needs_quotes(word: str) -> bool:
    return any(character.isspace() or character in "\"'\\" for character in word)


def _path_matches(doc_id: str, pattern: str) -> bool:
    """A glob on the document's path in the corpus; a bare folder name matches everything below it."""
    return fnmatch.fnmatchcase(doc_id, pattern) or doc_id.startswith(f"{pattern}/")


def fold(value: Any) -> str:
    """A value as text the way filters compare it: white space folded, case folded."""
    return " ".join(str(value).split()).casefold()


def comparable(value: Any) -> float | dt.date | str:
    """What `>=` and `<=` compare: numbers as numbers, dates (and date-times) as dates, anything else as folded text."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    if _DATE.match(text):
        try:
            return dt.date.fromisoformat(text[:10])
        except ValueError:
            pass
    try:
        return float(text)
    except ValueError:
        return fold(text)
