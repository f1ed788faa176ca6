"""Where the corpus, the index and the user's files live."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CORPUS_ENV = "QA_CORPUS"
INDEX_ENV = "QA_INDEX"
DEFAULT_CORPUS = Path("corpus")
DEFAULT_INDEX = Path("index")
GOLD_FOLDER = "gold"
DEFAULT_GOLD = Path(GOLD_FOLDER) / "essay.jsonl"
USER_GOLD = Path(GOLD_FOLDER) / "mine.jsonl"


@dataclass(frozen=True)
class Paths:
    """The corpus folder and the index folder one command works on."""

    corpus: Path
    index: Path

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
        return self.index / "history.jsonl"

    @property
    def runs(self) -> Path:
        """Saved `qa eval` runs, for `--compare`."""
        return self.index / "runs"


def resolve(corpus: str | os.PathLike[str] | None = None, index: str | os.PathLike[str] | None = None) -> Paths:
    """Pick each folder from the option, else its environment variable, else the default."""
    corpus_path = Path(corpus) if corpus else Path(os.environ.get(CORPUS_ENV) or DEFAULT_CORPUS)
    index_path = Path(index) if index else Path(os.environ.get(INDEX_ENV) or DEFAULT_INDEX)
    return Paths(corpus=corpus_path, index=index_path)
