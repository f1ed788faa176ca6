"""What a question asks for: a kind of answer (an amount, a sum of money, a date, an age) or a pair of terms that the
answering sentence must bring together ("Who is the CEO of TSMC?")."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from qa.index.lexical import tokenize

_MONTH = r"(january|february|march|april|may|june|july|august|september|october|november|december)"
_UNAMBIGUOUS_MONTH = r"(january|february|april|june|july|september|october|november|december)"  # not "may", "march"
_WEEKDAY = r"(monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_AUXILIARY = r"(did|do|does|was|were|is|are|will|would|has|have|had|can|could|should)"
_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|"
    r"eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|dozens?|hundreds?|thousands?|"
    r"millions?|billions?|trillions?|percent|half|third|quarter|decades?"
)
_MONEY_NOUNS = r"(money|funding|funds|investment|dollars|budget|grant money|capital|revenue|spending|aid)"
_MONEY_VERBS = r"(cost|costs|pay|paid|spend|spent|invest|invested|earn|earned|raise|raised|worth|fetch|charge)"


@dataclass(frozen=True)
class AnswerType:
    """A kind of answer, named for messages ("an amount of money"), the questions that ask for one and the
    pattern of text that states one."""

    name: str
    question: re.Pattern[str]
    statement: re.Pattern[str]

    def asked_by(self, question: str) -> bool:
        """Whether the question asks for this kind of answer."""
        return bool(self.question.match(question))

    def stated_in(self, text: str) -> bool:
        """Whether the text states an answer of this kind."""
        return bool(self.statement.search(text))


MONEY = AnswerType(
    "an amount of money",
    re.compile(
        rf"\s*(how much\s+{_MONEY_NOUNS}\b|how much\b[^?]*\b{_MONEY_VERBS}\s*\??\s*$|"
        r"what(’s|'s|\s+is|\s+was|\s+were|\s+are)\s+(the\s+)?([\w'’-]+\s+){0,3}?"
        r"(budget|dollar value|salary|revenues?|valuation|net worth)\b)",
        re.IGNORECASE,
    ),
    re.compile(r"[$€£¥]|\b(dollars?|euros?|yuan|renminbi|usd)\b", re.IGNORECASE),
)
QUANTITY = AnswerType(
    "a number or amount",
    re.compile(r"\s*(how (much|many)|what (percentage|share|number|amount|fraction|proportion))\b", re.IGNORECASE),
    re.compile(rf"\d|\b({_NUMBER_WORDS})\b", re.IGNORECASE),
)
DURATION = AnswerType(
    "a length of time",
    re.compile(r"\s*how long\b", re.IGNORECASE),
    re.compile(rf"\d|\b({_NUMBER_WORDS}|years?|months?|weeks?|days?|hours?|minutes?)\b", re.IGNORECASE),
)
DATE = AnswerType(
    "a date",
    re.compile(
        rf"\s*(when\s+{_AUXILIARY}|(in |during )?(what|which) (year|month|date|day)|on what date|since when)\b",
        re.IGNORECASE,
    ),
    re.compile(
        rf"\b(1[6-9]\d\d|20\d\d)s?\b|\b{_UNAMBIGUOUS_MONTH}\b|\b{_WEEKDAY}\b|\b{_MONTH}\s+\d|\d{{1,2}}\s+{_MONTH}\b",
        re.IGNORECASE,
    ),
)
AGE = AnswerType(
    "an age",
    re.compile(r"\s*how old\b", re.IGNORECASE),
    re.compile(r"\b(years?[- ]old|aged?\s+\d+|born)\b", re.IGNORECASE),
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
