"""`python -m qa` runs the command line."""

from qa.interfaces.cli.main import entry

entry()
