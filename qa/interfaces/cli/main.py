"""The `qa` command line: turns core results into text or JSON, and QAErrors into one-line errors."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from qa.index.stores.base import REPAIR
from qa.index.stores.registry import describe_status
from qa.interfaces.cli import rendering
from qa.interfaces.cli.commands.serving import mcp_command
from qa.interfaces.cli.console import ClickReporter
from qa.interfaces.cli.options import location_options
from qa.kernel import paths as qa_paths
from qa.kernel.errors import QAError
from qa.kernel.filters import Filter, make_filter
from qa.kernel.settings import DEFAULT_MODE, MODES, Mode, Settings
from qa.kernel.wording import plural

if TYPE_CHECKING:
    from qa.answering.retrieval import Searcher
    from qa.engine.engine import EmbedderFactory, Engine
    from qa.index.stores.base import Health

EXIT_USAGE = 2
_MARKERS = re.compile("([\x01\x02])")
F = TypeVar("F", bound=Callable[..., Any])


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@location_options
@click.version_option(package_name="qa", message="qa %(version)s")
@click.pass_context
def main(context: click.Context, corpus: str | None, index_dir: str | None, model: str | None) -> None:
    """Ask questions of your documents and get cited passages back.

    With no command, opens the terminal app.
    """
    if context.invoked_subcommand is None:
        _run_app(corpus, index_dir, model, Filter())


def _run_app(corpus: str | None, index_dir: str | None, model: str | None, search_filter: Filter) -> None:
    from qa.interfaces.tui.app import create_app

    factory = click.get_current_context().find_root().obj
    create_app(qa_paths.resolve(corpus, index_dir), model, factory, watch=True, search_filter=search_filter).run()


@main.command("index")
@location_options
@click.option("--full", is_flag=True, help="Rebuild everything, ignoring the previous index.")
@click.option("--dry-run", is_flag=True, help="List what would change, without touching the index.")
@click.option("--watch", is_flag=True, help="Then keep the index current as files change, until Ctrl-C.")
@click.option(
    "--verify",
    is_flag=True,
    help="Also compare every index file with the checksum recorded when it was built, to find damage that kept "
    "its size, and rebuild when one differs. Reads the whole index: about 0.8 s per GB from the page cache here "
    "(the essay's 0.3 MB: a few ms), more from disk.",
)
def index_command(
    corpus: str | None,
    index_dir: str | None,
    model: str | None,
    full: bool,
    dry_run: bool,
    watch: bool,
    verify: bool,
) -> None:
    """Build or update the index of the corpus; with --watch, keep it current. A damaged index (a file missing, of
    the wrong size or shape) is rebuilt."""
    paths = qa_paths.resolve(corpus, index_dir)
    reporter = ClickReporter()
    if watch:
        from qa.interfaces.cli.commands.watching import watch_command

        return watch_command(paths, model, full, dry_run)
    if dry_run:
        _print_plan(paths, reporter, full, verify)
        return
    try:
        result = _engine(paths, model).build(reporter, full=full, verify=verify)
    finally:
        reporter.finish()
    if verify and result.health is not None and not result.repaired and not result.health.verified_files:
        reporter.warn("this index has no checksums to verify (qa built it before recording them): qa index --full")
    click.echo(rendering.render_build(result))


def _print_plan(paths: qa_paths.Paths, reporter: ClickReporter, full: bool, verify: bool) -> None:
    from qa.index import building

    previous, changes = building.plan(paths, reporter, full)
    health = building.check_health(paths.index, previous, verify) if previous is not None else None
    if health is not None and health.damaged:
        click.echo(f"index is damaged ({health.summary}): qa index rebuilds it")
        previous = None  # every passage is embedded again
    embedded = building.count_to_embed(paths, previous, changes, reporter)
    for label, ids in (("add", changes.added), ("change", changes.changed), ("remove", changes.removed)):
        for doc_id in ids:
            click.echo(f"{label:8}{doc_id}")
    click.echo(
        f"{len(changes.added)} to add, {len(changes.changed)} changed, {len(changes.removed)} to remove, "
        f"{len(changes.unchanged)} unchanged; {plural(embedded, 'passage')} to embed"
    )


@main.command()
@location_options
@click.argument("items", metavar="PATH_OR_URL...", nargs=-1, required=True)
def add(corpus: str | None, index_dir: str | None, model: str | None, items: tuple[str, ...]) -> None:
    """Copy files, or save the text of web pages, into the corpus; then update the index."""
    from qa.documents import adding

    paths = qa_paths.resolve(corpus, index_dir)
    for added in adding.add(paths.corpus, items):
        click.echo(f"{'added' if added.new else 'unchanged':10}{added.doc_id}  <- {added.origin}")
    reporter = ClickReporter()
    try:
        result = _engine(paths, model).build(reporter)
    finally:
        reporter.finish()
    click.echo(rendering.render_build(result))


def _engine(paths: qa_paths.Paths, model: str | None) -> Engine:
    """The core engine for this command, with the embedder factory `run` was given."""
    from qa.engine.engine import Engine

    factory = click.get_current_context().find_root().obj
    return Engine(paths, model, factory)


def filter_options(function: F) -> F:
    """The --in and --where options that restrict a search to some documents."""
    function = click.option(
        "--where",
        "where",
        metavar="FIELD OP VALUE",
        multiple=True,
        help="Only documents whose front-matter FIELD passes: = != >= <= (dates, numbers) or ~ (contains); repeatable.",
    )(function)
    function = click.option(
        "--in",
        "within",
        metavar="GLOB",
        multiple=True,
        help="Only documents whose path in the corpus matches GLOB (a folder name takes all below it); repeatable.",
    )(function)
    return function


@main.command()
@location_options
@filter_options
def tui(
    corpus: str | None, index_dir: str | None, model: str | None, within: tuple[str, ...], where: tuple[str, ...]
) -> None:
    """Open the terminal app; with --in/--where, questions are asked only of the documents they admit (F3 changes
    the filter)."""
    _run_app(corpus, index_dir, model, make_filter(within, where))


@main.command()
@location_options
@filter_options
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
    within: tuple[str, ...],
    where: tuple[str, ...],
) -> None:
    """Answer QUESTION with cited passages; with no QUESTION, answer each line of stdin."""
    from qa.kernel.settings import clean_question

    found = make_filter(within, where)
    settings = Settings(mode=mode, k=k, doc=doc, filter=found or None).with_threshold(threshold)  # type: ignore[arg-type]
    if question is not None:
        clean_question(question)
    searcher = _searcher(qa_paths.resolve(corpus, index_dir), model, embeds=mode != "lexical")
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
        click.echo(json.dumps(answer.as_json(), ensure_ascii=False) if as_json else rendering.render_answer(answer))
        sys.stdout.flush()
    if failed:
        raise click.exceptions.Exit(EXIT_USAGE)


def _stdin_questions() -> Iterator[str]:
    """Every line of stdin, blank ones too: each gets its output line (an error for an unusable one)."""
    if sys.stdin.isatty():
        click.echo("qa: reading questions from standard input, one per line (Ctrl-D to end)", err=True)
    for line in sys.stdin:
        yield line.rstrip("\n")


def _searcher(paths: qa_paths.Paths, model: str | None, *, embeds: bool) -> Searcher:
    """A searcher of the index at `paths`, opened (built first if needed), its models loaded when it `embeds`."""
    engine = _engine(paths, model)
    reporter = ClickReporter()
    try:
        store, _ = engine.open(reporter)
    finally:
        reporter.finish()
    if embeds:
        engine.load_model()  # both models side by side now, not one after the other in the first question
    return engine.searcher(store)


@main.command()
@location_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--check", is_flag=True, help="Exit with code 2 when the index is damaged (qa index repairs it).")
def status(corpus: str | None, index_dir: str | None, model: str | None, as_json: bool, check: bool) -> None:
    """Show the index: documents, passages, model, build time, whether it is stale, and whether it is damaged (a
    file missing, or of another size or shape than the manifest records: cheap checks that read no index file
    whole; qa index --verify compares content)."""
    from qa.documents.loading import check_corpus
    from qa.engine.status import index_status

    paths = qa_paths.resolve(corpus, index_dir)
    check_corpus(paths.corpus)  # as qa index would fail on it
    reporter = ClickReporter()
    found = index_status(paths, reporter.warn)
    report = found.as_json()
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False))
    else:
        _print_status(paths, found.health, report)
    if check and found.damaged:
        raise click.exceptions.Exit(EXIT_USAGE)


def _print_status(paths: qa_paths.Paths, health: Health | None, report: dict[str, Any]) -> None:
    if health is None:
        click.echo(f"no index in {paths.index}: run qa index")
        return
    state = "stale: run qa index" if report["stale"] else "fresh"
    if health.damaged:
        state = f"damaged: {health.summary} — {REPAIR}"
    click.echo(
        f"corpus     {paths.corpus}\nindex      {paths.index} ({state})\n"
        f"documents  {report['documents']}\npassages   {report['passages']}\n"
        f"model      {report['model']} ({report['dimension']} dimensions, {report['vector_index']} search)\n"
        f"built      {report['built_at']} in {report['build_seconds']:.1f} s"
    )
    if "store" in report:
        click.echo(f"store      {describe_status(report['store'])}")
    for label in ("added", "changed", "removed"):
        for doc_id in report[label]:
            click.echo(f"  {label:8} {doc_id}")


@main.command("eval")
@location_options
@filter_options
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
    "--squad",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Evaluate a SQuAD 1.1/2.0 JSON file (open retrieval over all its articles).",
)
@click.option(
    "--holdout",
    "holdout",
    multiple=True,
    help="With --squad: ask only the questions of these articles (repeat, or separate by commas).",
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
    squad: Path | None,
    holdout: tuple[str, ...],
    threshold: float | None,
    within: tuple[str, ...],
    where: tuple[str, ...],
) -> None:
    """Measure answer quality on a gold set (default: the corpus's gold/essay.jsonl), a BEIR benchmark or a SQuAD
    file."""
    from qa.evaluation import gold as evaluation
    from qa.evaluation import reports, runs

    found = make_filter(within, where)
    settings = Settings(k=k, filter=found or None).with_threshold(threshold)
    paths = qa_paths.resolve(corpus, index_dir)
    if report is not None and not report.parent.is_dir():
        raise QAError(f"cannot write the report: folder {report.parent} does not exist")
    modes = evaluation.modes_of(mode)
    if holdout and squad is None:
        raise QAError("--holdout names SQuAD articles: use it with --squad FILE")
    if beir is not None:
        data, key = _eval_beir(paths, model, beir, split, settings, modes)
    elif squad is not None:
        data, key = _eval_squad(paths, model, squad, holdout, settings, modes)
    else:
        data, key = _eval_gold(paths, model, gold or paths.default_gold, settings, modes)
    comparison = None
    previous = runs.previous_run(paths.runs, key)
    if compare:
        if previous is None:
            click.echo("qa: no earlier run on this gold set to compare with", err=True)
        else:
            comparison = runs.compare_runs(previous, data)
    runs.save_run(paths.runs, key, data)
    if report is not None:
        from qa.evaluation import pictures

        drawn = pictures.draw(data, report)
        report.write_text(reports.markdown_report(data, comparison, drawn), encoding="utf-8")
    if as_json:
        if comparison is not None:
            data = data | {"comparison": asdict(comparison)}
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    click.echo(rendering.render_eval(data))
    if comparison is not None:
        click.echo(rendering.render_comparison(comparison))


def _eval_gold(
    paths: qa_paths.Paths, model: str | None, gold: Path, settings: Settings, modes: list[Mode]
) -> tuple[dict[str, Any], str]:
    from qa.evaluation import gold as evaluation

    questions = evaluation.load_gold(gold)  # a bad gold file fails before the index is opened or built
    warn = ClickReporter().warn
    searcher = _searcher(paths, model, embeds=any(mode != "lexical" for mode in modes))
    return evaluation.evaluate_gold(searcher, gold, questions, settings, modes, warn)


def _eval_beir(
    paths: qa_paths.Paths, model: str | None, folder: Path, split: str, settings: Settings, modes: list[Mode]
) -> tuple[dict[str, Any], str]:
    from qa.evaluation import beir

    reporter = ClickReporter()
    try:
        return beir.evaluate(_engine(paths, model), folder, split, settings, modes, reporter)
    finally:
        reporter.finish()


def _eval_squad(
    paths: qa_paths.Paths,
    model: str | None,
    source: Path,
    holdout: tuple[str, ...],
    settings: Settings,
    modes: list[Mode],
) -> tuple[dict[str, Any], str]:
    from qa.evaluation import squad

    articles = [name.strip() for names in holdout for name in names.split(",") if name.strip()]
    reporter = ClickReporter()
    try:
        return squad.evaluate(_engine(paths, model), source, articles, settings, modes, reporter)
    finally:
        reporter.finish()


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

    from qa.benchmarks import bench as qa_bench
    from qa.benchmarks import scaling
    from qa.interfaces.tui.probe import TerminalAppProbe

    if sizes and not scale:
        raise click.UsageError("passage counts need --scale, e.g. qa bench --scale 10000 100000")
    report = qa_bench.run(
        qa_paths.resolve(corpus, None).corpus,
        model,
        (sizes or scaling.SCALE_SIZES) if scale else (),
        note=lambda message: click.echo(f"qa: bench: {message}", err=True),
        work=Path(index_dir) if index_dir else None,
        store=qa_paths.resolve(corpus, None).store,
        app=TerminalAppProbe(),
    )
    click.echo(json.dumps(report.as_json(), ensure_ascii=False) if as_json else rendering.render_bench(report))


main.add_command(mcp_command)


def run(argv: list[str] | None = None, make_embedder: EmbedderFactory | None = None) -> int:
    """Run the CLI; every QAError or usage error becomes one line on stderr and exit code 2.

    `make_embedder` makes the embedder for the --model option (default: the bundled model's runtime).
    """
    try:
        code = main.main(args=argv, prog_name="qa", standalone_mode=False, obj=make_embedder)
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
