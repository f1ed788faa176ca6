"""What kind of answer a question asks for, and which sentences can supply it."""

from __future__ import annotations

import pytest

from qa.answering.answer_types import AGE, DATE, DURATION, MONEY, QUANTITY, AnswerType, answer_type, paired_terms, pairs


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
