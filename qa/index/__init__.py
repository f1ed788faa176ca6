"""The index: its manifest, the build lock, the build pipeline, BM25, the cached index of fixed document lists, and
the stores that hold it."""
