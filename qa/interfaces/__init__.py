"""The interfaces: the command line, the MCP server and the terminal app."""
