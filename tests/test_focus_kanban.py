"""The Kanban board (F1, F4, F5): stages in order, cards in focus order, with C6 badges."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, timedelta
from pathlib import Path

import attrs
import pytest

from _build_focus import MONDAY, incoming_call, item, message, portal, todo
from crmcounters import (
    AccessDeniedError,
    AccessLevel,
    AccessPolicy,
    Activity,
    Badge,
    BadgeColour,
    InMemoryStorage,
    ItemRecords,
    ItemViewed,
    KanbanBoard,
    KanbanCard,
    Settings,
    Storage,
    UnknownIdError,
    ValidationError,
    item_badge,
    kanban_board,
    order_by_focus,
    read_portal,
)

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
ROOT = Path(__file__).resolve().parent.parent


def _board_storage() -> Storage:
    storage = portal()
    storage.add(
        item("n1", stage="new", created=MONDAY - 3 * HOUR),
        item("n2", stage="new", created=MONDAY - 2 * HOUR, responsible="piotr"),
        item("n3", stage="new", created=MONDAY - 4 * HOUR),
        item("w1", stage="work", created=MONDAY - HOUR),
        item("lead1", entity="lead", stage="new"),
        todo("a1", "n3", deadline=MONDAY + 15 * MINUTE),
        message("m1", "n1", MONDAY - MINUTE),
    )
    return storage


def test_f4_the_board_has_one_column_per_stage_in_pipeline_order() -> None:
    board = kanban_board(_board_storage(), "deal", "p-deal", "anna", MONDAY)
    assert [column.stage.id for column in board.columns] == [
        "p-deal-new",
        "p-deal-work",
        "p-deal-won",
    ]
    assert [column.total for column in board.columns] == [3, 1, 0]
    assert board.column("p-deal-won").cards == ()


def test_f1_each_column_is_in_focus_order_with_unread_flags() -> None:
    storage = _board_storage()
    board = kanban_board(storage, "deal", "p-deal", "anna", MONDAY)
    new = board.column("p-deal-new")
    assert [card.item.id for card in new.cards] == ["n3", "n1", "n2"]  # reminder, message, rest
    assert [card.unread for card in new.cards] == [False, True, False]
    assert [card.focus_time for card in new.cards] == list(
        order_by_focus(storage, ["n1", "n2", "n3"], MONDAY).focus_times
    )
    assert all(card.badge is not None for card in new.cards)  # C6 badges by default


def test_f5_the_board_knows_when_it_reorders_by_itself() -> None:
    board = kanban_board(_board_storage(), "deal", "p-deal", "anna", MONDAY)
    assert board.valid_until == MONDAY + 15 * MINUTE
    assert board.column("p-deal-work").valid_until is None


def test_f3_f5_the_board_changes_when_a_shown_card_is_viewed() -> None:
    """A stored view of an unread card flips its flag: the board is valid only until then."""
    storage = portal()
    storage.add(
        item("w1", stage="work"),
        message("m1", "w1", MONDAY - MINUTE),
        ItemViewed(id="v1", item_id="w1", at=MONDAY + 5 * MINUTE, user_id="anna"),
    )
    board = kanban_board(storage, "deal", "p-deal", "anna", MONDAY)
    assert board.column("p-deal-work").cards[0].unread
    assert board.valid_until == MONDAY + 5 * MINUTE
    later = kanban_board(storage, "deal", "p-deal", "anna", MONDAY + 5 * MINUTE)
    assert not later.column("p-deal-work").cards[0].unread


def test_f3_f4_an_incoming_activity_shows_the_card_unread() -> None:
    storage = portal()
    storage.add(item("w1", stage="work"), incoming_call("c1", "w1", MONDAY - MINUTE))
    board = kanban_board(storage, "deal", "p-deal", "anna", MONDAY)
    assert board.column("p-deal-work").cards[0].unread


def test_f1_a_limit_shows_the_top_cards_and_keeps_the_total() -> None:
    board = kanban_board(_board_storage(), "deal", "p-deal", "anna", MONDAY, limit=1)
    new = board.column("p-deal-new")
    assert ([card.item.id for card in new.cards], new.total) == (["n3"], 3)


def _card(board: KanbanBoard, item_id: str) -> KanbanCard:
    return next(
        card for column in board.columns for card in column.cards if card.item.id == item_id
    )


def _badge(board: KanbanBoard, item_id: str) -> Badge:
    badge = _card(board, item_id).badge
    assert badge is not None
    return badge


def _badge_storage(storage: InMemoryStorage | None = None) -> InMemoryStorage:
    """Anna's and Piotr's deals in the new stage, each with a telling badge."""
    storage = portal() if storage is None else storage
    storage.add(
        item("red", created=MONDAY - 5 * HOUR),
        item("green", created=MONDAY - 6 * HOUR),
        item("dot", created=MONDAY - 7 * HOUR),
        item("quiet", created=MONDAY - 8 * HOUR),
        item("p-lit", created=MONDAY - 9 * HOUR, responsible="piotr"),
        item("p-dot", created=MONDAY - 10 * HOUR, responsible="piotr"),
        todo("overdue", "red", deadline=MONDAY - HOUR),
        incoming_call("call", "green", MONDAY - 2 * HOUR),
        todo("later", "dot", deadline=MONDAY + 2 * HOUR),
        todo("p-overdue", "p-lit", deadline=MONDAY - HOUR, responsible="piotr"),
        todo("p-later", "p-dot", deadline=MONDAY + 3 * HOUR, responsible="piotr"),
    )
    return storage


def _shape(badge: Badge) -> tuple[BadgeColour, int, bool]:
    return badge.colour, badge.number, badge.dot


def test_c6_f4_own_cards_carry_red_and_green_badges_by_default() -> None:
    board = kanban_board(_badge_storage(), "deal", "p-deal", "anna", MONDAY)
    assert _shape(_badge(board, "red")) == (BadgeColour.RED, 1, False)
    assert _shape(_badge(board, "green")) == (BadgeColour.GREEN, 1, False)
    assert _shape(_badge(board, "quiet")) == (BadgeColour.GREY, 0, False)


def test_c6_f4_another_employees_card_is_grey_non_zero() -> None:
    board = kanban_board(_badge_storage(), "deal", "p-deal", "anna", MONDAY)
    assert _shape(_badge(board, "p-lit")) == (BadgeColour.GREY, 1, False)
    # Piotr sees the same item red: the badge depends on the viewer.
    own = kanban_board(_badge_storage(), "deal", "p-deal", "piotr", MONDAY)
    assert _shape(_badge(own, "p-lit")) == (BadgeColour.RED, 1, False)
    assert _shape(_badge(own, "red")) == (BadgeColour.GREY, 1, False)


def test_c6_f4_grey_zero_with_a_dot_when_nothing_is_lit_yet() -> None:
    board = kanban_board(_badge_storage(), "deal", "p-deal", "anna", MONDAY)
    assert _shape(_badge(board, "dot")) == (BadgeColour.GREY, 0, True)
    assert _shape(_badge(board, "p-dot")) == (BadgeColour.GREY, 0, True)


def test_c6_f4_card_badges_are_item_badge_as_the_viewer_sees_it() -> None:
    storage = _badge_storage()
    see_all = AccessPolicy(default=AccessLevel.ALL)
    for viewer in ("anna", "piotr", "keala"):
        board = kanban_board(storage, "deal", "p-deal", viewer, MONDAY)
        for column in board.columns:
            for card in column.cards:
                expected = item_badge(storage, card.item.id, viewer, MONDAY, policy=see_all)
                assert card.badge == attrs.evolve(expected, at=MONDAY.astimezone(UTC))


def test_c7_f4_a_policy_hides_the_badges_of_responsibles_out_of_reach() -> None:
    storage = _badge_storage()
    board = kanban_board(storage, "deal", "p-deal", "anna", MONDAY, policy=AccessPolicy())
    new = board.column("p-deal-new")
    assert {card.item.id: card.badge is None for card in new.cards} == {
        "red": False,
        "green": False,
        "dot": False,
        "quiet": False,
        "p-lit": True,
        "p-dot": True,
    }  # the cards are still listed: who may open the board is the host's business
    with pytest.raises(AccessDeniedError):
        item_badge(storage, "p-lit", "anna", MONDAY)
    nobody = AccessPolicy(default=AccessLevel.NONE)
    hidden = kanban_board(storage, "deal", "p-deal", "anna", MONDAY, policy=nobody)
    assert all(card.badge is None for card in hidden.column("p-deal-new").cards)
    see_all = AccessPolicy(default=AccessLevel.ALL)
    shown = kanban_board(storage, "deal", "p-deal", "anna", MONDAY, policy=see_all)
    assert shown == kanban_board(storage, "deal", "p-deal", "anna", MONDAY)


def test_c9_f5_the_board_changes_when_a_shown_badge_lights() -> None:
    storage = _badge_storage()
    board = kanban_board(storage, "deal", "p-deal", "anna", MONDAY)
    # "later" (deadline +2h) lights 15 minutes before it; "p-later" at +2h45.
    lights = MONDAY + 2 * HOUR - 15 * MINUTE
    assert _badge(board, "dot").valid_until == lights
    assert _badge(board, "p-dot").valid_until == MONDAY + 3 * HOUR - 15 * MINUTE
    assert board.valid_until == lights  # the dot turns red, and "dot" rises (F2)
    # Just before, the badge is unchanged; at valid_until it is red.
    before = kanban_board(storage, "deal", "p-deal", "anna", lights - MINUTE)
    assert _shape(_badge(before, "dot")) == (BadgeColour.GREY, 0, True)
    after = kanban_board(storage, "deal", "p-deal", "anna", lights)
    assert _shape(_badge(after, "dot")) == (BadgeColour.RED, 1, False)


def test_c9_f5_a_badge_lighting_alone_bounds_the_board_validity() -> None:
    storage = portal()
    storage.add(
        item("solo", created=MONDAY - HOUR),
        todo("call-back", "solo", deadline=MONDAY + 2 * HOUR, offsets=(60,)),
    )
    # Focus rises at +1h (its own offset) and +2h; the badge lights at +1h too.
    board = kanban_board(storage, "deal", "p-deal", "anna", MONDAY)
    assert _badge(board, "solo").valid_until == MONDAY + HOUR
    assert board.valid_until == MONDAY + HOUR
    # With an urgency offset longer than the focus offsets, the badge comes first.
    storage = portal(Settings(urgency_offset_minutes=120, focus_reminder_offsets=(0,)))
    storage.add(
        item("solo", created=MONDAY - HOUR),
        todo("call-back", "solo", deadline=MONDAY + 3 * HOUR),
    )
    board = kanban_board(storage, "deal", "p-deal", "anna", MONDAY)
    assert _badge(board, "solo").valid_until == MONDAY + HOUR
    assert board.column("p-deal-new").valid_until == MONDAY + HOUR
    assert board.valid_until == MONDAY + HOUR


@pytest.mark.parametrize("viewer", ["keala", "tama"])
def test_c6_f4_badges_are_by_instant_for_viewers_at_utc_minus_10_and_plus_14(viewer: str) -> None:
    storage = portal()
    storage.add(
        item("mine", responsible=viewer),
        todo("due", "mine", deadline=MONDAY + 15 * MINUTE, responsible=viewer),
    )
    local = MONDAY.astimezone(storage.user(viewer).zone)
    board = kanban_board(storage, "deal", "p-deal", viewer, local)
    assert _shape(_badge(board, "mine")) == (BadgeColour.RED, 1, False)  # lit at MONDAY
    before = kanban_board(storage, "deal", "p-deal", viewer, local - MINUTE)
    assert _shape(_badge(before, "mine")) == (BadgeColour.GREY, 0, True)


def test_c6_f4_each_card_reads_only_its_own_activities_in_one_batch() -> None:
    """C6, F4, issue 15: the shown cards' records are read in one batch, nothing else."""
    storage = _SpyStorage()
    _badge_storage(storage)
    board = kanban_board(storage, "deal", "p-deal", "anna", MONDAY, limit=2)
    shown = [card.item.id for column in board.columns for card in column.cards]
    assert len(storage.batches) == 1
    assert sorted(storage.batches[0]) == sorted(shown)
    assert storage.open_reads == []
    assert storage.user_reads == 0


class _SpyStorage(InMemoryStorage):
    """The test portal, counting batched reads and reads of open activities."""

    def __init__(self) -> None:
        super().__init__(None)
        self.add(*portal().users(), *portal().pipelines())
        self.open_reads: list[str] = []
        self.user_reads = 0
        self.batches: list[list[str]] = []

    def records_of_items(self, item_ids: Collection[str]) -> Mapping[str, ItemRecords]:
        self.batches.append(list(item_ids))
        return super().records_of_items(item_ids)

    def open_activities_of_item(self, item_id: str) -> Collection[Activity]:
        self.open_reads.append(item_id)
        return super().open_activities_of_item(item_id)

    def open_activities_of_user(self, user_id: str) -> Collection[Activity]:
        self.user_reads += 1
        return super().open_activities_of_user(user_id)


@pytest.mark.parametrize("entity", ["lead", "invoice", "smart:128"])
def test_f4_boards_exist_for_leads_invoices_and_smart_processes(entity: str) -> None:
    storage = portal()
    storage.add(item("x1", entity=entity), item("x2", entity=entity, stage="work"))
    pipeline = {"lead": "p-lead", "invoice": "p-invoice", "smart:128": "p-smart"}[entity]
    board = kanban_board(storage, entity, pipeline, "anna", MONDAY)
    assert [column.total for column in board.columns] == [1, 1, 0]
    assert isinstance(board.columns[0].cards[0], KanbanCard)


def test_f4_the_sample_portal_boards_are_in_focus_order() -> None:
    portal_ = read_portal(ROOT / "src" / "crmcounters" / "_sample" / "sample_portal.json")
    storage = portal_.storage
    assert portal_.as_of is not None
    for pipeline in storage.pipelines():
        board = kanban_board(storage, pipeline.entity_type, pipeline.id, "u-marek", portal_.as_of)
        for column in board.columns:
            keys = [(card.focus_time, card.item.id) for card in column.cards]
            assert keys == sorted(keys, reverse=True)
            assert len(column.cards) == column.total


def test_g5_a_pipeline_of_another_entity_type_is_refused() -> None:
    with pytest.raises(ValidationError, match="is for deal, not lead"):
        kanban_board(_board_storage(), "lead", "p-deal", "anna", MONDAY)


def test_g5_unknown_pipeline_viewer_or_entity_type_is_an_error() -> None:
    storage = _board_storage()
    with pytest.raises(UnknownIdError, match="p-none"):
        kanban_board(storage, "deal", "p-none", "anna", MONDAY)
    with pytest.raises(UnknownIdError, match="nobody"):
        kanban_board(storage, "deal", "p-deal", "nobody", MONDAY)
    with pytest.raises(ValidationError, match="entity type"):
        kanban_board(storage, "spaceship", "p-deal", "anna", MONDAY)
