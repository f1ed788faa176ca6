"""The default backend: FAISS, BM25, NumPy vectors and a SQLite passage table in a generation folder."""
