"""Where an index lives: the read and write protocols and the registry of backends (one folder each)."""
