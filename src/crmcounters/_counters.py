"""The counter calculator (C1-C11): Incoming and Planned for one user at one instant."""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Protocol, cast, runtime_checkable

import attrs

from . import _validate as v
from ._access import DEFAULT_POLICY, AccessPolicy, SectionFilter, readable_sections
from ._activities import Activity
from ._calendar import day_start
from ._cap import count_once, counted_once, over_cap
from ._errors import AccessDeniedError, ValidationError
from ._items import Item
from ._sections import EVERY_SECTION, Scope, SectionKey, in_scope, section_scope
from ._settings import CounterMode, PlannedRule, Settings
from ._storage import Storage

__all__ = [
    "CounterResult",
    "CounterSum",
    "counter_steps",
    "counter_zone",
    "counter_zone_in",
    "counters_of",
    "counts_from",
    "lit_at",
    "midnight",
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
    nothing else happened (an activity lights, or under C11 a day begins), or
    None (C9). `entity_type` and `pipeline_id` name the section read (C10), or
    are None for every section; the cap is the user's, over every section.
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
    entity_type: str | None = None
    pipeline_id: str | None = None

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
    `blocked_user_ids`; `valid_until` is the earliest of the parts'. The
    section read (C10) is the parts' own.
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
    entity_type: str | None = None
    pipeline_id: str | None = None

    @classmethod
    def of(
        cls, at: datetime, parts: Sequence[CounterResult], scope: Scope = EVERY_SECTION
    ) -> CounterSum:
        """Add up per-user results taken at the same instant `at`, over one scope (C10)."""
        until = [p.valid_until for p in parts if p.valid_until is not None]
        return cls(
            entity_type=scope[0],
            pipeline_id=scope[1],
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


@functools.lru_cache(maxsize=4096)
def midnight(day: date, zone: tzinfo) -> datetime:
    """The first instant of local `day` in `zone`, in UTC (cached: counters ask often)."""
    return v.instant("day", day_start(day, zone))


def counts_from(
    activity: Activity, default_offset: timedelta, zone: tzinfo | None = None
) -> datetime | None:
    """When `activity` starts to count in Planned, in UTC; None if it never does (C4, C11).

    Its lit time (C4); with `zone` (the "due today" rule, C11), the start of its
    deadline's day in that zone if earlier: from then on the deadline falls
    before the end of the responsible's today.
    """
    lit = lit_at(activity, default_offset)
    if lit is None or zone is None:
        return lit
    deadline = activity._utc_deadline
    if deadline is None:  # pragma: no cover - a lit time implies a deadline
        return lit
    return min(lit, midnight(deadline.astimezone(zone).date(), zone))


def counter_zone(storage: Storage, item: Item, activity: Activity) -> tzinfo | None:
    """The zone whose "today" counts the activity under C11, or None under C4 (G4, X3).

    The zone of the user whose counters the activity feeds for this item:
    the item's responsible, or the activity's in activity-responsible mode (C2).
    """
    return counter_zone_in(
        storage.settings, item, activity, lambda user_id: storage.user(user_id).zone
    )


def counter_zone_in(
    settings: Settings, item: Item, activity: Activity, zone_of: Callable[[str], tzinfo]
) -> tzinfo | None:
    """`counter_zone` under these `settings`, users' zones from `zone_of` (asked only under C11):
    a page of badges reads the settings and the zones once (issue 15)."""
    if settings.planned_rule is not PlannedRule.DUE_TODAY:
        return None
    if settings.counter_mode is CounterMode.ACTIVITY_RESPONSIBLE:
        return zone_of(activity.responsible_id)
    return zone_of(item.responsible_id)


def counters_of(
    storage: Storage,
    user_id: str,
    now: datetime,
    *,
    entity_type: str | None = None,
    pipeline_id: str | None = None,
    viewer_id: str | None = None,
    policy: AccessPolicy | None = None,
) -> CounterResult:
    """`user_id`'s Incoming and Planned counters at `now`, as read by `viewer_id` (C1-C11).

    With `entity_type` (and `pipeline_id`), only that section's items count
    (C10): what the section's header shows. The viewer defaults to the user;
    reading someone else's counters needs the `policy` to grant it, else
    `AccessDeniedError` (C7); a policy with section rules limits the answer to
    the sections the viewer may read. Computed from scratch (O(open activities
    of the user)); hosts that read on every page view keep a `CounterIndex`.
    """
    now = v.instant("now", now)
    scope = section_scope(storage, entity_type, pipeline_id)
    viewer = user_id if viewer_id is None else viewer_id
    readable = readable_sections(storage, viewer, user_id, policy, *scope)
    return _compute(storage, user_id, now, scope, readable)


#: One item's open activities feeding a user's counters: (item id, its section if known, them).
_Group = tuple[str, SectionKey | None, Collection[Activity]]


@runtime_checkable
class _GroupedStorage(Protocol):
    """A storage that keeps each user's items with their open activities (`InMemoryStorage`)."""

    def _open_groups(self, responsible_id: str) -> Iterator[_Group]:
        """Each item of the user with its section and open activities, read in place."""
        ...  # pragma: no cover


@functools.cache
def _keeps_groups(kind: type) -> bool:
    """Whether a storage class is a `_GroupedStorage`: asked once per class, since an
    `isinstance` against a runtime protocol costs microseconds and `counters_of` runs per
    user of a team page."""
    return issubclass(kind, _GroupedStorage)


def _groups(storage: Storage, user_id: str) -> tuple[int, list[_Group]]:
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
        return len(own), [(item_id, None, group) for item_id, group in by_item.items()]
    groups = list(_each_group(storage, user_id))
    return count_once(group for _, _, group in groups), groups


def _each_group(storage: Storage, user_id: str) -> Iterator[_Group]:
    """`_groups`' groups one by one, without its count, made as they are read."""
    if storage.settings.counter_mode is CounterMode.ACTIVITY_RESPONSIBLE:
        yield from _groups(storage, user_id)[1]
        return
    if _keeps_groups(type(storage)):  # InMemoryStorage's buckets, read in place
        yield from cast(_GroupedStorage, storage)._open_groups(user_id)  # declared above
        return
    of_item = storage.open_activities_of_item
    for item in storage.items_of(user_id):
        yield item.id, (item.entity_type, item.pipeline_id), of_item(item.id)


def _in_sections(
    storage: Storage, groups: Iterable[_Group], scope: Scope, readable: SectionFilter
) -> list[_Group]:
    """The groups of items in `scope` whose section the viewer may read (C7, C10)."""
    return [group for group in groups if _tallied(storage, *group[:2], scope, readable)]


def _tallied(
    storage: Storage, item_id: str, known: SectionKey | None, scope: Scope, readable: SectionFilter
) -> bool:
    """Whether an item in section `known` (looked up when None) counts in `scope` for a viewer
    who may read `readable` (C7, C10)."""
    if known is None:
        item = storage.item(item_id)
        known = (item.entity_type, item.pipeline_id)
    return in_scope(scope, *known) and (readable is None or readable(*known))


def _compute(
    storage: Storage,
    user_id: str,
    now: datetime,
    scope: Scope = EVERY_SECTION,
    readable: SectionFilter = None,
    read: tuple[int, list[_Group]] | None = None,
) -> CounterResult:
    """The counters at `now`; `read` is `_groups`' answer when the caller has it already.

    Without `read`, one pass makes, counts (C8) and tallies the groups one at a
    time and keeps none: thousands of lists kept to the end of the pass would
    be promoted by the garbage collector and walked with the whole heap, which
    made a large user's counters cost more per activity (issue 15). The cap is
    checked once the pass has counted them, those outside the section too.
    """
    settings = storage.settings
    cap = settings.open_activity_cap
    groups: Iterable[_Group]
    if read is None:
        groups = _each_group(storage, user_id)
        count = 0
    else:
        count, groups = read
        if over_cap(count, cap):
            return blocked_result(user_id, now, count, cap, scope)
    filtered = scope != EVERY_SECTION or readable is not None
    default_offset = timedelta(minutes=settings.urgency_offset_minutes)
    threshold = now + default_offset  # a default-offset deadline up to here is lit
    # C11: deadlines before the start of the user's tomorrow count too. Without the rule,
    # `tomorrow` is the earliest instant there is, so no deadline comes before it.
    zone = None
    tomorrow = _NEVER
    if settings.planned_rule is PlannedRule.DUE_TODAY:
        zone = storage.user(user_id).zone
        tomorrow = midnight(now.astimezone(zone).date() + _ONE_DAY, zone)
    incoming = planned = incoming_items = planned_items = items = 0
    # The earliest unlit instants: own lit times, deadlines lit by the default offset, and
    # under C11 the earliest deadline not due today. Every instant here is in UTC (G4).
    next_own: datetime | None = None
    next_deadline: datetime | None = None
    next_day: datetime | None = None
    occurrences = 0  # of open activities in the groups, and the ids of those bound to
    shared: list[str] = []  # several items, which may occur twice (C8: counted once)
    for item_id, known, activities in groups:
        occurrences += len(activities)
        if filtered and not _tallied(storage, item_id, known, scope, readable):
            shared += [activity.id for activity in activities if activity._shared]
            continue
        item_incoming = item_planned = 0
        for activity in activities:
            if activity._shared:
                shared.append(activity.id)
            deadline = activity._utc_deadline
            if deadline is None:  # incoming (C3, never with a deadline), or never lights
                if activity.incoming:
                    item_incoming += 1
                continue
            own = activity._own_lit_utc
            if own is not None:
                if own <= now:
                    item_planned += 1
                    continue
            elif deadline <= threshold:
                item_planned += 1
                continue
            if deadline < tomorrow:  # not lit, but due today (C11)
                item_planned += 1
                continue
            if own is not None:
                if next_own is None or own < next_own:
                    next_own = own
            elif next_deadline is None or deadline < next_deadline:
                next_deadline = deadline
            if zone is not None and (next_day is None or deadline < next_day):
                next_day = deadline
        if item_incoming or item_planned:
            items += 1
            if item_incoming:
                incoming += item_incoming
                incoming_items += 1
            if item_planned:
                planned += item_planned
                planned_items += 1
    if read is None:  # the pass has read every group, those left out (C10) too
        count = counted_once(occurrences, shared)
        if over_cap(count, cap):
            return blocked_result(user_id, now, count, cap, scope)
    changes = [
        change
        for change in (
            next_own,
            None if next_deadline is None else next_deadline - default_offset,
            None
            if next_day is None or zone is None
            else midnight(next_day.astimezone(zone).date(), zone),
        )
        if change is not None
    ]
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
        valid_until=min(changes, default=None),
        entity_type=scope[0],
        pipeline_id=scope[1],
    )


def counter_steps(
    storage: Storage,
    user_id: str,
    start: datetime,
    end: datetime,
    *,
    entity_type: str | None = None,
    pipeline_id: str | None = None,
    viewer_id: str | None = None,
    policy: AccessPolicy | None = None,
) -> tuple[CounterResult, ...]:
    """`user_id`'s counters at `start` and at each instant in `(start, end)` where they change.

    Step `k` is what `counters_of` answers at its `at` and until step `k + 1`'s
    `at` (C9, X2): a chart of the counters over a day or a week, stepped at the
    exact instants activities light (and, under C11, days begin). Each step's
    `valid_until` is the next change, even past `end`. Reads the user's open
    activities once, then sweeps the instants they start to count in time order
    (walking `counters_of` from `valid_until` to `valid_until` costs a full
    pass per change). A blocked user (C8) has one step: blocking does not
    change with time. Sections (C10) and access (C7) as `counters_of`.
    """
    start = v.instant("start", start)
    end = v.instant("end", end)
    if end <= start:
        raise ValidationError("end", f"must be after start ({start.isoformat()})")
    scope = section_scope(storage, entity_type, pipeline_id)
    viewer = user_id if viewer_id is None else viewer_id
    readable = readable_sections(storage, viewer, user_id, policy, *scope)
    count, groups = _groups(storage, user_id)
    first = _compute(storage, user_id, start, scope, readable, (count, groups))
    if first.blocked:
        return (first,)
    if scope != EVERY_SECTION or readable is not None:
        groups = _in_sections(storage, groups, scope, readable)
    settings = storage.settings
    default_offset = timedelta(minutes=settings.urgency_offset_minutes)
    due_today = settings.planned_rule is PlannedRule.DUE_TODAY
    zone = storage.user(user_id).zone if due_today else None
    # Per item (a group): its counted planned activities so far, and whether it has incoming
    # work; and every later instant at which one of its activities starts to count.
    counted: list[int] = []
    has_incoming: list[bool] = []
    later: list[tuple[datetime, int]] = []
    for group, (_, _, activities) in enumerate(groups):
        already = 0
        for activity in activities:
            counts = None if activity.incoming else counts_from(activity, default_offset, zone)
            if counts is None:
                continue
            if counts <= start:
                already += 1
            else:
                later.append((counts, group))
        counted.append(already)
        has_incoming.append(any(activity.incoming for activity in activities))
    later.sort()
    steps = [first]  # the calculator's own answer at start; its valid_until is later[0]
    planned, planned_items, items = first.planned or 0, first.planned_items or 0, first.items or 0
    index = 0
    while index < len(later) and later[index][0] < end:
        instant = later[index][0]
        while index < len(later) and later[index][0] == instant:
            group = later[index][1]
            planned += 1
            if not counted[group]:
                planned_items += 1
                items += not has_incoming[group]
            counted[group] += 1
            index += 1
        steps.append(
            attrs.evolve(
                steps[-1],
                at=instant,
                planned=planned,
                planned_items=planned_items,
                items=items,
                valid_until=later[index][0] if index < len(later) else None,
            )
        )
    return tuple(steps)


_ONE_DAY = timedelta(days=1)
#: An instant before every deadline the library accepts (G5: see `_validate.check_in_range`).
_NEVER = datetime.min.replace(tzinfo=UTC)


def blocked_result(
    user_id: str, now: datetime, count: int, cap: int, scope: Scope = EVERY_SECTION
) -> CounterResult:
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
        entity_type=scope[0],
        pipeline_id=scope[1],
    )


def summed_counters(
    storage: Storage,
    now: datetime,
    *,
    viewer_id: str,
    user_ids: Iterable[str] | None = None,
    entity_type: str | None = None,
    pipeline_id: str | None = None,
    policy: AccessPolicy | None = None,
) -> CounterSum:
    """The counters of several users added up, as `viewer_id` may read them (C7, C10).

    With `user_ids` None: every user the policy lets the viewer see (in some
    section of the scope), and `AccessDeniedError` when that is nobody. With
    explicit ids: each must be visible, or the whole call is refused with
    `AccessDeniedError` (never a partial or zero answer). `entity_type` and
    `pipeline_id` choose one section, as in `counters_of`.
    """
    now = v.instant("now", now)
    scope = section_scope(storage, entity_type, pipeline_id)
    chosen = resolve_users(storage, viewer_id, user_ids, policy, scope)
    parts = [_compute(storage, one, now, scope, readable) for one, readable in chosen]
    return CounterSum.of(now, parts, scope)


def resolve_users(
    storage: Storage,
    viewer_id: str,
    user_ids: Iterable[str] | None,
    policy: AccessPolicy | None,
    scope: Scope = EVERY_SECTION,
) -> list[tuple[str, SectionFilter]]:
    """The users a summed read covers, each with the sections the viewer may read (C7, C10)."""
    active = DEFAULT_POLICY if policy is None else policy
    if user_ids is None:
        storage.user(viewer_id)
        visible = active.visible_users(
            storage, viewer_id, entity_type=scope[0], pipeline_id=scope[1]
        )
        if not visible:  # never an empty zero sum (C7)
            level = active.level_of(viewer_id, *scope).value
            raise AccessDeniedError(
                f"user {viewer_id!r} (access level {level!r}) may not read anyone's counters, "
                "so there is nothing to sum; grant a wider level in the AccessPolicy (C7)"
            )
        user_ids = visible
    elif isinstance(user_ids, str):
        raise ValidationError("user_ids", "expected a collection of user ids, got one string")
    return [
        (one, readable_sections(storage, viewer_id, one, active, *scope))
        for one in dict.fromkeys(user_ids)
    ]
