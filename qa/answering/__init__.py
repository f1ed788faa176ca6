"""Answering a question: retrieval, abstention, document-level answers, lists and the answer's types."""
