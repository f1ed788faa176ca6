"""Retrieve each question's fixed candidate set once, with the real engine, and cache it for feature work.

    python -m training.answerability.extract [SET ...]

Every set is asked over its own corpus (the documents its writers saw; `corpora.py`); SQuAD's own questions and the
held-out SQuAD articles' questions are asked in open retrieval over all ten shared articles, as `qa eval --squad`
does. The near misses made by removing the answer are made here: the source question's candidates with every
sentence that holds the answer blanked out (its text replaced by spaces, its cosine dropped, the passage's fused
score recomputed without it).
"""

from __future__ import annotations

import argparse
import json
import pickle
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from qa.answering import answerability
from qa.answering.answerability import DECISION_PASSAGES, Support, supports_of
from qa.answering.retrieval import CARD_WEIGHT, Searcher, _distinct
from qa.engine.engine import Engine
from qa.evaluation import squad
from qa.evaluation.gold import contains_answer
from qa.index.stores.files.store import Store
from qa.kernel.paths import Paths
from qa.kernel.progress import SilentReporter
from qa.kernel.settings import Settings, clean_question
from training.answerability.build_data import HELD_OUT, SQUAD_HELDOUT_ARTICLES, TRAINING
from training.answerability.corpora import DATA, OUT, SQUAD, materialise

SETS = (*TRAINING, "squad_own", *HELD_OUT, "squad_heldout")


def questions(name: str) -> list[dict[str, Any]]:
    """The questions of a set (with its automatic near misses for the training side)."""
    if name == "squad_heldout":
        articles = squad.select(squad.load(SQUAD), SQUAD_HELDOUT_ARTICLES)
        return [
            {
                "id": g.id,
                "set": name,
                "split": "heldout",
                "doc_id": g.doc_id,
                "question": g.question,
                "answerable": g.answerable,
                "answers": list(g.answers),
                "kind": "squad" if g.answerable else "squad_unanswerable",
                "origin": "squad",
            }
            for g in squad.gold_questions(articles)
        ]
    path = DATA / ("squad_own.jsonl" if name == "squad_own" else f"blind_{name}.jsonl")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows += [
        json.loads(line)
        for line in (DATA / "auto_swap.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip() and json.loads(line)["set"] == name
    ]
    return rows


def open_store(name: str, engine: Engine) -> Store:
    """The index of a set's corpus (built once under out/index)."""
    if name in {"squad_own", "squad_heldout"}:
        articles = squad.load(SQUAD)
        return squad.open_index(OUT / "index", SQUAD, articles, engine.embedder, SilentReporter())
    corpus = materialise(name)
    set_engine = Engine(Paths(corpus=corpus, index=OUT / "index" / name), make_verifier=lambda: None)
    set_engine._embedder = engine._embedder  # share the loaded model
    store, _ = set_engine.open(SilentReporter())
    return store  # type: ignore[return-value]


def candidate_supports(searcher: Searcher, question: str, settings: Settings) -> tuple[list[Support], int]:
    """The fixed candidate set of a question and its count of names the corpus lacks."""
    ranking = searcher.rank(question, settings)
    chosen = _distinct(searcher.store, ranking.rows, DECISION_PASSAGES)
    chosen.sort(key=lambda pair: -ranking.fused[pair[0]] * (1.0 if pair[1].kind == "text" else CARD_WEIGHT))
    assert ranking.query_vector is not None
    cosines = [searcher.store.sentence_scores(row, ranking.query_vector) for row, _ in chosen]
    supports = supports_of(chosen, ranking.fused, ranking.dense, ranking.lexical, cosines, CARD_WEIGHT)
    return supports, len(searcher.store.unknown_names(question))


def without_answer(supports: list[Support], answers: list[str], settings: Settings) -> list[Support]:
    """The candidates with every sentence holding an answer blanked out, reordered by the recomputed fused score."""
    out = []
    for support in supports:
        passage = support.passage
        keep = [i for i, (s, e) in enumerate(passage.sentences) if not contains_answer(passage.text[s:e], answers)]
        text = passage.text
        for i, (s, e) in enumerate(passage.sentences):
            if i not in keep:
                text = text[:s] + " " * (e - s) + text[e:]
        if contains_answer(text, answers):  # an answer across sentences: blank every occurrence
            for answer in answers:
                at = text.lower().find(answer.lower())
                while answer and at >= 0:
                    text = text[:at] + " " * len(answer) + text[at + len(answer) :]
                    at = text.lower().find(answer.lower())
        sentences = tuple(passage.sentences[i] for i in keep)
        cosines = support.cosines[keep] if keep else np.zeros(0)
        best = float(cosines.max()) if len(cosines) else 0.0
        weight = 1.0 if passage.kind == "text" else CARD_WEIGHT
        lexical_weight = 1 - settings.dense_weight - settings.sentence_weight
        fused = weight * (
            settings.dense_weight * support.dense + settings.sentence_weight * best + lexical_weight * support.lexical
        )
        out.append(
            Support(replace(passage, text=text, sentences=sentences), support.dense, support.lexical, fused, cosines)
        )
    out.sort(key=lambda s: -s.fused)
    return out


def extract(name: str, engine: Engine) -> Path:
    """Ask every question of a set and pickle its candidates."""
    target = OUT / "supports" / f"{name}.pkl"
    target.parent.mkdir(parents=True, exist_ok=True)
    store = open_store(name, engine)
    searcher = Searcher(store, engine.embedder, None)
    settings = Settings()
    records = []
    asked = questions(name)
    for row in asked:
        question = clean_question(row["question"])
        supports, unknown = candidate_supports(searcher, question, settings)
        records.append({**row, "question": question, "supports": supports, "unknown": unknown})
        if row["answerable"] and row["split"] != "heldout":
            removed = without_answer(supports, row["answers"], settings)
            records.append(
                {
                    **row,
                    "id": f"removed-{row['id']}",
                    "question": question,
                    "answerable": False,
                    "answers": [],
                    "kind": "answer_removed",
                    "origin": "auto_removed",
                    "source": row["id"],
                    "supports": removed,
                    "unknown": unknown,
                }
            )
    with target.open("wb") as handle:
        pickle.dump(records, handle)
    print(f"{name}: {len(asked)} questions, {len(records)} records -> {target}", flush=True)
    return target


def load(name: str) -> list[dict[str, Any]]:
    """The cached records of a set."""
    with (OUT / "supports" / f"{name}.pkl").open("rb") as handle:
        return pickle.load(handle)  # type: ignore[no-any-return]


def main() -> None:
    """Extract the named sets (all by default)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("sets", nargs="*", default=list(SETS))
    args = parser.parse_args()
    engine = Engine(Paths(corpus=OUT / "corpora", index=OUT / "index"), make_verifier=lambda: None)
    engine.load_model()
    _ = answerability  # the candidate selection and features are the served ones
    for name in args.sets:
        extract(name, engine)


if __name__ == "__main__":
    main()
