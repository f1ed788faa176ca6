"""The arguments of the MCP server's tools, read and checked: each wrong one an InputError saying how to fix it."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from typing import Any

from qa.kernel.errors import InputError
from qa.kernel.filters import Filter, make_filter


def check_names(arguments: Mapping[str, Any], schema: Mapping[str, Any], tool: str) -> None:
    """Refuse arguments the tool's input `schema` does not name."""
    known = schema["properties"]
    unknown = sorted(set(arguments) - set(known))
    if unknown:
        takes = ", ".join(known) or "no arguments"
        raise InputError(f"{tool} got unknown argument(s) {', '.join(unknown)}: it takes {takes}")


def text(arguments: Mapping[str, Any], name: str, required: bool = False) -> str | None:
    """A string argument; None when absent (an error when `required`)."""
    value = arguments.get(name)
    if value is None:
        if required:
            raise InputError(f"{name} is required: pass it as a string")
        return None
    if not isinstance(value, str):
        raise InputError(f"{name} must be a string, not {json.dumps(value)}")
    return value


def integer(arguments: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    """A whole number from `low` to `high` (a digit string or a whole float counts); `default` when absent."""
    value = arguments.get(name, default)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError(f"{name} must be a whole number from {low} to {high}, not {json.dumps(value)}")
    return value


def strings(arguments: Mapping[str, Any], name: str) -> list[str]:
    """A list of strings; a lone string counts as a list of one, a JSON-encoded list as that list."""
    value = arguments.get(name)
    if value is None:
        return []
    if isinstance(value, str):
        if value.lstrip().startswith("["):
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        if isinstance(value, str):
            return [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InputError(f"{name} must be a list of strings, not {json.dumps(value)}")
    return value


def search_filter(arguments: Mapping[str, Any]) -> Filter:
    """The filter the `in` globs and `where` conditions make."""
    return make_filter(strings(arguments, "in"), strings(arguments, "where"))
