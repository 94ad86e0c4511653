"""Checking a write batch before any of it is applied (G5), for every storage.

`check_write` refuses duplicate ids, replacements of unknown records, dangling
references and department loops, for a write that adds some records, replaces
others, or both at once. It asks what is already stored through the
small `StoredRecords` protocol, so `InMemoryStorage` and the SQL adapter share
one set of rules.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Collection, Iterable
from typing import Protocol

from ._activities import Activity
from ._errors import (
    CrmCountersError,
    DanglingReferenceError,
    DuplicateIdError,
    IntegrityError,
    UnknownIdError,
    ValidationError,
)
from ._events import (
    CommentAdded,
    HistoryEntryAdded,
    IncomingMessage,
    ItemViewed,
    StageChanged,
    TimelineEvent,
)
from ._items import Item
from ._pipelines import Pipeline
from ._tasks import Task
from ._users import Department, User

__all__ = [
    "KINDS",
    "NOTHING_STORED",
    "Record",
    "StoredRecords",
    "check_write",
    "record_kind",
    "records_of",
]

logger = logging.getLogger("crmcounters")

#: Anything a storage's `add` accepts.
Record = User | Department | Pipeline | Item | Activity | Task | TimelineEvent

#: The record kinds, as errors name them.
KINDS = ("user", "department", "pipeline", "item", "activity", "task", "event")

_EVENT_TYPES = (CommentAdded, IncomingMessage, StageChanged, ItemViewed, HistoryEntryAdded)


def record_kind(record: object) -> str:
    """The kind of a record ("user", "item", "event"…), or `ValidationError` for anything else."""
    if isinstance(record, User):
        return "user"
    if isinstance(record, Department):
        return "department"
    if isinstance(record, Pipeline):
        return "pipeline"
    if isinstance(record, Item):
        return "item"
    if isinstance(record, Activity):
        return "activity"
    if isinstance(record, Task):
        return "task"
    if isinstance(record, _EVENT_TYPES):
        return "event"
    raise ValidationError("record", f"cannot store a {type(record).__name__}")


class StoredRecords(Protocol):
    """What the batch checks need to know about what a storage already holds."""

    def stored_ids(self, kind: str, ids: Collection[str]) -> Collection[str]:
        """Those of `ids` stored as records of `kind`."""
        ...

    def stored_pipeline(self, pipeline_id: str) -> Pipeline | None:
        """The stored pipeline with that id, if any."""
        ...

    def stored_department(self, department_id: str) -> Department | None:
        """The stored department with that id, if any."""
        ...

    def items_in_pipeline(self, pipeline_id: str) -> Iterable[Item]:
        """The stored items that sit in that pipeline."""
        ...

    def stored_item(self, item_id: str) -> Item | None:
        """The stored item with that id, if any (the stages of its events must be its)."""
        ...


class _NothingStored:
    """What an empty storage holds: nothing (checks a whole portal against itself)."""

    def stored_ids(self, kind: str, ids: Collection[str]) -> Collection[str]:
        """None of them."""
        return ()

    def stored_pipeline(self, pipeline_id: str) -> Pipeline | None:
        """None."""
        return None

    def stored_department(self, department_id: str) -> Department | None:
        """None."""
        return None

    def items_in_pipeline(self, pipeline_id: str) -> Iterable[Item]:
        """None."""
        return ()

    def stored_item(self, item_id: str) -> Item | None:
        """None."""
        return None


#: The `StoredRecords` of an empty storage: a write checked against it must hold together alone.
NOTHING_STORED: StoredRecords = _NothingStored()


def records_of(field: str, records: Iterable[Record]) -> tuple[Record, ...]:
    """The records of a `write` argument as a tuple; one record or a string is refused."""
    if isinstance(records, str) or not isinstance(records, Iterable):
        raise ValidationError(
            field, f"expected a collection of records, got {type(records).__name__}"
        )
    return tuple(records)


def check_write(
    added: tuple[Record, ...],
    replaced: tuple[Record, ...],
    stored: StoredRecords,
    *,
    look_up_together: bool = False,
    activity_types: Collection[str] | None = None,
) -> None:
    """Raise unless `added` (fresh ids) and `replaced` (stored ids) can be written together.

    One validation pass over both, before anything is written: an id may
    appear once in the whole write, and every reference must resolve to what
    is stored or to either half (users and departments refer to each other).
    With `look_up_together` (a database), the referenced ids are looked up
    in one `stored_ids` call per kind first, not one per id.
    `activity_types` are the configured activity type ids (A1) an activity's
    `type_id` must name; None leaves type ids unchecked.
    A refusal is logged (logger "crmcounters", INFO) before it is raised.
    """
    try:
        _check_write(
            added,
            replaced,
            stored,
            look_up_together=look_up_together,
            activity_types=activity_types,
        )
    except CrmCountersError as error:
        logger.info(
            "refused a write of %d new and %d replaced records: %s",
            len(added),
            len(replaced),
            error,
        )
        raise


def _check_write(
    added: tuple[Record, ...],
    replaced: tuple[Record, ...],
    stored: StoredRecords,
    *,
    look_up_together: bool,
    activity_types: Collection[str] | None,
) -> None:
    batch: dict[str, dict[str, Record]] = {}
    fresh: dict[str, set[str]] = {}
    for replacing, records in ((False, added), (True, replaced)):
        for record in records:
            kind = record_kind(record)
            if record.id in batch.setdefault(kind, {}):
                raise DuplicateIdError(kind, record.id)
            if replacing and kind == "event":
                raise ValidationError("record", "timeline events are history: add, never replace")
            batch[kind][record.id] = record
            if not replacing:
                fresh.setdefault(kind, set()).add(record.id)
    for kind, pending in batch.items():
        found = stored.stored_ids(kind, tuple(pending))
        new = fresh.get(kind, set())
        for record_id in pending:
            if record_id in new:
                if record_id in found:
                    raise DuplicateIdError(kind, record_id)
            elif record_id not in found:
                raise UnknownIdError(kind, record_id)
    view = _BatchView(stored, batch, activity_types)
    if look_up_together:
        view.look_up((*added, *replaced))
    for record in (*added, *replaced):
        view.check(record)
    view.check_department_tree()


class _BatchView:
    """What the storage would hold after a batch: checks references before any write."""

    def __init__(
        self,
        stored: StoredRecords,
        batch: dict[str, dict[str, Record]],
        activity_types: Collection[str] | None = None,
    ) -> None:
        self._stored = stored
        self._batch = batch
        self._activity_types = activity_types
        self._known: dict[str, set[str]] = {}
        self._wanted: dict[str, set[str]] | None = None
        self._pipelines: dict[str, Pipeline | None] = {}

    def look_up(self, records: tuple[Record, ...]) -> None:
        """Find which of the ids these records refer to are stored, one query per kind."""
        wanted: dict[str, set[str]] = {}
        self._wanted = wanted
        try:
            for record in records:
                if not isinstance(record, Pipeline):  # its items are read when it is checked
                    with contextlib.suppress(CrmCountersError):  # the checking pass says it
                        self.check(record)
        finally:
            self._wanted = None
        for kind, ids in wanted.items():
            self._known.setdefault(kind, set()).update(self._stored.stored_ids(kind, tuple(ids)))

    def _exists(self, kind: str, record_id: str) -> bool:
        if record_id in self._batch.get(kind, {}):
            return True
        known = self._known.setdefault(kind, set())
        if record_id not in known and self._stored.stored_ids(kind, (record_id,)):
            known.add(record_id)
        return record_id in known

    def _require(self, record: Record, field: str, kind: str, target: str | None) -> None:
        if self._wanted is not None:  # looking up, not checking yet
            if target is not None and target not in self._batch.get(kind, {}):
                self._wanted.setdefault(kind, set()).add(target)
            return
        if target is not None and not self._exists(kind, target):
            raise DanglingReferenceError(record_kind(record), record.id, field, kind, target)

    def _pipeline(self, record: Record, field: str, target: str | None) -> Pipeline | None:
        if target is None:
            return None
        pending = self._batch.get("pipeline", {}).get(target)
        if isinstance(pending, Pipeline):
            found: Pipeline | None = pending
        elif target in self._pipelines:  # items of a batch share a few pipelines: read each once
            found = self._pipelines[target]
        else:
            found = self._pipelines[target] = self._stored.stored_pipeline(target)
        if found is None:
            raise DanglingReferenceError(record_kind(record), record.id, field, "pipeline", target)
        return found

    def check(self, record: Record) -> None:
        """Raise if `record` refers to anything missing (G5)."""
        need = self._require
        if isinstance(record, User):
            need(record, "department_id", "department", record.department_id)
        elif isinstance(record, Department):
            need(record, "head_id", "user", record.head_id)
            need(record, "parent_id", "department", record.parent_id)
        elif isinstance(record, Item):
            self._check_item(record, record)
        elif isinstance(record, Activity):
            for index, item_id in enumerate(record.item_ids):
                need(record, f"item_ids[{index}]", "item", item_id)
            need(record, "responsible_id", "user", record.responsible_id)
            need(record, "author_id", "user", record.author_id)
            self._check_type(record)
        elif isinstance(record, Task):
            need(record, "item_id", "item", record.item_id)
            need(record, "responsible_id", "user", record.responsible_id)
            for index, observer in enumerate(record.observer_ids):
                need(record, f"observer_ids[{index}]", "user", observer)
            pipeline = self._pipeline(record, "rule_pipeline_id", record.rule_pipeline_id)
            stage = record.rule_stage_id
            if pipeline is not None and stage is not None and not pipeline.has_stage(stage):
                raise DanglingReferenceError("task", record.id, "rule_stage_id", "stage", stage)
        elif isinstance(record, CommentAdded | HistoryEntryAdded):
            need(record, "item_id", "item", record.item_id)
            need(record, "author_id", "user", record.author_id)
        elif isinstance(record, StageChanged):
            need(record, "item_id", "item", record.item_id)
            need(record, "by_user_id", "user", record.by_user_id)
            self._check_stages(record)
        elif isinstance(record, ItemViewed):
            need(record, "item_id", "item", record.item_id)
            need(record, "user_id", "user", record.user_id)
        elif isinstance(record, IncomingMessage):
            need(record, "item_id", "item", record.item_id)
        elif isinstance(record, Pipeline):
            moving = self._batch.get("item", {})
            for item in self._stored.items_in_pipeline(record.id):
                if item.id not in moving:
                    self._check_item(record, item)

    def _check_stages(self, event: StageChanged) -> None:
        """The stages a stage change names must be stages of its item's pipeline (G5)."""
        if self._wanted is not None:  # looking up ids: stages are checked in the real pass
            return
        pending = self._batch.get("item", {}).get(event.item_id)
        item = pending if isinstance(pending, Item) else self._stored.stored_item(event.item_id)
        if item is None or item.pipeline_id is None:
            if event.to_stage_id is not None and item is not None:
                raise IntegrityError(
                    "event", event.id, "to_stage_id", f"a {item.entity_type} has no stages"
                )
            return
        pipeline = self._pipeline(event, "item_id", item.pipeline_id)
        if pipeline is None:  # pragma: no cover - the item's own check refuses it first
            return
        for field, stage in (
            ("to_stage_id", event.to_stage_id),
            ("from_stage_id", event.from_stage_id),
        ):
            if stage is not None and not pipeline.has_stage(stage):
                raise DanglingReferenceError("event", event.id, field, "stage", stage)

    def _check_type(self, activity: Activity) -> None:
        """An activity's type must be one the settings configure (A1)."""
        types, type_id = self._activity_types, activity.type_id
        if self._wanted is not None or types is None or type_id is None:
            return  # looking ids up, or nothing to check
        if type_id not in types:
            raise DanglingReferenceError(
                "activity", activity.id, "type_id", "activity type", type_id
            )

    def _check_item(self, blamed: Record, item: Item) -> None:
        """Check an item's references; errors name `blamed` (the item, or its new pipeline)."""
        field = "pipeline_id" if blamed is item else f"stages (item {item.id!r})"
        self._require(item, "responsible_id", "user", item.responsible_id)
        pipeline = self._pipeline(item, "pipeline_id", item.pipeline_id)
        if pipeline is None or item.stage_id is None:  # contacts and companies have none
            return
        if pipeline.entity_type != item.entity_type:
            raise IntegrityError(
                record_kind(blamed),
                blamed.id,
                field,
                f"pipeline {pipeline.id!r} is for {pipeline.entity_type}, not {item.entity_type}",
            )
        if not pipeline.has_stage(item.stage_id):
            if blamed is item:
                raise DanglingReferenceError("item", item.id, "stage_id", "stage", item.stage_id)
            raise IntegrityError(
                "pipeline", blamed.id, field, f"would drop stage {item.stage_id!r} in use"
            )

    def _department(self, department_id: str) -> Department:
        pending = self._batch.get("department", {}).get(department_id)
        if isinstance(pending, Department):
            return pending
        found = self._stored.stored_department(department_id)
        if found is None:  # pragma: no cover - every parent was checked to exist
            raise UnknownIdError("department", department_id)
        return found

    def check_department_tree(self) -> None:
        """Departments must form a tree: no parent chain may loop."""
        for department_id in self._batch.get("department", {}):
            seen = {department_id}
            parent = self._department(department_id).parent_id
            while parent is not None:
                if parent in seen:
                    raise IntegrityError(
                        "department", department_id, "parent_id", "the department tree would loop"
                    )
                seen.add(parent)
                parent = self._department(parent).parent_id
