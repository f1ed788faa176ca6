"""The Milvus backend: an index kept in Milvus Lite or a Milvus server, registered with the store registry."""

from qa.index.stores.milvus.backend import MilvusBackend
from qa.index.stores.registry import register_backend

register_backend(MilvusBackend())
