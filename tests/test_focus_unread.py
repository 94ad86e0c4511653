"""Unread (F3): a client's message is unread for the responsible until they view the item."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from _build_focus import MONDAY, comment, item, message, portal, viewed
from crmcounters import (
    IncomingChannel,
    NaiveDatetimeError,
    UnknownIdError,
    is_unread,
    unread_messages,
)

MINUTE = timedelta(minutes=1)


def test_f3_an_item_without_messages_is_not_unread() -> None:
    storage = portal()
    storage.add(item("d1"), comment("c1", "d1", MONDAY - MINUTE, author="piotr"))
    assert not is_unread(storage, "d1", MONDAY)


@pytest.mark.parametrize("channel", list(IncomingChannel))
def test_f3_a_client_message_marks_the_item_unread(channel: IncomingChannel) -> None:
    storage = portal()
    storage.add(item("d1"), message("m1", "d1", MONDAY - MINUTE, channel=channel))
    assert is_unread(storage, "d1", MONDAY)
    assert [m.id for m in unread_messages(storage, "d1", MONDAY)] == ["m1"]


def test_f3_a_view_by_the_responsible_clears_unread() -> None:
    storage = portal()
    storage.add(
        item("d1", responsible="anna"),
        message("m1", "d1", MONDAY - 2 * MINUTE),
        viewed("v1", "d1", MONDAY - MINUTE, user="anna"),
    )
    assert not is_unread(storage, "d1", MONDAY)
    assert is_unread(storage, "d1", MONDAY - 2 * MINUTE)  # X2: before the view


def test_f3_a_view_at_the_very_instant_of_the_message_reads_it() -> None:
    storage = portal()
    storage.add(item("d1"), message("m1", "d1", MONDAY), viewed("v1", "d1", MONDAY, user="anna"))
    assert not is_unread(storage, "d1", MONDAY)


def test_f3_a_view_by_a_colleague_does_not_clear_unread() -> None:
    storage = portal()
    storage.add(
        item("d1", responsible="anna"),
        message("m1", "d1", MONDAY - 2 * MINUTE),
        viewed("v1", "d1", MONDAY - MINUTE, user="piotr"),
    )
    assert is_unread(storage, "d1", MONDAY)


def test_f3_a_new_message_after_the_view_is_unread_again() -> None:
    storage = portal()
    storage.add(
        item("d1"),
        message("m1", "d1", MONDAY - 3 * MINUTE),
        viewed("v1", "d1", MONDAY - 2 * MINUTE, user="anna"),
        message("m2", "d1", MONDAY - MINUTE),
    )
    assert [m.id for m in unread_messages(storage, "d1", MONDAY)] == ["m2"]


def test_f3_a_message_in_the_future_is_not_unread_yet() -> None:
    storage = portal()
    storage.add(item("d1"), message("m1", "d1", MONDAY + MINUTE))
    assert not is_unread(storage, "d1", MONDAY)


def test_f3_a_reassigned_item_is_unread_for_its_new_responsible() -> None:
    """Decision: unread is judged for the current responsible; the old one's view is theirs."""
    storage = portal()
    storage.add(
        item("d1", responsible="anna"),
        message("m1", "d1", MONDAY - 2 * MINUTE),
        viewed("v1", "d1", MONDAY - MINUTE, user="anna"),
    )
    storage.replace(item("d1", responsible="piotr"))
    assert is_unread(storage, "d1", MONDAY)


def test_g2_a_naive_now_is_refused_by_unread() -> None:
    storage = portal()
    storage.add(item("d1"))
    with pytest.raises(NaiveDatetimeError):
        is_unread(storage, "d1", datetime(2026, 12, 14, 10, 0))


def test_g5_unread_of_an_unknown_item_is_an_error() -> None:
    with pytest.raises(UnknownIdError):
        is_unread(portal(), "ghost", MONDAY)
