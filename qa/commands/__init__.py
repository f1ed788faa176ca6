"""Command bodies of the `qa` command line that live outside qa/cli.py (interface code: it may use click)."""
