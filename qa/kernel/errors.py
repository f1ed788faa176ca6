"""Errors a user can act on: each message says what went wrong and how to fix it."""

from __future__ import annotations


class QAError(Exception):
    """A failure the user can fix; the CLI prints it on one line and exits with code 2."""


class CorpusError(QAError):
    """The corpus folder is missing, empty or unreadable."""


class IndexMissingError(QAError):
    """No index has been built yet."""


class IndexCorruptError(QAError):
    """The index on disk is damaged or was built by something else."""


class ModelError(QAError):
    """The embedding model cannot be loaded or does not match its checksum."""


class InputError(QAError):
    """A question or option value is not acceptable."""
