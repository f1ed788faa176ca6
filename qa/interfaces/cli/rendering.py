"""The CLI's plain-text rendering of core results: answers, builds, evaluations and benchmarks."""

from __future__ import annotations

import re
import shutil
import sys
import textwrap
from typing import TYPE_CHECKING, Any

import click

from qa.evaluation import reports
from qa.kernel.wording import not_in_corpus, plural

if TYPE_CHECKING:
    from qa.answering.answer import Answer, Hit
    from qa.benchmarks.bench import Report
    from qa.evaluation.runs import Comparison
    from qa.index.building import BuildResult

_MARKERS = re.compile("([\x01\x02])")


def render_answer(answer: Answer) -> str:
    """The plain-text answer: cited passages with the answering sentence emphasised."""
    color = sys.stdout.isatty()
    width = min(shutil.get_terminal_size((100, 24)).columns, 100)
    missing = not_in_corpus(answer.unknown)
    if not answer.hits:
        nothing = "No passages matched: no indexed passage shares a word with the question."
        return f"{nothing}\n{missing}" if missing else nothing
    lines: list[str] = []
    if answer.scope:
        lines.append(f"About {answer.scope}:")
    if not answer.answered:
        why = f" ({answer.reason})" if answer.reason else ""
        lines.append(click.style(f"No confident answer in the corpus{why}. Nearest passages:", fg="yellow", bold=True))
    if missing:
        lines.append(click.style(missing, fg="yellow"))
    for hit in answer.hits:
        header = f"{hit.rank}. {answer.citation(hit)}  [{hit.score:.3f}]"
        lines.append(click.style(header, bold=True) if color else header)
        lines.extend(_wrap_with_highlight(hit, width, color, dim=not answer.answered))
        lines.append("")
    return "\n".join(lines).rstrip("\n")


def _wrap_with_highlight(hit: Hit, width: int, color: bool, dim: bool) -> list[str]:
    text = hit.passage.text
    start, end = hit.highlight or (0, 0)
    marker_open, marker_close = ("\x01", "\x02") if color else ("**", "**")
    marked = text[:start] + marker_open + text[start:end] + marker_close + text[end:] if end > start else text
    lines = textwrap.wrap(" ".join(marked.split()), width=width - 3, initial_indent="   ", subsequent_indent="   ")
    if not color:
        return lines
    styled: list[str] = []
    emphasis = False
    for line in lines:
        out = ""
        for piece in _MARKERS.split(line):
            if piece == "\x01":
                emphasis = True
            elif piece == "\x02":
                emphasis = False
            elif piece:
                out += click.style(piece, bold=emphasis, fg="yellow" if emphasis else None, dim=dim and not emphasis)
        styled.append(out)
    return styled


def render_build(result: BuildResult) -> str:
    """What `qa index` and `qa add` print after a build."""
    health = result.health
    verified = ""
    if health is not None and health.verified_files and not health.damaged:
        verified = (
            f"; content verified: {plural(health.verified_files, 'file')}, "
            f"{health.verified_bytes / 1e6:.1f} MB in {health.seconds:.2f} s"
        )
    if result.noop:
        return (
            f"index is up to date: {plural(result.documents, 'document')}, {plural(result.passages, 'passage')} "
            f"({result.seconds:.2f} s){verified}"
        )
    skipped = f"; {len(result.skipped)} skipped" if result.skipped else ""
    built = (
        f"indexed {plural(result.documents, 'document')}, {plural(result.passages, 'passage')} "
        f"in {result.seconds:.1f} s "
        f"({result.embedded} embedded; {len(result.added)} added, {len(result.changed)} changed, "
        f"{len(result.changes.removed)} removed{skipped}){verified}"
    )
    return f"index was damaged ({health.summary}): rebuilt; {built}" if health is not None and health.damaged else built


def render_eval(data: dict[str, Any]) -> str:
    """A `qa eval` run (gold set or BEIR) as plain text."""
    if "beir" in data:
        lines = [f"BEIR {data['beir']} ({data['split']}: {data['queries']} queries, {data['documents']} documents)"]
        lines += [f"{row[0]:8} " + " ".join(f"{cell:>10}" for cell in row[1:]) for row in reports.beir_table(data)]
        return "\n".join(lines)
    first = next(iter(data["modes"].values()))
    lines = [
        f"gold {data['gold']}: {first['answerable']} answerable, {first['unanswerable']} unanswerable; k = {data['k']}"
    ]
    lines += [f"{row[0]:8} " + " ".join(f"{cell:>9}" for cell in row[1:]) for row in reports.metric_table(data)]
    if thresholds := reports.threshold_table(data):
        lines += ["", f"{reports.THRESHOLD_TITLE}:"]
        lines += [f"{row[0]:8} " + " ".join(f"{cell:>12}" for cell in row[1:]) for row in thresholds]
    if types := reports.type_table(data):
        lines += ["", "by question type:"]
        lines += [f"{row[0]:8} {row[1]:15}" + " ".join(f"{cell:>9}" for cell in row[2:]) for row in types]
    for mode, values in data["modes"].items():
        if values["failures"]:
            lines.append(f"\nnot in the top {data['k']} ({mode}):")
            for failure in values["failures"]:
                expected = " / ".join(failure["expected"])
                lines.append(
                    f"  - {failure['question']}\n    expected: {expected}\n    first:    {failure['top_citation']}"
                )
    return "\n".join(lines)


def render_comparison(comparison: Comparison) -> str:
    """What changed since the previous run, as an indented outline."""
    lines = [f"\ncompared with the run of {comparison.previous_at}:"]
    lines += [f"{'  ' * (depth + 1)}{text}" for depth, text in comparison.outline()]
    return "\n".join(lines)


def _hybrid_target(report: Report) -> str:
    """The warm hybrid target: 10 ms without answer checking (issue 12), 3 x the bare query with it (issue 21)."""
    return "p50 <= 10 ms" if report.verifier_p50_ms is None else "ratio <= 3"


def render_bench(report: Report) -> str:
    """The benchmark as a plain-text table."""
    machine = report.machine
    bare = f"{report.bare_query_p50_ms:.1f}"
    build = (f"{report.build_passages_per_s:.1f}", f"{report.bare_encode_passages_per_s:.1f}")
    rows = [
        ("build, passages/s", *build, report.build_ratio, ">= 1.0"),
        ("no-op qa index, s", f"{report.noop_index_s:.2f}", "", None, ""),
    ]
    rows += [
        (
            f"warm ask {mode.mode} p50/p95, ms",
            f"{mode.p50_ms:.1f} / {mode.p95_ms:.1f}",
            bare,
            mode.ratio,
            _hybrid_target(report) if mode.mode == "hybrid" else "",
        )
        for mode in report.modes
    ]
    if report.verifier_p50_ms is not None:
        rows.append(("  of which answer checking p50, ms", f"{report.verifier_p50_ms:.1f}", "", None, ""))
    peak = f"{report.peak_rss_mb:.0f} / {report.peak_children_rss_mb:.0f}"
    rows += [
        (
            "cold qa ask, s",
            f"{report.cold_ask_s:.2f}",
            f"{report.bare_cold_s:.2f}",
            report.cold_ratio,
            "<= 0.15, 1.5 s",
        ),
        (
            "app launch to first answer, s",
            "none" if report.app_first_answer_s is None else f"{report.app_first_answer_s:.2f}",
            "",
            None,
            "<= 2.5 s",
        ),
        ("qa status, s", f"{report.status_s:.2f}", "", None, "<= 0.5 s"),
        ("peak RSS bench / children, MB", peak, "", None, ""),
    ]
    lines = [
        f"machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gb']} GiB, "
        f"Python {machine['python']}, {machine['system']}; corpus of {report.passages} passages"
        + (f"; qa on {report.runtime}, bare on sentence-transformers" if report.runtime else ""),
        "",
        f"{'figure':34}{'qa':>16}{'bare':>10}{'ratio':>8}  target",
    ]
    lines += [
        f"{name:34}{value:>16}{bare:>10}{'' if ratio is None else f'{ratio:.2f}':>8}  {target}"
        for name, value, bare, ratio, target in rows
    ]
    if report.scale:
        lines += [
            "",
            f"{'passages':>10}{'build s':>9}{'p50 ms':>8}{'recall@10':>10}{'index MB':>10}{'RSS MB':>8}"
            f"{'BM25 build s':>13}{'BM25 p50 ms':>12}  vector index",
        ]
        lines += [
            f"{point.passages:>10,}{point.build_s:>9.1f}{point.query_p50_ms:>8.2f}{point.recall_at_10:>10.3f}"
            f"{point.index_mb:>10.1f}{point.rss_mb:>8.0f}{point.lexical_build_s:>13.1f}{point.lexical_p50_ms:>12.1f}  "
            + ", ".join(f"{key}={value}" for key, value in point.vector_index.items())
            for point in report.scale
        ]
    return "\n".join(lines)
