"""Where the corpus, the index and the user's files live."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from qa.kernel.errors import InputError

CORPUS_ENV = "QA_CORPUS"
INDEX_ENV = "QA_INDEX"
STORE_ENV = "QA_STORE"
MILVUS_PREFIX = "milvus:"
DEFAULT_STORES = ("", "default", "faiss")
DEFAULT_CORPUS = Path("corpus")
DEFAULT_INDEX = Path("index")
GOLD_FOLDER = "gold"
DEFAULT_GOLD = Path(GOLD_FOLDER) / "essay.jsonl"
USER_GOLD = Path(GOLD_FOLDER) / "mine.jsonl"


@dataclass(frozen=True)
class Paths:
    """The corpus folder and the index folder one command works on.

    `store` is the store the index lives in: None for the default (FAISS, BM25 and SQLite files in `index`), or
    "milvus:URI"; then `index` is a subfolder of `root` (the --index folder) holding the manifest, so that one
    --index folder keeps both stores apart while runs and history stay in `root`."""

    corpus: Path
    index: Path
    store: str | None = None
    root: Path | None = None

    @property
    def default_gold(self) -> Path:
        """The gold set shipped beside the corpus."""
        return self.corpus / DEFAULT_GOLD

    @property
    def user_gold(self) -> Path:
        """The gold set the app appends to when a user marks an answer."""
        return self.corpus / USER_GOLD

    @property
    def history(self) -> Path:
        """Questions asked in the app, one JSON object per line."""
        return (self.root or self.index) / "history.jsonl"

    @property
    def runs(self) -> Path:
        """Saved `qa eval` runs, for `--compare`."""
        return (self.root or self.index) / "runs"


_CHOSEN_STORE: ContextVar[str | None] = ContextVar("qa_store", default=None)


@contextlib.contextmanager
def store_choice(store: str | None) -> Iterator[None]:
    """Within this block, `resolve` picks `store` (the --store option of the command being run) when given."""
    token = _CHOSEN_STORE.set(store)
    try:
        yield
    finally:
        _CHOSEN_STORE.reset(token)


def resolve(
    corpus: str | os.PathLike[str] | None = None,
    index: str | os.PathLike[str] | None = None,
    store: str | None = None,
) -> Paths:
    """Pick each folder from the option, else its environment variable, else the default; likewise the store."""
    corpus_path = Path(corpus) if corpus else Path(os.environ.get(CORPUS_ENV) or DEFAULT_CORPUS)
    index_path = Path(index) if index else Path(os.environ.get(INDEX_ENV) or DEFAULT_INDEX)
    spec = store_spec(store or _CHOSEN_STORE.get() or os.environ.get(STORE_ENV))
    if spec is None:
        return Paths(corpus=corpus_path, index=index_path)
    return Paths(corpus=corpus_path, index=store_folder(index_path, spec), store=spec, root=index_path)


def store_spec(text: str | None) -> str | None:
    """The store an option or $QA_STORE names: None for the default store, else "milvus:URI" with a file's path made
    absolute (a .db path runs Milvus Lite in this process; http(s)://host:port talks to a Milvus server)."""
    cleaned = (text or "").strip()
    if cleaned.lower() in DEFAULT_STORES:
        return None
    if not cleaned.startswith(MILVUS_PREFIX) or not cleaned[len(MILVUS_PREFIX) :].strip():
        raise InputError(
            f"unknown store {cleaned!r}: --store takes milvus:PATH.db (Milvus Lite) or milvus:http://HOST:PORT"
        )
    uri = cleaned[len(MILVUS_PREFIX) :].strip()
    if not is_server(uri):
        uri = str(Path(uri).expanduser().resolve())
    return f"{MILVUS_PREFIX}{uri}"


def is_server(uri: str) -> bool:
    """Whether a Milvus URI names a server (http, https or tcp) rather than a Milvus Lite folder."""
    return uri.split("://", 1)[0].lower() in {"http", "https", "tcp"} and "://" in uri


def store_folder(index: Path, spec: str) -> Path:
    """The subfolder of an --index folder that holds the manifest of the index kept in the store `spec`."""
    return index / f"milvus-{hashlib.sha256(spec.encode('utf-8')).hexdigest()[:8]}"
