"""The ask queue on its own: serial numbers, waiting, asking, dropping stale answers, keeping the selection."""

from __future__ import annotations

import pytest

from qa.interfaces.tui.asking import AskQueue, Ticket
from qa.kernel.errors import InputError


def test_a_question_waits_until_it_can_be_answered() -> None:
    queue = AskQueue()
    assert (queue.serial, queue.question) == (0, "")
    ticket = queue.submit("  Who  leads\tchips? ")
    assert ticket == Ticket(1, "Who leads chips?")
    assert queue.pending == ticket and not queue.asking
    assert queue.next_ready(can_answer=False) is None
    assert queue.pending == ticket, "still waiting"
    assert queue.next_ready(can_answer=True) == ticket
    assert queue.pending is None and queue.asking
    assert queue.next_ready(can_answer=True) is None, "sent once"
    assert queue.finished(1) == ticket
    assert not queue.asking


def test_an_unusable_question_is_refused_and_changes_nothing() -> None:
    queue = AskQueue()
    with pytest.raises(InputError, match="empty"):
        queue.submit(" \t ")
    assert queue.serial == 0 and queue.pending is None


def test_enter_again_on_the_question_being_answered_does_nothing() -> None:
    queue = AskQueue()
    first = queue.submit("Who?")
    assert queue.submit("Who?") is None, "while it waits"
    queue.next_ready(can_answer=True)
    assert queue.submit(" Who? ") is None, "while it is answered"
    assert queue.serial == 1
    assert queue.finished(1) == first
    assert queue.submit("Who?") == Ticket(2, "Who?"), "once answered, asking again is a new asking"


def test_only_the_latest_answer_is_shown() -> None:
    queue = AskQueue()
    queue.submit("Old?")
    queue.next_ready(can_answer=True)
    newer = queue.submit("New?")
    assert newer == Ticket(2, "New?")
    assert queue.next_ready(can_answer=True) == newer
    assert queue.finished(1) is None, "the older answer is dropped"
    assert queue.asking, "the newer question is still being answered"
    assert queue.finished(2) == newer
    assert not queue.asking


def test_asking_again_keeps_the_selected_passage_and_skips_the_duplicate_check() -> None:
    queue = AskQueue()
    assert queue.resubmit(keep="doc.md#3") is None, "nothing to ask again yet"
    queue.submit("Who?")
    queue.next_ready(can_answer=True)
    again = queue.resubmit(keep="doc.md#3")
    assert again == Ticket(2, "Who?", keep="doc.md#3")
    assert queue.next_ready(can_answer=True) == again
    assert queue.finished(2) == again
    assert queue.submit("Other?") == Ticket(3, "Other?", keep=None), "a new question selects its first passage"


def test_a_waiting_question_can_be_dropped() -> None:
    queue = AskQueue()
    assert not queue.drop_pending()
    queue.submit("Who?")
    assert queue.drop_pending()
    assert queue.pending is None
    assert queue.next_ready(can_answer=True) is None
    assert queue.question == "Who?", "it can still be asked again"
