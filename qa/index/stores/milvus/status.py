"""What `qa status` says of an index kept in Milvus: where it is, its collection and alias, and the rows there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qa.index.manifest import Manifest
from qa.kernel.errors import QAError


def milvus_status(index: Path, found: Manifest) -> dict[str, Any]:
    """The store's part of `qa status --json`: URI, collection, the collection the alias names, the passages
    visible at the manifest's generation (`rows`, which should equal `passages`) and all it stores (`stored`,
    counting replaced rows not yet deleted); `error` instead of the counts when Milvus cannot be reached."""
    from qa.index.stores.milvus.state import read_state, resolved_uri
    from qa.index.stores.milvus.store import MilvusStore

    try:
        state = read_state(index, found)
    except QAError as error:
        return {"kind": "milvus", "error": str(error)}
    report: dict[str, Any] = {
        "kind": "milvus",
        "uri": resolved_uri(index, state.uri),
        "collection": state.collection,
        "alias": state.base,
        "generation": state.generation,
        "bm25": state.bm25,
    }
    try:
        store = MilvusStore.open(index, found)
    except QAError as error:
        return report | {"error": str(error)}
    try:
        stored = store.client.query(state.collection, filter="row >= 0", output_fields=["count(*)"])
        return report | {
            "alias_target": store.alias_target(),
            "rows": store.count(),
            "stored": int(stored[0]["count(*)"]) if stored else 0,
            "replaced_documents": len(state.dead),
        }
    finally:
        store.close()


def describe(report: dict[str, Any]) -> str:
    """The `qa status` line for the store part of the report."""
    where = f"milvus {report.get('uri', '?')}, collection {report.get('collection', '?')}"
    if "error" in report:
        return f"{where} ({report['error']})"
    aliased = "alias current" if report["alias_target"] == report["collection"] else "alias NOT current"
    return f"{where} ({aliased}); {report['rows']} rows visible, {report['stored']} stored"
