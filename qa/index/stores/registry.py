"""The registry of store backends, keyed by the KIND of a parsed --store KIND:LOCATION (`StoreSpec`).

Each backend is a folder of this package whose `__init__` registers it with `register_backend`, the same hook a
plug-in uses; they are imported on first need, so nothing else names a backend. An index finds its reader by the
`vector_index` kind its manifest records; a store spec finds its writer by its kind; no spec means the default backend.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from pathlib import Path
from typing import Any

from qa.index import manifest, stores
from qa.index.manifest import Manifest
from qa.index.stores.base import StoreBackend, StoredIndex
from qa.kernel.errors import InputError
from qa.kernel.paths import StoreSpec

DEFAULT = "files"
DEFAULT_NAMES = ("", "default", "faiss")  # what --store may say for the default backend

_BACKENDS: dict[str, StoreBackend] = {}


def register_backend(backend: StoreBackend) -> None:
    """Make a backend available under its name (a later registration of the same name replaces it)."""
    _BACKENDS[backend.name] = backend


def unregister_backend(name: str) -> None:
    """Remove a registered backend (tests register their own)."""
    _BACKENDS.pop(name, None)


def backends() -> list[StoreBackend]:
    """Every registered backend, the built-in ones first imported, by name."""
    _discover()
    return [_BACKENDS[name] for name in sorted(_BACKENDS)]


@functools.cache
def _discover() -> None:
    """Import the backend folders of this package once, so that each registers itself."""
    for found in pkgutil.iter_modules(stores.__path__):
        if found.ispkg:
            importlib.import_module(f"{stores.__name__}.{found.name}")


def default_backend() -> StoreBackend:
    """The backend an index uses when no --store names another."""
    return backend(DEFAULT)


def backend(name: str) -> StoreBackend:
    """The backend registered under `name`."""
    _discover()
    return _BACKENDS[name]


def backend_for(spec: StoreSpec | None) -> StoreBackend:
    """The backend that keeps an index in `spec` (None: the default backend)."""
    return default_backend() if spec is None else backend(spec.kind)


def backend_of(found: Manifest) -> StoreBackend:
    """The backend that wrote the index this manifest describes, by its `vector_index` kind (else the default)."""
    kind = found.vector_index.get("kind")
    return next((item for item in backends() if kind in item.kinds), default_backend())


def selectable() -> list[StoreBackend]:
    """The backends --store can name (all but the default one)."""
    return [item for item in backends() if item.name != DEFAULT]


def parse_store(text: str | None) -> StoreSpec | None:
    """The store an option or $QA_STORE names: None for the default backend, else a spec of a registered backend,
    its location normalised by the backend; errors say what --store takes."""
    cleaned = (text or "").strip()
    if cleaned.lower() in DEFAULT_NAMES:
        return None
    kind, separator, location = cleaned.partition(":")
    named = {item.name: item for item in selectable()}
    if not separator or kind not in named or not location.strip():
        usage = " or ".join(item.usage for item in named.values())
        raise InputError(f"unknown store {cleaned!r}: --store takes {usage}")
    return named[kind].spec(location)


def store_option_help() -> tuple[str, str]:
    """The metavar and help of the --store option, from the backends it can name."""
    chosen = selectable()
    return " | ".join(item.metavar for item in chosen), "; ".join(item.help for item in chosen)


def open_index(index: Path, found: Manifest | None = None) -> StoredIndex:
    """Open the index in `index` from whichever store its manifest names."""
    found = found or manifest.read(index)
    return backend_of(found).open(index, found)


def describe_status(report: dict[str, Any]) -> str:
    """The `qa status` line for a store's part of the status report."""
    kind = report.get("kind")
    return next((item for item in backends() if kind in item.kinds), default_backend()).describe(report)
