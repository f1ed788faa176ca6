"""Add documents to the corpus: copy local files, or fetch web pages and save their main text as Markdown."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from qa.documents import loading
from qa.documents.base import Source
from qa.kernel.errors import InputError
from qa.kernel.files import write_atomic

MAX_BYTES = 20_000_000
TIMEOUT_SECONDS = 30.0
USER_AGENT = "qa/0.1 (local question answering)"
URL_SCHEMES = ("http://", "https://")
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
TEXT_TYPES = HTML_TYPES | {"text/plain", "text/markdown"}
_SLUG = re.compile(r"[^a-z0-9]+")
_SLUG_CHARS = 80


@dataclass(frozen=True)
class Added:
    """One item given to `qa add`: its document id in the corpus, where it came from, and whether it was new."""

    doc_id: str
    origin: str
    new: bool


@dataclass(frozen=True)
class _Pending:
    target: Path
    content: bytes
    origin: str
    new: bool


def add(corpus: Path, items: Sequence[str], today: dt.date | None = None) -> list[Added]:
    """Copy or fetch every item into the corpus; nothing is written unless all of them succeed."""
    today = today or dt.date.today()
    pending: list[_Pending] = []
    for item in items:
        taken = {entry.target for entry in pending}
        found = _prepare_url(corpus, item, today, taken) if _is_url(item) else _prepare_file(corpus, item)
        if found.target in taken:
            raise InputError(
                f"{item} would be saved as {found.target.name} twice: add them one at a time under other names"
            )
        pending.append(found)
    corpus.mkdir(parents=True, exist_ok=True)
    for entry in pending:
        if entry.new:
            write_atomic(entry.target, entry.content)
    return [Added(entry.target.relative_to(corpus).as_posix(), entry.origin, entry.new) for entry in pending]


def _is_url(item: str) -> bool:
    if item.lower().startswith(URL_SCHEMES):
        return True
    if re.match(r"[a-z][a-z0-9+.-]*://", item, re.IGNORECASE):
        raise InputError(f"cannot add {item}: qa add fetches only http:// and https:// addresses")
    return False


def _prepare_file(corpus: Path, item: str) -> _Pending:
    path = Path(item).expanduser()
    if path.is_dir():
        raise InputError(f"{item} is a folder: qa add takes files or web addresses (copy folders into {corpus})")
    if not path.is_file():
        raise InputError(f"no file {item}: check the path")
    if path.suffix.lower() not in loading.SUFFIXES:
        raise InputError(f"cannot add {item}: qa reads {', '.join(sorted(loading.SUFFIXES))} files")
    if path.name.startswith("."):
        raise InputError(f"cannot add {item}: hidden files are not indexed; rename it without the leading dot")
    try:
        content = path.read_bytes()
    except OSError as error:
        raise InputError(f"cannot read {item}: {error.strerror or error}") from error
    problems: list[str] = []
    source = Source(id=item, path=path, size=len(content), mtime_ns=0)
    if loading.load(source, problems.append) is None:
        reason = problems[-1].split(": ", 1)[-1] if problems else "no text"
        raise InputError(f"cannot add {item}: {reason}")
    target = corpus / path.name
    if not target.exists():
        return _Pending(target, content, item, new=True)
    if target.read_bytes() == content:
        return _Pending(target, content, item, new=False)
    raise InputError(f"the corpus already has a different {path.name}: rename {item} or remove {target} first")


def _prepare_url(corpus: Path, url: str, today: dt.date, taken: set[Path]) -> _Pending:
    content, content_type = fetch(url)
    if content_type in HTML_TYPES:
        body, metadata = loading.extract_html(content, url)
        title = metadata.get("title") or _name_of(url)
    else:
        text = loading.decode(content, url, lambda _: None)
        body, title = (text or ""), _name_of(url)
    if not body.strip():
        raise InputError(f"found no readable text at {url}: save the page yourself and qa add the file")
    page = _markdown(title, url, today, body)
    target = _target(corpus, _slug(title) or _slug(_name_of(url)) or "page", url, taken)
    return _Pending(target, page, url, new=not target.exists() or target.read_bytes() != page)


def fetch(url: str) -> tuple[bytes, str]:
    """The body and media type of a web page; InputError when it cannot be fetched or is not text."""
    import http.client
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "text/html, text/plain;q=0.8"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            content: bytes = response.read(MAX_BYTES + 1)
            content_type = response.headers.get_content_type()
    except urllib.error.HTTPError as error:
        raise InputError(f"could not fetch {url}: HTTP {error.code} {error.reason}; check the address") from error
    except (OSError, ValueError, http.client.HTTPException) as error:
        reason = getattr(error, "reason", None) or error
        raise InputError(f"could not fetch {url}: {reason}; check the address and the connection") from error
    if len(content) > MAX_BYTES:
        raise InputError(f"{url} is larger than {MAX_BYTES // 1_000_000} MB: download it and qa add the file")
    if content_type not in TEXT_TYPES:
        raise InputError(f"{url} is {content_type}, not a web page: download it and qa add the file")
    return content, content_type


def _markdown(title: str, url: str, today: dt.date, body: str) -> bytes:
    import yaml

    front = yaml.safe_dump(
        {"title": title, "source_url": url, "retrieved": today}, sort_keys=False, allow_unicode=True, width=1000
    )
    return f"---\n{front}---\n\n{body.strip()}\n".encode()


def _name_of(url: str) -> str:
    parts = urlsplit(url)
    last = parts.path.rstrip("/").rsplit("/", 1)[-1]
    return Path(last).stem or parts.hostname or "page"


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return _SLUG.sub("-", ascii_text).strip("-")[:_SLUG_CHARS].rstrip("-")


def _target(corpus: Path, slug: str, url: str, taken: set[Path]) -> Path:
    """`slug.md`, or the file this URL was saved to before, or the first free `slug-N.md`."""
    number = 1
    while True:
        target = corpus / (f"{slug}.md" if number == 1 else f"{slug}-{number}.md")
        if target not in taken and (not target.exists() or _source_url(target) == url):
            return target
        number += 1


def _source_url(path: Path) -> str | None:
    stat = path.stat()
    source = Source(id=path.name, path=path, size=stat.st_size, mtime_ns=stat.st_mtime_ns)
    loaded = loading.load(source, lambda _: None)
    found = loaded.metadata.get("source_url") if loaded is not None else None
    return str(found) if found else None
