"""The Kanban board (F1, F4, F5): stages in order, cards in focus order, one badge seam."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from _build_focus import MONDAY, item, message, portal, todo
from crmcounters import (
    KanbanCard,
    Storage,
    UnknownIdError,
    ValidationError,
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
    assert all(card.badge is None for card in new.cards)


def test_f5_the_board_knows_when_it_reorders_by_itself() -> None:
    board = kanban_board(_board_storage(), "deal", "p-deal", "anna", MONDAY)
    assert board.valid_until == MONDAY + 15 * MINUTE
    assert board.column("p-deal-work").valid_until is None


def test_f1_a_limit_shows_the_top_cards_and_keeps_the_total() -> None:
    board = kanban_board(_board_storage(), "deal", "p-deal", "anna", MONDAY, limit=1)
    new = board.column("p-deal-new")
    assert ([card.item.id for card in new.cards], new.total) == (["n3"], 3)


def test_c6_the_badge_seam_is_called_once_per_card_with_the_viewer() -> None:
    calls: list[tuple[str, str, datetime]] = []

    def badge(storage: Storage, item_id: str, viewer_id: str, now: datetime) -> str:
        calls.append((item_id, viewer_id, now))
        return f"badge:{item_id}"

    board = kanban_board(_board_storage(), "deal", "p-deal", "piotr", MONDAY, badge=badge)
    cards = [card for column in board.columns for card in column.cards]
    assert [card.badge for card in cards] == [f"badge:{card.item.id}" for card in cards]
    assert sorted(calls) == sorted((card.item.id, "piotr", MONDAY) for card in cards)


@pytest.mark.parametrize("entity", ["lead", "invoice", "smart:128"])
def test_f4_boards_exist_for_leads_invoices_and_smart_processes(entity: str) -> None:
    storage = portal()
    storage.add(item("x1", entity=entity), item("x2", entity=entity, stage="work"))
    pipeline = {"lead": "p-lead", "invoice": "p-invoice", "smart:128": "p-smart"}[entity]
    board = kanban_board(storage, entity, pipeline, "anna", MONDAY)
    assert [column.total for column in board.columns] == [1, 1, 0]
    assert isinstance(board.columns[0].cards[0], KanbanCard)


def test_f4_the_sample_portal_boards_are_in_focus_order() -> None:
    portal_ = read_portal(ROOT / "examples" / "data" / "sample_portal.json")
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
        kanban_board(storage, "quote", "p-deal", "anna", MONDAY)
