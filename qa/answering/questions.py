"""What a reader's question asks of a document as a whole: one of its details (author, date, venue, source,
title), its thesis, its conclusion, or its recommendations. Questions about a fact inside it are none of these."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Aspect = Literal["author", "date", "venue", "source", "title", "occasion", "thesis", "conclusion", "recommendations"]
DETAILS: tuple[Aspect, ...] = ("author", "date", "venue", "source", "title", "occasion")

_GENRE = (
    r"(?:essay|article|piece|op-?ed|column|paper|document|text|post|story|statement|speech|remarks|readout|"
    r"order|memo(?:randum)?|fact\s+sheet)"
)
_DOCUMENT = rf"(?:(?:the|this|that|its|their)\s+)?(?:[\w'’-]+\s+){{0,4}}?{_GENRE}"
_REFERENCE = rf"(?:\b(?:it|this|that)\b|{_DOCUMENT})"
_SOURCES: tuple[tuple[Aspect, str], ...] = (
    ("author", r"\bwho\s+(?:\w+\s+)?(?:wrote|writes|authored|penned|co-?wrote|co-?authored|issued|signed)\b"),
    ("author", r"\bwho\s+(?:is|are|was|were)\s+(?:the\s+|its\s+)?(?:co-?)?(?:authors?|writers?)\b"),
    ("author", rf"\b(?:authors?|writers?|byline)\s+of\s+{_REFERENCE}|\bwritten\s+by\b|\bbyline\b"),
    (
        "date",
        rf"\bwhen\s+(?:was|were|did|is)\s+(?:[^?]*\b{_GENRE}\b|(?:it|this|that)\b)[^?]*\b(?:come\s+out|"
        r"publish(?:ed)?|release[ds]?|written|appear(?:ed)?|issue[ds]?|dated|posted|sign(?:ed)?)\b",
    ),
    (
        "date",
        rf"\bwhen\s+(?:was|were|did|is)\b[^?]*\b(?:publish(?:ed)?|release[ds]?|issue[ds]?|sign(?:ed)?)\s+"
        rf"{_DOCUMENT}\b",
    ),
    ("date", r"\b(?:publication|release|issue)\s+date\b|\bwhat\s+date\s+does\b|\bdate\s+does\s+it\s+carry\b"),
    (
        "venue",
        r"\b(?:which|what)\s+(?:magazine|publication|outlet|journal|newspaper|website|site|venue|"
        r"publisher|periodical)\b",
    ),
    ("venue", rf"\b(?:in|on)\s+what\s+\w+\s+did\s+{_REFERENCE}[^?]*\b(?:appear|run|come\s+out)\b"),
    ("venue", rf"\bwhere\s+(?:was|did)\s+{_REFERENCE}[^?]*\b(?:published|appear|run|come\s+out)\b"),
    ("venue", r"\bwho\s+(?:published|ran|printed)\s+(?:it|this|the)\b"),
    ("venue", r"\b(?:which|what)\s+\w+\s+ran\s+(?:it|this)\b"),
    (
        "occasion",
        r"\b(?:where|when)\s+(?:and\s+(?:where|when)\s+)?did\s+[\w.'’ -]+?\s+(?:give|deliver|make|present)\s+"
        r"(?:his|her|their|the)\b",
    ),
    ("source", rf"\b(?:source|url|link|web\s*address)\b[^?]*\b(?:of|for)\s+{_REFERENCE}"),
    ("source", r"\bwhere\s+can\s+i\s+(?:read|find|get)\s+(?:it|this|the\s+original)\b"),
    (
        "title",
        rf"\bheadline\b|\bwhat(?:'s|\s+is)\s+(?:the|its)\s+title\b|\btitle\s+of\s+{_REFERENCE}|"
        rf"\bwhat(?:'s|\s+is)\s+{_REFERENCE}\s+(?:called|titled)\b",
    ),
    (
        "thesis",
        r"\b(?:central|main|key|core|overall|principal|chief|primary)\s+(?:claim|argument|point|"
        r"thesis|idea|message|takeaway|theme|contention|stance)\b",
    ),
    (
        "thesis",
        r"\bthesis\b|\bgist\b|\bsummar(?:y|ize|ise)\b|\btl;?\s?dr\b|\bin\s+a\s+nutshell\b|"
        r"\boverview\b|\bbig[- ]picture\b|\bmain(?:ly)?\s+about\b",
    ),
    ("thesis", rf"\bwhat(?:'s|\s+is)\s+{_REFERENCE}\s+(?:\w+\s+)?about\b"),
    (
        "conclusion",
        rf"\bconclu(?:de|des|sion|ding)\b|\bhow\s+does\s+{_REFERENCE}\s+end\b|\bbottom\s+line\b|"
        r"\bclosing\s+(?:message|call|words?|argument|point|thought)s?\b|\bfinal\s+(?:call|message|word|thought)s?\b",
    ),
    (
        "recommendations",
        r"\b(?:all|list|main|key|their|its|the)\s+(?:of\s+the\s+)?(?:policy\s+)?"
        r"(?:recommendations|proposals|suggestions|policy\s+steps)\b(?!\s+(?:about|on|regarding|for\s+\w+ing))",
    ),
    (
        "recommendations",
        r"\bwhat\s+do\s+(?:they|the\s+(?:authors|writers))\s+(?:recommend|propose|suggest|advise)"
        r"(?:\s*\?|\s+\w+(?:\s+and\s+\w+)?\s+to\s+do\b)",
    ),
    ("recommendations", r"\blist\s+(?:the|their|all)\b[^?]*\b(?:steps|measures|recommendations|proposals)\b"),
)
_PATTERNS = tuple((aspect, re.compile(pattern, re.IGNORECASE)) for aspect, pattern in _SOURCES)
_ALL = re.compile(r"\b(?:all|every|list|each|full\s+set|complete)\b", re.IGNORECASE)
_FACT_DETAIL = re.compile(
    r"\b(?:university|school|age|old|born|degree|job|role|book|work(?:s|ed)?\s+(?:at|for))\b", re.IGNORECASE
)


@dataclass(frozen=True)
class DocumentQuestion:
    """A question about a document as a whole: which aspect it asks for, and whether it asks for all of them."""

    aspect: Aspect
    exhaustive: bool = False

    @property
    def detail(self) -> bool:
        """Whether the answer is one of the document's details, held by its card."""
        return self.aspect in DETAILS


def document_question(question: str) -> DocumentQuestion | None:
    """The aspect of a whole document that the question asks for, or None for a question about a fact in it."""
    for aspect, pattern in _PATTERNS:
        if pattern.search(question):
            if aspect in DETAILS and _FACT_DETAIL.search(question):
                return None  # "Which university did the author attend?" asks a fact about a person
            return DocumentQuestion(aspect, exhaustive=bool(_ALL.search(question)))
    return None
