"""Filters (`--doc`, `--in GLOB`, `--where FIELD OP VALUE`) as Milvus filter expressions, exactly as `Filter.admits`
decides them.

Each passage and document carries `doc_id` and `meta`, a JSON object holding for every metadata field its values
folded as the filters fold them, joined between newlines (folding never leaves one inside a value), and the least
and greatest of its dates, numbers and texts. `=`, `!=` and `~` then become LIKE tests and `>=`/`<=` comparisons
with the greatest or least value of the condition's kind. Globs become `doc_id like`. What LIKE cannot say exactly
(a `%`, `_` or backslash in a value or glob, a character class, a number that is not finite) becomes
`doc_id in [...]`, the documents computed here from their stored metadata.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from qa.kernel.filters import Condition, Filter, comparable, fold

_LIKE_SPECIAL = frozenset("%_\\")
_KINDS = {dt.date: "d", float: "n", str: "t"}
_FIELD_NAME = "meta"


class Selection(np.ndarray[Any, np.dtype[np.int64]]):
    """Rows chosen by a filter, with the Milvus expression that chose them (so searches filter in Milvus)."""

    expression: str | None = None

    @classmethod
    def of(cls, rows: np.ndarray, expression: str) -> Selection:
        """The rows, marked with their expression."""
        found = np.asarray(rows, dtype=np.int64).view(cls)
        found.expression = expression
        return found

    def __array_finalize__(self, source: Any) -> None:
        self.expression = None  # a slice or copy no longer holds every row the expression admits


def literal(text: str) -> str:
    """A Milvus string literal."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return '"' + escaped.replace("\t", "\\t") + '"'


def metadata_fields(metadata: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The `meta` JSON of a document: per field, its folded values joined between newlines, and its extremes."""
    fields: dict[str, dict[str, Any]] = {}
    plain = json.loads(json.dumps(dict(metadata), default=str, ensure_ascii=False))  # as the default store keeps it
    for name, found in plain.items():
        if found is None:
            continue
        values = found if isinstance(found, list) else [found]
        entry: dict[str, Any] = {"s": "\n" + "".join(f"{fold(value)}\n" for value in values)}
        by_kind: dict[str, list[Any]] = {}
        for value in values:
            key = comparable(value)
            if isinstance(key, float) and math.isnan(key):
                continue  # NaN passes no comparison
            if isinstance(key, float) and math.isinf(key):
                key = math.copysign(np.finfo(np.float64).max, key)
            by_kind.setdefault(_KINDS[type(key)], []).append(key)
        for kind, items in by_kind.items():
            low, high = min(items), max(items)
            entry[f"{kind}min"] = low.isoformat() if isinstance(low, dt.date) else low
            entry[f"{kind}max"] = high.isoformat() if isinstance(high, dt.date) else high
        fields[str(name)] = entry
    return fields


def filter_expression(doc: str | None, found: Filter | None, metadata: Callable[[], dict[str, dict[str, Any]]]) -> str:
    """The Milvus expression admitting what `doc` and the filter admit; `metadata` (doc id -> metadata of every
    visible document) is called only for the parts LIKE cannot say."""
    parts: list[str] = []
    computed: list[Callable[[str, Mapping[str, Any]], bool]] = []
    if doc is not None:
        parts.append(f"doc_id == {literal(doc)}")
    if found and found.paths:
        globs = [_glob_expression(pattern) for pattern in found.paths]
        if all(glob is not None for glob in globs):
            parts.append("(" + " or ".join(glob for glob in globs if glob is not None) + ")")
        else:
            computed.append(lambda doc_id, _: Filter(paths=found.paths).admits(doc_id, {}))
    for condition in found.conditions if found else ():
        pushed = condition_expression(condition)
        if pushed is not None:
            parts.append(pushed)
        else:
            computed.append(lambda _, meta, condition=condition: condition.holds(meta))  # type: ignore[misc]
    if computed:
        admitted = sorted(doc_id for doc_id, meta in metadata().items() if all(test(doc_id, meta) for test in computed))
        parts.append(f"doc_id in [{', '.join(literal(doc_id) for doc_id in admitted)}]")
    return " and ".join(parts) if parts else 'doc_id like "%"'


def _glob_expression(pattern: str) -> str | None:
    """`doc_id like` for a glob, or for a folder name everything below it; None when LIKE cannot say it exactly."""
    if "[" in pattern or _LIKE_SPECIAL & set(pattern):
        return None
    like = pattern.replace("*", "%").replace("?", "_")
    return f"(doc_id like {literal(like)} or doc_id like {literal(pattern + '/%')})"


def condition_expression(condition: Condition) -> str | None:
    """One condition as a Milvus expression on `meta`, or None when it cannot be said exactly."""
    field = f"{_FIELD_NAME}[{literal(condition.field)}]"
    value = fold(condition.value)
    if condition.op in ("=", "!=", "~"):
        if _LIKE_SPECIAL & set(value) or (condition.op == "~" and not value):
            return None
        pattern = f"%{value}%" if condition.op == "~" else f"%\n{value}\n%"
        test = f'{field}["s"] like {literal(pattern)}'
        return f"({field} is null or not ({test}))" if condition.op == "!=" else test
    wanted = comparable(condition.value)
    if isinstance(wanted, float) and not math.isfinite(wanted):
        return None
    kind = _KINDS[type(wanted)]
    bound = f"{kind}max" if condition.op == ">=" else f"{kind}min"
    if isinstance(wanted, dt.date):
        shown = literal(wanted.isoformat())
    elif isinstance(wanted, float):
        shown = repr(wanted)
    else:
        shown = literal(wanted)
    return f'{field}["{bound}"] {condition.op} {shown}'


def rows_expression(rows: Sequence[int] | np.ndarray) -> str:
    """`row` in the given rows, as ranges where they run on."""
    ordered = np.unique(np.asarray(rows, dtype=np.int64))
    if not len(ordered):
        return "row < 0"
    breaks = np.flatnonzero(np.diff(ordered) != 1) + 1
    singles: list[int] = []
    ranges: list[str] = []
    for run in np.split(ordered, breaks):
        if len(run) > 2:
            ranges.append(f"(row >= {int(run[0])} and row <= {int(run[-1])})")
        else:
            singles.extend(int(row) for row in run)
    if singles:
        ranges.append(f"row in [{', '.join(str(row) for row in singles)}]")
    return " or ".join(ranges)
