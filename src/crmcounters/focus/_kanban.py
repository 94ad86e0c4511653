"""The Kanban board (F1, F4): each stage's items in focus order, with their badges."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import attrs

from .. import _validate as v
from .._errors import ValidationError
from .._items import Item
from .._pipelines import Stage, check_entity_type
from .._storage import Storage
from ._order import rank_by_focus
from ._timeline import focus_timeline
from ._unread import unread_messages

__all__ = ["BadgeFunction", "KanbanBoard", "KanbanCard", "KanbanColumn", "kanban_board"]

#: Computes a card's counter badge: (storage, item id, viewer id, now) -> badge (C6).
#: The counters' `item_badge` has this shape; any callable of it will do.
BadgeFunction = Callable[[Storage, str, str, datetime], object]


@attrs.frozen(kw_only=True)
class KanbanCard:
    """One item on the board: its focus time (UTC), F3's unread flag, and its badge.

    `badge` is whatever the board's `badge` function returned for the viewer
    (the counters' C6 badge), or None when the board was built without one.
    """

    item: Item
    focus_time: datetime = attrs.field(validator=v.aware)
    unread: bool
    badge: object | None = None


@attrs.frozen(kw_only=True)
class KanbanColumn:
    """One stage of the board: its cards in focus order (F1); `total` counts all its items."""

    stage: Stage
    cards: tuple[KanbanCard, ...]
    total: int
    valid_until: datetime | None = attrs.field(validator=v.optional_aware)


@attrs.frozen(kw_only=True)
class KanbanBoard:
    """A pipeline's Kanban board for one viewer at `at` (F1, F4, F5).

    Columns follow the pipeline's stage order. `valid_until` is when the
    ordering of some column would change by itself (F5); badges report their
    own validity.
    """

    entity_type: str
    pipeline_id: str
    viewer_id: str
    at: datetime = attrs.field(validator=v.aware)
    columns: tuple[KanbanColumn, ...]
    valid_until: datetime | None = attrs.field(validator=v.optional_aware)

    def column(self, stage_id: str) -> KanbanColumn:
        """The column of that stage, or `KeyError`."""
        for column in self.columns:
            if column.stage.id == stage_id:
                return column
        raise KeyError(stage_id)


def kanban_board(
    storage: Storage,
    entity_type: str,
    pipeline_id: str,
    viewer_id: str,
    now: datetime,
    *,
    limit: int | None = None,
    badge: BadgeFunction | None = None,
) -> KanbanBoard:
    """The Kanban board of one pipeline as `viewer_id` sees it at `now` (F1, F4).

    Each stage lists the pipeline's items in focus order (focus time newest
    first, ties by item id descending), at most `limit` cards per column.
    `badge`, when given, is called once per shown card to fill its badge —
    pass the counters' `item_badge` (C6). Unknown pipeline or viewer ids raise
    `UnknownIdError`; a pipeline of another entity type is a `ValidationError`.
    """
    now = v.check_aware("now", now).astimezone(UTC)
    check_entity_type("entity_type", entity_type)
    pipeline = storage.pipeline(pipeline_id)
    if pipeline.entity_type != entity_type:
        raise ValidationError(
            "pipeline_id",
            f"pipeline {pipeline_id!r} is for {pipeline.entity_type}, not {entity_type}",
        )
    storage.user(viewer_id)  # an unknown viewer is an error, not an empty board
    by_stage: dict[str, list[Item]] = {stage.id: [] for stage in pipeline.stages}
    for item in storage.items():
        if item.pipeline_id == pipeline_id and item.entity_type == entity_type:
            by_stage.setdefault(item.stage_id, []).append(item)
    columns = []
    for stage in pipeline.stages:
        items = {item.id: item for item in by_stage[stage.id]}
        order = rank_by_focus(
            [focus_timeline(storage, item_id) for item_id in items], now, limit=limit
        )
        cards = tuple(
            KanbanCard(
                item=items[item_id],
                focus_time=focus,
                unread=bool(unread_messages(storage, item_id, now)),
                badge=None if badge is None else badge(storage, item_id, viewer_id, now),
            )
            for item_id, focus in order
        )
        columns.append(
            KanbanColumn(stage=stage, cards=cards, total=order.total, valid_until=order.valid_until)
        )
    changes = [column.valid_until for column in columns if column.valid_until is not None]
    return KanbanBoard(
        entity_type=entity_type,
        pipeline_id=pipeline_id,
        viewer_id=viewer_id,
        at=now,
        columns=tuple(columns),
        valid_until=min(changes) if changes else None,
    )
