"""Unread (F3): a client's message is unread for the responsible until they view the item."""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs
import pytest

from _build_focus import MONDAY, comment, incoming_call, item, message, portal, viewed
from crmcounters import (
    Direction,
    IncomingChannel,
    NaiveDatetimeError,
    UnknownIdError,
    is_unread,
    next_unread_change,
    unread_activities,
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


# -- F3: incoming activities are client messages too ------------------------------


def test_f3_an_incoming_activity_marks_the_item_unread_until_viewed() -> None:
    """An incoming call/e-mail/chat activity lifts the item (F2) and is unread (F3)."""
    storage = portal()
    storage.add(item("d1", responsible="anna"), incoming_call("c1", "d1", MONDAY - 2 * MINUTE))
    assert is_unread(storage, "d1", MONDAY)
    assert [a.id for a in unread_activities(storage, "d1", MONDAY)] == ["c1"]
    assert unread_messages(storage, "d1", MONDAY) == ()
    storage.add(viewed("v1", "d1", MONDAY - MINUTE, user="anna"))
    assert not is_unread(storage, "d1", MONDAY)


def test_f3_a_completed_incoming_activity_is_read() -> None:
    """Processing (completing) the incoming activity clears it, from its completion on."""
    storage = portal()
    call = incoming_call("c1", "d1", MONDAY - 10 * MINUTE)
    storage.add(item("d1"), attrs.evolve(call, completed_at=MONDAY - MINUTE))
    assert is_unread(storage, "d1", MONDAY - 2 * MINUTE)
    assert not is_unread(storage, "d1", MONDAY)


def test_f3_an_outgoing_activity_is_never_unread() -> None:
    storage = portal()
    outgoing = attrs.evolve(
        incoming_call("c1", "d1", MONDAY - MINUTE, flag=False), direction=Direction.OUTGOING
    )
    storage.add(item("d1"), outgoing)
    assert not is_unread(storage, "d1", MONDAY)


def test_f3_f5_next_unread_change_names_the_next_stored_flip() -> None:
    storage = portal()
    storage.add(
        item("d1", responsible="anna"),
        message("m1", "d1", MONDAY + 5 * MINUTE),
        viewed("v1", "d1", MONDAY + 9 * MINUTE, user="piotr"),  # not the responsible
        viewed("v2", "d1", MONDAY + 10 * MINUTE, user="anna"),
        attrs.evolve(
            incoming_call("c1", "d1", MONDAY + 20 * MINUTE), completed_at=MONDAY + 30 * MINUTE
        ),
    )
    d1 = storage.item("d1")

    def after(at: datetime) -> datetime | None:
        return next_unread_change(
            d1, storage.activities_of_item("d1"), storage.events_of_item("d1"), at
        )

    assert after(MONDAY) == MONDAY + 5 * MINUTE
    assert after(MONDAY + 5 * MINUTE) == MONDAY + 10 * MINUTE
    assert after(MONDAY + 10 * MINUTE) == MONDAY + 20 * MINUTE
    assert after(MONDAY + 20 * MINUTE) == MONDAY + 30 * MINUTE
    assert after(MONDAY + 30 * MINUTE) is None
    # Between flips the status holds (F5).
    for start, end in ((0, 5), (5, 10), (10, 20), (20, 30), (30, 90)):
        statuses = {is_unread(storage, "d1", MONDAY + m * MINUTE) for m in range(start, end)}
        assert len(statuses) == 1, (start, end)
