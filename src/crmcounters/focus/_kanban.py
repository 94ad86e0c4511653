"""The Kanban board (F1, F4): each stage's items in focus order, with their C6 badges."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

import attrs

from .. import _validate as v
from .._access import AccessPolicy
from .._badges import Badge, badge_of_records
from .._errors import ValidationError
from .._items import Item
from .._pipelines import Stage, check_entity_type
from .._records import ItemRecords, one_state, records_of_items, zones_of_users
from .._settings import CounterMode, PlannedRule, Settings
from .._storage import Storage
from ._order import _check_limit
from ._pages import (
    FocusKey,
    FocusPage,
    PagedFocusStorage,
    decode_cursor,
    encode_cursor,
    scratch_page,
)
from ._timeline import focus_timelines
from ._unread import unread_state

__all__ = ["KanbanBoard", "KanbanCard", "KanbanColumn", "kanban_board"]


@attrs.frozen(kw_only=True)
class KanbanCard:
    """One item on the board: its focus time (UTC), F3's unread flag, and its badge.

    `badge` is the item's C6 badge as the board's viewer sees it (grey for
    another employee's item), or None when the board's access policy does not
    let the viewer read the item's responsible (C7).
    """

    item: Item
    focus_time: datetime = attrs.field(converter=v.utc, validator=v.aware)
    unread: bool
    badge: Badge | None


@attrs.frozen(kw_only=True)
class KanbanColumn:
    """One stage of the board: a page of its cards in focus order (F1); `total` counts them all.

    `valid_until` is when the column would change by itself: its order (F5),
    one of its cards' badges (C9) or Unread flags (F3, from stored events), or
    None. `next_cursor` continues this column after its last card
    (`kanban_board(..., cursor=...)`), or is None when no card follows.
    """

    stage: Stage
    cards: tuple[KanbanCard, ...]
    total: int
    valid_until: datetime | None = attrs.field(converter=v.optional_utc, validator=v.optional_aware)
    next_cursor: str | None = None


@attrs.frozen(kw_only=True)
class KanbanBoard:
    """A pipeline's Kanban board for one viewer at `at` (F1, F4, F5).

    Columns follow the pipeline's stage order. `valid_until` is when some
    column would change by itself, by reordering (F5) or by a shown badge
    lighting (C9): the earliest of the columns' `valid_until`, or None.
    """

    entity_type: str
    pipeline_id: str
    viewer_id: str
    at: datetime = attrs.field(converter=v.utc, validator=v.aware)
    columns: tuple[KanbanColumn, ...]
    valid_until: datetime | None = attrs.field(converter=v.optional_utc, validator=v.optional_aware)

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
    cursor: str | None = None,
    policy: AccessPolicy | None = None,
) -> KanbanBoard:
    """The Kanban board of one pipeline as `viewer_id` sees it at `now` (F1, F4).

    Each stage lists the items of the pipeline in focus order (focus time
    newest first, ties by item id descending), at most `limit` cards per
    column; who may open a board is the host's business. A `cursor` (a
    column's `next_cursor`) continues that one column: the board then holds
    only it, with its next `limit` cards. Each shown card
    carries its C6 badge as the viewer sees it (grey for other employees'
    items). With a `policy`, cards of responsibles the viewer may not read
    (C7) in this pipeline's section get `badge=None` instead; without one,
    every card gets its badge.
    Unknown pipeline or viewer ids raise `UnknownIdError`; a pipeline of
    another entity type is a `ValidationError`, and so is a cursor of
    another board (naming `cursor`).
    A storage with `kanban_focus_page` (`PagedFocusStorage`, such as
    `InMemoryStorage`) answers each page itself; others are read whole. The
    shown cards' records are read in one batch (`BatchedRecordStorage`, such
    as `InMemoryStorage` and `SqlStorage`: a constant number of queries
    whatever `limit`), else item by item.
    """
    now = v.instant("now", now)
    check_entity_type("entity_type", entity_type)
    _check_limit(limit)
    with one_state(storage):  # one state of a database, one transaction for the whole call
        pipeline = storage.pipeline(pipeline_id)
        if pipeline.entity_type != entity_type:
            raise ValidationError(
                "pipeline_id",
                f"pipeline {pipeline_id!r} is for {pipeline.entity_type}, not {entity_type}",
            )
        storage.user(viewer_id)  # an unknown viewer is an error, not an empty board
        stages: tuple[Stage, ...] = pipeline.stages
        after: FocusKey | None = None
        if cursor is not None:
            stage, after = _continued_stage(cursor, entity_type, pipeline_id, stages)
            stages = (stage,)
        pages = _pages(storage, entity_type, pipeline_id, stages, now, limit, after)
        # One batched read for every card of the board (issue 15): items, activities, events.
        records = records_of_items(
            storage, (item_id for page in pages for item_id in page.item_ids)
        )
        settings = storage.settings
        zone_of = zones_of_users(storage, _zone_users(settings, records.values()))
        readable: dict[str, bool] = {}  # responsible id -> may the viewer read them (C7)

        def badge_of(record: ItemRecords) -> Badge | None:
            item = record.item
            if policy is not None:
                who = item.responsible_id
                if who not in readable:
                    readable[who] = policy.can_view(
                        storage, viewer_id, who, entity_type=entity_type, pipeline_id=pipeline_id
                    )
                if not readable[who]:
                    return None
            return badge_of_records(
                item, record.open_activities, viewer_id, now, settings=settings, zone_of=zone_of
            )

        columns = []
        for stage, page in zip(stages, pages, strict=True):
            cards = []
            unread_changes = []
            for item_id, focus in zip(page.item_ids, page.focus_times, strict=True):
                record = records[item_id]
                # Both the Unread flag and its next change come from the same records (F3).
                unread, unread_change = unread_state(
                    record.item, record.activities, record.events, now
                )
                cards.append(
                    KanbanCard(
                        item=record.item, focus_time=focus, unread=unread, badge=badge_of(record)
                    )
                )
                unread_changes.append(unread_change)
            column_changes = [
                change
                for change in (
                    page.valid_until,
                    *(card.badge.valid_until for card in cards if card.badge is not None),
                    *unread_changes,
                )
                if change is not None
            ]
            last = page.last_key
            columns.append(
                KanbanColumn(
                    stage=stage,
                    cards=tuple(cards),
                    total=page.total,
                    valid_until=min(column_changes) if column_changes else None,
                    next_cursor=(
                        encode_cursor(_identity(entity_type, pipeline_id, stage.id), last)
                        if page.more and last is not None
                        else None
                    ),
                )
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


def _zone_users(settings: Settings, records: Iterable[ItemRecords]) -> set[str]:
    """The users whose zones the badges ask for: none under C4; under C11 the items'
    responsibles, or the open activities' in activity-responsible mode (C2)."""
    if settings.planned_rule is not PlannedRule.DUE_TODAY:
        return set()
    if settings.counter_mode is CounterMode.ACTIVITY_RESPONSIBLE:
        return {a.responsible_id for record in records for a in record.open_activities}
    return {record.item.responsible_id for record in records}


def _identity(entity_type: str, pipeline_id: str, stage_id: str) -> dict[str, str]:
    return {
        "board": "kanban",
        "entity_type": entity_type,
        "pipeline_id": pipeline_id,
        "stage_id": stage_id,
    }


def _continued_stage(
    cursor: str, entity_type: str, pipeline_id: str, stages: tuple[Stage, ...]
) -> tuple[Stage, FocusKey]:
    """The stage a cursor continues on this board, and its key; else `ValidationError("cursor")`."""
    fields, key = decode_cursor(cursor, "kanban")
    if fields.get("entity_type") != entity_type or fields.get("pipeline_id") != pipeline_id:
        raise ValidationError(
            "cursor",
            f"a cursor of the {fields.get('entity_type')!r} board of pipeline "
            f"{fields.get('pipeline_id')!r}, not of {entity_type!r} {pipeline_id!r}",
        )
    for stage in stages:
        if stage.id == fields.get("stage_id"):
            return stage, key
    raise ValidationError(
        "cursor", f"stage {fields.get('stage_id')!r} is not in pipeline {pipeline_id!r}"
    )


@runtime_checkable
class _BoardPages(Protocol):
    """A `PagedFocusStorage` that answers several Kanban columns' pages in one go."""

    def kanban_focus_pages(
        self,
        entity_type: str,
        pipeline_id: str,
        stage_ids: Sequence[str],
        now: datetime,
        *,
        limit: int | None,
        after: FocusKey | None,
    ) -> list[FocusPage]:
        """`kanban_focus_page` of each stage, in order."""
        ...


def _pages(
    storage: Storage,
    entity_type: str,
    pipeline_id: str,
    stages: tuple[Stage, ...],
    now: datetime,
    limit: int | None,
    after: FocusKey | None,
) -> list[FocusPage]:
    """Each stage's page: asked of a `PagedFocusStorage`, else computed from every item."""
    if isinstance(storage, _BoardPages):  # every stage at once: a few statements (SqlStorage)
        stage_ids = [stage.id for stage in stages]
        return storage.kanban_focus_pages(
            entity_type, pipeline_id, stage_ids, now, limit=limit, after=after
        )
    if isinstance(storage, PagedFocusStorage):
        return [
            storage.kanban_focus_page(
                entity_type, pipeline_id, stage.id, now, limit=limit, after=after
            )
            for stage in stages
        ]
    by_stage: dict[str, list[str]] = {stage.id: [] for stage in stages}
    for item in storage.items():
        if item.pipeline_id == pipeline_id and item.entity_type == entity_type:
            ids = by_stage.get(item.stage_id or "")
            if ids is not None:
                ids.append(item.id)
    return [
        scratch_page(focus_timelines(storage, by_stage[stage.id]), now, limit=limit, after=after)
        for stage in stages
    ]
