"""Eight `qa ask` clients against a Milvus Lite gRPC server on loopback while a document is added and removed: no
failed request and no answer from a half-written build (a short run; `python -m tests.milvus_load` runs it long)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests import milvus_load
from tests.corpora import write_doc

SECONDS = float(os.environ.get("QA_MILVUS_LOAD_SECONDS", "10"))


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX processes")
def test_eight_clients_see_only_committed_generations_while_a_document_comes_and_goes(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    for number, topic in enumerate(["glaciers", "harbour cranes", "river sediment", "orchard frost"]):
        write_doc(corpus, f"doc-{number}.md", topic, paragraphs=4)
    extra = write_doc(corpus, "extra/avalanches.md", "avalanches", paragraphs=4)
    questions = [f"What did the {topic} report count?" for topic in ("glaciers", "avalanches", "orchard frost")]
    report = milvus_load.run(corpus, tmp_path / "index", extra, questions, SECONDS, clients=8, max_requests=2_000)
    assert report.failures == []
    assert report.inconsistent == []
    assert report.builds >= 2, "the document was added and removed at least once"
    assert report.requests >= 8
    assert report.variants[questions[1]] >= 2, "answers about the document changed as it came and went"
