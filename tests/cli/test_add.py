"""`qa add PATH_OR_URL...`: copy files or save web pages into the corpus, then update the index."""

from __future__ import annotations

import datetime as dt
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from qa.documents import adding
from qa.index import manifest
from qa.index.stores.files.store import Store
from qa.interfaces.cli import main
from qa.kernel.paths import Paths
from tests.cli.conftest import fake_embedder_for, where
from tests.corpora import HTML, topic_paragraph

NOTES = "Field notes on the wetland survey.\n\n" + topic_paragraph("wetland survey", 1) + "\n"
PAGES: dict[str, tuple[int, str, bytes]] = {
    "/harbour": (200, "text/html; charset=utf-8", HTML.encode()),
    "/mirror/harbour": (200, "text/html; charset=utf-8", HTML.replace("eastern terminal", "western terminal").encode()),
    "/notes.txt": (200, "text/plain; charset=utf-8", NOTES.encode()),
    "/logo.png": (200, "image/png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64),
    "/blank": (200, "text/html", b"<html><head><title>Blank</title></head><body><script>1</script></body></html>"),
    "/big": (200, "text/html", b"<html><body><p>" + b"word " * 2000 + b"</p></body></html>"),
}


class Handler(BaseHTTPRequestHandler):
    """Serves PAGES; anything else is a 404."""

    def do_GET(self) -> None:
        status, content_type, body = PAGES.get(self.path, (404, "text/html", b"<h1>Not Found</h1>"))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A web server on 127.0.0.1 in a thread; yields its base URL."""
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def qa_add(paths: Paths, *items: str) -> list[str]:
    return ["add", *where(paths), *items]


def contents(folder: Path) -> dict[str, bytes]:
    """Every file below folder, hidden ones included, with its bytes."""
    if not folder.exists():
        return {}
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


def front_matter(path: Path) -> tuple[dict[str, object], str]:
    _, front, body = path.read_text(encoding="utf-8").split("---\n", 2)
    return yaml.safe_load(front), body


def indexed(paths: Paths) -> list[str]:
    store = Store.open(paths.index)
    try:
        return store.document_ids()
    finally:
        store.close()


def test_add_file_copies_it_and_updates_the_index(
    essay_paths: Paths, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "elsewhere" / "tides.md"
    source.parent.mkdir()
    source.write_text("# Tides\n\n" + topic_paragraph("spring tides", 1) + "\n", encoding="utf-8")
    assert main.run(qa_add(essay_paths, str(source)), fake_embedder_for) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"added     tides.md  <- {source}"
    assert out[1].startswith("indexed 2 documents, ")
    assert (essay_paths.corpus / "tides.md").read_bytes() == source.read_bytes()
    assert indexed(essay_paths) == ["no-winners-ai-race.md", "tides.md"]


def test_adding_the_same_file_again_changes_nothing(
    essay_paths: Paths, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "notes.txt"
    source.write_text(NOTES, encoding="utf-8")
    assert main.run(qa_add(essay_paths, str(source)), fake_embedder_for) == 0
    generation = manifest.read(essay_paths.index).generation
    capsys.readouterr()
    assert main.run(qa_add(essay_paths, str(source)), fake_embedder_for) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"unchanged notes.txt  <- {source}"
    assert out[1].startswith("index is up to date: 2 documents")
    assert manifest.read(essay_paths.index).generation == generation


def test_add_creates_a_missing_corpus_folder(tmp_path: Path) -> None:
    paths = Paths(corpus=tmp_path / "new" / "corpus", index=tmp_path / "new" / "index")
    source = tmp_path / "notes.txt"
    source.write_text(NOTES, encoding="utf-8")
    assert main.run(qa_add(paths, str(source)), fake_embedder_for) == 0
    assert contents(paths.corpus) == {"notes.txt": NOTES.encode()}
    assert indexed(paths) == ["notes.txt"]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda folder: folder / "absent.md", "no file "),
        (lambda folder: folder, "is a folder"),
        (lambda folder: folder / "report.odt", "qa reads .docx, .epub, .htm, .html, .markdown, .md, .pdf, .txt files"),
        (lambda folder: folder / ".hidden.md", "hidden files are not indexed"),
        (lambda folder: folder / "no-winners-ai-race.md", "the corpus already has a different no-winners-ai-race.md"),
        (lambda folder: folder / "blob.md", "cannot add"),
        (lambda folder: folder / "empty.txt", "cannot add"),
    ],
    ids=["missing", "folder", "unsupported", "hidden", "name-taken", "binary", "empty"],
)
def test_bad_files_are_refused_and_nothing_is_written(
    essay_paths: Paths, tmp_path: Path, capsys: pytest.CaptureFixture[str], make: object, message: str
) -> None:
    folder = tmp_path / "outside"
    folder.mkdir()
    for name in ("report.odt", ".hidden.md", "no-winners-ai-race.md"):
        (folder / name).write_text("Some other text entirely.\n")
    (folder / "blob.md").write_bytes(bytes(range(256)) * 12)
    (folder / "empty.txt").write_text("  \n")
    good = folder / "good.md"
    good.write_text(NOTES)
    before = contents(essay_paths.corpus)
    bad = make(folder)  # type: ignore[operator]
    assert main.run(qa_add(essay_paths, str(good), str(bad)), fake_embedder_for) == 2
    err = capsys.readouterr().err
    assert err.startswith("qa: error: ")
    assert message in err
    assert err.count("\n") == 1
    assert contents(essay_paths.corpus) == before, "the good file before the bad one is not copied either"
    assert not essay_paths.index.exists()


def test_add_url_saves_markdown_with_front_matter(
    essay_paths: Paths, server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"{server}/harbour"
    assert main.run(qa_add(essay_paths, url), fake_embedder_for) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"added     harbour-automation.md  <- {url}"
    assert out[1].startswith("indexed 2 documents")
    path = essay_paths.corpus / "harbour-automation.md"
    meta, body = front_matter(path)
    assert meta == {"title": "Harbour Automation", "source_url": url, "retrieved": dt.date.today()}
    assert "Automated stacking cranes now move most containers at the eastern terminal." in " ".join(body.split())
    assert "## Labour" in body
    assert "Subscribe to our newsletter" not in body
    assert "Cookie settings" not in body
    store = Store.open(essay_paths.index)
    try:
        document = store.document("harbour-automation.md")
        assert document.title == "Harbour Automation"
        assert document.metadata["source_url"] == url
        card, first, *_ = store.passages(store.rows_of("harbour-automation.md"))
        assert card.citation == "Harbour Automation, front matter" and f"source_url: {url}" in card.text
        assert first.citation.startswith("Harbour Automation, ¶")
    finally:
        store.close()


def test_same_url_again_refreshes_its_file_and_another_url_gets_a_new_name(essay_paths: Paths, server: str) -> None:
    assert main.run(qa_add(essay_paths, f"{server}/harbour"), fake_embedder_for) == 0
    first = (essay_paths.corpus / "harbour-automation.md").read_bytes()
    assert main.run(qa_add(essay_paths, f"{server}/harbour"), fake_embedder_for) == 0
    assert (essay_paths.corpus / "harbour-automation.md").read_bytes() == first
    assert main.run(qa_add(essay_paths, f"{server}/mirror/harbour"), fake_embedder_for) == 0
    meta, body = front_matter(essay_paths.corpus / "harbour-automation-2.md")
    assert meta["source_url"] == f"{server}/mirror/harbour"
    assert "western terminal" in body
    assert indexed(essay_paths) == ["harbour-automation-2.md", "harbour-automation.md", "no-winners-ai-race.md"]


def test_add_plain_text_url(essay_paths: Paths, server: str) -> None:
    assert main.run(qa_add(essay_paths, f"{server}/notes.txt"), fake_embedder_for) == 0
    meta, body = front_matter(essay_paths.corpus / "notes.md")
    assert meta["title"] == "notes"
    assert meta["source_url"] == f"{server}/notes.txt"
    assert body.strip() == NOTES.strip()


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/missing", "could not fetch {url}: HTTP 404 Not Found; check the address"),
        ("/logo.png", "{url} is image/png, not a web page: download it and qa add the file"),
        ("/blank", "found no readable text at {url}"),
        ("/big", "{url} is larger than 0 MB"),
    ],
    ids=["404", "image", "no-text", "too-big"],
)
def test_failed_fetch_is_a_clear_error_that_leaves_the_corpus_untouched(
    essay_paths: Paths,
    server: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    message: str,
) -> None:
    monkeypatch.setattr(adding, "MAX_BYTES", 5_000)
    before = contents(essay_paths.corpus)
    url = f"{server}{path}"
    assert main.run(qa_add(essay_paths, f"{server}/notes.txt", url), fake_embedder_for) == 2
    err = capsys.readouterr().err
    assert err.startswith("qa: error: ")
    assert message.format(url=url) in err
    assert err.count("\n") == 1
    assert contents(essay_paths.corpus) == before
    assert not essay_paths.index.exists()


def test_connection_refused_is_a_clear_error(
    essay_paths: Paths, closed_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    before = contents(essay_paths.corpus)
    url = f"http://127.0.0.1:{closed_port}/page"
    assert main.run(qa_add(essay_paths, url), fake_embedder_for) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"qa: error: could not fetch {url}: ")
    assert "Connection refused" in err
    assert err.rstrip().endswith("check the address and the connection")
    assert contents(essay_paths.corpus) == before


def test_other_url_schemes_are_refused(essay_paths: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    assert main.run(qa_add(essay_paths, "ftp://example.org/notes.txt"), fake_embedder_for) == 2
    assert "qa add fetches only http:// and https:// addresses" in capsys.readouterr().err


def test_add_needs_an_argument(essay_paths: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    assert main.run(["add", "--corpus", str(essay_paths.corpus)]) == 2
    assert "Missing argument 'PATH_OR_URL...'" in capsys.readouterr().err
