"""The source document, scrolled to a cited passage that is highlighted, for reading its context."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from qa.interfaces.tui import citing
from qa.interfaces.tui.citing import passage_line
from qa.interfaces.tui.keybar import KeyBar
from qa.interfaces.tui.results import COPY_HELP, EDIT_HELP, HIGHLIGHT_STYLE, MARK_HELP

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from qa.answering.answer import Answer, Hit
    from qa.documents.base import Document
    from qa.kernel.paths import Paths

CONTEXT_CHARS = 50_000
CONTEXT_ABOVE = 2
LONG_LINE = 120
_LONG_LINE_END = re.compile(rf"(?<=[^\n]{{{LONG_LINE}}})\n(?=[^\n])")


def spaced(text: str) -> str:
    """Text whose paragraphs are single long lines gets a blank line after each, for reading."""
    return _LONG_LINE_END.sub("\n\n", text)


def location(hit: Hit, line: int) -> str:
    """`doc.md · ¶3 · line 11`: the document, the citation without its title, the line."""
    citation = hit.passage.citation
    title = f"{hit.passage.title}, "
    citation = citation.removeprefix(title) if title.strip(", ") else citation
    return f"{hit.passage.doc_id} · {citation} · line {line}"


def split_document(text: str, start: int, end: int, limit: int = CONTEXT_CHARS) -> tuple[str, int, str, int, str]:
    """Text before, the whole lines holding [start, end), and after; with the lines left out before and after."""
    block_start = text.rfind("\n", 0, start) + 1
    block_end = text.find("\n", end)
    block_end = len(text) if block_end < 0 else block_end
    before, after = text[:block_start], text[block_end:]
    skipped_before = skipped_after = 0
    if len(before) > limit:
        cut = before.find("\n", len(before) - limit) + 1
        skipped_before = before.count("\n", 0, cut)
        before = before[cut:]
    if len(after) > limit:
        cut = after.rfind("\n", 0, limit)
        cut = limit if cut <= 0 else cut
        skipped_after = after.count("\n", cut)
        after = after[:cut]
    return (
        before.removesuffix("\n"),
        skipped_before,
        text[block_start:block_end],
        skipped_after,
        after.removeprefix("\n"),
    )


class PassageBlock(Static):
    """The lines holding the passage; says when it first has a place on the screen."""

    class LaidOut(Message):
        """The block has its size and position."""

    _told = False

    def on_resize(self, event: events.Resize) -> None:
        """Tell the screen once, after the layout that placed the block."""
        if not self._told:
            self._told = True
            self.call_after_refresh(self.post_message, self.LaidOut())


class SourceScreen(Screen[None]):
    """A document with one passage of an answer highlighted; Escape goes back to the results."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", tooltip="Back to the results, the selection kept"),
        Binding("e", "edit", "Edit", tooltip=EDIT_HELP),
        Binding("c", "copy", "Copy", tooltip=COPY_HELP),
        Binding("m", "mark", "Mark right", tooltip=MARK_HELP),
        Binding("j", "scroll_by(1)", "Down", show=False),
        Binding("k", "scroll_by(-1)", "Up", show=False),
        Binding("space", "scroll_by(10)", "Page down", show=False),
        Binding("g", "goto_passage", "To passage", show=False),
    ]

    def __init__(self, hit: Hit, document: Document, answer: Answer, paths: Paths) -> None:
        super().__init__()
        self.hit = hit
        self.document = document
        self.answer = answer
        self.paths = paths

    def compose(self) -> ComposeResult:
        """Header, the document around the passage, footer."""
        hit, document = self.hit, self.document
        passage = hit.passage
        line = passage_line(document, hit)
        yield Static(
            Content.assemble(
                (document.title or passage.doc_id, "bold"),
                "\n",
                (location(hit, line), "$text-muted"),
            ),
            id="source-header",
        )
        before, skipped_before, block, skipped_after, after = split_document(document.text, passage.start, passage.end)
        with VerticalScroll(id="source-scroll"):
            if skipped_before:
                yield Static(f"… {skipped_before:,} earlier lines not shown (e: editor)", classes="source-skipped")
            if before:
                yield Static(Content(spaced(before)), classes="source-context")
            line_start = document.text.rfind("\n", 0, passage.start) + 1
            yield PassageBlock(self._block(block, passage.start - line_start), id="source-passage")
            if after:
                yield Static(Content(spaced(after)), classes="source-context")
            if skipped_after:
                yield Static(f"… {skipped_after:,} later lines not shown (e: editor)", classes="source-skipped")
        yield KeyBar()

    def _block(self, block: str, offset: int) -> Content:
        """The lines holding the passage, its answering sentence highlighted."""
        content = Content(block)
        if self.hit.highlight is not None:
            start, end = self.hit.highlight
            content = content.stylize(HIGHLIGHT_STYLE, offset + start, offset + end)
        return content

    def on_mount(self) -> None:
        """Focus the text; it stays hidden until the passage is laid out and scrolled to (no flash of the top)."""
        scroll = self.query_one("#source-scroll", VerticalScroll)
        scroll.focus()
        scroll.add_class("-positioning")

    def on_passage_block_laid_out(self, message: PassageBlock.LaidOut) -> None:
        """The first layout is done: scroll to the passage and show the document."""
        self.action_goto_passage()
        self.query_one("#source-scroll").remove_class("-positioning")

    def action_goto_passage(self) -> None:
        """Scroll so the passage starts near the top, a few lines of context above it."""
        passage = self.query_one("#source-passage")
        scroll = self.query_one("#source-scroll", VerticalScroll)
        scroll.scroll_to(y=max(0, passage.virtual_region.y - CONTEXT_ABOVE), animate=False, immediate=True)

    def action_scroll_by(self, lines: int) -> None:
        """Scroll the document by `lines`."""
        scroll = self.query_one("#source-scroll", VerticalScroll)
        scroll.scroll_to(y=scroll.scroll_y + lines, animate=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Keys the app aims at the screen's own actions (F2 mode, ^r history) are hidden where it has none."""
        return hasattr(self, f"action_{action}")

    def action_mark(self) -> None:
        """Add the question and this passage's answering sentence to the user's gold set."""
        citing.mark(self, self.paths.user_gold, self.answer.question, self.hit)

    def action_copy(self) -> None:
        """Copy the quote and its citation."""
        citing.copy(self, self.hit, self.answer.citation(self.hit))

    def action_edit(self) -> None:
        """Open the document in $EDITOR at the passage's line."""
        citing.edit(self, self.paths.corpus, self.hit, self.document)
