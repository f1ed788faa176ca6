"""The Milvus backend: an index kept in Milvus Lite or a Milvus server."""
