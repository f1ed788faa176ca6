"""The Textual terminal app: ask, read the cited passages, open the source, rebuild the index."""
