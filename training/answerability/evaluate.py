"""Run the engine over the answerability sets and print the issue's figures, tuned and held-out marked.

    python -m training.answerability.evaluate [SET ...] [--json OUT.json]

A training set is measured on its validation documents alone. Each blind set is asked over its own corpus
(`corpora.py`), the held-out SQuAD articles' questions in open retrieval
over all ten shared articles; every question through `Searcher.ask` with default settings (k = 5), so the figures
are what `qa ask` gives. Only the blind writers' own questions are asked (no automatic near misses). Uses nothing
but the engine's public API, so the same script measures an older tree (put it first on PYTHONPATH).

Figures per set: near misses refused, answerable refused, question-level AUROC of `confidence`, the top passage
holds the answer (answerable questions), the highlighted sentence holds it given the top passage does, answer-sentence
accuracy (the highlighted sentence of the top passage holds it, over all answerable questions), p50 per question.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from qa.answering.answerability import AnswerabilityModel
from qa.engine.engine import Engine
from qa.evaluation import squad
from qa.evaluation.gold import auroc, contains_answer
from qa.kernel.paths import Paths
from qa.kernel.progress import SilentReporter
from qa.kernel.settings import Settings
from qa.models.verifier.model import OnnxVerifier
from training.answerability.build_data import HELD_OUT, SQUAD_HELDOUT_ARTICLES, TRAINING
from training.answerability.corpora import DATA, OUT, SQUAD, materialise

STATUS = {
    **{name: "validation" for name in TRAINING},
    **{name: "held-out" for name in (*HELD_OUT, "squad_heldout")},
}


def rows_of(name: str) -> list[dict[str, Any]]:
    """The questions of a set: the blind file, or SQuAD's held-out articles."""
    if name == "squad_heldout":
        articles = squad.select(squad.load(SQUAD), SQUAD_HELDOUT_ARTICLES)
        return [
            {"question": g.question, "answerable": g.answerable, "answers": list(g.answers), "doc_id": g.doc_id}
            for g in squad.gold_questions(articles)
        ]
    path = DATA / f"blind_{name}.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [row for row in rows if row["split"] != "train"]  # a training set's validation documents alone


def open_store(name: str, engine: Engine, index: Path) -> Any:
    """The index of a set's corpus."""
    if name == "squad_heldout":
        return squad.open_index(index, SQUAD, squad.load(SQUAD), engine.embedder, SilentReporter())
    corpus = materialise(name)
    set_engine = Engine(Paths(corpus=corpus, index=index / name))
    set_engine._embedder = engine._embedder
    store, _ = set_engine.open(SilentReporter())
    return store


def measure(name: str, engine: Engine, index: Path) -> dict[str, Any]:
    """Ask every question of a set; the figures."""
    store = open_store(name, engine, index)
    searcher = engine.searcher(store)
    settings = Settings()
    results = []
    for row in rows_of(name):
        began = time.perf_counter()
        answer = searcher.ask(row["question"], settings)
        elapsed = (time.perf_counter() - began) * 1000
        top = answer.hits[0] if answer.hits else None
        in_top = bool(
            row["answerable"]
            and top is not None
            and top.passage.doc_id == row["doc_id"]
            and contains_answer(top.passage.text, row["answers"])
        )
        highlighted = bool(
            in_top
            and top is not None
            and top.highlight is not None
            and contains_answer(top.passage.text[top.highlight[0] : top.highlight[1]], row["answers"])
        )
        results.append(
            {
                "answerable": bool(row["answerable"]),
                "answered": answer.answered,
                "confidence": answer.confidence,
                "top": in_top,
                "sentence": highlighted,
                "ms": elapsed,
            }
        )
    answerable = [r for r in results if r["answerable"]]
    misses = [r for r in results if not r["answerable"]]
    with_top = [r for r in answerable if r["top"]]
    return {
        "set": name,
        "status": STATUS[name],
        "answerable": len(answerable),
        "near_misses": len(misses),
        "near_misses_refused": _share(misses, lambda r: not r["answered"]),
        "answerable_refused": _share(answerable, lambda r: not r["answered"]),
        "auroc": _round(auroc([r["answerable"] for r in results], [r["confidence"] for r in results])),
        "top_passage": _share(answerable, lambda r: r["top"]),
        "sentence_given_top": _share(with_top, lambda r: r["sentence"]),
        "sentence_accuracy": _share(answerable, lambda r: r["sentence"]),
        "abstained_confidence_max": max((r["confidence"] for r in results if not r["answered"]), default=None),
        "p50_ms": round(statistics.median(r["ms"] for r in results), 1) if results else None,
    }


def _share(rows: list[dict[str, Any]], test: Any) -> float | None:
    return round(sum(1 for r in rows if test(r)) / len(rows), 4) if rows else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def main() -> None:
    """Measure the named sets (every one by default) and print a table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("sets", nargs="*", default=list(STATUS))
    parser.add_argument("--index", type=Path, default=OUT / "index")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--model", type=Path, help="answerability weights to measure instead of the shipped ones")
    parser.add_argument("--verifier", type=Path, help="a verifier folder to measure instead of the shipped one")
    args = parser.parse_args()
    factories: dict[str, Any] = {}
    if args.model is not None:
        factories["make_answerability"] = lambda: AnswerabilityModel(args.model, sha256=None)
    if args.verifier is not None:
        factories["make_verifier"] = lambda: OnnxVerifier(args.verifier, sha256=None)
    engine = Engine(Paths(corpus=OUT / "corpora", index=args.index), **factories)
    engine.load_model()
    found = []
    for name in args.sets:
        figures = measure(name, engine, args.index)
        found.append(figures)
        print(json.dumps(figures), flush=True)
    if args.json:
        args.json.write_text(json.dumps(found, indent=1))


if __name__ == "__main__":
    main()
