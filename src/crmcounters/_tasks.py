"""Tasks from the task tracker, each linked to one item (SPEC section 1)."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime

import attrs

from . import _validate as v
from ._errors import ValidationError

__all__ = ["Task", "TaskStatus"]


class TaskStatus(enum.StrEnum):
    """The task tracker's statuses."""

    NEW = "new"
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    SUPPOSEDLY_COMPLETED = "supposedly_completed"
    COMPLETED = "completed"
    DEFERRED = "deferred"
    DECLINED = "declined"


_CLOSED = frozenset({TaskStatus.COMPLETED, TaskStatus.DECLINED})


def _observers(values: Iterable[str]) -> tuple[str, ...]:
    return v.check_collection("observer_ids", values, "user ids")


def _status(value: TaskStatus | str) -> TaskStatus:
    return v.check_choice("status", TaskStatus, value)


@attrs.frozen(kw_only=True)
class Task:
    """A task linked to an item; `rule_id` and `rule_stage_id` say which rule created it (R4)."""

    id: str = attrs.field(validator=v.an_id)
    item_id: str = attrs.field(validator=v.an_id)
    title: str = attrs.field(validator=v.text)
    responsible_id: str = attrs.field(validator=v.an_id)
    created_at: datetime = attrs.field(converter=v.utc, validator=v.aware)
    status: TaskStatus = attrs.field(default=TaskStatus.NEW, converter=_status)
    description: str = attrs.field(default="", validator=v.text)
    observer_ids: tuple[str, ...] = attrs.field(default=(), converter=_observers, validator=v.ids)
    deadline: datetime | None = attrs.field(
        default=None, converter=v.optional_utc, validator=v.optional_aware
    )
    time_tracking: bool = attrs.field(default=False)
    rule_id: str | None = attrs.field(default=None, validator=v.optional_id)
    rule_pipeline_id: str | None = attrs.field(default=None, validator=v.optional_id)
    rule_stage_id: str | None = attrs.field(default=None, validator=v.optional_id)

    def __attrs_post_init__(self) -> None:
        if (self.rule_stage_id is None) != (self.rule_id is None):
            raise ValidationError(
                "rule_stage_id", "a rule-created task names both its rule and its stage"
            )

    @property
    def is_open(self) -> bool:
        """Neither completed nor declined."""
        return self.status not in _CLOSED
