"""The one engine behind every interface, the index status and the corpus watcher."""
