"""The `qa` command line: turns core results into text or JSON, and QAErrors into one-line errors."""

from __future__ import annotations

import json
import re
import shutil
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

import click

from qa import paths as qa_paths
from qa.errors import QAError
from qa.retrieval import DEFAULT_MODE, MODES, Settings

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

    def warn(self, message: str) -> None:
        """Print a warning line."""
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
        "--index", "index_dir", metavar="DIR", envvar=qa_paths.INDEX_ENV, default=None, help="Index folder [env QA_INDEX; ./index]."
    )(function)
    function = click.option(
        "--corpus", metavar="DIR", envvar=qa_paths.CORPUS_ENV, default=None, help="Corpus folder [env QA_CORPUS; ./corpus]."
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
        f"{len(changes.unchanged)} unchanged; {embedded} passages to embed"
    )


def _print_build(result: BuildResult) -> None:
    if result.noop:
        click.echo(f"index is up to date: {result.documents} documents, {result.passages} passages ({result.seconds:.2f} s)")
        return
    changes = result.changes
    click.echo(
        f"indexed {result.documents} documents, {result.passages} passages in {result.seconds:.1f} s "
        f"({result.embedded} embedded; {len(changes.added)} added, {len(changes.changed)} changed, "
        f"{len(changes.removed)} removed)"
    )


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
@click.option("--threshold", type=float, default=None, help="Confidence below which the answer abstains.")
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
    from qa.retrieval import clean_question

    if k < 1:
        raise QAError(f"-k must be at least 1, not {k}")
    if question is not None:
        clean_question(question)
    settings = Settings(mode=mode, k=k, doc=doc)  # type: ignore[arg-type]
    if threshold is not None:
        settings = replace(settings, threshold=threshold)
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
            failed = True
            continue
        click.echo(json.dumps(answer_json(answer), ensure_ascii=False) if as_json else render_answer(answer))
        sys.stdout.flush()
    if failed:
        sys.exit(EXIT_USAGE)


def _stdin_questions() -> Iterator[str]:
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
    if not answer.answered:
        lines.append(click.style("No confident answer in the corpus. Nearest passages:", fg="yellow", bold=True))
    for hit in answer.hits:
        header = f"{hit.rank}. {hit.passage.citation}  [{hit.score:.3f}]"
        lines.append(click.style(header, bold=True) if color else header)
        lines.extend(_wrap_with_highlight(hit, width, color, dim=not answer.answered))
        lines.append("")
    if not answer.hits:
        lines.append("No passages matched.")
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
    from qa import index, manifest

    paths = qa_paths.resolve(corpus, index_dir)
    reporter = ClickReporter()
    found = index.read_manifest(paths.index)
    report: dict[str, Any] = {"corpus": str(paths.corpus), "index": str(paths.index), "built": found is not None}
    if found is None:
        report |= {"stale": True, "documents": 0, "passages": 0}
    else:
        changes = manifest.compare(paths.corpus, found, reporter.warn) if paths.corpus.is_dir() else None
        report |= {
            "documents": sum(1 for entry in found.documents.values() if entry.passages),
            "passages": found.passages,
            "model": found.model,
            "dimension": found.dimension,
            "vector_index": found.vector_index.get("kind"),
            "built_at": found.built_at,
            "build_seconds": found.build_seconds,
            "stale": changes.stale if changes else True,
            "added": changes.added if changes else [],
            "changed": changes.changed if changes else [],
            "removed": changes.removed if changes else [],
            "document_ids": sorted(doc for doc, entry in found.documents.items() if entry.passages),
        }
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False))
        return
    if found is None:
        click.echo(f"no index in {paths.index}: run qa index")
        return
    state = "stale (run qa index)" if report["stale"] else "fresh"
    click.echo(
        f"corpus     {paths.corpus}\nindex      {paths.index} ({state})\n"
        f"documents  {report['documents']}\npassages   {report['passages']}\n"
        f"model      {report['model']} ({report['dimension']} dimensions, {report['vector_index']} search)\n"
        f"built      {report['built_at']} in {report['build_seconds']:.1f} s"
    )
    for label in ("added", "changed", "removed"):
        for doc_id in report[label]:
            click.echo(f"  {label:8} {doc_id}")


def run(argv: list[str] | None = None) -> int:
    """Run the CLI; every QAError or usage error becomes one line on stderr and exit code 2."""
    try:
        main.main(args=argv, prog_name="qa", standalone_mode=False)
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
    return 0


def entry() -> None:
    """Console-script entry point."""
    sys.exit(run())
