"""The list of cited passages: rank, score bar, citation, and the passage with its answering sentence highlighted."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import ListItem, ListView, Static

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from qa.answering.answer import Answer, Hit

BAR_CELLS = 10
_BLOCKS = " ▏▎▍▌▋▊▉█"
_LONE_NEWLINE = re.compile(r"(?<!\n)\n(?!\n)")
HIGHLIGHT_STYLE = "bold $text-warning"
MARK_HELP = "Mark as the right answer: the question and its sentence go to gold/mine.jsonl"
EDIT_HELP = "Open the file in $EDITOR at the passage's line"
COPY_HELP = "Copy the quote and its citation"


def score_bar(score: float, cells: int = BAR_CELLS) -> str:
    """A bar `cells` wide filled in proportion to the score (clipped to 0..1), in eighths of a cell."""
    eighths = round(max(0.0, min(1.0, score)) * cells * 8)
    full, part = divmod(eighths, 8)
    bar = "█" * full + (_BLOCKS[part] if part else "")
    return bar.ljust(cells, "░") if full < cells else bar


def reflow(text: str) -> str:
    """The text with line breaks inside paragraphs turned into spaces; same length, so offsets still hold."""
    return _LONE_NEWLINE.sub(" ", text)


def passage_content(hit: Hit) -> Content:
    """The passage text with its answering sentence highlighted."""
    content = Content(reflow(hit.passage.text) if hit.passage.kind == "text" else hit.passage.text)  # cards keep lines
    if hit.highlight is not None:
        start, end = hit.highlight
        content = content.stylize(HIGHLIGHT_STYLE, start, end)
    return content


def header_content(hit: Hit, citation: str, width: int | None = None) -> Content:
    """Rank, score bar, score and citation on one line; within `width` cells the title is shortened, never the
    paragraph range or page that ends the citation."""
    lead = f" {hit.score:.3f}  "
    room = None if width is None else width - 3 - BAR_CELLS - len(lead)
    return Content.assemble(
        (f"{hit.rank:>2} ", "bold"),
        (score_bar(hit.score), "$accent"),
        lead,
        (fit_citation(citation, hit.passage.title, room), "bold $text-primary"),
    )


def fit_citation(citation: str, title: str, room: int | None) -> str:
    """The citation in at most `room` characters, by cutting the title short with an ellipsis."""
    if room is None or len(citation) <= room or not citation.startswith(title):
        return citation
    rest = citation[len(title) :]
    keep = max(1, room - len(rest) - 1)
    return f"{title[:keep].rstrip()}…{rest}"


class HitHeader(Static):
    """A result's header line, refitted to its width whenever that changes."""

    def __init__(self, hit: Hit, citation: str) -> None:
        super().__init__(classes="hit-header")
        self.hit = hit
        self.citation = citation

    def render(self) -> Content:
        """The header fitted to the current width."""
        return header_content(self.hit, self.citation, self.content_region.width or None)


def answer_sentence(hit: Hit) -> str:
    """The highlighted sentence (the whole passage when none is), on one line."""
    start, end = hit.highlight or (0, len(hit.passage.text))
    return " ".join(hit.passage.text[start:end].split())


class ResultItem(ListItem):
    """One cited passage."""

    def __init__(self, hit: Hit, citation: str) -> None:
        super().__init__()
        self.hit = hit
        self.citation = citation

    def compose(self) -> ComposeResult:
        """Header line, then the passage (two widgets: moving the selection restyles little)."""
        yield HitHeader(self.hit, self.citation)
        yield Static(passage_content(self.hit), classes="hit-text")


class ResultList(ListView):
    """Cited passages for the last question; dimmed when the answer abstained."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Open", tooltip="Open the passage in its document"),
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("m", "screen.mark", "Mark right", tooltip=MARK_HELP),
        Binding("e", "screen.edit", "Edit", tooltip=EDIT_HELP),
        Binding("c", "screen.copy", "Copy", tooltip=COPY_HELP),
        Binding("slash", "screen.focus_question", "Ask", tooltip="Back to the question (Esc too)"),
        Binding("escape", "screen.focus_question", "Ask", show=False),
        Binding("q", "app.quit", "Quit", show=False),
    ]

    @property
    def hits(self) -> list[Hit]:
        """The hits shown, in order."""
        return [item.hit for item in self.query(ResultItem)]

    @property
    def selected(self) -> Hit | None:
        """The highlighted hit."""
        item = self.highlighted_child
        return item.hit if isinstance(item, ResultItem) else None

    async def show(self, answer: Answer, keep: str | None = None) -> None:
        """Replace the items with the answer's hits; select the passage with id `keep` when it is among them."""
        self.set_class(not answer.answered, "-abstained")
        await self.clear()
        await self.extend(ResultItem(hit, answer.citation(hit)) for hit in answer.hits)
        ids = [hit.passage.id for hit in answer.hits]
        self.index = ids.index(keep) if keep in ids else (0 if ids else None)
        self.scroll_home(animate=False)
        if self.index:
            self.call_after_refresh(self._scroll_to_selected)

    def _scroll_to_selected(self) -> None:
        if self.highlighted_child is not None:
            self.scroll_to_widget(self.highlighted_child, animate=False)
