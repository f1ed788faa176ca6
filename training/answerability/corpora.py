"""The documents each question set is asked over, materialised as a qa corpus folder from their sources.

SciFact abstracts and SQuAD paragraphs are referenced by id (`data/corpora.json`) and read from ../shared; the White
House pages (public domain) live in `corpora/wh/`.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SHARED = ROOT.parent / "shared"
SCIFACT = SHARED / "data" / "scifact" / "corpus.jsonl"
SQUAD = SHARED / "data" / "squad2-train" / "train-v2.0-first10.json"
DATA = HERE / "data"
OUT = HERE / "out"
WH = HERE / "corpora" / "wh"
MANIFEST = DATA / "corpora.json"


def manifest() -> dict[str, dict[str, object]]:
    """Each set's corpus: its kind and the ids of its documents."""
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


def scifact_text(record: dict[str, str]) -> str:
    """A SciFact abstract as the writers read it."""
    return f"# {record['title']}\n\n{record['text']}\n"


def squad_text(title: str, paragraphs: list[str], numbers: list[int]) -> str:
    """A 12-paragraph SQuAD excerpt as the writers read it."""
    body = "\n\n".join(f"[P{i}] {paragraphs[i]}" for i in numbers)
    return f"# {title.replace('_', ' ')}\n\n{body}\n"


def materialise(name: str, root: Path | None = None) -> Path:
    """The corpus folder of set `name` (written once under out/corpora)."""
    folder = (root or OUT / "corpora") / name
    entry = manifest()[name]
    kind = entry["kind"]
    done = folder / ".complete"
    if done.is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "scifact":
        wanted = set(entry["ids"])  # type: ignore[arg-type]
        with SCIFACT.open(encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                if record["_id"] in wanted:
                    (folder / f"{record['_id']}.md").write_text(scifact_text(record), encoding="utf-8")
    elif kind == "squad":
        articles = {a["title"]: a for a in json.loads(SQUAD.read_text(encoding="utf-8"))["data"]}
        for title, numbers in entry["paragraphs"].items():  # type: ignore[attr-defined]
            paragraphs = [p["context"] for p in articles[title]["paragraphs"]]
            (folder / f"{title}.md").write_text(squad_text(title, paragraphs, numbers), encoding="utf-8")
    elif kind == "wh":
        for file in entry["ids"]:  # type: ignore[attr-defined]
            (folder / file).write_bytes((WH / file).read_bytes())
    else:
        raise ValueError(f"unknown corpus kind {kind}")
    done.write_text("")
    return folder
