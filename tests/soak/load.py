"""The soak tests' scripted load and checks: a seeded mix of corpus edits (new files, edits, editor-style saves,
renames, deletions, small bursts), memory sampling of a process, and the comparison of an index with a fresh full
build of the same corpus."""

from __future__ import annotations

import json
import os
import random
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from qa.engine.status import index_status
from qa.index.stores.files.store import Store
from qa.kernel.paths import Paths
from tests.conftest import REPO
from tests.corpora import topic_paragraph
from tests.live import qa_command, qa_env

SOAK_ENV = "QA_SOAK_SECONDS"
DEFAULT_SECONDS = 60.0
MAX_GROWTH = 0.20  # resident memory may grow at most this much from the end of warm-up to the end
TOPICS = ["harbour crane", "orchard harvest", "wetland survey", "chip foundry", "river delta", "rail freight",
          "solar farm", "wind turbine", "coffee roaster", "glacier melt", "bee colony", "salt marsh"]  # fmt: skip


def soak_seconds() -> float:
    """How long each soak runs: $QA_SOAK_SECONDS, default 60 (CI); the issue's figures come from 600."""
    return float(os.environ.get(SOAK_ENV) or DEFAULT_SECONDS)


@dataclass
class CorpusEditor:
    """Edits a corpus the way people do, from a seeded random generator, keeping at most `limit` documents of its
    own (the corpus's other files are never touched)."""

    corpus: Path
    seed: int = 15
    limit: int = 40
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.random = random.Random(self.seed)
        self.serial = 0

    @property
    def edits(self) -> int:
        """Edits made so far (a burst counts each file)."""
        return sum(self.counts.values())

    def own(self) -> list[Path]:
        return sorted((self.corpus / "soak").rglob("*.md")) if (self.corpus / "soak").is_dir() else []

    def step(self) -> str:
        """Make one edit, chosen at random; returns its kind."""
        documents = self.own()
        choices = ["create"] * 3 + ["edit"] * 3 + ["save"] * 2 + ["rename", "delete", "delete", "burst"]
        if not documents:
            choices = ["create"]
        elif len(documents) >= self.limit:
            choices = ["edit", "save", "rename", "delete", "delete"]
        kind = self.random.choice(choices)
        getattr(self, f"_{kind}")(documents)
        return kind

    def _count(self, kind: str, number: int = 1) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + number

    def _write(self, path: Path, paragraphs: int) -> None:
        self.serial += 1
        topic = self.random.choice(TOPICS)
        body = "\n\n".join(topic_paragraph(topic, self.serial * 10 + number) for number in range(paragraphs))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# {topic.title()} {self.serial}\n\n{body}\n", encoding="utf-8")

    def _create(self, documents: list[Path]) -> None:
        folder = self.random.choice(["soak", "soak/a", "soak/b"])
        self._write(self.corpus / folder / f"doc{self.serial:05}.md", self.random.randint(1, 4))
        self._count("create")

    def _edit(self, documents: list[Path]) -> None:
        path = self.random.choice(documents)
        with path.open("a", encoding="utf-8") as stream:
            stream.write(f"\n{topic_paragraph(self.random.choice(TOPICS), self.random.randint(1, 10**6))}\n")
        self._count("edit")

    def _save(self, documents: list[Path]) -> None:
        """An editor's safe save: a swap file, a temporary copy renamed over the document, a backup left behind."""
        path = self.random.choice(documents)
        swap = path.with_name(f".{path.name}.swp")
        swap.write_bytes(b"swap")
        temporary = path.with_name(f"{path.name}.tmp")
        self._write(temporary, self.random.randint(1, 3))
        os.replace(temporary, path)
        path.with_name(f"{path.name}~").write_text("backup")
        swap.unlink()
        self._count("save")

    def _rename(self, documents: list[Path]) -> None:
        path = self.random.choice(documents)
        path.rename(path.with_name(f"renamed{self.serial:05}-{path.name}"))
        self.serial += 1
        self._count("rename")

    def _delete(self, documents: list[Path]) -> None:
        self.random.choice(documents).unlink()
        self._count("delete")

    def _burst(self, documents: list[Path]) -> None:
        """Twenty files at once, half of them deleted straight away (an unzip, a sync, a build tool)."""
        made = []
        for _ in range(20):
            path = self.corpus / "soak" / "burst" / f"doc{self.serial:05}.md"
            self._write(path, 1)
            made.append(path)
        for path in made[::2]:
            path.unlink()
        self._count("burst", 30)


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB."""
    return psutil.Process(pid).memory_info().rss / 1e6


def settled(paths: Paths, timeout: float = 300.0) -> None:
    """Wait until the index matches the corpus (the watcher or server has caught up)."""
    deadline = time.monotonic() + timeout
    while index_status(paths, lambda message: None).stale:
        assert time.monotonic() < deadline, "the index never caught up with the corpus"
        time.sleep(0.5)


def fresh_build(paths: Paths, into: Path, real_model: bool) -> Paths:
    """A full build of the same corpus into another index folder, by the same kind of `qa` process."""
    fresh = Paths(paths.corpus, into)
    command = qa_command("index", "--full", "--corpus", str(fresh.corpus), "--index", str(into), real_model=real_model)
    subprocess.run(command, cwd=REPO, env=qa_env(real_model), check=True, capture_output=True, timeout=900)
    return fresh


def snapshot(index: Path) -> tuple[list[str], list[str], np.ndarray]:
    """Passage ids, passage texts and passage vectors of the current generation."""
    store = Store.open(index)
    try:
        passages = store.passages(range(store.size))
        return [p.id for p in passages], [p.text for p in passages], np.array(store.vectors)
    finally:
        store.close()


def assert_same_index(live: Path, fresh: Path) -> None:
    """No lost update: the live index holds exactly the passages and vectors of a fresh full build."""
    live_ids, live_texts, live_vectors = snapshot(live)
    fresh_ids, fresh_texts, fresh_vectors = snapshot(fresh)
    assert live_ids == fresh_ids
    assert live_texts == fresh_texts
    assert live_vectors.shape == fresh_vectors.shape
    np.testing.assert_allclose(live_vectors, fresh_vectors, atol=1e-4)


def report(name: str, figures: dict[str, Any]) -> None:
    """Print the figures (visible with -s) and append them to $QA_SOAK_REPORT when set."""
    line = json.dumps({"soak": name, **figures})
    print(line)
    target = os.environ.get("QA_SOAK_REPORT")
    if target:
        with open(target, "a", encoding="utf-8") as stream:
            stream.write(line + "\n")
