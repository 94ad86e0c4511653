"""Pages and cursors of Kanban boards and Activities views (F1, F5, V2; issue 15)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from _build_focus import MONDAY, comment, item, portal, todo
from _pages import Scratch, kanban_walk, view_walk
from crmcounters import (
    Column,
    FocusPage,
    FocusTimeline,
    InMemoryStorage,
    PagedFocusStorage,
    ValidationError,
    activities_view,
    rank_by_focus,
)
from crmcounters.focus import kanban_board
from crmcounters.focus._live import LiveColumn
from crmcounters.focus._pages import encode_cursor, scratch_page

NOW = MONDAY.astimezone(UTC)


def board_portal(count: int = 23) -> InMemoryStorage:
    """`count` deals in one stage, each with a to-do due at its own minute, some shared."""
    storage = portal()
    storage.add(
        *(item(f"deal-{n:03d}", created=MONDAY - timedelta(days=40 + n)) for n in range(count))
    )
    storage.add(
        *(
            todo(
                f"a{n}", f"deal-{n:03d}", deadline=MONDAY + timedelta(minutes=(n * 37) % 600 - 300)
            )
            for n in range(count)
            if n % 4
        )
    )
    return storage


def cards(board_pages: list, stage: str) -> list[str]:  # type: ignore[type-arg]
    """Every card id of one stage across a walk's boards, in order."""
    found = []
    for board in board_pages:
        for column in board.columns:
            if column.stage.id == stage:
                found.extend(card.item.id for card in column.cards)
    return found


@pytest.mark.parametrize("engine", ["live", "scratch"])
def test_f1_kanban_pages_concatenate_to_the_whole_column(engine: str) -> None:
    """Page 2 is the next N in the same order (F1): the pages together are the whole column."""
    storage = board_portal()
    target = storage if engine == "live" else Scratch(storage)
    whole = kanban_board(target, "deal", "p-deal", "anna", NOW)
    walk = kanban_walk(target, "deal", "p-deal", "anna", NOW, limit=5)
    expected = [card.item.id for card in whole.column("p-deal-new").cards]
    assert cards(walk, "p-deal-new") == expected
    assert len(walk) == 5  # first board, then pages 2..5 of the 23-card column
    assert all(board.columns[0].total == 23 for board in walk[1:])
    assert walk[-1].columns[0].next_cursor is None
    assert len(walk[1].columns) == 1  # a continued board holds only its column


@pytest.mark.parametrize("engine", ["live", "scratch"])
def test_v2_view_pages_concatenate_to_the_whole_column(engine: str) -> None:
    """Activities view pages (V2): each column's pages, joined, are the unpaged column."""
    storage = board_portal()
    target = storage if engine == "live" else Scratch(storage)
    whole = activities_view(target, "anna", NOW)
    walk = view_walk(target, "anna", NOW, limit=3)
    for column in Column:
        joined = [i for view in walk if column in view.columns for i in view.columns[column]]
        assert joined == list(whole.columns[column])
        assert walk[0].totals[column] == len(whole.columns[column])
    assert len(walk) > 2
    assert all(len(view.columns) == 1 for view in walk[1:])  # one continued column each


def test_f1_a_cursor_survives_a_write_to_another_item() -> None:
    """A write to an item on page 1 leaves page 2 as it was (keyset paging)."""
    storage = board_portal()
    first = kanban_board(storage, "deal", "p-deal", "anna", NOW, limit=5).column("p-deal-new")
    cursor = first.next_cursor
    assert cursor is not None
    before = kanban_board(storage, "deal", "p-deal", "anna", NOW, limit=5, cursor=cursor)
    top = first.cards[0].item.id
    storage.add(comment("e-new", top, NOW - timedelta(minutes=1), "piotr"))  # lifts page 1's top
    after = kanban_board(storage, "deal", "p-deal", "anna", NOW, limit=5, cursor=cursor)
    assert after == before
    assert after == kanban_board(
        Scratch(storage), "deal", "p-deal", "anna", NOW, limit=5, cursor=cursor
    )


def test_f1_an_item_lifted_from_page_2_leaves_it() -> None:
    """An item of page 2 lifted above the cursor is no longer on page 2; the next one fills in."""
    storage = board_portal()
    first = kanban_board(storage, "deal", "p-deal", "anna", NOW, limit=5).column("p-deal-new")
    cursor = first.next_cursor
    assert cursor is not None
    before = kanban_board(storage, "deal", "p-deal", "anna", NOW, limit=5, cursor=cursor)
    lifted = before.columns[0].cards[0].item.id
    storage.add(comment("e-new", lifted, NOW, "piotr"))
    after = kanban_board(storage, "deal", "p-deal", "anna", NOW, limit=5, cursor=cursor)
    ids = [card.item.id for card in after.columns[0].cards]
    assert lifted not in ids
    assert ids[:4] == [card.item.id for card in before.columns[0].cards][1:]


def _cursor(body: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


GOOD = {
    "v": 1,
    "board": "kanban",
    "entity_type": "deal",
    "pipeline_id": "p-deal",
    "stage_id": "p-deal-new",
    "focus_time": NOW.isoformat(),
    "item_id": "deal-001",
}


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor!",
        "e30",  # {}
        _cursor({**GOOD, "v": 2}),
        _cursor({**GOOD, "board": "view"}),
        _cursor({**GOOD, "pipeline_id": "p-lead"}),
        _cursor({**GOOD, "entity_type": "lead"}),
        _cursor({**GOOD, "stage_id": "p-lead-new"}),
        _cursor({**GOOD, "focus_time": "yesterday"}),
        _cursor({**GOOD, "focus_time": "2026-12-14T09:00:00"}),  # naive
        _cursor({**GOOD, "item_id": 7}),
        base64.urlsafe_b64encode(b"[1, 2]").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        12,
    ],
)
def test_g5_kanban_refuses_a_foreign_or_broken_cursor(cursor: object) -> None:
    """A cursor that is not this board's is a ValidationError naming `cursor` (G5)."""
    storage = board_portal()
    with pytest.raises(ValidationError) as caught:
        kanban_board(storage, "deal", "p-deal", "anna", NOW, cursor=cursor)  # type: ignore[arg-type]
    assert caught.value.field == "cursor"


def test_g5_view_refuses_another_users_or_a_kanban_cursor() -> None:
    """A view cursor of another user, or of an unknown column, or a Kanban cursor, is refused."""
    storage = board_portal()
    key = (NOW, "deal-001")
    for cursor in (
        encode_cursor({"board": "view", "user_id": "piotr", "column": "today"}, key),
        encode_cursor({"board": "view", "user_id": "anna", "column": "someday"}, key),
        _cursor(GOOD),
    ):
        with pytest.raises(ValidationError) as caught:
            activities_view(storage, "anna", NOW, cursor=cursor)
        assert caught.value.field == "cursor"
    with pytest.raises(ValidationError) as limit:
        activities_view(storage, "anna", NOW, limit=-1)
    assert limit.value.field == "limit"


def test_in_memory_storage_is_a_paged_focus_storage() -> None:
    """InMemoryStorage answers pages itself (F1, V2); a storage without the methods does not."""
    assert isinstance(InMemoryStorage(), PagedFocusStorage)
    assert not isinstance(Scratch(InMemoryStorage()), PagedFocusStorage)


# -- the reference page ---------------------------------------------------------

BASE = datetime(2026, 12, 14, 9, 0, tzinfo=UTC)
_minutes = st.integers(min_value=-120, max_value=120).map(lambda n: BASE + timedelta(minutes=n))


@st.composite
def timelines(draw: st.DrawFn) -> list[FocusTimeline]:
    """A few timelines on a coarse grid of minutes, so keys and instants collide often."""
    ids = draw(st.lists(st.sampled_from([f"i{n}" for n in range(12)]), unique=True, max_size=10))
    return [
        FocusTimeline(
            item_id=item_id,
            created_at=draw(_minutes),
            instants=draw(st.lists(_minutes, max_size=4)),
        )
        for item_id in ids
    ]


@given(timelines(), _minutes, st.one_of(st.none(), st.integers(0, 6)))
def test_f5_scratch_page_without_cursor_is_rank_by_focus(
    found: list[FocusTimeline], now: datetime, limit: int | None
) -> None:
    """The reference page lists what rank_by_focus lists, with the same valid_until (F1, F5)."""
    page = scratch_page(found, now, limit=limit)
    order = rank_by_focus(found, now, limit=limit)
    assert page.item_ids == order.item_ids
    assert page.focus_times == order.focus_times
    assert page.total == order.total
    assert page.valid_until == order.valid_until
    assert page.more == (len(order) < order.total)


def _shown(page: FocusPage) -> tuple[tuple[str, ...], tuple[datetime, ...]]:
    return page.item_ids, page.focus_times


@given(timelines(), _minutes, st.integers(1, 4), st.integers(0, 10))
def test_f5_a_page_after_a_cursor_holds_exactly_until_valid_until(
    found: list[FocusTimeline], now: datetime, limit: int, skip: int
) -> None:
    """valid_until of a continued page is exact: the page holds until then, and changes then."""
    whole = scratch_page(found, now)
    if skip >= len(whole):
        return
    after = (whole.focus_times[skip], whole.item_ids[skip])
    page = scratch_page(found, now, limit=limit, after=after)
    assert page.item_ids == whole.item_ids[skip + 1 : skip + 1 + limit]
    instants = sorted({at for one in found for at in (one.created_at, *one.instants) if at > now})
    until = page.valid_until
    for at in instants:
        later = scratch_page(found, at, limit=limit, after=after)
        if until is None or at < until:
            assert _shown(later) == _shown(page), at
    if until is not None:
        assert _shown(scratch_page(found, until, limit=limit, after=after)) != _shown(page)


@given(
    timelines(),
    st.lists(st.tuples(_minutes, st.one_of(st.none(), timelines())), min_size=1, max_size=5),
    st.integers(1, 4),
)
def test_f5_a_live_column_pages_as_the_reference_at_any_now(
    found: list[FocusTimeline],
    steps: list[tuple[datetime, list[FocusTimeline] | None]],
    limit: int,
) -> None:
    """LiveColumn re-keyed forwards and backwards in time, items put and dropped, answers every
    page (after every cursor) exactly as scratch_page, valid_until included (F1, F5)."""
    column = LiveColumn({one.item_id: (one.created_at, one.instants) for one in found}, steps[0][0])
    current = {one.item_id: one for one in found}
    for now, changes in steps:
        for one in changes or ():
            if one.item_id in current and not one.instants:
                del current[one.item_id]
                column.discard(one.item_id)
            else:
                current[one.item_id] = one
                column.put(one.item_id, (one.created_at, one.instants))
        whole = scratch_page(current.values(), now)
        keys = [None, *zip(whole.focus_times, whole.item_ids, strict=True)]
        for after in keys:
            expected = scratch_page(current.values(), now, limit=limit, after=after)
            assert column.page(now, limit, after) == expected
        assert column.page(now, None, None) == whole


@given(
    st.lists(_minutes, max_size=12),
    st.lists(st.tuples(st.booleans(), _minutes), max_size=40),
    st.lists(st.one_of(st.none(), _minutes), max_size=5),
)
def test_sorted_keys_split_blocks_agree_with_a_sorted_list(
    start: list[datetime], steps: list[tuple[bool, datetime]], probes: list[datetime | None]
) -> None:
    """SortedKeys (the live columns' order, F1) with blocks of 2, so blocks split and empty
    out, walks like a sorted list."""
    import crmcounters.focus._live as live

    saved = live._LOAD
    live._LOAD = 2
    try:
        keys = live.SortedKeys((at, f"i{n}") for n, at in enumerate(start))
        plain = sorted((at, f"i{n}") for n, at in enumerate(start))
        for serial, (adding, at) in enumerate(steps):
            if adding or not plain:
                key = (at, f"s{serial}")
                keys.add(key)
                plain.append(key)
                plain.sort()
            else:
                key = plain.pop(serial % len(plain))
                keys.remove(key)
            assert list(keys) == plain
            assert len(keys) == len(plain)
        for probe in probes:
            key = None if probe is None else (probe, "i5")
            below = [one for one in plain if key is None or one < key]
            assert list(keys.below(key)) == below[::-1]
            if key is not None:
                above = [one for one in plain if one >= key]
                assert keys.first_from(key) == (above[0] if above else None)
    finally:
        live._LOAD = saved
