"""Where the corpus, the index and the user's files live."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

CORPUS_ENV = "QA_CORPUS"
INDEX_ENV = "QA_INDEX"
STORE_ENV = "QA_STORE"
DEFAULT_CORPUS = Path("corpus")
DEFAULT_INDEX = Path("index")
GOLD_FOLDER = "gold"
DEFAULT_GOLD = Path(GOLD_FOLDER) / "essay.jsonl"
USER_GOLD = Path(GOLD_FOLDER) / "mine.jsonl"


@dataclass(frozen=True)
class StoreSpec:
    """A store other than the default, as --store names it: KIND:LOCATION, the location normalised (a URL as given,
    a path made absolute). Which kinds exist, and what they accept, is the store registry's to say."""

    kind: str
    location: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.location}"

    @property
    def remote(self) -> bool:
        """Whether the location is a server's URL (http, https or tcp) rather than a path on this machine."""
        return is_remote(self.location)

    @classmethod
    def of(cls, kind: str, location: str) -> StoreSpec:
        """The spec of `kind` at `location`, a path made absolute (a URL kept as it is)."""
        cleaned = location.strip()
        return cls(kind, cleaned if is_remote(cleaned) else str(Path(cleaned).expanduser().resolve()))


def is_remote(location: str) -> bool:
    """Whether a store location names a server (http, https or tcp) rather than a path on this machine."""
    return location.split("://", 1)[0].lower() in {"http", "https", "tcp"} and "://" in location


@dataclass(frozen=True)
class Paths:
    """The corpus folder and the index folder one command works on.

    `store` is the store the index lives in: None for the default (files in `index`), or another backend's spec;
    then `index` is a subfolder of `root` (the --index folder) holding the manifest, so that one --index folder keeps
    the stores apart while runs and history stay in `root`."""

    corpus: Path
    index: Path
    store: StoreSpec | None = None
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


_CHOSEN_STORE: ContextVar[StoreSpec | None] = ContextVar("qa_store", default=None)


@contextlib.contextmanager
def store_choice(store: StoreSpec | None) -> Iterator[None]:
    """Within this block, `resolve` picks `store` (the --store option of the command being run) when given."""
    token = _CHOSEN_STORE.set(store)
    try:
        yield
    finally:
        _CHOSEN_STORE.reset(token)


def resolve(
    corpus: str | os.PathLike[str] | None = None,
    index: str | os.PathLike[str] | None = None,
    store: StoreSpec | None = None,
) -> Paths:
    """Pick each folder from the option, else its environment variable, else the default; the store from `store`,
    else the one `store_choice` chose (None: the default store)."""
    corpus_path = Path(corpus) if corpus else Path(os.environ.get(CORPUS_ENV) or DEFAULT_CORPUS)
    index_path = Path(index) if index else Path(os.environ.get(INDEX_ENV) or DEFAULT_INDEX)
    spec = store or _CHOSEN_STORE.get()
    if spec is None:
        return Paths(corpus=corpus_path, index=index_path)
    return Paths(corpus=corpus_path, index=store_folder(index_path, spec), store=spec, root=index_path)


def store_folder(index: Path, spec: StoreSpec) -> Path:
    """The subfolder of an --index folder that holds the manifest of the index kept in the store `spec`."""
    return index / f"{spec.kind}-{hashlib.sha256(str(spec).encode('utf-8')).hexdigest()[:8]}"
