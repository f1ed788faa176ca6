"""The default backend: FAISS, BM25, NumPy vectors and a SQLite passage table in a generation folder, registered with
the store registry."""

from qa.index.stores.files.backend import FilesBackend
from qa.index.stores.registry import register_backend

register_backend(FilesBackend())
