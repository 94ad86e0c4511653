"""Explain focus (X1): which event or reminder gives an item its place, by SPEC rule."""

from __future__ import annotations

from datetime import UTC, timedelta

import attrs
import pytest

from _build_focus import MONDAY, comment, incoming_call, item, message, portal, todo
from crmcounters import FocusExplanation, FocusReason, explain_focus, focus_time

MINUTE = timedelta(minutes=1)
CREATED = MONDAY - timedelta(days=30)


def test_x1_a_reminder_is_named_with_its_activity_and_offset() -> None:
    storage = portal()
    deadline = MONDAY + 10 * MINUTE
    storage.add(item("d1"), todo("a1", "d1", deadline=deadline))
    why = explain_focus(storage, "d1", MONDAY)
    assert why.focus_time == deadline - 15 * MINUTE
    assert why.source.reason is FocusReason.REMINDER
    assert (why.source.activity_id, why.source.offset_minutes) == ("a1", 15)
    assert why.rule == "F2"
    assert "15 min before the deadline of activity 'a1'" in why.text
    assert why.next_change == deadline
    assert why.next_source is not None
    assert why.next_source.offset_minutes == 0
    assert "deadline of activity 'a1'" in why.next_source.describe()


def test_x1_a_colleague_comment_is_named_with_its_author() -> None:
    storage = portal()
    storage.add(item("d1"), comment("c1", "d1", MONDAY - MINUTE, author="piotr"))
    why = explain_focus(storage, "d1", MONDAY)
    assert (why.source.reason, why.source.event_id, why.source.author_id) == (
        FocusReason.COMMENT,
        "c1",
        "piotr",
    )
    assert "'piotr', who is not the item's responsible" in why.text
    assert why.next_change is None
    assert "Nothing scheduled" in why.text


def test_x1_an_incoming_message_is_named_and_the_item_is_unread() -> None:
    storage = portal()
    storage.add(item("d1"), message("m1", "d1", MONDAY - MINUTE, channel="chat"))
    why = explain_focus(storage, "d1", MONDAY)
    assert why.source.reason is FocusReason.INCOMING_MESSAGE
    assert "incoming chat 'm1'" in why.text
    assert why.unread
    assert "(F3)" in why.text


def test_x1_an_incoming_activity_is_named() -> None:
    storage = portal()
    storage.add(item("d1"), incoming_call("a1", "d1", MONDAY - MINUTE))
    assert "incoming activity 'a1'" in explain_focus(storage, "d1", MONDAY).text


def test_x1_an_item_with_nothing_else_is_placed_by_its_creation() -> None:
    storage = portal()
    storage.add(item("d1"))
    why = explain_focus(storage, "d1", MONDAY)
    assert why.source.reason is FocusReason.CREATED
    assert why.focus_time == CREATED
    assert "was created" in why.text


def test_x1_at_one_instant_the_most_telling_source_is_named() -> None:
    storage = portal()
    at = MONDAY - MINUTE
    storage.add(
        item("d1"),
        todo("a1", "d1", deadline=at, offsets=()),
        comment("c1", "d1", at, author="piotr"),
        message("m1", "d1", at),
    )
    assert explain_focus(storage, "d1", MONDAY).source.event_id == "m1"


def test_x1_the_explanation_agrees_with_focus_time_and_is_frozen() -> None:
    storage = portal()
    storage.add(item("d1"), todo("a1", "d1", deadline=MONDAY - MINUTE))
    why = explain_focus(storage, "d1", MONDAY)
    assert isinstance(why, FocusExplanation)
    assert why.focus_time == focus_time(storage, "d1", MONDAY)
    assert why.at.tzinfo is UTC
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        why.unread = True  # type: ignore[misc]
