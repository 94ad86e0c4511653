"""The counter calculator (C1-C9): Incoming and Planned for one user at one instant."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, datetime, timedelta

import attrs

from . import _validate as v
from ._access import DEFAULT_POLICY, AccessPolicy, check_access
from ._activities import Activity
from ._cap import over_cap
from ._errors import AccessDeniedError, ValidationError
from ._settings import CounterMode, Settings
from ._storage import Storage

__all__ = [
    "CounterResult",
    "CounterSum",
    "counter_steps",
    "counters_of",
    "lit_at",
    "summed_counters",
]


@attrs.frozen(kw_only=True)
class CounterResult:
    """A user's counters at instant `at`, or the fact that they are blocked (C1-C9).

    `incoming` and `planned` count activities, once per bound item (C5); the
    `*_items` fields count the distinct items behind them, and `items` the
    distinct items behind either. When `blocked` (C8) these five are None and
    `open_activities` says how many open activities the user has against `cap`.
    `valid_until` is the earliest instant at which the answer would change if
    nothing else happened (an activity lights), or None (C9).
    """

    user_id: str
    at: datetime
    incoming: int | None
    planned: int | None
    incoming_items: int | None
    planned_items: int | None
    items: int | None
    blocked: bool
    open_activities: int
    cap: int
    valid_until: datetime | None

    @property
    def total(self) -> int | None:
        """Incoming + Planned: the number on the user's menu badge (None when blocked)."""
        if self.incoming is None or self.planned is None:
            return None
        return self.incoming + self.planned


@attrs.frozen(kw_only=True)
class CounterSum:
    """Counters of several users added up (C7): what a supervisor sees for a team.

    Blocked users (C8) add nothing to the numbers and are listed in
    `blocked_user_ids`; `valid_until` is the earliest of the parts'.
    """

    user_ids: tuple[str, ...]
    at: datetime
    incoming: int
    planned: int
    incoming_items: int
    planned_items: int
    items: int
    blocked_user_ids: tuple[str, ...]
    valid_until: datetime | None
    parts: tuple[CounterResult, ...] = attrs.field(repr=False)

    @classmethod
    def of(cls, at: datetime, parts: Sequence[CounterResult]) -> CounterSum:
        """Add up per-user results taken at the same instant `at`."""
        until = [p.valid_until for p in parts if p.valid_until is not None]
        return cls(
            user_ids=tuple(p.user_id for p in parts),
            at=at,
            incoming=sum(p.incoming or 0 for p in parts),
            planned=sum(p.planned or 0 for p in parts),
            incoming_items=sum(p.incoming_items or 0 for p in parts),
            planned_items=sum(p.planned_items or 0 for p in parts),
            items=sum(p.items or 0 for p in parts),
            blocked_user_ids=tuple(p.user_id for p in parts if p.blocked),
            valid_until=min(until, default=None),
            parts=tuple(parts),
        )


def lit_at(activity: Activity, default_offset: timedelta) -> datetime | None:
    """When `activity` starts to count in Planned (C4): the instant of `Activity.lit_at`, in UTC.

    Takes the default offset as a ready `timedelta` so hot loops build none;
    subtracts in UTC so a deadline near a DST change lights at the right instant.
    """
    own = activity._own_lit_utc  # precomputed when the activity has its own offsets
    if own is not None:
        return own
    instant = activity._utc_deadline  # None without a deadline, so for every incoming one
    return None if instant is None else instant - default_offset


def counters_of(
    storage: Storage,
    user_id: str,
    now: datetime,
    *,
    viewer_id: str | None = None,
    policy: AccessPolicy | None = None,
) -> CounterResult:
    """`user_id`'s Incoming and Planned counters at `now`, as read by `viewer_id` (C1-C9).

    The viewer defaults to the user; reading someone else's counters needs the
    `policy` to grant it, else `AccessDeniedError` (C7). Computed from scratch
    (O(open activities of the user)); hosts that read on every page view keep
    a `CounterIndex` instead.
    """
    v.check_aware("now", now)
    check_access(storage, user_id if viewer_id is None else viewer_id, user_id, policy)
    return _compute(storage, user_id, now)


_Groups = Iterable[tuple[str, Collection[Activity]]]


def _groups(storage: Storage, user_id: str) -> tuple[int, _Groups]:
    """The open activities feeding `user_id`'s counters, grouped by item, and their count.

    Item-responsible mode: the open activities of the user's items. Activity-
    responsible mode: the user's own open activities, once per bound item (C2).
    The count is `open_activity_count`'s (C8), computed on the way (a test
    holds the two definitions together).
    """
    if storage.settings.counter_mode is CounterMode.ACTIVITY_RESPONSIBLE:
        own = storage.open_activities_of_user(user_id)
        by_item: dict[str, list[Activity]] = {}
        for activity in own:
            for item_id in activity.item_ids:
                by_item.setdefault(item_id, []).append(activity)
        return len(own), by_item.items()
    of_item = storage.open_activities_of_item
    groups = [(item.id, of_item(item.id)) for item in storage.items_of(user_id)]
    return sum(len(group) for _, group in groups), groups


def _compute(storage: Storage, user_id: str, now: datetime) -> CounterResult:
    count, groups = _groups(storage, user_id)
    return _tally(storage.settings, user_id, now, count, groups)


def _tally(
    settings: Settings, user_id: str, now: datetime, count: int, groups: _Groups
) -> CounterResult:
    """The counters from `_groups`' answer: blocked over the cap (C8), else counted (C3-C5)."""
    cap = settings.open_activity_cap
    if over_cap(count, cap):
        return blocked_result(user_id, now, count, cap)
    default_offset = timedelta(minutes=settings.urgency_offset_minutes)
    now_utc = now.astimezone(UTC)
    threshold = now_utc + default_offset  # a default-offset deadline up to here is lit
    incoming = planned = incoming_items = planned_items = items = 0
    # The earliest unlit instants: own lit times, and deadlines lit by the default offset.
    # Every instant here is in UTC (the same tzinfo), so comparing them is cheap.
    next_own: datetime | None = None
    next_deadline: datetime | None = None
    for _, activities in groups:
        item_incoming = item_planned = 0
        for activity in activities:
            if activity.incoming:
                item_incoming += 1
                continue
            own = activity._own_lit_utc
            if own is not None:
                if own <= now_utc:
                    item_planned += 1
                elif next_own is None or own < next_own:
                    next_own = own
                continue
            deadline = activity._utc_deadline
            if deadline is None:  # never lights
                continue
            if deadline <= threshold:
                item_planned += 1
            elif next_deadline is None or deadline < next_deadline:
                next_deadline = deadline
        if item_incoming or item_planned:
            items += 1
            if item_incoming:
                incoming += item_incoming
                incoming_items += 1
            if item_planned:
                planned += item_planned
                planned_items += 1
    next_lit = next_own
    if next_deadline is not None:
        lights = next_deadline - default_offset
        if next_lit is None or lights < next_lit:
            next_lit = lights
    return CounterResult(
        user_id=user_id,
        at=now,
        incoming=incoming,
        planned=planned,
        incoming_items=incoming_items,
        planned_items=planned_items,
        items=items,
        blocked=False,
        open_activities=count,
        cap=cap,
        valid_until=next_lit,
    )


def counter_steps(
    storage: Storage,
    user_id: str,
    start: datetime,
    end: datetime,
    *,
    viewer_id: str | None = None,
    policy: AccessPolicy | None = None,
) -> tuple[CounterResult, ...]:
    """`user_id`'s counters at `start` and at each instant in `(start, end)` where they change.

    Step `k` is what `counters_of` answers at its `at` and until step `k + 1`'s
    `at` (C9, X2): a chart of the counters over a day or a week, stepped at the
    exact instants activities light. Each step's `valid_until` is the next
    change, even past `end`. One pass over the user's open activities, then a
    sweep in time order (walking `counters_of` from `valid_until` to
    `valid_until` costs a full pass per change). A blocked user (C8) has one
    step: blocking does not change with time. Access as `counters_of` (C7).
    """
    v.check_aware("start", start)
    v.check_aware("end", end)
    if end <= start:
        raise ValidationError("end", f"must be after start ({start.isoformat()})")
    check_access(storage, user_id if viewer_id is None else viewer_id, user_id, policy)
    settings = storage.settings
    count, read = _groups(storage, user_id)
    groups = list(read)  # read twice: for the first step, then for the sweep
    first = _tally(settings, user_id, start, count, groups)
    if first.blocked:
        return (first,)
    default_offset = timedelta(minutes=settings.urgency_offset_minutes)
    start_utc = start.astimezone(UTC)
    # Per item (a group): its lit planned activities so far, and whether it has incoming work.
    lit_now: list[int] = []
    has_incoming: list[bool] = []
    later: list[tuple[datetime, int]] = []  # (instant it lights, group) after start
    for group, (_, activities) in enumerate(groups):
        lit = 0
        for activity in activities:
            lights = None if activity.incoming else lit_at(activity, default_offset)
            if lights is None:
                continue
            if lights <= start_utc:
                lit += 1
            else:
                later.append((lights, group))
        lit_now.append(lit)
        has_incoming.append(any(activity.incoming for activity in activities))
    later.sort()
    steps = [first]  # what the calculator answers at start; its valid_until is later[0]
    planned, planned_items, items = first.planned or 0, first.planned_items or 0, first.items or 0
    end_utc = end.astimezone(UTC)
    index = 0
    while index < len(later) and later[index][0] < end_utc:
        instant = later[index][0]
        while index < len(later) and later[index][0] == instant:
            group = later[index][1]
            planned += 1
            if not lit_now[group]:
                planned_items += 1
                items += not has_incoming[group]
            lit_now[group] += 1
            index += 1
        steps.append(
            attrs.evolve(
                steps[-1],
                at=instant.astimezone(start.tzinfo),
                planned=planned,
                planned_items=planned_items,
                items=items,
                valid_until=later[index][0] if index < len(later) else None,
            )
        )
    return tuple(steps)


def blocked_result(user_id: str, now: datetime, count: int, cap: int) -> CounterResult:
    """The answer for a user above the cap: blocked, no numbers, no change by time (C8)."""
    return CounterResult(
        user_id=user_id,
        at=now,
        incoming=None,
        planned=None,
        incoming_items=None,
        planned_items=None,
        items=None,
        blocked=True,
        open_activities=count,
        cap=cap,
        valid_until=None,
    )


def summed_counters(
    storage: Storage,
    now: datetime,
    *,
    viewer_id: str,
    user_ids: Iterable[str] | None = None,
    policy: AccessPolicy | None = None,
) -> CounterSum:
    """The counters of several users added up, as `viewer_id` may read them (C7).

    With `user_ids` None: every user the policy lets the viewer see, and
    `AccessDeniedError` when that is nobody. With explicit ids: each must be
    visible, or the whole call is refused with `AccessDeniedError` (never a
    partial or zero answer).
    """
    v.check_aware("now", now)
    chosen = resolve_users(storage, viewer_id, user_ids, policy)
    return CounterSum.of(now, [_compute(storage, one, now) for one in chosen])


def resolve_users(
    storage: Storage,
    viewer_id: str,
    user_ids: Iterable[str] | None,
    policy: AccessPolicy | None,
) -> tuple[str, ...]:
    """The users a summed read covers, every one checked against the policy first (C7)."""
    active = DEFAULT_POLICY if policy is None else policy
    if user_ids is None:
        storage.user(viewer_id)
        visible = active.visible_users(storage, viewer_id)
        if not visible:  # never an empty zero sum (C7)
            level = active.level_of(viewer_id).value
            raise AccessDeniedError(
                f"user {viewer_id!r} (access level {level!r}) may not read anyone's counters, "
                "so there is nothing to sum; grant a wider level in the AccessPolicy (C7)"
            )
        return visible
    if isinstance(user_ids, str):
        raise ValidationError("user_ids", "expected a collection of user ids, got one string")
    chosen = tuple(dict.fromkeys(user_ids))
    for one in chosen:
        active.check(storage, viewer_id, one)
    return chosen
