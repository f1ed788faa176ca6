"""`qa index --watch`: keep the index current as the corpus changes, printing one line per update."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from qa.engine.watcher import Update, Watcher
from qa.interfaces.cli import rendering
from qa.interfaces.cli.console import ClickReporter

if TYPE_CHECKING:
    from qa.engine.engine import Engine
    from qa.kernel.paths import Paths


def watch_command(paths: Paths, model: str | None, full: bool, dry_run: bool) -> None:
    """`qa index --watch` (with the embedder factory `qa.interfaces.cli.main.run` was given)."""
    if dry_run:
        raise click.UsageError("--dry-run and --watch do not go together: drop one")
    from qa.engine.engine import Engine

    watch_corpus(Engine(paths, model, click.get_current_context().find_root().obj), full)


def watch_corpus(engine: Engine, full: bool = False) -> None:
    """Build now, then after every settled burst of changes, until Ctrl-C (which ends it cleanly, exit code 0):
    one line per update on stdout, warnings on stderr."""
    reporter = ClickReporter(quiet=True)  # no progress bars between the update lines
    click.echo(f"qa: watching {engine.paths.corpus} for changes (Ctrl-C stops)", err=True)
    try:
        Watcher(engine, reporter, _print).run(full=full)
    except KeyboardInterrupt:
        click.echo("qa: stopped watching", err=True)


def _print(update: Update) -> None:
    """Print what changed the index, or went wrong: not that a build begins, nor a build that found nothing to do
    (but the first, which says what the index holds)."""
    quiet = update.kind == "updating" or (update.result is not None and update.result.noop and not update.first)
    if not quiet:
        click.echo(describe(update))


def describe(update: Update) -> str:
    """One line for an update: its time, what set it off and what the build did, or what went wrong."""
    stamp = update.at.strftime("%H:%M:%S")
    if update.result is None:
        return f"{stamp}  {update.message}"
    trigger = ""
    if update.trigger:
        more = update.changes - len(update.trigger)
        trigger = f" after {', '.join(update.trigger)}" + (f" and {more} more" if more > 0 else "")
    return f"{stamp}  {rendering.render_build(update.result)}{trigger}"
