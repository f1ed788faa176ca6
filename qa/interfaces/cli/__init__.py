"""The `qa` command line (click): commands, options, console output and rendering."""
