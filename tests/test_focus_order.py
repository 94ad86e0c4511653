"""Focus ordering (F1, F4, F5): newest focus first, ties by id, and when it changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from _build_focus import MONDAY, comment, item, message, portal, todo
from crmcounters import (
    FocusColumn,
    FocusOrder,
    FocusTimeline,
    UnknownIdError,
    ValidationError,
    is_unread,
    next_focus_change,
    order_by_focus,
    rank_by_focus,
    reschedule,
)

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def test_f1_newest_focus_time_first() -> None:
    storage = portal()
    storage.add(
        item("d1", created=MONDAY - 3 * HOUR),
        item("d2", created=MONDAY - 1 * HOUR),
        item("d3", created=MONDAY - 2 * HOUR),
    )
    assert order_by_focus(storage, ["d1", "d2", "d3"], MONDAY).item_ids == ("d2", "d3", "d1")


def test_f1_ties_go_by_item_id_descending() -> None:
    storage = portal()
    storage.add(*(item(f"d{n}", created=MONDAY - HOUR) for n in (1, 3, 2)))
    assert order_by_focus(storage, ["d1", "d2", "d3"], MONDAY).item_ids == ("d3", "d2", "d1")


def test_f1_ties_compare_ids_as_strings() -> None:
    """Decision: ids are strings, so "d9" comes before "d10" in descending order."""
    storage = portal()
    storage.add(item("d9", created=MONDAY - HOUR), item("d10", created=MONDAY - HOUR))
    assert order_by_focus(storage, ["d10", "d9"], MONDAY).item_ids == ("d9", "d10")


def test_f1_seed_a_deal_postponed_for_a_month_sinks_then_rises_when_the_client_writes() -> None:
    """Seed 002: at its call's deadline the deal is on top; the client asks to postpone a
    month, so the call moves (F2: its focus time does not fall), other deals' reminders
    lift them above it and it sinks; when the client writes, it jumps to the top, Unread (F3).
    """
    storage = portal()
    call_at = MONDAY + 9 * HOUR
    storage.add(
        item("postponed", created=MONDAY - timedelta(days=20)),
        todo("call-back", "postponed", deadline=call_at),
        *(item(f"busy{n}", created=MONDAY - timedelta(days=10)) for n in range(3)),
        *(
            todo(f"t{n}", f"busy{n}", deadline=call_at + (n + 1) * HOUR, created=MONDAY)
            for n in range(3)
        ),
    )
    column = ["postponed", "busy0", "busy1", "busy2"]
    assert order_by_focus(storage, column, call_at).item_ids[0] == "postponed"

    postponed_at = call_at + 5 * MINUTE
    call = storage.activity("call-back")
    storage.replace(reschedule(call, call.deadline + timedelta(days=30), postponed_at))
    order = order_by_focus(storage, column, postponed_at)
    assert order.item_ids[0] == "postponed"  # F2: postponing does not push it down
    assert order.focus_times[0] == call_at

    evening = call_at + 4 * HOUR  # every busy deal's reminders have fired
    assert order_by_focus(storage, column, evening).item_ids == (
        "busy2",
        "busy1",
        "busy0",
        "postponed",
    )
    storage.add(message("m1", "postponed", evening + MINUTE))
    now = evening + 2 * MINUTE
    assert order_by_focus(storage, column, now).item_ids[0] == "postponed"
    assert is_unread(storage, "postponed", now)


def test_f1_a_colleague_comment_lifts_the_item_to_the_top_and_a_self_comment_does_not() -> None:
    storage = portal()
    storage.add(
        item("d1", created=MONDAY - 3 * HOUR),
        item("d2", created=MONDAY - 2 * HOUR),
        item("d3", created=MONDAY - 1 * HOUR),
    )
    storage.add(comment("c1", "d1", MONDAY - MINUTE, author="anna"))
    assert order_by_focus(storage, ["d1", "d2", "d3"], MONDAY).item_ids[0] == "d3"
    storage.add(comment("c2", "d1", MONDAY - MINUTE, author="piotr"))
    assert order_by_focus(storage, ["d1", "d2", "d3"], MONDAY).item_ids[0] == "d1"


@pytest.mark.parametrize("entity", ["lead", "deal", "invoice", "smart:128"])
def test_f4_focus_orders_every_entity_type(entity: str) -> None:
    storage = portal()
    storage.add(
        item("x1", entity=entity, created=MONDAY - 2 * HOUR),
        item("x2", entity=entity, created=MONDAY - 1 * HOUR),
        todo("a1", "x1", deadline=MONDAY - MINUTE),
    )
    assert order_by_focus(storage, ["x1", "x2"], MONDAY).item_ids == ("x1", "x2")


def test_f1_the_order_carries_each_items_focus_time() -> None:
    storage = portal()
    storage.add(item("d1", created=MONDAY - HOUR), item("d2", created=MONDAY - 2 * HOUR))
    order = order_by_focus(storage, ["d1", "d2"], MONDAY)
    assert list(order) == [("d1", MONDAY - HOUR), ("d2", MONDAY - 2 * HOUR)]
    assert len(order) == 2
    assert order.total == 2
    assert order.at == MONDAY


def test_f1_top_k_is_the_prefix_of_the_full_order() -> None:
    storage = portal()
    ids = [f"d{n:02d}" for n in range(30)]
    storage.add(*(item(i, created=MONDAY - (n % 7) * HOUR) for n, i in enumerate(ids)))
    full = order_by_focus(storage, ids, MONDAY)
    page = order_by_focus(storage, ids, MONDAY, limit=5)
    assert page.item_ids == full.item_ids[:5]
    assert page.focus_times == full.focus_times[:5]
    assert page.total == 30


def test_f1_a_limit_above_the_count_lists_everything() -> None:
    storage = portal()
    storage.add(item("d1"), item("d2"))
    assert order_by_focus(storage, ["d1", "d2"], MONDAY, limit=10).item_ids == ("d2", "d1")


def test_f1_an_empty_column_is_empty_and_never_changes() -> None:
    order = order_by_focus(portal(), [], MONDAY)
    assert order == FocusOrder(at=MONDAY, item_ids=(), focus_times=(), total=0, valid_until=None)


# -- F5 -------------------------------------------------------------------------------


def test_f5_the_order_is_valid_until_the_next_reminder() -> None:
    storage = portal()
    deadline = MONDAY + 2 * HOUR
    storage.add(item("d1"), item("d2"), todo("a1", "d1", deadline=deadline))
    order = order_by_focus(storage, ["d1", "d2"], MONDAY)
    assert order.item_ids == ("d2", "d1")
    assert order.valid_until == deadline - 15 * MINUTE
    assert order_by_focus(storage, ["d1", "d2"], order.valid_until).item_ids == ("d1", "d2")
    assert next_focus_change(storage, ["d1", "d2"], order.valid_until) == deadline
    assert next_focus_change(storage, ["d1", "d2"], deadline) is None


def test_f5_future_messages_and_comments_are_changes_too() -> None:
    """X2: a host previewing the past sees later events as future changes."""
    storage = portal()
    storage.add(item("d1"), message("m1", "d1", MONDAY + HOUR))
    assert next_focus_change(storage, ["d1"], MONDAY) == MONDAY + HOUR


def test_f5_a_page_changes_when_an_unlisted_item_rises_into_it() -> None:
    storage = portal()
    storage.add(
        item("top", created=MONDAY - HOUR),
        item("low", created=MONDAY - 5 * HOUR),
        todo("a1", "low", deadline=MONDAY + 3 * HOUR),
    )
    page = order_by_focus(storage, ["top", "low"], MONDAY, limit=1)
    assert page.item_ids == ("top",)
    assert page.valid_until == MONDAY + 3 * HOUR - 15 * MINUTE


def test_f5_an_empty_page_never_changes() -> None:
    storage = portal()
    storage.add(item("d1"), todo("a1", "d1", deadline=MONDAY + HOUR))
    assert order_by_focus(storage, ["d1"], MONDAY, limit=0).valid_until is None


def test_f5_below_an_item_created_in_the_future_a_rise_only_counts_if_it_passes_it() -> None:
    """The page's last card was created after `now` (X2 preview): an unlisted item
    whose first reminder stays below it does not change the page; its second does."""
    storage = portal()
    storage.add(
        item("future", created=MONDAY + 2 * HOUR),
        item("low", created=MONDAY - 5 * HOUR),
        todo("a1", "low", deadline=MONDAY + 3 * HOUR, offsets=(240,)),
    )
    page = order_by_focus(storage, ["future", "low"], MONDAY, limit=1)
    assert page.item_ids == ("future",)
    assert page.valid_until == MONDAY + 3 * HOUR
    assert order_by_focus(storage, ["future", "low"], page.valid_until, limit=1).item_ids == (
        "low",
    )


# -- the pure core and bad input ------------------------------------------------------


def test_f1_rank_by_focus_works_on_timelines_from_any_source() -> None:
    now = datetime(2026, 12, 14, 9, 0, tzinfo=UTC)
    timelines = [
        FocusTimeline(item_id="a", created_at=now - HOUR, instants=[now + HOUR]),
        FocusTimeline(item_id="b", created_at=now - 2 * HOUR, instants=[now - MINUTE]),
    ]
    order = rank_by_focus(timelines, now)
    assert order.item_ids == ("b", "a")
    assert order.valid_until == now + HOUR
    assert rank_by_focus(iter(timelines), now + HOUR).item_ids == ("a", "b")


def test_g5_repeated_item_ids_are_refused() -> None:
    timeline = FocusTimeline(item_id="a", created_at=MONDAY)
    with pytest.raises(ValidationError, match="repeated"):
        rank_by_focus([timeline, timeline], MONDAY)


@pytest.mark.parametrize("limit", [-1, True, 2.5, "3"])
def test_g5_a_bad_limit_is_refused(limit: object) -> None:
    with pytest.raises(ValidationError, match="limit"):
        rank_by_focus([], MONDAY, limit=limit)  # type: ignore[arg-type]


def test_g5_an_unknown_item_in_a_column_is_an_error() -> None:
    storage = portal()
    storage.add(item("d1"))
    with pytest.raises(UnknownIdError, match="ghost"):
        order_by_focus(storage, ["d1", "ghost"], MONDAY)


def test_g5_one_string_is_not_a_column() -> None:
    storage = portal()
    storage.add(item("d1"))
    with pytest.raises(ValidationError, match="one string"):
        order_by_focus(storage, "d1", MONDAY)


def test_g2_a_naive_timeline_is_refused() -> None:
    with pytest.raises(ValidationError, match="created_at"):
        FocusTimeline(item_id="a", created_at=datetime(2026, 12, 14))
    with pytest.raises(ValidationError, match=r"instants\[0\]"):
        FocusTimeline(item_id="a", created_at=MONDAY, instants=[datetime(2026, 12, 14)])


# -- FocusColumn: index once, rank at any now ----------------------------------------


def _column() -> tuple[list[FocusTimeline], datetime]:
    now = datetime(2026, 12, 14, 9, 0, tzinfo=UTC)
    timelines = [
        FocusTimeline(item_id="old", created_at=now - 9 * HOUR),
        FocusTimeline(item_id="settled", created_at=now - 5 * HOUR, instants=[now - HOUR]),
        FocusTimeline(item_id="soon", created_at=now - 8 * HOUR, instants=[now + HOUR]),
        FocusTimeline(item_id="late", created_at=now - 7 * HOUR, instants=[now + 2 * HOUR]),
    ]
    return timelines, now


def test_f1_a_focus_column_ranks_settled_and_rising_items_together() -> None:
    timelines, now = _column()
    column = FocusColumn(timelines=timelines)
    assert len(column) == 4
    assert column.rank(now).item_ids == ("settled", "late", "soon", "old")
    assert column.rank(now + HOUR).item_ids == ("soon", "settled", "late", "old")
    assert column.rank(now, limit=3) == rank_by_focus(timelines, now, limit=3)
    assert column.rank(now + 3 * HOUR, limit=2).item_ids == ("late", "soon")


def test_f5_a_focus_column_reports_the_next_rise() -> None:
    timelines, now = _column()
    column = FocusColumn(timelines=timelines)
    assert column.rank(now).valid_until == now + HOUR
    assert column.rank(now, limit=1).valid_until == now + HOUR  # "soon" enters the page
    assert column.rank(now + 2 * HOUR).valid_until is None


def test_g5_a_focus_column_refuses_repeats_and_strangers() -> None:
    timeline = FocusTimeline(item_id="a", created_at=MONDAY)
    with pytest.raises(ValidationError, match="repeated"):
        FocusColumn(timelines=[timeline, timeline])
    with pytest.raises(ValidationError, match=r"timelines\[0\]"):
        FocusColumn(timelines=["a"])  # type: ignore[list-item]
    with pytest.raises(ValidationError, match="limit"):
        FocusColumn(timelines=[timeline]).rank(MONDAY, limit=-1)
