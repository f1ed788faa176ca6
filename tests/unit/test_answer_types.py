"""What kind of answer a question asks for, and which sentences (or table rows) can supply it."""

from __future__ import annotations

import numpy as np
import pytest

from qa.answering import currencies
from qa.answering.answer_types import (
    AGE,
    DATE,
    DURATION,
    MONEY,
    QUANTITY,
    AnswerType,
    answer_type,
    paired_terms,
    pairs,
    table_rows,
)
from qa.answering.retrieval import abstention_reason
from qa.documents.chunking import Passage, split_sentences
from tests.unit.test_imports import loaded_after


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("How much would the proposed Manhattan Project for AI cost?", MONEY),
        ("How much money did philanthropies commit?", MONEY),
        ("How much funding does the CHIPS Act provide?", MONEY),
        ("What is CERN's annual budget?", MONEY),
        ("What's the dollar value of bilateral trade?", MONEY),
        ("What is DGA-Albright Stonebridge Group's revenue?", MONEY),
        ("What are the costs of an AI arms race?", None),
        ("What is the price of an AI arms race?", None),
        ("How much time did they spend negotiating?", QUANTITY),
        ("How much attention do the authors pay to safety?", QUANTITY),
        ("How much of global chip production happens in Taiwan?", QUANTITY),
        ("How many countries co-sponsored the resolution?", QUANTITY),
        ("What share of people have a negative view of AI?", QUANTITY),
        ("How long did the negotiations take?", DURATION),
        ("When was the Bletchley Park summit held?", DATE),
        ("In what year was HTC founded?", DATE),
        ("On what date did Trump post the message?", DATE),
        ("How old is Alvin Wang Graylin?", AGE),
        ("When AI is misused, who is most likely to abuse it?", None),
        ("Who called export controls a fool's errand?", None),
        ("What do the authors recommend?", None),
        ("Why is a zero-sum race harmful?", None),
        ("How large is the capability gap?", None),
        ("Is the budget debate mentioned? How much?", None),
    ],
)
def test_answer_type_of_a_question(question: str, expected: AnswerType | None) -> None:
    assert answer_type(question) is expected


@pytest.mark.parametrize(
    ("kind", "text", "stated"),
    [
        (MONEY, "The Act provides $52.7 billion for semiconductors.", True),
        (MONEY, "We redirected the trillions of dollars spent on defense.", True),
        (MONEY, "The CERN for AI (19459020) will bring more value than the Manhattan Project.", False),
        (MONEY, "Repairs to the landing ramps cost 18,400 pula last year.", True),
        (MONEY, "The new bridge cost R500 million.", True),
        (MONEY, "Johannesburg spent 2.3 billion rand on buses.", True),
        (MONEY, "A night at the ryokan is ¥35,000.", True),
        (MONEY, "The permit fee is 5,000 yen.", True),
        (MONEY, "The course costs ₹2,000 a month.", True),
        (MONEY, "The course costs Rs. 2,000 a month.", True),
        (MONEY, "Rent in Zurich averages CHF 2,400.", True),
        (MONEY, "They paid 1,200 Swiss francs for it.", True),
        (MONEY, "The grant is 41,000 BWP.", True),
        (MONEY, "Repairs to the landing ramps took 18,400 hours last year.", False),
        (MONEY, "Labour won 3 seats in the by-elections.", False),
        (MONEY, "Ayn Rand wrote about the yen for money.", False),
        (MONEY, "See table 3 P for the ramps.", False),
        (QUANTITY, "More than half of them were born abroad.", True),
        (QUANTITY, "Sixty-two nations co-sponsored it.", True),
        (QUANTITY, "It passed with 123 co-sponsors.", True),
        (QUANTITY, "We are negotiating with thirteen Indo-Pacific nations.", True),
        (QUANTITY, "Many nations co-sponsored it in recent years.", False),
        (DURATION, "The talks took nearly four months.", True),
        (DURATION, "The talks took many months.", True),
        (DURATION, "The talks were long and hard.", False),
        (DATE, "The summit took place in November at Woodside.", True),
        (DATE, "The leaders met on May 15 in Geneva.", True),
        (DATE, "He led the firm from 2016 to 2023.", True),
        (DATE, "The summit may take place at Woodside if they march on.", False),
        (DATE, "Today the talks go on.", False),
        (AGE, "Graylin, aged 52, lives in Beijing.", True),
        (AGE, "He was born in Taiwan.", True),
        (AGE, "He has 30 years of experience.", False),
    ],
)
def test_statements_of_a_kind(kind: AnswerType, text: str, stated: bool) -> None:
    assert kind.stated_in(text) is stated


@pytest.mark.parametrize(
    ("question", "terms"),
    [
        ("Who is the CEO of TSMC?", ("CEO", "TSMC")),
        ("Who is the current president of Taiwan?", ("president", "Taiwan")),
        ("Who is the current US Secretary of Commerce?", ("US Secretary", "Commerce")),
        ("Who is the head of the AI Safety Institute, according to the memo?", ("head", "AI Safety Institute")),
        ("Who was the president of the PRC at the time of the summit?", ("president", "PRC")),
        ("Who is the real threat to US interests?", None),
        ("Who is responsible for the biggest existential risk?", None),
        ("Who called export controls a fool's errand?", None),
        ("Who led the American delegation?", None),
        ("What is the capital of Australia?", None),
    ],
)
def test_role_questions_pair_a_role_with_its_holder(question: str, terms: tuple[str, str] | None) -> None:
    assert paired_terms(question) == terms


def test_a_pair_needs_every_word_of_both_terms_in_one_sentence() -> None:
    terms = ("president", "Taiwan")
    assert pairs(terms, ["Taiwan and TSMC lead the foundry business.", "Lai Ching-te is the president of Taiwan."])
    assert not pairs(terms, ["Graylin is currently the global vice president of HTC."])
    assert not pairs(terms, ["Taiwan and TSMC lead the foundry business.", "Graylin is a vice president."])
    assert not pairs(terms, [])


def test_the_currency_vocabulary_is_cldr_s_read_once() -> None:
    found = currencies.currencies()
    assert found is currencies.currencies()
    assert {"BWP", "ZAR", "JPY", "INR", "CHF", "USD", "EUR"} <= found.codes
    assert {"pula", "botswanan pula", "rand", "south african rand", "yen", "rupees", "swiss francs"} <= found.names
    assert {"P", "R", "¥", "₹", "US$", "€", "₿"} <= found.symbols, "English locales' symbols and Unicode's signs"
    assert not found.codes & found.symbols


BUDGET = (
    "# Station budget\n\nSpending for the year, by item.\n\nItem | Cost\n\nSolar panel repairs | 41,000\n\n"
    "Boat fuel | 23,500\n\nFuel prices rose in the second half of the year."
)  # a Word table as qa reads one: each row a paragraph, cells joined by " | "


def _row(text: str, cell: str) -> tuple[int, int]:
    start = text.index(cell)
    return start, text.index("\n", start)


def test_a_number_under_a_cost_column_states_money() -> None:
    assert MONEY.stated_in(BUDGET, *_row(BUDGET, "Solar panel repairs"))
    assert not MONEY.stated_in(BUDGET, *_row(BUDGET, "Item | Cost")), "the header gives no sum"
    assert not MONEY.stated_in("Solar panel repairs | 41,000"), "without its header the row names no money"
    visitors = BUDGET.replace("Cost", "Visitors")
    assert not MONEY.stated_in(visitors, *_row(visitors, "Solar panel repairs"))
    markdown = "| Item | Price (BWP) |\n|---|---:|\n| Solar panel repairs | 41,000 |\n| Boat fuel | 23,500 |\n"
    assert MONEY.stated_in(markdown, *_row(markdown, "| Boat fuel"))
    wide = "| Item | Visitors | Cost |\n|---|---|---|\n| Open day | 41 | none |\n"
    assert not MONEY.stated_in(wide, *_row(wide, "| Open day")), "the number stands under Visitors, not Cost"


def test_a_row_label_that_names_money_beside_a_number_states_money() -> None:
    assert MONEY.stated_in("Total repair cost | 41,000")
    assert not MONEY.stated_in("Repair visits | 41")
    assert DATE.stated_in("Opened | 03/04") and not DATE.stated_in("Opened | soon")
    assert AGE.stated_in("Age | 42") and not AGE.stated_in("Height | 42")


def test_table_rows_find_the_header_above_blank_lines_and_markdown_rules() -> None:
    start, end = _row(BUDGET, "Boat fuel")
    assert list(table_rows(BUDGET, start, end)) == [(["Boat fuel", "23,500"], ["Item", "Cost"])]
    assert list(table_rows(BUDGET, *_row(BUDGET, "Item | Cost"))) == [(["Item", "Cost"], None)]
    assert list(table_rows("Spending, by item.")) == []


def test_the_amount_check_of_an_answer_reads_table_rows_and_any_currency() -> None:
    def support(text: str) -> list[tuple[Passage, np.ndarray]]:
        spans = tuple(split_sentences(text))
        passage = Passage("d#1", "d", "Doc", text, 0, len(text), (1, 1), "Doc, ¶1", spans)
        return [(passage, np.full(len(spans), 0.6))]

    question = "How much did repairs cost?"
    for text in (BUDGET, "Repairs to the landing ramps cost 18,400 pula last year."):
        assert abstention_reason(question, support(text), 0.6, 0.35, ()) is None
    refused = abstention_reason(question, support("Repairs to the landing ramps took three months."), 0.6, 0.35, ())
    assert refused == "no sentence close to the question states an amount of money"


def test_asking_reads_the_currencies_only_for_a_question_about_money() -> None:
    ask = "from qa.answering.answer_types import answer_type, QUANTITY\n"
    plain = ask + "assert QUANTITY.stated_in('41 visitors') and answer_type('How many visitors came?') is QUANTITY"
    assert "babel" not in loaded_after(plain)
    money = ask + "from qa.answering.answer_types import MONEY\nassert MONEY.stated_in('18,400 pula')"
    assert "babel" in loaded_after(money)
