"""Bad inputs: each is handled with a clear warning or error, nothing crashes and nothing else is lost."""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.answering.retrieval import MAX_QUESTION_CHARS, Searcher, clean_question
from qa.documents import loading as documents
from qa.documents.base import PAGE_SEPARATOR, Document, Source
from qa.documents.chunking import ChunkingParams, chunk
from qa.index import building
from qa.index.stores.files.store import Store
from qa.kernel.errors import InputError
from qa.kernel.paths import Paths
from qa.kernel.progress import SilentReporter
from tests.conftest import ESSAY
from tests.fakes import FakeEmbedder

ESSAY_ID = ESSAY.name
WORD = re.compile(r"\S+")


def build(paths: Paths) -> tuple[building.BuildResult, list[str], list[str]]:
    """Index the corpus with the fake embedder: the result, the warnings and the indexed document ids."""
    reporter = SilentReporter()
    result = building.build(paths, FakeEmbedder(), reporter)
    store = Store.open(paths.index)
    try:
        return result, reporter.warnings, store.document_ids()
    finally:
        store.close()


def essay_passages(paths: Paths) -> int:
    """How many passages the essay alone gives: what every bad-input test must keep."""
    essay = Paths(corpus=paths.corpus.parent / "essay-only", index=paths.corpus.parent / "essay-index")
    essay.corpus.mkdir()
    (essay.corpus / ESSAY_ID).write_bytes(ESSAY.read_bytes())
    return building.build(essay, FakeEmbedder(), SilentReporter()).passages


def stored(paths: Paths, doc_id: str) -> list[str]:
    store = Store.open(paths.index)
    try:
        return [passage.text for passage in store.passages(store.rows_of(doc_id))]
    finally:
        store.close()


def test_empty_and_blank_files_are_skipped_with_a_warning(essay_paths: Paths) -> None:
    (essay_paths.corpus / "empty.md").write_bytes(b"")
    (essay_paths.corpus / "blank.txt").write_text("  \n\n\t\n")
    (essay_paths.corpus / "only-front-matter.md").write_text("---\ntitle: Nothing here\n---\n")
    result, warnings, ids = build(essay_paths)
    assert sorted(warnings) == [
        "skipped blank.txt: no text",
        "skipped empty.md: no text",
        "skipped only-front-matter.md: no text",
    ]
    assert ids == [ESSAY_ID]
    assert result.passages == essay_passages(essay_paths)


def test_binary_file_is_skipped_with_a_warning(essay_paths: Paths) -> None:
    (essay_paths.corpus / "blob.txt").write_bytes(bytes(range(256)) * 64)
    (essay_paths.corpus / "image.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(4096))
    _, warnings, ids = build(essay_paths)
    assert sorted(warnings) == ["skipped blob.txt: binary file", "skipped image.md: binary file"]
    assert ids == [ESSAY_ID]


def test_latin1_file_is_read_with_a_warning_naming_it(essay_paths: Paths) -> None:
    text = "Le café était fermé à cause de la grève; the naïve señor paid £5 for a crème brûlée.\n"
    (essay_paths.corpus / "café.txt").write_bytes(text.encode("latin-1"))
    _, warnings, ids = build(essay_paths)
    assert warnings == ["café.txt is not UTF-8: read it as Latin-1"]
    assert ids == ["café.txt", ESSAY_ID]
    assert stored(essay_paths, "café.txt") == [text.strip()]


@pytest.mark.slow
def test_fifty_megabyte_text_file_is_indexed_in_linear_time(essay_paths: Paths) -> None:
    body = ESSAY.read_text(encoding="utf-8").split("---", 2)[2]
    size = 50 * 1024 * 1024
    (essay_paths.corpus / "big.txt").write_text((body * (size // len(body) + 1))[:size], encoding="utf-8")
    result, warnings, ids = build(essay_paths)
    assert warnings == []
    assert ids == ["big.txt", ESSAY_ID]
    assert result.passages > 50_000
    assert len(stored(essay_paths, ESSAY_ID)) == essay_passages(essay_paths)


@pytest.mark.parametrize("kind", ["prose", "no-spaces"])
def test_one_megabyte_single_line(essay_paths: Paths, kind: str) -> None:
    if kind == "prose":
        sentences = " ".join(ESSAY.read_text(encoding="utf-8").split("---", 2)[2].split())
        line = (sentences + " ") * (1_000_000 // len(sentences) + 1)
    else:
        line = "x" * 1_000_000
    (essay_paths.corpus / "line.txt").write_text(line[:1_000_000], encoding="utf-8")
    params = ChunkingParams()
    result, warnings, ids = build(essay_paths)
    assert warnings == []
    assert ids == ["line.txt", ESSAY_ID]
    passages = stored(essay_paths, "line.txt")
    if kind == "prose":
        assert len(passages) > 500
        assert max(len(WORD.findall(text)) for text in passages) <= params.max_words
    else:
        assert passages == ["x" * 1_000_000]
    assert result.passages == len(passages) + essay_passages(essay_paths)


def test_deeply_nested_folders(essay_paths: Paths) -> None:
    folder = essay_paths.corpus.joinpath(*[f"level{depth}" for depth in range(60)])
    folder.mkdir(parents=True)
    (folder / "deep.md").write_text("# Deep\n\nThe deepest note in the corpus talks about submarine cables.\n")
    _, warnings, ids = build(essay_paths)
    assert warnings == []
    deep_id = "/".join(f"level{depth}" for depth in range(60)) + "/deep.md"
    assert ids == [deep_id, ESSAY_ID]


def test_symlink_loop_and_dangling_link_are_skipped_with_warnings(essay_paths: Paths) -> None:
    corpus = essay_paths.corpus
    (corpus / "notes").mkdir()
    (corpus / "notes" / "cables.md").write_text("Submarine cables carry most of the world's data traffic.\n")
    (corpus / "notes" / "back-to-top").symlink_to(corpus, target_is_directory=True)
    (corpus / "notes" / "itself").symlink_to(corpus / "notes", target_is_directory=True)
    (corpus / "gone.md").symlink_to(corpus / "missing.md")
    _, warnings, ids = build(essay_paths)
    assert ids == [ESSAY_ID, "notes/cables.md"]
    assert f"skipped {corpus / 'gone.md'}: not a readable file" in warnings
    assert f"skipped {corpus / 'notes' / 'back-to-top'}: symlink loop" in warnings
    assert f"skipped {corpus / 'notes' / 'itself'}: symlink loop" in warnings
    assert len(warnings) == 3


def test_pdf_without_a_text_layer_is_skipped_with_a_warning(essay_paths: Paths) -> None:
    import pypdf

    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=612, height=792)
    writer.add_blank_page(width=612, height=792)
    buffer = io.BytesIO()
    writer.write(buffer)
    (essay_paths.corpus / "scan.pdf").write_bytes(buffer.getvalue())
    _, warnings, ids = build(essay_paths)
    assert warnings == ["skipped scan.pdf: PDF has no text layer (scanned?); run OCR on it first"]
    assert ids == [ESSAY_ID]


def _encrypted_office_file() -> bytes:
    """The start of a password-protected Office file: a Compound File holding an EncryptedPackage stream."""
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + "EncryptedPackage".encode("utf-16-le") + bytes(512)


def _bad_package(folder: Path, kind: str) -> tuple[str, str]:
    """Write one bad Word or EPUB file into `folder`: its name and the warning expected for it."""
    from tests.corpora import make_docx, make_epub

    paragraph = "Submarine cables carry most of the world's data traffic between continents."
    files: dict[str, tuple[str, bytes | None, str]] = {
        "damaged docx": ("broken.docx", b"PK\x03\x04 this is not a zip file", "unreadable Word file (BadZipFile)"),
        "truncated docx": ("cut.docx", None, "unreadable Word file (BadZipFile)"),
        "empty docx": ("empty.docx", b"", "empty file"),
        "text-less docx": ("blank.docx", None, "no text"),
        "password-protected docx": (
            "secret.docx",
            _encrypted_office_file(),
            "password-protected Word file; save a copy without a password",
        ),
        "old Word file named docx": (
            "old.docx",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(2048),
            "an old Word (.doc) file named .docx; save it as .docx",
        ),
        "damaged epub": ("broken.epub", b"PK\x03\x04 not a zip either", "unreadable EPUB (BadZipFile)"),
        "empty epub": ("empty.epub", b"", "empty file"),
        "epub without a package": ("bare.epub", None, "unreadable EPUB"),
        "DRM epub": (
            "locked.epub",
            None,
            "the EPUB is DRM-protected (META-INF/encryption.xml); only DRM-free books can be read",
        ),
    }
    name, data, warning = files[kind]
    path = folder / name
    if data is not None:
        path.write_bytes(data)
    elif kind == "truncated docx":
        whole = make_docx(path, [paragraph]).read_bytes()
        path.write_bytes(whole[: len(whole) // 2])
    elif kind == "text-less docx":
        make_docx(path, [])
    elif kind == "epub without a package":
        import zipfile

        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("mimetype", "application/epub+zip")
    else:
        make_epub(path, [("Cables", [paragraph])], encrypted=True)
    return name, warning


@pytest.mark.parametrize(
    "kind",
    [
        "damaged docx",
        "truncated docx",
        "empty docx",
        "text-less docx",
        "password-protected docx",
        "old Word file named docx",
        "damaged epub",
        "empty epub",
        "epub without a package",
        "DRM epub",
    ],
)
def test_bad_word_and_epub_files_are_skipped_with_a_warning(essay_paths: Paths, kind: str) -> None:
    name, warning = _bad_package(essay_paths.corpus, kind)
    result, warnings, ids = build(essay_paths)
    assert len(warnings) == 1
    assert warnings[0].startswith(f"skipped {name}: {warning}")
    assert ids == [ESSAY_ID]
    assert result.passages == essay_passages(essay_paths)


def test_epub_with_obfuscated_fonts_only_is_read(essay_paths: Paths) -> None:
    import zipfile

    from tests.corpora import make_epub

    path = make_epub(essay_paths.corpus / "fonts.epub", [("Cables", ["Submarine cables carry the data."])])
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(
            "META-INF/encryption.xml",
            '<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
            'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData>'
            '<enc:EncryptionMethod Algorithm="http://www.idpf.org/2008/embedding"/>'
            '<enc:CipherData><enc:CipherReference URI="EPUB/font.otf"/></enc:CipherData>'
            "</enc:EncryptedData></encryption>",
        )
    _, warnings, ids = build(essay_paths)
    assert warnings == []
    assert ids == ["fonts.epub", ESSAY_ID]


@pytest.mark.parametrize(
    ("front", "warning"),
    [
        ("---\ntitle: [unclosed\nauthor: me\n---\n", "front matter is not valid YAML"),
        ("---\ntitle: a: b: c\n---\n", "front matter is not valid YAML"),
        ("---\n- just\n- a list\n---\n", "front matter is not a mapping"),
        ("---\n\tbad: indent\n---\n", "front matter is not valid YAML"),
    ],
)
def test_markdown_with_broken_front_matter_is_indexed_as_text(essay_paths: Paths, front: str, warning: str) -> None:
    body = "# Cable Notes\n\nSubmarine cables carry most of the world's data traffic between continents.\n"
    (essay_paths.corpus / "cables.md").write_text(front + "\n" + body)
    _, warnings, ids = build(essay_paths)
    assert len(warnings) == 1
    assert warnings[0].startswith(f"cables.md: {warning}")
    assert warnings[0].endswith("indexed it as text")
    assert ids == ["cables.md", ESSAY_ID]
    store = Store.open(essay_paths.index)
    try:
        assert store.document("cables.md").title == "Cable Notes"
        assert any("Submarine cables" in text for text in stored(essay_paths, "cables.md"))
    finally:
        store.close()


@pytest.fixture
def searcher(built_paths: Paths) -> Iterator[Searcher]:
    store = Store.open(built_paths.index)
    yield Searcher(store, FakeEmbedder())
    store.close()


def test_question_of_100000_characters_is_a_clear_error(searcher: Searcher) -> None:
    question = "Who leads chip foundries? " * (100_000 // 26 + 1)
    with pytest.raises(InputError, match=f"100,0[0-9]{{2}} characters long; keep it under {MAX_QUESTION_CHARS:,}"):
        searcher.ask(question[:100_000])


def test_control_characters_in_a_question_are_replaced(searcher: Searcher) -> None:
    answer = searcher.ask("Who\x1b[31m leads\x07 chip\x00 foundries?\r\n\x7f")
    assert answer.question == "Who [31m leads chip foundries?"
    assert answer.hits
    assert clean_question("a\tb\x0bc") == "a b c"
    with pytest.raises(InputError, match="the question is empty"):
        searcher.ask("\x00\x01\x1b\x7f \n")


# Property tests: the loader never raises on any bytes, the chunker keeps exact offsets on any text.

_PIECES = st.sampled_from(
    ["\n", "\n\n", " ", "  ", "\t", "# ", "## Heading\n", "- ", "1. ", ". ", "? ", "! ", "Mr. ", "e.g. ", '"', "”", "…",
     "é", "日本", "\r\n", "---\n", "A", "The", "cat", "sat.", "Word", "x" * 120, "U.S. ", "\ufeff", "\x0c"]
)  # fmt: skip
_TEXT = st.lists(st.one_of(_PIECES, st.text(max_size=12)), max_size=120).map("".join)
_FRONT = st.sampled_from(
    ["", "---\ntitle: T\n---\n", "---\ntitle: [\n---\n", "---\n- a\n---\n", "\ufeff---\nx: 1\n...\n"]
)


def _load_bytes(data: bytes, suffix: str) -> tuple[Document | None, list[str]]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"doc{suffix}"
        path.write_bytes(data)
        stat = path.stat()
        reporter = SilentReporter()
        loaded = documents.load(Source(path.name, path, stat.st_size, stat.st_mtime_ns), reporter.warn)
        return loaded, reporter.warnings


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.one_of(
        st.binary(max_size=3000),
        st.tuples(_FRONT, _TEXT).map(lambda parts: "".join(parts).encode("utf-8", "surrogatepass")),
        _TEXT.map(lambda text: text.encode("latin-1", "replace")),
    ),
    suffix=st.sampled_from([".md", ".txt", ".html", ".pdf", ".docx", ".epub"]),
)
def test_loader_never_raises_and_explains_every_skip(data: bytes, suffix: str) -> None:
    document, warnings = _load_bytes(data, suffix)
    if document is None:
        assert warnings, "a skipped file always gets a warning"
        assert all(warning.startswith("skipped doc") for warning in warnings[-1:])
        return
    assert document.text[document.body_start :].strip()
    assert document.content_hash == hashlib.sha256(data).hexdigest()
    assert document.title.strip()
    if suffix in {".md", ".txt"}:
        assert document.text.encode("utf-8", "surrogatepass") == data or any("Latin-1" in w for w in warnings)


def _check_passages(document: Document, params: ChunkingParams) -> None:
    passages = chunk(document, params)
    text = document.text
    assert len({passage.id for passage in passages}) == len(passages)
    covered = [False] * len(text)
    for passage in passages:
        assert 0 <= passage.start < passage.end <= len(text)
        assert text[passage.start : passage.end] == passage.text
        assert passage.text == passage.text.strip()
        assert passage.sentences
        for start, end in passage.sentences:
            assert 0 <= start < end <= len(passage.text)
            assert passage.text[start:end].strip() == passage.text[start:end]
            covered[passage.start + start : passage.start + end] = [True] * (end - start)
        assert passage.page == document.page_of(passage.start)
        assert passage.citation.startswith(f"{document.title}, ")
    for word in WORD.finditer(text, document.body_start):
        assert all(covered[word.start() : word.end()]), f"word {word.group()!r} at {word.start()} is in no sentence"


@settings(max_examples=300, deadline=None)
@given(front=_FRONT, body=_TEXT, min_words=st.integers(1, 60), max_words=st.integers(1, 80))
def test_chunker_keeps_exact_offsets_and_covers_every_word(
    front: str, body: str, min_words: int, max_words: int
) -> None:
    text = front + body
    document, _ = _load_bytes(text.encode("utf-8", "surrogatepass"), ".md")
    if document is None:
        return
    _check_passages(document, ChunkingParams(min_words=min(min_words, max_words), max_words=max_words))


@settings(max_examples=150, deadline=None)
@given(pages=st.lists(_TEXT.map(str.strip), min_size=1, max_size=5), max_words=st.integers(5, 80))
def test_chunker_keeps_pdf_pages_apart(pages: list[str], max_words: int) -> None:
    starts, offset = [], 0
    for page in pages:
        starts.append(offset)
        offset += len(page) + len(PAGE_SEPARATOR)
    text = PAGE_SEPARATOR.join(pages)
    if not text.strip():
        return
    document = Document(
        id="doc.pdf", path=Path("doc.pdf"), title="Doc", text=text, content_hash="", page_starts=tuple(starts)
    )
    _check_passages(document, ChunkingParams(min_words=max_words // 2, max_words=max_words))
    for passage in chunk(document, ChunkingParams(min_words=max_words // 2, max_words=max_words)):
        assert document.page_of(passage.end - 1) == passage.page
