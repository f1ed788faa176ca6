"""Option plumbing shared by the `qa` commands: where the corpus, the index and the model are, and which store holds
the index."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

from qa.index.stores.registry import parse_store, store_option_help
from qa.kernel import paths as qa_paths

F = TypeVar("F", bound=Callable[..., Any])


def location_options(function: F) -> F:
    """The --corpus, --index, --model and --store options every command shares; --store (env QA_STORE) reaches
    `qa.kernel.paths.resolve` without changing the command's signature."""

    @functools.wraps(function)
    def chosen(*args: Any, store: str | None = None, **kwargs: Any) -> Any:
        with qa_paths.store_choice(parse_store(store)):
            return function(*args, **kwargs)

    metavar, described = store_option_help()
    wrapped = click.option(
        "--store",
        metavar=metavar,
        envvar=qa_paths.STORE_ENV,
        default=None,
        help=f"{described} [env QA_STORE; default: files in --index].",
    )(chosen)
    wrapped = click.option(
        "--model",
        metavar="PATH_OR_NAME",
        default=None,
        help="sentence-transformers model folder or name (default: bundled all-MiniLM-L6-v2).",
    )(wrapped)
    wrapped = click.option(
        "--index",
        "index_dir",
        metavar="DIR",
        envvar=qa_paths.INDEX_ENV,
        default=None,
        help="Index folder [env QA_INDEX; ./index].",
    )(wrapped)
    wrapped = click.option(
        "--corpus",
        metavar="DIR",
        envvar=qa_paths.CORPUS_ENV,
        default=None,
        help="Corpus folder [env QA_CORPUS; ./corpus].",
    )(wrapped)
    return wrapped  # type: ignore[return-value]
