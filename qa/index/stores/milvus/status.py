"""What `qa status` says of an index kept in Milvus: where it is, its collection and alias, the rows there, and its
health (its generation folder's files, its collections there and holding what the manifest counts)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.index.manifest import Manifest
from qa.index.stores.base import Health
from qa.index.stores.shared import array_problem, generation_health
from qa.kernel.errors import QAError

if TYPE_CHECKING:
    from pymilvus import MilvusClient

    from qa.index.stores.milvus.state import MilvusState


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


def milvus_health(index: Path, found: Manifest, verify: bool = False) -> Health:
    """What is wrong with an index kept in Milvus: its generation folder's files against the manifest (with `verify`,
    their checksums too), then its three collections, each there and holding the passages, sentences and documents
    the manifest counts at its generation. A Milvus that cannot be reached is no damage (the status says so)."""
    from qa.index.stores.milvus.collections import family
    from qa.index.stores.milvus.state import FREQUENCIES, connect, load, read_state, release, resolved_uri

    folder = index / found.generation
    health = generation_health(folder, found.files, verify)
    if health.damaged:
        return health
    if FREQUENCIES in found.files and (problem := array_problem(folder / FREQUENCIES, dtype="int64")):
        return health.adding([problem])
    try:
        state = read_state(index, found)
    except QAError:
        return health.adding([f"{folder.name}/milvus.json is unreadable"])
    uri = resolved_uri(index, state.uri)
    try:
        client = connect(uri)
    except QAError:
        return health
    try:
        names = family(state.collection)
        missing = [f"Milvus collection {name} is missing" for name in names if not client.has_collection(name)]
        if missing:
            return health.adding(missing)
        try:
            load(client, state)
        except QAError as error:
            return health.adding([str(error)])
        return health.adding(_count_problems(client, state, found))
    finally:
        release(uri)


def _count_problems(client: MilvusClient, state: MilvusState, found: Manifest) -> list[str]:
    """The passages, sentences and documents the collections hold at the state's generation against the manifest."""
    expected = (
        (state.collection, state.visible(), found.passages, "passages"),
        (state.sentence_collection, state.committed(), found.sentences, "sentences"),
        (state.document_collection, f"part == 0 and {state.visible('first_row')}", len(found.indexed_ids), "documents"),
    )
    problems = []
    for collection, where, count, what in expected:
        held = client.query(collection, filter=where, output_fields=["count(*)"])
        if (number := int(held[0]["count(*)"]) if held else 0) != count:
            problems.append(f"Milvus collection {collection} holds {number:,} {what}, not {count:,}")
    return problems
