"""What a question asks for: a kind of answer (an amount, a sum of money, a date, an age) or a pair of terms that the
answering sentence must bring together ("Who is the CEO of TSMC?"); and whether a sentence, or a row of a table,
states an answer of that kind."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from qa.answering import currencies
from qa.answering.currencies import NUMBER_CELL, NUMBER_WORDS
from qa.index.lexical import tokenize

_MONTH = r"(january|february|march|april|may|june|july|august|september|october|november|december)"
_UNAMBIGUOUS_MONTH = r"(january|february|april|june|july|september|october|november|december)"  # not "may", "march"
_WEEKDAY = r"(monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_AUXILIARY = r"(did|do|does|was|were|is|are|will|would|has|have|had|can|could|should)"
_MONEY_NOUNS = r"(money|funding|funds|investment|dollars|budget|grant money|capital|revenue|spending|aid)"
_MONEY_VERBS = r"(cost|costs|pay|paid|spend|spent|invest|invested|earn|earned|raise|raised|worth|fetch|charge)"
# Column headers and row labels that name a sum of money ("Cost", "Price (BWP)", "Total spent")
_MONEY_HEADINGS = (
    r"costs?|prices?|amounts?|fees?|totals?|sums?|budgets?|expenses?|expenditures?|spend|spent|spending|paid|"
    r"payments?|charges?|values?|revenues?|income|salary|salaries|wages?|funding|grants?|fares?|rent|tariffs?"
)
_DATE_CELL = re.compile(r"\d{1,4}(?:[-/.]\d{1,2}){1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|(1[6-9]|20)\d\d")
_SEPARATOR_CELL = re.compile(r":?-{3,}:?")


@dataclass(frozen=True)
class AnswerType:
    """A kind of answer, named for messages ("an amount of money"), the questions that ask for one, the text that
    states one and, for a table, the column headers or row labels that name one and the cells that give one.

    `statement` and `heading` build their patterns on first use (money's reads CLDR's currencies)."""

    name: str
    question: re.Pattern[str]
    statement: Callable[[], re.Pattern[str]]
    heading: Callable[[], re.Pattern[str]] | None = None
    cell: re.Pattern[str] = NUMBER_CELL

    def asked_by(self, question: str) -> bool:
        """Whether the question asks for this kind of answer."""
        return bool(self.question.match(question))

    def stated_in(self, text: str, start: int = 0, end: int | None = None) -> bool:
        """Whether `text[start:end]` states an answer of this kind: in words, or as a table row with a cell that
        gives one under a column header (the first row of its table, which may stand above `start`) or beside a
        row label that names this kind ("Solar panel repairs | 41,000" under "Item | Cost")."""
        end = len(text) if end is None else end
        if self.statement().search(text, start, end):
            return True
        if self.heading is None:
            return False
        heading = self.heading()
        return any(self._row_states(cells, header, heading) for cells, header in table_rows(text, start, end))

    def _row_states(self, cells: list[str], header: list[str] | None, heading: re.Pattern[str]) -> bool:
        label, values = cells[0], cells[1:]
        if heading.search(label) and any(self.cell.fullmatch(value) for value in values):
            return True
        if header is None:
            return False
        if len(header) == len(cells):
            return any(
                heading.search(name) and self.cell.fullmatch(value) for name, value in zip(header, cells, strict=True)
            )
        return any(heading.search(name) for name in header) and any(self.cell.fullmatch(value) for value in values)


def _fixed(pattern: str) -> Callable[[], re.Pattern[str]]:
    """A pattern compiled once, on first use, ignoring case."""
    return functools.cache(lambda: re.compile(pattern, re.IGNORECASE))


@functools.cache
def _money_heading() -> re.Pattern[str]:
    return re.compile(rf"(?i:\b(?:{_MONEY_HEADINGS})\b)|{currencies.currency()}")


MONEY = AnswerType(
    "an amount of money",
    re.compile(
        rf"\s*(how much\s+{_MONEY_NOUNS}\b|how much\b[^?]*\b{_MONEY_VERBS}\s*\??\s*$|"
        r"what(’s|'s|\s+is|\s+was|\s+were|\s+are)\s+(the\s+)?([\w'’-]+\s+){0,3}?"
        r"(budget|dollar value|salary|revenues?|valuation|net worth)\b)",
        re.IGNORECASE,
    ),
    currencies.money,
    _money_heading,
)
QUANTITY = AnswerType(
    "a number or amount",
    re.compile(r"\s*(how (much|many)|what (percentage|share|number|amount|fraction|proportion))\b", re.IGNORECASE),
    _fixed(rf"\d|\b({NUMBER_WORDS})\b"),
)
DURATION = AnswerType(
    "a length of time",
    re.compile(r"\s*how long\b", re.IGNORECASE),
    _fixed(rf"\d|\b({NUMBER_WORDS}|years?|months?|weeks?|days?|hours?|minutes?)\b"),
)
DATE = AnswerType(
    "a date",
    re.compile(
        rf"\s*(when\s+{_AUXILIARY}|(in |during )?(what|which) (year|month|date|day)|on what date|since when)\b",
        re.IGNORECASE,
    ),
    _fixed(
        rf"\b(1[6-9]\d\d|20\d\d)s?\b|\b{_UNAMBIGUOUS_MONTH}\b|\b{_WEEKDAY}\b|\b{_MONTH}\s+\d|\d{{1,2}}\s+{_MONTH}\b"
    ),
    _fixed(r"\b(dates?|days?|years?|when|deadline|due|published|founded|opened)\b"),
    _DATE_CELL,
)
AGE = AnswerType(
    "an age",
    re.compile(r"\s*how old\b", re.IGNORECASE),
    _fixed(r"\b(years?[- ]old|aged?\s+\d+|born)\b"),
    _fixed(r"\bages?\b"),
)
TYPES = (MONEY, QUANTITY, DURATION, DATE, AGE)  # money before the wider quantity

_ROLE_OF = re.compile(
    r"\s*who\s+(is|was|are|were|will\s+be)\s+(the\s+)?((current|present|incumbent|sitting)\s+)?"
    r"(?P<role>([\w'’-]+\s+){0,2}?[\w'’-]+)\s+of\s+"
    r"(the\s+)?(?P<holder>[^?,]+?)(?=\s+(in|at|on|during|from|under|according|as|when|after|before|since)\b|[?,]|$)",
    re.IGNORECASE,
)


def answer_type(question: str) -> AnswerType | None:
    """The narrowest kind of answer the question asks for, if it asks for one."""
    return next((kind for kind in TYPES if kind.asked_by(question)), None)


def paired_terms(question: str) -> tuple[str, str] | None:
    """For "Who is the ROLE of HOLDER?", the role and its holder: an answer names them in one sentence."""
    match = _ROLE_OF.match(question)
    if match is None:
        return None
    return match["role"].strip(), match["holder"].strip()


def pairs(terms: tuple[str, str], sentences: Iterable[str]) -> bool:
    """Whether one of the sentences contains every word of both terms (stemmed, stop words aside)."""
    needed = set(tokenize([" ".join(terms)])[0])
    return any(needed <= set(words) for words in tokenize(list(sentences)))


def table_cells(line: str) -> list[str] | None:
    """The cells of a table row as documents give them ("a | b", "| a | b |"), None for a line that is none."""
    if "|" not in line:
        return None
    cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
    return cells if len(cells) >= 2 else None


def table_rows(text: str, start: int = 0, end: int | None = None) -> Iterator[tuple[list[str], list[str] | None]]:
    """Each table row among the lines of `text[start:end]` with its table's header, the first row of the run of
    rows above it (blank lines between rows allowed, as Word tables give them; Markdown's |---| rule skipped); None
    for the first row itself."""
    lines = text[: len(text) if end is None else end].split("\n")
    for index in range(text.count("\n", 0, start), len(lines)):
        cells = table_cells(lines[index])
        if cells is None or _rule(cells):
            continue
        header = None
        for line in reversed(lines[:index]):
            if not line.strip():
                continue
            above = table_cells(line)
            if above is None:
                break
            if not _rule(above):
                header = above
        yield cells, header


def _rule(cells: list[str]) -> bool:
    return all(_SEPARATOR_CELL.fullmatch(cell) for cell in cells)
