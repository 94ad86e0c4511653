"""What one explorer page shows: its query string, read strictly, and the links between pages."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode

import attrs

from .._calendar import day_start, week_start_of
from .._errors import ValidationError
from .._instant import parse_instant
from .._pipelines import Pipeline
from .._storage import Storage
from .._users import User

__all__ = ["MAX_QUERY", "Page", "Span", "read_query"]

#: The longest query string a page accepts; longer ones are refused (414), never parsed.
MAX_QUERY = 2048


class Span(enum.StrEnum):
    """How far the time slider reaches: the selected user's local day or week (X2, G4)."""

    DAY = "day"
    WEEK = "week"

    @property
    def step(self) -> timedelta:
        """One notch of the slider."""
        return timedelta(minutes=5) if self is Span.DAY else timedelta(minutes=30)


@attrs.frozen(kw_only=True)
class Page:
    """One page's state: whose eyes, which pipeline and item, which instant, which span.

    `start` and `end` bound the slider: the half-open local day or week (in the
    user's zone, week start from the portal's settings) holding `at`.
    """

    user: User
    pipeline: Pipeline | None
    item_id: str | None
    at: datetime
    at_source: str
    span: Span
    start: datetime
    end: datetime

    @property
    def notches(self) -> int:
        """How many slider positions the span has (the last one starts before `end`)."""
        return -(-(self.end.astimezone(UTC) - self.start.astimezone(UTC)) // self.span.step)

    @property
    def notch(self) -> int:
        """The slider position of `at` (the notch it falls in)."""
        return min(
            (self.at.astimezone(UTC) - self.start.astimezone(UTC)) // self.span.step,
            self.notches - 1,
        )

    def link(self, **changes: str | None) -> str:
        """The query string of this page with some parameters changed (None drops one)."""
        values: dict[str, str | None] = {
            "user": self.user.id,
            "pipeline": None if self.pipeline is None else self.pipeline.id,
            "span": self.span.value,
            "at": instant_text(self.at),
            "item": self.item_id,
        }
        values.update(changes)
        return "?" + urlencode([(key, value) for key, value in values.items() if value])


def instant_text(at: datetime) -> str:
    """An instant as the explorer's links carry it: UTC, `Z`, no `+` to escape."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


_KEYS = ("user", "pipeline", "item", "at", "span")


def read_query(
    storage: Storage,
    query: str,
    *,
    default_user: str,
    default_at: datetime,
    default_at_source: str,
) -> Page:
    """The page a query string asks for; a bad one is a `ValidationError` naming the parameter.

    Unknown or repeated parameters are refused rather than ignored, and ids must exist.
    """
    if len(query) > MAX_QUERY:
        raise ValidationError("query", f"longer than {MAX_QUERY} characters")
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=False, max_num_fields=10)
    except ValueError as error:  # more than max_num_fields
        raise ValidationError("query", str(error)) from None
    values: dict[str, str] = {}
    for key, value in pairs:
        if key not in _KEYS:
            raise ValidationError(key, f"unknown parameter; the page reads {', '.join(_KEYS)}")
        if key in values:
            raise ValidationError(key, "given twice")
        values[key] = value
    user = storage.user(values.get("user") or default_user)
    pipeline = _pipeline(storage, values.get("pipeline"))
    item_id = values.get("item") or None
    if item_id is not None:
        storage.item(item_id)  # an unknown item is an error, not an empty panel
    if values.get("at"):
        # A typed `+01:00` arrives as ` 01:00` (form encoding): read it as the `+` meant.
        at = parse_instant(values["at"].replace(" ", "+"), "at")
        at_source = "the slider"
    else:
        at, at_source = default_at, default_at_source
    try:
        span = Span(values.get("span") or Span.DAY.value)
    except ValueError:
        raise ValidationError("span", "expected 'day' or 'week'") from None
    zone = user.zone
    local_day = at.astimezone(zone).date()
    first = local_day if span is Span.DAY else week_start_of(local_day, storage.settings.week_start)
    days = 1 if span is Span.DAY else 7
    return Page(
        user=user,
        pipeline=pipeline,
        item_id=item_id,
        at=at,
        at_source=at_source,
        span=span,
        start=day_start(first, zone),
        end=day_start(first + timedelta(days=days), zone),
    )


def _pipeline(storage: Storage, pipeline_id: str | None) -> Pipeline | None:
    """The asked pipeline, else the first one (deals first, as the reference product opens)."""
    if pipeline_id:
        return storage.pipeline(pipeline_id)
    pipelines: Sequence[Pipeline] = sorted(
        storage.pipelines(), key=lambda one: one.entity_type != "deal"
    )
    return pipelines[0] if pipelines else None
