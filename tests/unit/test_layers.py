"""The house's layers: the core imports no interface library, and interfaces reach the core only through it."""

from __future__ import annotations

import pkgutil

import qa
from tests.unit.test_imports import loaded_after

INTERFACES = {
    "qa.interfaces.cli.main",
    "qa.interfaces.cli.options",
    "qa.interfaces.cli.console",
    "qa.interfaces.cli.rendering",
    "qa.__main__",
}
INTERFACE_LIBRARIES = {"textual", "click", "rich"}


def core_modules() -> list[str]:
    """Every module of the qa package except the interfaces (the CLI, its rendering and the app)."""
    found = [info.name for info in pkgutil.walk_packages(qa.__path__, "qa.")]
    return sorted(
        name
        for name in found
        if name not in INTERFACES and not name.startswith(("qa.interfaces.tui", "qa.interfaces.cli.commands"))
    )


def test_the_core_imports_no_interface_library() -> None:
    modules = core_modules()
    assert {"qa.engine.engine", "qa.index.stores.files.store", "qa.index.building", "qa.answering.retrieval"} <= set(
        modules
    )
    loaded = loaded_after("\n".join(f"import {name}" for name in modules))
    assert "qa" in loaded and "numpy" in loaded, "the probe really imported the core"
    assert not loaded & INTERFACE_LIBRARIES


def test_the_probe_sees_an_interface_library() -> None:
    # Guards the test above against a probe that could never fail.
    assert "click" in loaded_after("import qa.interfaces.cli.main")
