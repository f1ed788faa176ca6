"""Finding and loading documents: recursion, ids, titles, front matter and files that are skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.documents.base import Document, Source, hash_bytes
from qa.documents.loading import load, load_all, scan
from qa.index.building import build
from qa.kernel.errors import CorpusError
from qa.kernel.paths import Paths
from tests.conftest import RELATED
from tests.fakes import FakeEmbedder

BODY = "The committee met in Geneva. It discussed the risks of advanced models at length.\n"


class Warnings(list[str]):
    """Collects warnings; callable like the core's `warn`."""

    def __call__(self, message: str) -> None:
        self.append(message)


def write(root: Path, name: str, content: str | bytes) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def load_one(root: Path, name: str, content: str | bytes) -> tuple[Document | None, Warnings]:
    write(root, name, content)
    warnings = Warnings()
    (source,) = [s for s in scan(root, warnings) if s.id == name]
    return load(source, warnings), warnings


def test_scan_finds_md_and_txt_recursively_with_relative_ids(tmp_path: Path) -> None:
    write(tmp_path, "a.md", BODY)
    write(tmp_path, "notes.txt", BODY)
    write(tmp_path, "deep/er/b.markdown", BODY)
    write(tmp_path, "deep/c.MD", BODY)
    write(tmp_path, "image.png", b"\x89PNG")
    write(tmp_path, "script.py", "print()")
    write(tmp_path, ".hidden.md", BODY)
    write(tmp_path, ".git/d.md", BODY)
    sources = scan(tmp_path, Warnings())
    assert [s.id for s in sources] == ["a.md", "deep/c.MD", "deep/er/b.markdown", "notes.txt"]
    assert all(s.path == tmp_path / s.id for s in sources)
    assert sources[0].size == len(BODY.encode())


def test_scan_refuses_a_missing_corpus_or_a_file(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="does not exist"):
        scan(tmp_path / "nowhere", Warnings())
    file = write(tmp_path, "file.md", BODY)
    with pytest.raises(CorpusError, match="not a folder"):
        scan(file, Warnings())


def test_scan_survives_a_symlink_loop(tmp_path: Path) -> None:
    write(tmp_path, "sub/a.md", BODY)
    (tmp_path / "sub" / "loop").symlink_to(tmp_path / "sub", target_is_directory=True)
    warnings = Warnings()
    assert [s.id for s in scan(tmp_path, warnings)] == ["sub/a.md"]
    assert any("symlink loop" in w for w in warnings)


def test_front_matter_title_with_yaml_escapes_and_folded_lines(tmp_path: Path) -> None:
    # The shape of the White House titles: a double-quoted scalar folded over two lines with an escaped
    # line break, a "\_" (non-breaking space) and a "\u2019" escape.
    front = (
        "---\n"
        "date: '2024-05-15'\n"
        'title: "Readout of President Joe\\_Biden\\u2019s Meeting with President Xi Jinping of\\\n'
        '  \\ the People\\u2019s Republic of\\_China"\n'
        "tags: statements-releases\n"
        "---\n"
    )
    doc, warnings = load_one(tmp_path, "readout.md", front + BODY)
    assert doc is not None
    assert (
        doc.title
        == "Readout of President Joe Biden’s Meeting with President Xi Jinping of the People’s Republic of China"
    )
    assert doc.metadata["date"] == "2024-05-15"
    assert doc.metadata["tags"] == "statements-releases"
    assert doc.text[doc.body_start :] == BODY
    assert doc.text == front + BODY, "text is the whole decoded file so offsets index the file"
    assert warnings == []


def test_front_matter_metadata_types(tmp_path: Path) -> None:
    front = "---\ntitle: >-\n  A folded\n  title\nauthors:\n  - Ann\n  - Bob\ndate: 2025-01-21\n---\n"
    doc, _ = load_one(tmp_path, "a.md", front + BODY)
    assert doc is not None
    assert doc.title == "A folded title"
    assert doc.metadata["authors"] == ["Ann", "Bob"]
    assert str(doc.metadata["date"]) == "2025-01-21"


def test_title_falls_back_to_first_heading_then_file_name(tmp_path: Path) -> None:
    heading, _ = load_one(tmp_path, "h.md", "Intro line.\n\n## The Real Title ##\n\n" + BODY)
    assert heading is not None and heading.title == "The Real Title"
    untitled_front, _ = load_one(tmp_path, "u.md", "---\nauthor: X\n---\n# From Heading\n\n" + BODY)
    assert untitled_front is not None and untitled_front.title == "From Heading"
    plain, _ = load_one(tmp_path, "sub/plain-notes.txt", BODY)
    assert plain is not None
    assert plain.title == "plain-notes"
    assert plain.id == "sub/plain-notes.txt"
    assert plain.body_start == 0
    assert plain.metadata == {}


def test_bom_before_front_matter(tmp_path: Path) -> None:
    doc, _ = load_one(tmp_path, "bom.md", "\ufeff---\ntitle: With BOM\n---\n" + BODY)
    assert doc is not None
    assert doc.title == "With BOM"
    assert doc.text[doc.body_start :] == BODY


def test_invalid_front_matter_is_indexed_as_text_with_a_warning(tmp_path: Path) -> None:
    doc, warnings = load_one(tmp_path, "bad.md", "---\ntitle: [unclosed\n---\n" + BODY)
    assert doc is not None
    assert doc.body_start == 0
    assert doc.title == "bad"
    assert len(warnings) == 1 and "bad.md" in warnings[0] and "YAML" in warnings[0]


def test_content_hash_is_the_sha256_of_the_bytes(tmp_path: Path) -> None:
    doc, _ = load_one(tmp_path, "a.md", BODY)
    assert doc is not None
    assert doc.content_hash == hash_bytes(BODY.encode())
    assert len(doc.content_hash) == 64


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.md", b"", "no text"),
        ("blank.txt", b"  \n\n\t\n", "no text"),
        ("only-front.md", b"---\ntitle: Nothing here\n---\n\n", "no text"),
        ("binary.txt", b"GIF89a\x00\x01\x02\x03binary", "binary"),
    ],
)
def test_unusable_files_are_skipped_with_a_warning_naming_them(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    doc, warnings = load_one(tmp_path, name, content)
    assert doc is None
    assert len(warnings) == 1
    assert name in warnings[0] and reason in warnings[0]


def test_non_utf8_text_is_read_as_latin1_with_a_warning(tmp_path: Path) -> None:
    doc, warnings = load_one(tmp_path, "legacy.txt", "Caf\xe9 cr\xe8me was served in Geneva.\n".encode("latin-1"))
    assert doc is not None
    assert doc.text.startswith("Café crème")
    assert len(warnings) == 1 and "legacy.txt" in warnings[0] and "UTF-8" in warnings[0]


def test_unreadable_file_is_skipped_with_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path, "locked.md", BODY)
    source = Source("locked.md", path, 1, 1)
    path.unlink()
    warnings = Warnings()
    assert load(source, warnings) is None
    assert len(warnings) == 1 and "locked.md" in warnings[0]


def test_load_all_keeps_the_good_and_warns_about_the_rest(tmp_path: Path) -> None:
    write(tmp_path, "good.md", BODY)
    write(tmp_path, "empty.md", "")
    write(tmp_path, "bin.txt", b"\x00\x00\x00")
    warnings = Warnings()
    loaded = load_all(scan(tmp_path, warnings), warnings)
    assert [d.id for d in loaded] == ["good.md"]
    assert sorted(w.split(":")[0] for w in warnings) == ["skipped bin.txt", "skipped empty.md"]


def test_build_goes_on_past_bad_files(paths: Paths, fake_embedder: FakeEmbedder) -> None:
    from qa.kernel.progress import SilentReporter

    write(paths.corpus, "good.md", "# Good\n\n" + BODY * 3)
    write(paths.corpus, "nested/empty.txt", "")
    write(paths.corpus, "nested/binary.md", b"\x00\xff\x00\xfe")
    reporter = SilentReporter()
    result = build(paths, fake_embedder, reporter)
    assert result.documents == 1
    assert result.passages >= 1
    assert any("nested/empty.txt" in w for w in reporter.warnings)
    assert any("nested/binary.md" in w for w in reporter.warnings)


@pytest.mark.shared
def test_every_related_title_is_clean() -> None:
    if not RELATED.is_dir():
        pytest.skip("../shared/related is absent")
    warnings = Warnings()
    loaded = load_all(scan(RELATED, warnings), warnings)
    assert len(loaded) == 15
    assert warnings == []
    for doc in loaded:
        assert doc.title and doc.title != Path(doc.id).stem
        assert "\\" not in doc.title and "  " not in doc.title and "\n" not in doc.title
        assert "\xa0" not in doc.title and doc.title == doc.title.strip()
        assert doc.metadata.get("source_url", "").startswith("https://")
        assert doc.body_start > 0
    titles = {doc.id[:10]: doc.title for doc in loaded}
    assert titles["2024-05-15"] == (
        "Statement from NSC Spokesperson Adrienne Watson on the U.S.-PRC Talks on AI Risk and Safety"
    )
