"""Item badges (C6): colour, number and dot, as one viewer sees them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from _build_counters import MONDAY, complete, incoming, item, minutes, planned, portal
from crmcounters import (
    AccessDeniedError,
    AccessLevel,
    AccessPolicy,
    BadgeColour,
    InMemoryStorage,
    UnknownIdError,
    item_badge,
)

SEE_ALL = AccessPolicy(default=AccessLevel.ALL)


def _portal() -> InMemoryStorage:
    return portal(("alice", "Europe/Warsaw"), ("bob", "America/Los_Angeles"))


def test_c6_green_with_a_number_for_open_incoming_activities() -> None:
    """C6: green: calls, chats, e-mails waiting."""
    storage = _portal()
    deal = item(storage, "alice")
    incoming(storage, deal)
    incoming(storage, deal)
    badge = item_badge(storage, deal, "alice", MONDAY)
    assert (badge.colour, badge.number, badge.dot) == (BadgeColour.GREEN, 2, False)


def test_c6_red_with_a_number_for_lit_planned_activities() -> None:
    """C6: red: overdue or due now."""
    storage = _portal()
    deal = item(storage, "alice")
    planned(storage, deal, MONDAY - timedelta(days=2))
    planned(storage, deal, MONDAY + minutes(10))
    planned(storage, deal, MONDAY + timedelta(days=2))  # not lit: not in the number
    badge = item_badge(storage, deal, "alice", MONDAY)
    assert (badge.colour, badge.number, badge.dot) == (BadgeColour.RED, 2, False)
    assert badge.valid_until == MONDAY + timedelta(days=2) - minutes(15)


def test_c6_red_wins_over_green_and_shows_the_sum() -> None:
    """C6: both present: red, incoming + planned."""
    storage = _portal()
    deal = item(storage, "alice")
    incoming(storage, deal)
    planned(storage, deal, MONDAY)
    badge = item_badge(storage, deal, "alice", MONDAY)
    assert (badge.colour, badge.number, badge.incoming, badge.planned) == (BadgeColour.RED, 2, 1, 1)


def test_c6_seed_grey_non_zero_for_another_employees_item() -> None:
    """C6 (seed 001): Bob's lit item, seen by Alice, is grey with its number."""
    storage = _portal()
    deal = item(storage, "bob")
    planned(storage, deal, MONDAY - minutes(1))
    incoming(storage, deal)
    badge = item_badge(storage, deal, "alice", MONDAY, policy=SEE_ALL)
    assert (badge.colour, badge.number, badge.dot) == (BadgeColour.GREY, 2, False)
    assert item_badge(storage, deal, "bob", MONDAY).colour is BadgeColour.RED


def test_c6_grey_zero_with_a_dot_when_nothing_is_lit_yet() -> None:
    """C6: open activities exist, none lit yet (a deadline next week, or none at all)."""
    storage = _portal()
    deal = item(storage, "alice")
    planned(storage, deal, MONDAY + timedelta(days=7))
    planned(storage, deal, None)
    badge = item_badge(storage, deal, "alice", MONDAY)
    assert (badge.colour, badge.number, badge.dot) == (BadgeColour.GREY, 0, True)
    other = item_badge(storage, deal, "bob", MONDAY, policy=SEE_ALL)
    assert (other.colour, other.number, other.dot) == (BadgeColour.GREY, 0, True)


def test_c6_grey_zero_without_a_dot_when_no_activity_is_open() -> None:
    """C6: no open activity at all."""
    storage = _portal()
    deal = item(storage, "alice")
    call = planned(storage, deal, MONDAY)
    complete(storage, call, MONDAY)
    badge = item_badge(storage, deal, "alice", MONDAY)
    assert (badge.colour, badge.number, badge.dot, badge.valid_until) == (
        BadgeColour.GREY,
        0,
        False,
        None,
    )


def test_c6_c7_a_badge_of_an_item_out_of_reach_is_refused_not_grey_zero() -> None:
    """C7: the default policy lets a viewer read only their own items' badges."""
    storage = _portal()
    deal = item(storage, "bob")
    with pytest.raises(AccessDeniedError):
        item_badge(storage, deal, "alice", MONDAY)
    with pytest.raises(UnknownIdError):
        item_badge(storage, "no-such-deal", "alice", MONDAY)
