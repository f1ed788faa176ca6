"""Build the answerability data sets from the blind writers' files, SQuAD's own questions and automatic near misses.

    python -m training.answerability.build_data [--docs DIR]

Writes under training/answerability/data/:
- `blind_<set>.jsonl`: the blind writers' questions (every set of BLIND_SETS), each with its split;
- `squad_own.jsonl`: SQuAD 2.0's own questions of the seven training articles (never the three held-out ones);
- `auto_swap.jsonl`: near misses made from answerable training and validation questions by swapping a name, number
  or year of the question for another of the same kind from the same document (one no sentence pairs with the
  answer);
- `auto_removed.jsonl`: the same answerable questions asked with every sentence holding the answer removed from
  the candidates (made at feature time: see training/answerability/extract.py);
- `corpora.json`: each set's documents by id (SciFact corpus ids, SQuAD article paragraphs, White House file names).

Splits are fixed: validation is split off by document (a hash of its id, a quarter of the documents; the IPod
article for SQuAD); the sets BLIND_SETS marks "heldout" are never trained or tuned on.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
from collections import Counter
from pathlib import Path

from qa.documents.chunking import split_sentences
from qa.evaluation.gold import contains_answer, fold
from training.answerability.corpora import DATA, HERE, SCIFACT, SQUAD, WH, manifest, materialise

SEED = 20261207
BLIND_SETS = {
    "scifact_a": "train",
    "wh_a": "train",
    "squad": "train",
    "scifact_c": "train",
    "wh_c": "train",
    "scifact_d": "train",
    "wh_d": "train",
    "scifact_b": "heldout",
    "wh_b": "heldout",
    "squad_ho": "heldout",
    "scifact_e": "heldout",
    "wh_e": "heldout",
}
TRAINING = tuple(name for name, split in BLIND_SETS.items() if split == "train")  # train and validation documents
HELD_OUT = tuple(name for name, split in BLIND_SETS.items() if split == "heldout")
SQUAD_TRAIN_ARTICLES = (
    "Beyoncé",
    "Frédéric_Chopin",
    "Sino-Tibetan_relations_during_the_Ming_dynasty",
    "IPod",
    "The_Legend_of_Zelda:_Twilight_Princess",
    "2008_Sichuan_earthquake",
    "New_York_City",
)
SQUAD_HELDOUT_ARTICLES = ("Spectre_(2015_film)", "To_Kill_a_Mockingbird", "Solar_energy")
SQUAD_VALIDATION_ARTICLES = ("IPod",)
VALIDATION_SHARE = 0.25
_CAP = r"(?:[A-Z][\w-]*[a-z][\w-]*|[A-Z]{2,})\b"
_NAME = re.compile(rf"\b{_CAP}(?:[ \t]+{_CAP})*")
_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b")
_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?(?![\w])")


def validation_documents(docs: list[str]) -> set[str]:
    """A quarter of a set's documents, the first by a seeded hash of their ids: the validation side."""
    ordered = sorted(docs, key=lambda doc: hashlib.sha256(f"{SEED}:{doc}".encode()).hexdigest())
    return set(ordered[: round(len(ordered) * VALIDATION_SHARE)])


BLIND = HERE / "blind"  # the writers' files as they wrote them, with their brief (WRITER.md) and checker


def blind_questions(blind: Path, name: str) -> list[dict[str, object]]:
    """The blind file of a set as data rows."""
    path = blind / f"{name}.jsonl"
    if not path.is_file():
        return []
    validation = validation_documents(document_names(name))
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        raw = json.loads(line)
        doc = str(raw["doc"])
        if BLIND_SETS[name] == "heldout":
            split = "heldout"
        elif name == "squad":
            split = "validation" if doc.removesuffix(".md") in SQUAD_VALIDATION_ARTICLES else "train"
        else:
            split = "validation" if doc in validation else "train"
        rows.append(
            {
                "id": f"{name}-{number:04d}",
                "set": name,
                "split": split,
                "doc_id": doc,
                "question": raw["question"],
                "answerable": bool(raw["answerable"]),
                "answers": [raw["answer"]] if raw.get("answer") else [],
                "sentence": raw["sentence"],
                "kind": raw["kind"],
                "origin": "blind",
            }
        )
    return rows


def squad_own() -> list[dict[str, object]]:
    """SQuAD's own questions of the seven training articles (IPod for validation)."""
    data = json.loads(SQUAD.read_text(encoding="utf-8"))["data"]
    rows = []
    for article in data:
        title = article["title"]
        if title not in SQUAD_TRAIN_ARTICLES:
            continue
        split = "validation" if title in SQUAD_VALIDATION_ARTICLES else "train"
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            for qa in paragraph["qas"]:
                answers = list(dict.fromkeys(a["text"] for a in qa.get("answers", [])))
                impossible = bool(qa.get("is_impossible", False))
                sentence = ""
                if answers:
                    start = qa["answers"][0]["answer_start"]
                    sentence = next((context[s:e] for s, e in split_sentences(context) if s <= start < e), context)
                elif qa.get("plausible_answers"):
                    start = qa["plausible_answers"][0]["answer_start"]
                    sentence = next((context[s:e] for s, e in split_sentences(context) if s <= start < e), "")
                rows.append(
                    {
                        "id": f"squad-{qa['id']}",
                        "set": "squad_own",
                        "split": split,
                        "doc_id": title,
                        "question": qa["question"],
                        "answerable": not impossible,
                        "answers": answers,
                        "sentence": sentence,
                        "kind": "squad_unanswerable" if impossible else "squad",
                        "origin": "squad",
                    }
                )
    return rows


def _terms(text: str, pattern: re.Pattern[str]) -> list[str]:
    return list(dict.fromkeys(match.group() for match in pattern.finditer(text)))


def _starts_sentence(text: str, at: int) -> bool:
    before = text[:at].rstrip(' \t"“(')
    return not before or before[-1] in ".!?:\n]"


class Document:
    """A document's sentences and its years, numbers and names, read once."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.sentences = [text[s:e] for s, e in split_sentences(text)]
        lowered = set(re.findall(r"\b[a-z][\w-]*\b", text))
        names = []
        for found in _terms(text, _NAME):
            words = found.split()
            while words and words[0].lower() in lowered:  # a capital that only starts a sentence ("Many EETs")
                words = words[1:]
            name = " ".join(words)
            inside = [m.start() for m in re.finditer(re.escape(name), text) if not _starts_sentence(text, m.start())]
            if words and inside:  # a name that also stands inside a sentence, not only at its start
                names.append(name)
        self.terms = {
            "swap_date": _terms(text, _YEAR),
            "swap_number": [t for t in _terms(text, _NUMBER) if not _YEAR.fullmatch(t)],
            "swap_entity": list(dict.fromkeys(names)),
        }


def swap(row: dict[str, object], document: Document, rng: random.Random) -> dict[str, object] | None:
    """A near miss: one year, number or name of the question swapped for another of the same document that no
    sentence of the document pairs with the answer (or None when the question has none to swap)."""
    question = str(row["question"])
    answers = [str(a) for a in row["answers"]]  # type: ignore[attr-defined]
    answering = [sentence for sentence in document.sentences if contains_answer(sentence, answers)]
    first = question.split(maxsplit=1)[0] if question.split() else ""
    options: list[tuple[str, str, list[str]]] = []
    for kind, pattern in (("swap_date", _YEAR), ("swap_number", _NUMBER), ("swap_entity", _NAME)):
        found = [t for t in _terms(question, pattern) if t != first and t in document.text]
        if kind == "swap_number":
            found = [t for t in found if not _YEAR.fullmatch(t)]
        for term in found:
            pool = [t for t in document.terms[kind] if t != term and t not in question]
            if kind == "swap_entity":
                words = set(term.lower().split())
                pool = [
                    t for t in pool if not words & set(t.lower().split()) and len(t.split()) <= len(term.split()) + 1
                ]
            pool = [t for t in pool if not any(fold(a) in fold(t) or fold(t) in fold(a) for a in answers)]
            pool = [t for t in pool if not any(t in sentence for sentence in answering)]
            if pool:
                options.append((kind, term, pool))
    if not options:
        return None
    kind, term, pool = options[rng.randrange(len(options))]
    replacement = pool[rng.randrange(len(pool))]
    changed = re.sub(rf"(?<!\w){re.escape(term)}(?!\w)", replacement, question, count=1)
    if changed == question:
        return None
    return {
        "id": f"swap-{row['id']}",
        "set": row["set"],
        "split": row["split"],
        "doc_id": row["doc_id"],
        "question": changed,
        "answerable": False,
        "answers": [],
        "sentence": row["sentence"],
        "kind": kind,
        "origin": "auto_swap",
        "source": row["id"],
        "swapped": [term, replacement],
    }


def document_names(name: str) -> list[str]:
    """The file names of a set's documents as the writers saw them, from the corpora manifest."""
    entry = manifest()[name]
    if entry["kind"] == "squad":
        return sorted(f"{title}.md" for title in entry["paragraphs"])  # type: ignore[attr-defined]
    if entry["kind"] == "scifact":
        return sorted(f"{doc}.md" for doc in entry["ids"])  # type: ignore[attr-defined]
    return sorted(entry["ids"])  # type: ignore[call-overload]


def documents() -> dict[tuple[str, str], Document]:
    """Every training-side document's text by (set, doc id)."""
    texts: dict[tuple[str, str], Document] = {}
    for name in TRAINING:
        for path in sorted(materialise(name).glob("*.md")):
            texts[(name, path.name)] = Document(path.read_text(encoding="utf-8"))
    articles = json.loads(SQUAD.read_text(encoding="utf-8"))["data"]
    for article in articles:
        if article["title"] in SQUAD_TRAIN_ARTICLES:
            texts[("squad_own", article["title"])] = Document("\n\n".join(p["context"] for p in article["paragraphs"]))
    return texts


def corpora_manifest(docs: Path) -> dict[str, dict[str, object]]:
    """Each blind set's documents by id, checked against the sources they were made from."""
    out: dict[str, dict[str, object]] = {}
    scifact = {}
    with SCIFACT.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            scifact[record["_id"]] = record
    from training.answerability.corpora import scifact_text, squad_text

    for name in (name for name in BLIND_SETS if name.startswith("scifact_")):
        ids = sorted(path.stem for path in (docs / name).glob("*.md"))
        for doc in ids:
            assert scifact_text(scifact[doc]) == (docs / name / f"{doc}.md").read_text(encoding="utf-8")
        out[name] = {"kind": "scifact", "source": "../shared/data/scifact/corpus.jsonl", "ids": ids}
    articles = {a["title"]: a for a in json.loads(SQUAD.read_text(encoding="utf-8"))["data"]}
    for name in (name for name in BLIND_SETS if name.startswith("squad")):
        paragraphs: dict[str, list[int]] = {}
        for path in sorted((docs / name).glob("*.md")):
            text = path.read_text(encoding="utf-8")
            numbers = [int(n) for n in re.findall(r"^\[P(\d+)\] ", text, flags=re.MULTILINE)]
            contexts = [p["context"] for p in articles[path.stem]["paragraphs"]]
            assert squad_text(path.stem, contexts, numbers) == text
            paragraphs[path.stem] = numbers
        out[name] = {
            "kind": "squad",
            "source": "../shared/data/squad2-train/train-v2.0-first10.json",
            "paragraphs": paragraphs,
        }
    for name in (name for name in BLIND_SETS if name.startswith("wh_")):
        ids = sorted(path.name for path in (docs / name).glob("*.md"))
        for doc in ids:
            assert (WH / doc).read_bytes() == (docs / name / doc).read_bytes()
        out[name] = {"kind": "wh", "source": "training/answerability/corpora/wh", "ids": ids}
    return out


def write(path: Path, rows: list[dict[str, object]]) -> None:
    """JSON Lines, one row a line."""
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")


def main() -> None:
    """Build every data set and print the counts."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--docs",
        type=Path,
        help="the documents folder the writers read (one folder a set): rebuild data/corpora.json from it and check it"
        " against the sources; without it the committed data/corpora.json says which documents each set has",
    )
    args = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    if args.docs is not None:
        (DATA / "corpora.json").write_text(json.dumps(corpora_manifest(args.docs), indent=1, ensure_ascii=False) + "\n")
    counts: Counter[tuple[str, str, str]] = Counter()
    sources: list[dict[str, object]] = []
    for name in BLIND_SETS:
        rows = blind_questions(BLIND, name)
        write(DATA / f"blind_{name}.jsonl", rows)
        sources.extend(row for row in rows if row["split"] != "heldout")
        for row in rows:
            counts[(name, str(row["split"]), "answerable" if row["answerable"] else "near miss")] += 1
    own = squad_own()
    write(DATA / "squad_own.jsonl", own)
    sources.extend(own)
    for row in own:
        counts[("squad_own", str(row["split"]), "answerable" if row["answerable"] else "near miss")] += 1
    texts = documents()
    swaps, removed = [], []
    for row in sources:
        if not row["answerable"]:
            continue
        rng = random.Random(f"{SEED}:{row['id']}")
        made = swap(row, texts[(str(row["set"]), str(row["doc_id"]))], rng)
        if made is not None:
            swaps.append(made)
            counts[(f"auto_swap:{row['set']}", str(row["split"]), str(made["kind"]))] += 1
        removed.append(
            {
                "id": f"removed-{row['id']}",
                "set": row["set"],
                "split": row["split"],
                "source": row["id"],
                "kind": "answer_removed",
                "origin": "auto_removed",
            }
        )
        counts[(f"auto_removed:{row['set']}", str(row["split"]), "answer_removed")] += 1
    write(DATA / "auto_swap.jsonl", swaps)
    write(DATA / "auto_removed.jsonl", removed)
    for key in sorted(counts):
        print(f"{key[0]:24} {key[1]:10} {key[2]:18} {counts[key]}")


if __name__ == "__main__":
    main()
