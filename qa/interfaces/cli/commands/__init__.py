"""Command bodies of the `qa` command line that live outside main.py (interface code: it may use
click)."""
