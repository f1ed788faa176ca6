"""The house's layers, read from the source and checked in fresh interpreters.

Read from the source: every import statement of the qa package (function-level and TYPE_CHECKING ones too) runs from
a higher layer to a lower one or within a layer, never the other way; a store backend (a folder of
qa/index/stores/) is reached only through the registry, and outside its folder nothing imports pymilvus or names
Milvus; no module takes a private name (a leading underscore) from another; the modules import no circle.
Checked in fresh interpreters: the core imports no interface library, and interfaces reach the core only through it.
"""

from __future__ import annotations

import ast
import pkgutil
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

import qa
from tests.unit.test_imports import loaded_after

PACKAGE = Path(qa.__file__).parent
# Lowest first: a module may import from its own layer and the layers before it.
LAYERS = (
    "qa.kernel",  # errors, progress, paths and store specs, atomic files, wording, settings, filters, measuring
    "qa.documents",  # documents and their formats, passages, centrality, adding to the corpus
    "qa.models",  # the embedder seam, the ONNX serving path, the answer verifier
    "qa.index",  # the manifest, the build pipeline, BM25, the cached index, the stores and their registry
    "qa.answering",  # retrieval, abstention, document-level answers, lists
    "qa.engine",  # the engine behind every interface, the status, the watcher
    "qa.evaluation",  # gold sets, BEIR, SQuAD, runs and reports
    "qa.benchmarks",  # qa bench
    "qa.interfaces",  # the command line, the MCP server, the terminal app
    "qa.__main__",
)
STORES = "qa.index.stores"
REGISTRY = "qa.index.stores.registry"
DEFAULT_BACKEND = "files"
MAX_TOP_MODULES = 10
INTERFACE_LIBRARIES = {"textual", "click", "rich"}


@dataclass(frozen=True)
class Import:
    """One imported module (or a name from it) in one module of the package."""

    importer: str
    target: str  # the module of the package it resolves to
    name: str  # the name taken from it ("" for a plain `import`)
    line: int


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def sources() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


MODULES = sources()


def resolve(name: str) -> str | None:
    """The package module `name` (a dotted import path, maybe ending in a name) belongs to."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str, path: Path) -> list[Import]:
    """Every import statement of the module, wherever it stands."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[Import] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = resolve(alias.name)
                if target is not None:
                    found.append(Import(module, target, "", node.lineno))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                full = f"{base}.{alias.name}"
                target = resolve(full) if full in MODULES else resolve(base)
                if target is not None:
                    found.append(Import(module, target, "" if full in MODULES else alias.name, node.lineno))
    return found


ALL_IMPORTS = [item for module, path in MODULES.items() for item in imports_of(module, path)]


def layer(module: str) -> int | None:
    """The rank of the module's layer (None: the package itself)."""
    for rank, prefix in enumerate(LAYERS):
        if module == prefix or module.startswith(f"{prefix}."):
            return rank
    return None


def backend_of(module: str) -> str | None:
    """The store backend folder a module belongs to, if any."""
    if not module.startswith(f"{STORES}."):
        return None
    name = module[len(STORES) + 1 :].split(".", maxsplit=1)[0]
    return name if (PACKAGE / "index" / "stores" / name).is_dir() else None


def where(item: Import) -> str:
    return f"{MODULES[item.importer].relative_to(PACKAGE.parent)}:{item.line} {item.importer} -> {item.target}"


def test_the_reader_sees_every_kind_of_import() -> None:
    # Guards the tests below against a reader that misses function-level or TYPE_CHECKING imports.
    engine = {item.target for item in ALL_IMPORTS if item.importer == "qa.engine.engine"}
    assert "qa.models.onnx.embedding" in engine, "a function-level import"
    assert "qa.models.verifier.model" in engine
    assert len(ALL_IMPORTS) > 300


def test_every_module_belongs_to_a_layer() -> None:
    assert [module for module in MODULES if module != "qa" and layer(module) is None] == []


def test_every_import_runs_down_the_layers() -> None:
    upward = [
        where(item)
        for item in ALL_IMPORTS
        if item.target != "qa" and (layer(item.importer) or 0) < (layer(item.target) or 0)
    ]
    assert upward == []


def test_backends_are_reached_only_through_the_registry() -> None:
    backends = {name for name in (backend_of(module) for module in MODULES) if name}
    assert {"files", "milvus"} <= backends
    crossing = [
        where(item)
        for item in ALL_IMPORTS
        if (target := backend_of(item.target)) is not None and backend_of(item.importer) != target
    ]
    assert crossing == []


def test_only_a_backend_names_its_store() -> None:
    named = []
    for module, path in MODULES.items():
        text = path.read_text(encoding="utf-8")
        for backend in ("milvus",):
            if backend_of(module) != backend and re.search(backend, text, re.IGNORECASE):
                named.append(f"{module} names {backend}")
        tree = ast.parse(text)
        for node in ast.walk(tree):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if (
                any(name.split(".")[0] in {"pymilvus", "milvus_lite"} for name in names)
                and backend_of(module) != "milvus"
            ):
                named.append(f"{module} imports {names}")
    assert named == []


def test_the_registry_imports_no_backend() -> None:
    assert [where(item) for item in ALL_IMPORTS if item.importer == REGISTRY and backend_of(item.target)] == []


def test_no_private_name_crosses_a_module_boundary() -> None:
    crossing = [
        f"{where(item)}: {item.name}"
        for item in ALL_IMPORTS
        if item.name.startswith("_") and not item.name.startswith("__") and item.target != item.importer
    ]
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("qa")
            for alias in node.names
            if f"{node.module}.{alias.name}" in MODULES
        }
        crossing += [
            f"{module}:{node.lineno} {node.value.id}.{node.attr}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ]
    assert crossing == []


def test_the_modules_import_no_circle() -> None:
    graph: dict[str, set[str]] = {module: set() for module in MODULES}
    for item in ALL_IMPORTS:
        if item.target != item.importer:
            graph[item.importer].add(item.target)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    circles: list[str] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                circles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert circles == []


def test_the_top_of_the_package_stays_small() -> None:
    top = [path.name for path in PACKAGE.glob("*.py") if path.name != "__init__.py"]
    assert len(top) <= MAX_TOP_MODULES, top


def core_modules() -> list[str]:
    """Every module of the qa package except the interfaces (the CLI, its rendering, the MCP server and the app)."""
    found = [info.name for info in pkgutil.walk_packages(qa.__path__, "qa.")]
    return sorted(name for name in found if layer(name) is not None and layer(name) < LAYERS.index("qa.interfaces"))  # type: ignore[operator]


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


@pytest.mark.parametrize("backend", ["files", "milvus"])
def test_a_backend_is_found_by_the_registry_alone(backend: str) -> None:
    code = (
        "from qa.index.stores import registry\n"
        f"assert registry.backend({backend!r}).name == {backend!r}\n"
        "import json, sys\nprint(json.dumps(sorted(name for name in sys.modules if name.startswith('qa.'))))"
    )
    from tests.probes import probe

    loaded = set(probe(code))
    assert f"{STORES}.{backend}" in loaded
    assert not any(name.startswith("pymilvus") for name in loaded)
