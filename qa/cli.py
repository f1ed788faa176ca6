"""The `qa` command line: turns core results into text or JSON, and QAErrors into one-line errors."""

from __future__ import annotations

import json
import re
import shutil
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from qa import paths as qa_paths
from qa.errors import QAError
from qa.progress import once
from qa.settings import DEFAULT_MODE, MODES, Mode, Settings
from qa.wording import plural

if TYPE_CHECKING:
    from qa.index import BuildResult
    from qa.retrieval import Answer, Hit

EXIT_USAGE = 2
_MARKERS = re.compile("([\x01\x02])")
F = TypeVar("F", bound=Callable[..., Any])


class ClickReporter:
    """Progress bars and warnings on stderr; silent bars when stderr is not a terminal."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self._bar: Any = None
        self._warn = once(self._print)

    def warn(self, message: str) -> None:
        """Print a warning line (each distinct one once)."""
        self._warn(message)

    def _print(self, message: str) -> None:
        self._close()
        click.echo(f"qa: {message}", err=True)

    def start(self, stage: str, total: int) -> None:
        """Open a progress bar for the stage."""
        self._close()
        if self.quiet or total <= 0 or not sys.stderr.isatty():
            return
        from tqdm import tqdm

        self._bar = tqdm(total=total, desc=stage, unit="", leave=False, file=sys.stderr, dynamic_ncols=True)

    def advance(self, steps: int = 1) -> None:
        """Move the bar on."""
        if self._bar is not None:
            self._bar.update(steps)

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def finish(self) -> None:
        """Close any open bar."""
        self._close()


def location_options(function: F) -> F:
    """The --corpus, --index and --model options every command shares."""
    function = click.option(
        "--model",
        metavar="PATH_OR_NAME",
        default=None,
        help="sentence-transformers model folder or name (default: bundled all-MiniLM-L6-v2).",
    )(function)
    function = click.option(
        "--index",
        "index_dir",
        metavar="DIR",
        envvar=qa_paths.INDEX_ENV,
        default=None,
        help="Index folder [env QA_INDEX; ./index].",
    )(function)
    function = click.option(
        "--corpus",
        metavar="DIR",
        envvar=qa_paths.CORPUS_ENV,
        default=None,
        help="Corpus folder [env QA_CORPUS; ./corpus].",
    )(function)
    return function


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@location_options
@click.version_option(package_name="qa", message="qa %(version)s")
@click.pass_context
def main(context: click.Context, corpus: str | None, index_dir: str | None, model: str | None) -> None:
    """Ask questions of your documents and get cited passages back.

    With no command, opens the terminal app.
    """
    if context.invoked_subcommand is None:
        _run_app(corpus, index_dir, model)


@main.command()
@location_options
def tui(corpus: str | None, index_dir: str | None, model: str | None) -> None:
    """Open the terminal app."""
    _run_app(corpus, index_dir, model)


def _run_app(corpus: str | None, index_dir: str | None, model: str | None) -> None:
    from qa.tui.app import create_app

    create_app(qa_paths.resolve(corpus, index_dir), model).run()


@main.command("index")
@location_options
@click.option("--full", is_flag=True, help="Rebuild everything, ignoring the previous index.")
@click.option("--dry-run", is_flag=True, help="List what would change, without touching the index.")
def index_command(corpus: str | None, index_dir: str | None, model: str | None, full: bool, dry_run: bool) -> None:
    """Build or update the index of the corpus."""
    from qa import index

    paths = qa_paths.resolve(corpus, index_dir)
    reporter = ClickReporter()
    if dry_run:
        _print_plan(paths, reporter, full)
        return
    try:
        result = index.build(paths, _embedder(model), reporter, full=full)
    finally:
        reporter.finish()
    _print_build(result)


def _print_plan(paths: qa_paths.Paths, reporter: ClickReporter, full: bool) -> None:
    from qa import index

    previous, changes = index.plan(paths, reporter, full)
    embedded = index.count_to_embed(paths, previous, changes, reporter)
    for label, ids in (("add", changes.added), ("change", changes.changed), ("remove", changes.removed)):
        for doc_id in ids:
            click.echo(f"{label:8}{doc_id}")
    click.echo(
        f"{len(changes.added)} to add, {len(changes.changed)} changed, {len(changes.removed)} to remove, "
        f"{len(changes.unchanged)} unchanged; {plural(embedded, 'passage')} to embed"
    )


def _print_build(result: BuildResult) -> None:
    if result.noop:
        click.echo(
            f"index is up to date: {plural(result.documents, 'document')}, {plural(result.passages, 'passage')} "
            f"({result.seconds:.2f} s)"
        )
        return
    changes = result.changes
    click.echo(
        f"indexed {plural(result.documents, 'document')}, {plural(result.passages, 'passage')} "
        f"in {result.seconds:.1f} s "
        f"({result.embedded} embedded; {len(changes.added)} added, {len(changes.changed)} changed, "
        f"{len(changes.removed)} removed)"
    )


@main.command()
@location_options
@click.argument("items", metavar="PATH_OR_URL...", nargs=-1, required=True)
def add(corpus: str | None, index_dir: str | None, model: str | None, items: tuple[str, ...]) -> None:
    """Copy files, or save the text of web pages, into the corpus; then update the index."""
    from qa import adding, index

    paths = qa_paths.resolve(corpus, index_dir)
    for added in adding.add(paths.corpus, items):
        click.echo(f"{'added' if added.new else 'unchanged':10}{added.doc_id}  <- {added.origin}")
    reporter = ClickReporter()
    try:
        result = index.build(paths, _embedder(model), reporter)
    finally:
        reporter.finish()
    _print_build(result)


def _embedder(model: str | None) -> Any:
    from qa.embedding import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(model)


@main.command()
@location_options
@click.argument("question", required=False)
@click.option("-k", "k", type=int, default=5, show_default=True, help="How many passages to return.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per question.")
@click.option("--mode", type=click.Choice(MODES), default=DEFAULT_MODE, show_default=True, help="Retrieval mode.")
@click.option("--doc", metavar="ID", default=None, help="Only search this document (its path in the corpus).")
@click.option(
    "--threshold", type=click.FloatRange(0, 1), default=None, help="Confidence (0-1) below which the answer abstains."
)
def ask(
    corpus: str | None,
    index_dir: str | None,
    model: str | None,
    question: str | None,
    k: int,
    as_json: bool,
    mode: str,
    doc: str | None,
    threshold: float | None,
) -> None:
    """Answer QUESTION with cited passages; with no QUESTION, answer each line of stdin."""
    from qa.settings import clean_question

    settings = Settings(mode=mode, k=k, doc=doc).with_threshold(threshold)  # type: ignore[arg-type]
    if question is not None:
        clean_question(question)
    searcher = _searcher(qa_paths.resolve(corpus, index_dir), model)
    questions = [question] if question is not None else _stdin_questions()
    failed = False
    for text in questions:
        try:
            answer = searcher.ask(text, settings)
        except QAError as error:
            if question is not None:
                raise
            click.echo(f"qa: error: {error}", err=True)
            if as_json:  # keep one output line per input line
                failure = {"question": text, "answered": False, "error": str(error), "passages": []}
                click.echo(json.dumps(failure, ensure_ascii=False))
            failed = True
            continue
        click.echo(json.dumps(answer_json(answer), ensure_ascii=False) if as_json else render_answer(answer))
        sys.stdout.flush()
    if failed:
        raise click.exceptions.Exit(EXIT_USAGE)


def _stdin_questions() -> Iterator[str]:
    if sys.stdin.isatty():
        click.echo("qa: reading questions from standard input, one per line (Ctrl-D to end)", err=True)
    for line in sys.stdin:
        if line.strip():
            yield line.rstrip("\n")


def _searcher(paths: qa_paths.Paths, model: str | None) -> Any:
    from qa import index
    from qa.retrieval import Searcher

    embedder = _embedder(model)
    reporter = ClickReporter()
    try:
        store, _ = index.open_current(paths, embedder, reporter)
        store.load()  # now, so that later builds cannot remove what the answers need
    finally:
        reporter.finish()
    return Searcher(store, embedder)


def answer_json(answer: Answer) -> dict[str, Any]:
    """The JSON object `qa ask --json` prints for one question."""
    return {
        "question": answer.question,
        "answered": answer.answered,
        "mode": answer.mode,
        "confidence": answer.confidence,
        "unknown": list(answer.unknown),
        "reason": answer.reason,
        "passages": [
            {
                "rank": hit.rank,
                "passage_id": hit.passage.id,
                "doc_id": hit.passage.doc_id,
                "title": hit.passage.title,
                "citation": hit.passage.citation,
                "score": hit.score,
                "start": hit.passage.start,
                "end": hit.passage.end,
                "text": hit.passage.text,
                "highlight": list(hit.highlight) if hit.highlight else None,
            }
            for hit in answer.hits
        ],
    }


def render_answer(answer: Answer) -> str:
    """The plain-text answer: cited passages with the answering sentence emphasised."""
    color = sys.stdout.isatty()
    width = min(shutil.get_terminal_size((100, 24)).columns, 100)
    lines: list[str] = []
    if not answer.hits:
        return "No passages matched: no indexed passage shares a word with the question."
    if not answer.answered:
        why = f" ({answer.reason})" if answer.reason else ""
        lines.append(click.style(f"No confident answer in the corpus{why}. Nearest passages:", fg="yellow", bold=True))
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


@main.command()
@location_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def status(corpus: str | None, index_dir: str | None, model: str | None, as_json: bool) -> None:
    """Show the index: documents, passages, model, build time and whether it is stale."""
    from qa.status import index_status

    paths = qa_paths.resolve(corpus, index_dir)
    reporter = ClickReporter()
    found = index_status(paths, reporter.warn)
    report = found.as_json()
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False))
        return
    if not paths.corpus.is_dir():
        reporter.warn(f"corpus folder {paths.corpus} does not exist: create it or pass --corpus DIR")
    if not found.built:
        click.echo(f"no index in {paths.index}: run qa index")
        return
    state = "stale: run qa index" if report["stale"] else "fresh"
    click.echo(
        f"corpus     {paths.corpus}\nindex      {paths.index} ({state})\n"
        f"documents  {report['documents']}\npassages   {report['passages']}\n"
        f"model      {report['model']} ({report['dimension']} dimensions, {report['vector_index']} search)\n"
        f"built      {report['built_at']} in {report['build_seconds']:.1f} s"
    )
    for label in ("added", "changed", "removed"):
        for doc_id in report[label]:
            click.echo(f"  {label:8} {doc_id}")


@main.command("eval")
@location_options
@click.option("--gold", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Gold set (JSON Lines).")
@click.option("-k", "k", type=int, default=5, show_default=True, help="A question passes when answered in the top k.")
@click.option(
    "--mode", type=click.Choice([*MODES, "all"]), default="all", show_default=True, help="Mode(s) to evaluate."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--report", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write a Markdown report."
)
@click.option("--compare", is_flag=True, help="Show what changed since the previous run on the same gold set.")
@click.option("--beir", type=click.Path(file_okay=False, path_type=Path), default=None, help="Evaluate a BEIR folder.")
@click.option(
    "--split", type=click.Choice(["test", "train", "dev"]), default="test", show_default=True, help="BEIR qrels."
)
@click.option(
    "--threshold", type=click.FloatRange(0, 1), default=None, help="Confidence (0-1) below which answers abstain."
)
def eval_command(
    corpus: str | None,
    index_dir: str | None,
    model: str | None,
    gold: Path | None,
    k: int,
    mode: str,
    as_json: bool,
    report: Path | None,
    compare: bool,
    beir: Path | None,
    split: str,
    threshold: float | None,
) -> None:
    """Measure answer quality on a gold set (default: the corpus's gold/essay.jsonl) or a BEIR benchmark."""
    from qa import evaluation

    settings = Settings(k=k).with_threshold(threshold)
    paths = qa_paths.resolve(corpus, index_dir)
    if report is not None and not report.parent.is_dir():
        raise QAError(f"cannot write the report: folder {report.parent} does not exist")
    modes = evaluation.modes_of(mode)
    if beir is not None:
        data, key = _eval_beir(paths, model, beir, split, settings, modes)
    else:
        data, key = _eval_gold(paths, model, gold or paths.default_gold, settings, modes)
    comparison = None
    previous = evaluation.previous_run(paths.runs, key)
    if compare:
        if previous is None:
            click.echo("qa: no earlier run on this gold set to compare with", err=True)
        else:
            comparison = evaluation.compare_runs(previous, data)
    evaluation.save_run(paths.runs, key, data)
    if report is not None:
        report.write_text(evaluation.markdown_report(data, comparison), encoding="utf-8")
    if as_json:
        if comparison is not None:
            data = data | {"comparison": asdict(comparison)}
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    click.echo(_render_eval(data))
    if comparison is not None:
        click.echo(_render_comparison(comparison))


def _eval_gold(
    paths: qa_paths.Paths, model: str | None, gold: Path, settings: Settings, modes: list[Mode]
) -> tuple[dict[str, Any], str]:
    from qa import evaluation

    questions = evaluation.load_gold(gold)
    searcher = _searcher(paths, model)
    strays = evaluation.stray_questions(questions, searcher.store.document_ids())
    if strays:
        click.echo(
            f"qa: warning: {len(strays)} of {len(questions)} gold questions name a document that is not in the index "
            f"(first: {strays[0].doc_id}); they cannot be found: check --corpus against the gold set",
            err=True,
        )
    reports = [evaluation.evaluate(searcher, questions, replace(settings, mode=mode)) for mode in modes]
    return evaluation.report_json(reports, settings.k, gold), evaluation.gold_key(gold)


def _eval_beir(
    paths: qa_paths.Paths, model: str | None, folder: Path, split: str, settings: Settings, modes: list[Mode]
) -> tuple[dict[str, Any], str]:
    import datetime as dt

    from qa import beir
    from qa.retrieval import Searcher

    benchmark = beir.load(folder, split)
    embedder = _embedder(model)
    reporter = ClickReporter()
    try:
        searcher = Searcher(beir.open_index(paths.index, benchmark, embedder, reporter), embedder)
        vectors = beir.embed_queries(searcher, benchmark) if any(mode != "lexical" for mode in modes) else None
        results = {
            mode: beir.measure(
                benchmark.qrels, beir.run(searcher, benchmark, replace(settings, mode=mode), reporter, vectors)
            )
            for mode in modes
        }
    finally:
        reporter.finish()
    data = {
        "beir": benchmark.name,
        "split": split,
        "queries": len(benchmark.queries),
        "documents": len(benchmark.corpus),
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "modes": results,
    }
    return data, f"beir-{benchmark.name}-{split}"


def _render_eval(data: dict[str, Any]) -> str:
    from qa import evaluation

    if "beir" in data:
        lines = [f"BEIR {data['beir']} ({data['split']}: {data['queries']} queries, {data['documents']} documents)"]
        lines += [f"{row[0]:8} " + " ".join(f"{cell:>10}" for cell in row[1:]) for row in evaluation.beir_table(data)]
        return "\n".join(lines)
    first = next(iter(data["modes"].values()))
    lines = [
        f"gold {data['gold']}: {first['answerable']} answerable, {first['unanswerable']} unanswerable; k = {data['k']}"
    ]
    lines += [f"{row[0]:8} " + " ".join(f"{cell:>9}" for cell in row[1:]) for row in evaluation.metric_table(data)]
    for mode, values in data["modes"].items():
        if values["failures"]:
            lines.append(f"\nnot in the top {data['k']} ({mode}):")
            for failure in values["failures"]:
                expected = " / ".join(failure["expected"])
                lines.append(
                    f"  - {failure['question']}\n    expected: {expected}\n    first:    {failure['top_citation']}"
                )
    return "\n".join(lines)


def _render_comparison(comparison: Any) -> str:
    lines = [f"\ncompared with the run of {comparison.previous_at}:"]
    lines += [f"{'  ' * (depth + 1)}{text}" for depth, text in comparison.outline()]
    return "\n".join(lines)


@main.command()
@location_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--scale", is_flag=True, help="Also time synthetic corpora of SIZES passages (default 10k, 100k, 1M).")
@click.argument("sizes", nargs=-1, type=click.IntRange(min=1))
def bench(
    *, corpus: str | None, index_dir: str | None, model: str | None, as_json: bool, scale: bool, sizes: tuple[int, ...]
) -> None:
    """Measure build, query, start-up and memory on this machine against bare model baselines.

    The index is built in a temporary folder (under --index when given); ./index is never touched.
    """
    from pathlib import Path

    from qa import bench as qa_bench

    if sizes and not scale:
        raise click.UsageError("passage counts need --scale, e.g. qa bench --scale 10000 100000")
    report = qa_bench.run(
        qa_paths.resolve(corpus, None).corpus,
        model,
        (sizes or qa_bench.SCALE_SIZES) if scale else (),
        note=lambda message: click.echo(f"qa: bench: {message}", err=True),
        work=Path(index_dir) if index_dir else None,
    )
    click.echo(json.dumps(report.as_json(), ensure_ascii=False) if as_json else render_bench(report))


def render_bench(report: Any) -> str:
    """The benchmark as a plain-text table."""
    machine = report.machine
    bare = f"{report.bare_query_p50_ms:.1f}"
    build = (f"{report.build_passages_per_s:.1f}", f"{report.bare_encode_passages_per_s:.1f}")
    rows = [
        ("build, passages/s", *build, report.build_ratio, ">= 0.9"),
        ("no-op qa index, s", f"{report.noop_index_s:.2f}", "", None, ""),
    ]
    rows += [
        (f"warm ask {mode.mode} p50/p95, ms", f"{mode.p50_ms:.1f} / {mode.p95_ms:.1f}", bare, mode.ratio, "<= 1.5")
        for mode in report.modes
    ]
    peak = f"{report.peak_rss_mb:.0f} / {report.peak_children_rss_mb:.0f}"
    rows += [
        ("cold qa ask, s", f"{report.cold_ask_s:.2f}", f"{report.bare_cold_s:.2f}", report.cold_ratio, "<= 1.3"),
        ("qa status, s", f"{report.status_s:.2f}", "", None, "<= 0.5 s"),
        ("peak RSS bench / children, MB", peak, "", None, ""),
    ]
    lines = [
        f"machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gb']} GiB, "
        f"Python {machine['python']}, {machine['system']}; corpus of {report.passages} passages",
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


def run(argv: list[str] | None = None) -> int:
    """Run the CLI; every QAError or usage error becomes one line on stderr and exit code 2."""
    try:
        code = main.main(args=argv, prog_name="qa", standalone_mode=False)
    except QAError as error:
        click.echo(f"qa: error: {error}", err=True)
        return EXIT_USAGE
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except click.Abort:
        click.echo("qa: interrupted", err=True)
        return 130
    except click.ClickException as error:
        click.echo(f"qa: error: {error.format_message()}", err=True)
        return EXIT_USAGE
    except KeyboardInterrupt:
        click.echo("qa: interrupted", err=True)
        return 130
    except BrokenPipeError:
        sys.stderr.close()
        return 0
    except OSError as error:  # a folder that is a file, a disk that is full, a permission denied
        where = f": {error.filename}" if error.filename else ""
        click.echo(f"qa: error: {error.strerror or error}{where}", err=True)
        return EXIT_USAGE
    return code if isinstance(code, int) else 0


def entry() -> None:
    """Console-script entry point."""
    sys.exit(run())
