"""What a question asks for: a kind of answer (an amount, a sum of money, a date) or a pair of terms that the
answering sentence must bring together ("Who is the CEO of TSMC?")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.lexical import tokenize

_MONTHS_AND_DAYS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "monday|tuesday|wednesday|thursday|friday|saturday|sunday|yesterday|today|tomorrow"
)


_MONEY_WORDS = (
    r"money|costs?|costing|budgets?|price[ds]?|pa(y|id|ys)|spen(d|t|ding)|fund(s|ed|ing)?|grants?|salary|worth|"
    r"invest(s|ed|ing|ment)?|dollars?|dollar value"
)


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
        rf"\s*(how much\b.*\b({_MONEY_WORDS})|what(’s|'s|\s+is|\s+was|\s+were|\s+are)\s+(the\s+)?([\w'’-]+\s+){{0,3}}?"
        rf"(budgets?|costs?|prices?|dollar value|salary|funding))\b",
        re.IGNORECASE,
    ),
    re.compile(r"[$€£¥]|\b(dollars?|euros?|yuan|renminbi|usd)\b", re.IGNORECASE),
)
QUANTITY = AnswerType(
    "a number or amount",
    re.compile(r"\s*(how (much|many|long)|what (percentage|share|number|amount|fraction|proportion))\b", re.IGNORECASE),
    re.compile(
        r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|sixty|"
        r"seventy|eighty|ninety|dozens?|hundreds?|thousands?|millions?|billions?|trillions?|percent|half|third|quarter|decades?|months?|years?|"
        r"weeks?|days?)\b",
        re.IGNORECASE,
    ),
)
DATE = AnswerType(
    "a date",
    re.compile(r"\s*(when|(in |during )?(what|which) (year|month|date|day)|on what date|since when)\b", re.IGNORECASE),
    re.compile(rf"\b(1[6-9]\d\d|20\d\d)s?\b|\b({_MONTHS_AND_DAYS})\b", re.IGNORECASE),
)
AGE = AnswerType(
    "an age",
    re.compile(r"\s*how old\b", re.IGNORECASE),
    re.compile(r"\b(years?[- ]old|aged?\s+\d+|born)\b", re.IGNORECASE),
)
TYPES = (MONEY, QUANTITY, DATE, AGE)  # narrowest first

_ROLE_OF = re.compile(
    r"\s*who\s+(is|was|are|were|will\s+be)\s+(the\s+)?(?P<role>([\w'’-]+\s+){0,2}?[\w'’-]+)\s+(of|to|for|at)\s+"
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


def pairs(terms: tuple[str, str], sentence: str) -> bool:
    """Whether the sentence contains every word of both terms (stemmed, stop words aside)."""
    needed = set(tokenize([" ".join(terms)])[0])
    return needed <= set(tokenize([sentence])[0])
