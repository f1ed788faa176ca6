"""Evaluation results as tables: the rows the CLI prints and the Markdown report `qa eval --report` writes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from qa.evaluation.gold import HIT_KS, format_metric
from qa.evaluation.runs import Comparison
from qa.evaluation.tradeoffs import FALSE_ABSTENTION_LIMIT

if TYPE_CHECKING:
    from qa.evaluation.pictures import Picture

METRIC_HEADER = (
    "mode",
    "Hit@1",
    "Hit@3",
    "Hit@5",
    "MRR@10",
    "sentAcc",
    "abstainP",
    "abstainR",
    "falseAbst",
    "AUROC",
    "ECE",
    "p50 ms",
    "p95 ms",
)


def markdown_report(
    data: dict[str, Any], comparison: Comparison | None = None, pictures: Sequence[Picture] = ()
) -> str:
    """A Markdown report of an evaluation (a gold set or a BEIR benchmark), linking the pictures drawn beside it."""
    if "beir" in data:
        lines = [f"# qa eval: BEIR {data['beir']} ({data['split']})", "", f"Run at {data['at']}.", ""]
        return "\n".join(lines + _markdown_table(beir_table(data))) + "\n"
    lines = [f"# qa eval: {data['gold']}", "", f"Run at {data['at']}, k = {data['k']}.", ""]
    lines += _markdown_table(metric_table(data))
    if thresholds := threshold_table(data):
        lines += ["", f"## {THRESHOLD_TITLE}", "", THRESHOLD_NOTE, "", *_markdown_table(thresholds)]
    if pictures:
        lines += ["", "## Pictures", ""]
        lines.append("\n\n".join(f"![{picture.caption}]({picture.path.name})" for picture in pictures))
    if types := type_table(data):
        lines += ["", "## By question type", "", *_markdown_table(types)]
    for mode, values in data["modes"].items():
        if values["failures"]:
            lines += ["", f"## Failures ({mode})", ""]
            for failure in values["failures"]:
                lines.append(
                    f"- **{failure['question']}** expected {' / '.join(failure['expected'])}; "
                    f"first: {failure['top_citation']}"
                )
    if comparison is not None:
        lines += ["", f"## Compared with the run of {comparison.previous_at}", ""]
        lines += [f"{'  ' * depth}- {text}" for depth, text in comparison.outline()]
    return "\n".join(lines) + "\n"


THRESHOLD_TITLE = f"Threshold that keeps false abstentions at or under {FALSE_ABSTENTION_LIMIT:.0%}"
THRESHOLD_NOTE = (
    "Answering the questions whose confidence is at least the threshold: the share of questions answered, the share "
    "of those whose highlighted sentence holds the answer, and the shares of answerable questions and of "
    "unanswerable ones refused."
)


def threshold_table(data: dict[str, Any]) -> list[list[str]]:
    """Per mode, the highest confidence threshold whose false abstentions stay at or under the limit on this set,
    with its answer rate, accuracy, false abstentions and near misses refused; empty without confidences."""
    rows = [
        [
            mode,
            f"{chosen['threshold']:.3f}",
            f"{chosen['answer_rate']:.3f}",
            format_metric(chosen["accuracy"]),
            format_metric(chosen["false_abstentions"]),
            format_metric(chosen["near_misses_refused"]),
        ]
        for mode, values in data["modes"].items()
        if (chosen := values.get("chosen_threshold")) is not None
    ]
    return [["mode", "threshold", "answered", "accuracy", "falseAbst", "refusedUnans"], *rows] if rows else []


def type_table(data: dict[str, Any]) -> list[list[str]]:
    """Hit@k and false abstentions by question type, one row per mode and type; empty without types."""
    rows = [
        [
            mode,
            kind,
            str(values["questions"]),
            *(format_metric(values[f"hit@{k}"]) for k in HIT_KS),
            format_metric(values["false_abstentions"]),
        ]
        for mode, report in data["modes"].items()
        for kind, values in report.get("by_type", {}).items()
    ]
    return [["mode", "type", "questions", *(f"Hit@{k}" for k in HIT_KS), "falseAbst"], *rows] if rows else []


def metric_table(data: dict[str, Any]) -> list[list[str]]:
    """The metrics of a gold-set evaluation as a header row and one row of formatted cells per mode."""
    table = [list(METRIC_HEADER)]
    for mode, values in data["modes"].items():
        hit = values["hit_at"]
        table.append(
            [
                mode,
                *(f"{hit[f'hit@{k}']:.3f}" for k in HIT_KS),
                f"{values['mrr_at_10']:.3f}",
                format_metric(values.get("answer_sentence_accuracy")),
                format_metric(values["abstention_precision"]),
                format_metric(values["abstention_recall"]),
                f"{values['false_abstention_rate']:.3f}",
                format_metric(values.get("auroc")),
                format_metric(values.get("ece")),
                f"{values['latency_p50_ms']:.1f}",
                f"{values['latency_p95_ms']:.1f}",
            ]
        )
    return table


def beir_table(data: dict[str, Any]) -> list[list[str]]:
    """The metrics of a BEIR evaluation as a header row and one row per mode."""
    names = ("ndcg@10", "recall@100", "mrr@10")
    rows = [[mode, *(f"{values[name]:.4f}" for name in names)] for mode, values in data["modes"].items()]
    return [["mode", "nDCG@10", "Recall@100", "MRR@10"], *rows]


def _markdown_table(table: list[list[str]]) -> list[str]:
    """The lines of a Markdown table whose first row is the header."""
    header, *rows = ["| " + " | ".join(row) + " |" for row in table]
    return [header, "|" + "---|" * len(table[0]), *rows]
