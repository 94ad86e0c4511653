"""Recurring activities (A2): RFC 5545 RRULE strings, wall-clock recurrence in the user's zone.

An activity's `recurrence` is the body of one RRULE ("FREQ=WEEKLY;BYDAY=MO;COUNT=10");
its series starts at its deadline (or `recurrence_start`). Occurrences are
computed on the responsible's *wall clock* by python-dateutil's `rrule`, then
placed in their zone (a time in a spring-forward gap moves forward by the
gap; a repeated time takes its first occurrence) and handled in UTC: a
"Monday 10:00" series stays at 10:00 across DST changes.

Rules are checked when they enter (`parse_recurrence`, `ValidationError`
naming the field) and limited to what activities need, so that no rule can
make a call run for seconds: a daily to yearly frequency, INTERVAL, COUNT
or UNTIL, WKST, and BY parts that can always be met (the module's docs list
them). dateutil loops up to the year 9999 looking for a date an impossible
rule never gives, so such rules are refused up front. Listing occurrences
needs a window and returns at most `limit` of them.

dateutil is imported when a rule is first parsed, not with the package.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

import attrs

from . import _validate as v
from ._errors import ValidationError
from ._limits import shown

if TYPE_CHECKING:
    from dateutil.rrule import rrule

    from ._activities import Activity
    from ._storage import Storage

__all__ = [
    "MAX_OCCURRENCES",
    "Recurrence",
    "activity_occurrences",
    "occurrences",
    "occurrences_after",
    "parse_recurrence",
]

#: The most occurrences one call may list (`occurrences(limit=...)`).
MAX_OCCURRENCES = 10_000

_FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
#: The BY parts each frequency may use: those that can always be met (see module doc).
_BY_PARTS = {
    "DAILY": {"BYDAY"},
    "WEEKLY": {"BYDAY"},
    "MONTHLY": {"BYDAY", "BYMONTHDAY", "BYSETPOS"},
    "YEARLY": {"BYDAY", "BYMONTHDAY", "BYMONTH"},
}
_PARTS = {
    "FREQ",
    "INTERVAL",
    "COUNT",
    "UNTIL",
    "WKST",
    "BYDAY",
    "BYMONTHDAY",
    "BYMONTH",
    "BYSETPOS",
}
_REFUSED = {
    "BYSECOND": "occurrences keep the deadline's time of day",
    "BYMINUTE": "occurrences keep the deadline's time of day",
    "BYHOUR": "occurrences keep the deadline's time of day",
    "BYYEARDAY": "use BYMONTH and BYMONTHDAY",
    "BYWEEKNO": "use BYMONTH and BYDAY",
    "DTSTART": "the series starts at the activity's deadline",
}
#: The longest each month can be (February in a leap year).
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _fail(problem: str) -> ValidationError:
    return ValidationError("recurrence", problem)


@attrs.frozen(kw_only=True)
class Recurrence:
    """A checked RRULE: its canonical text and the parts the library reads (A2).

    `until` is the last allowed occurrence: an instant (UTC, the RFC's
    "...Z" form), a local wall time (the floating form) or a local date (a
    date-only UNTIL: through that day), in the responsible's zone.
    """

    text: str
    freq: str
    interval: int = 1
    count: int | None = None
    until_instant: datetime | None = None
    until_wall: datetime | None = None
    until_date: date | None = None
    #: The rule without UNTIL, as dateutil reads it (UNTIL is applied by the library).
    body: str = ""

    @property
    def bounded(self) -> bool:
        """True when the rule ends by itself (COUNT or UNTIL)."""
        return self.count is not None or self.ends_by_until

    @property
    def ends_by_until(self) -> bool:
        """True when UNTIL is set."""
        return (
            self.until_instant is not None
            or self.until_wall is not None
            or self.until_date is not None
        )

    def allows(self, wall: datetime, instant: datetime) -> bool:
        """Whether an occurrence at local `wall` (naive) and `instant` (UTC) is before UNTIL."""
        if self.until_instant is not None:
            return instant <= self.until_instant
        if self.until_wall is not None:
            return wall <= self.until_wall
        if self.until_date is not None:
            return wall.date() <= self.until_date
        return True

    def rule(self, start_wall: datetime) -> rrule:
        """dateutil's rule for a series whose first occurrence is at local `start_wall`.

        Built once per (rule, start) and kept: a dateutil rule holds no state
        between iterations, so threads may share it.
        """
        return _dateutil_rule(self.body, start_wall.replace(tzinfo=None, fold=0))


@functools.lru_cache(maxsize=1024)
def _dateutil_rule(body: str, start_wall: datetime) -> rrule:
    from dateutil.rrule import rrule, rrulestr  # lazy: keeps `import crmcounters` fast

    made = rrulestr(body, dtstart=start_wall)
    if not isinstance(made, rrule):  # pragma: no cover - one RRULE line gives one rule
        raise _fail("expected one RRULE")
    return made


def parse_recurrence(text: object) -> Recurrence:
    """Check an RRULE string (A2); `ValidationError` naming "recurrence" says what is wrong."""
    if not isinstance(text, str):
        raise _fail(f"expected an RRULE string, got {type(text).__name__}")
    return _parse(text)


@functools.lru_cache(maxsize=256)
def _parse(text: str) -> Recurrence:
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[len("RRULE:") :]
    if not body or any(c in body for c in "\r\n") or len(body) > 500:
        raise _fail(f"expected one RRULE line such as 'FREQ=WEEKLY;BYDAY=MO', got {shown(text)}")
    parts: dict[str, str] = {}
    for chunk in body.split(";"):
        name, equals, value = chunk.partition("=")
        name = name.strip().upper()
        if not equals or not name or not value.strip():
            raise _fail(f"expected NAME=VALUE parts separated by ';', got {chunk!r}")
        if name in _REFUSED:
            raise _fail(f"{name} is not supported: {_REFUSED[name]}")
        if name not in _PARTS:
            raise _fail(f"unknown part {name!r}; supported: {', '.join(sorted(_PARTS))}")
        if name in parts:
            raise _fail(f"{name} given twice")
        parts[name] = value.strip().upper()
    freq = parts.get("FREQ")
    if freq is None:
        raise _fail("FREQ is required")
    if freq not in _FREQUENCIES:
        raise _fail(
            f"FREQ must be one of {', '.join(_FREQUENCIES)} (activities recur at most daily)"
        )
    for name in parts:
        if name.startswith("BY") and name not in _BY_PARTS[freq]:
            allowed = ", ".join(sorted(_BY_PARTS[freq])) or "none"
            raise _fail(f"{name} cannot be used with FREQ={freq} (allowed: {allowed})")
    if "COUNT" in parts and "UNTIL" in parts:
        raise _fail("COUNT and UNTIL cannot both be given (RFC 5545)")
    interval = _whole(parts, "INTERVAL", 1, 1_000)
    count = _whole(parts, "COUNT", None, MAX_OCCURRENCES * 100)
    until = _until(parts.pop("UNTIL", None))
    days = _by_day(parts, freq)
    month_days = _ints(parts, "BYMONTHDAY", 31)
    months = _ints(parts, "BYMONTH", 12, negative=False)
    positions = _ints(parts, "BYSETPOS", 366)
    _check_possible(freq, interval, days, month_days, months, positions)
    canonical = ";".join(f"{name}={value}" for name, value in parts.items())
    _check_with_dateutil(canonical)
    return Recurrence(
        text=";".join(filter(None, (canonical, _until_text(until)))),
        freq=freq,
        interval=interval,
        count=count,
        until_instant=until if isinstance(until, datetime) and until.tzinfo else None,
        until_wall=until if isinstance(until, datetime) and not until.tzinfo else None,
        until_date=until if isinstance(until, date) and not isinstance(until, datetime) else None,
        body=canonical,
    )


def _whole(parts: dict[str, str], name: str, default: int | None, largest: int) -> Any:
    text = parts.get(name)
    if text is None:
        return default
    if not text.isdigit() or not 1 <= int(text) <= largest:
        raise _fail(f"{name} must be a whole number from 1 to {largest}, got {text!r}")
    return int(text)


def _ints(parts: dict[str, str], name: str, largest: int, *, negative: bool = True) -> list[int]:
    text = parts.get(name)
    if text is None:
        return []
    values = []
    for piece in text.split(","):
        try:
            value = int(piece)
        except ValueError:
            raise _fail(f"{name} takes whole numbers, got {piece!r}") from None
        if not 1 <= abs(value) <= largest or (value < 0 and not negative):
            low = -largest if negative else 1
            raise _fail(f"{name} values run from {low} to {largest} (not 0), got {value}")
        values.append(value)
    return values


def _by_day(parts: dict[str, str], freq: str) -> list[tuple[int | None, str]]:
    text = parts.get("BYDAY")
    if text is None:
        return []
    days: list[tuple[int | None, str]] = []
    for piece in text.split(","):
        weekday, number = piece[-2:], piece[:-2]
        if weekday not in _WEEKDAYS:
            raise _fail(f"BYDAY takes weekdays such as MO or -1FR, got {piece!r}")
        if not number:
            days.append((None, weekday))
            continue
        if freq in ("DAILY", "WEEKLY"):
            raise _fail(f"BYDAY {piece!r}: a numbered weekday needs FREQ=MONTHLY or YEARLY")
        largest = 5 if freq == "MONTHLY" or "BYMONTH" in parts else 53
        try:
            n = int(number)
        except ValueError:
            raise _fail(f"BYDAY takes weekdays such as MO or -1FR, got {piece!r}") from None
        if not 1 <= abs(n) <= largest:
            raise _fail(f"BYDAY {piece!r}: the number runs from -{largest} to {largest}, not 0")
        days.append((n, weekday))
    return days


def _check_possible(
    freq: str,
    interval: int,
    days: list[tuple[int | None, str]],
    month_days: list[int],
    months: list[int],
    positions: list[int],
) -> None:
    """Refuse a rule whose BY parts can never be met together (dateutil would search to 9999)."""
    numbered = any(n is not None for n, _ in days)
    if month_days and numbered:
        raise _fail("BYMONTHDAY with a numbered BYDAY (such as 1MO) may never meet; use one")
    if freq == "DAILY" and days and interval % 7 == 0:
        raise _fail("FREQ=DAILY with INTERVAL a multiple of 7 keeps one weekday: use FREQ=WEEKLY")
    if positions:
        if not days or numbered or month_days:
            raise _fail("BYSETPOS picks among plain weekdays: give BYDAY such as MO,TU,WE,TH,FR")
        largest = 4 * len(days)  # each weekday comes at least 4 times a month
        if any(abs(p) > largest for p in positions):
            raise _fail(f"BYSETPOS with {len(days)} weekday(s) runs from -{largest} to {largest}")
    if not month_days:
        return
    if freq == "YEARLY":
        chosen = months or list(range(1, 13))
        if not any(abs(d) <= _MONTH_DAYS[m - 1] for m in chosen for d in month_days):
            raise _fail("no month of BYMONTH has a day of BYMONTHDAY")
        only_leap_day = all(
            (m, abs(d)) == (2, 29)
            for m in chosen
            for d in month_days
            if abs(d) <= _MONTH_DAYS[m - 1]
        )
        if only_leap_day and interval > 1:
            raise _fail("29 February every INTERVAL>1 years may never come; use INTERVAL=1")
    if freq == "MONTHLY":
        step = math.gcd(interval, 12)  # the series visits every `step`-th month of the year
        longest = min(max(_MONTH_DAYS[m::step]) for m in range(step))
        if all(abs(d) > longest for d in month_days):
            raise _fail(f"with INTERVAL={interval}, some series would never reach BYMONTHDAY")


def _check_with_dateutil(body: str) -> None:
    from dateutil.rrule import rrulestr  # lazy: keeps `import crmcounters` fast

    try:
        rrulestr(body, dtstart=datetime(2000, 1, 1))  # noqa: DTZ001 - rules run on wall clocks
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise _fail(f"not a valid RRULE: {exc}") from None


def _until(text: str | None) -> datetime | date | None:
    if text is None:
        return None
    try:
        if len(text) == 8:
            return datetime.strptime(text, "%Y%m%d").date()  # noqa: DTZ007 - a local date
        if len(text) == 16 and text.endswith("Z"):
            return datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        if len(text) == 15:
            return datetime.strptime(text, "%Y%m%dT%H%M%S")  # noqa: DTZ007 - a local wall time
    except ValueError:
        pass
    raise _fail(
        f"UNTIL must be YYYYMMDD, YYYYMMDDTHHMMSS (local) or YYYYMMDDTHHMMSSZ (UTC), got {text!r}"
    )


def _until_text(until: datetime | date | None) -> str:
    if until is None:
        return ""
    if isinstance(until, datetime):
        return "UNTIL=" + until.strftime("%Y%m%dT%H%M%S" + ("Z" if until.tzinfo else ""))
    return "UNTIL=" + until.strftime("%Y%m%d")


def _local_instant(wall: datetime, zone: tzinfo) -> datetime:
    """The UTC instant of local `wall` in `zone` (a gap moves forward, a fold takes the first)."""
    from ._activity_types import wall_time_on  # here: no import cycle via _activities

    return wall_time_on(wall.date(), wall.time(), zone)


def _walk(
    recurrence: Recurrence, start: datetime, zone: tzinfo, after_wall: datetime | None
) -> Iterator[tuple[datetime, datetime]]:
    """(local wall, UTC instant) of each occurrence from the series start, or after `after_wall`."""
    start = v.instant("start", start)
    start_wall = start.astimezone(zone).replace(tzinfo=None)
    rule = recurrence.rule(start_wall)
    walls = rule if after_wall is None else rule.xafter(after_wall, inc=False)
    for whole_second in walls:
        wall = whole_second.replace(microsecond=start_wall.microsecond)  # dateutil drops them
        # The series start keeps its own instant (it may sit in the repeated hour's second pass).
        instant = start if wall == start_wall else _local_instant(wall, zone)
        if not recurrence.allows(wall, instant):
            return
        yield wall, instant


def occurrences_after(
    recurrence: str, start: datetime, zone: tzinfo, after: datetime
) -> datetime | None:
    """The first occurrence strictly after instant `after` of a series starting at `start` (A2).

    In UTC; None when the rule has ended (COUNT reached or past UNTIL).
    """
    rule = parse_recurrence(recurrence)
    after = v.instant("after", after)
    local_after = after.astimezone(zone).replace(tzinfo=None) - timedelta(hours=3)
    for _wall, instant in _walk(rule, start, zone, local_after):
        if instant > after:
            return instant
    return None


def occurrences(
    recurrence: str,
    start: datetime,
    zone: tzinfo,
    window_start: datetime,
    window_end: datetime,
    *,
    limit: int = 1_000,
) -> tuple[datetime, ...]:
    """The occurrences in `[window_start, window_end)` of a series starting at `start` (A2).

    Strictly increasing UTC instants at the rule's local times in `zone`. More
    than `limit` (at most `MAX_OCCURRENCES`) in the window is refused: ask
    for a smaller window.
    """
    rule = parse_recurrence(recurrence)
    window_start = v.instant("window_start", window_start)
    window_end = v.instant("window_end", window_end)
    if window_end < window_start:
        raise ValidationError("window_end", "the window ends before it starts")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_OCCURRENCES:
        raise ValidationError("limit", f"expected 1 to {MAX_OCCURRENCES}, got {limit!r}")
    local_from = window_start.astimezone(zone).replace(tzinfo=None) - timedelta(hours=3)
    found: list[datetime] = []
    for _wall, instant in _walk(rule, start, zone, local_from):
        if instant >= window_end:
            break
        if instant < window_start or (found and instant <= found[-1]):
            continue
        if len(found) == limit:
            raise ValidationError(
                "limit", f"more than {limit} occurrences in the window; ask for a smaller one"
            )
        found.append(instant)
    return tuple(found)


def activity_occurrences(
    storage: Storage,
    activity: Activity,
    window_start: datetime,
    window_end: datetime,
    *,
    limit: int = 1_000,
) -> tuple[datetime, ...]:
    """The occurrences of `activity`'s series in a window (A2), in its responsible's zone.

    The series starts at `recurrence_start` (or the activity's deadline); an
    activity that does not recur has its deadline as its one occurrence, if
    the window holds it.
    """
    if activity.recurrence is None or activity.deadline is None:
        window_start = v.instant("window_start", window_start)
        window_end = v.instant("window_end", window_end)
        deadline = activity.deadline
        inside = deadline is not None and window_start <= deadline < window_end
        return (deadline,) if inside and deadline is not None else ()
    zone = storage.user(activity.responsible_id).zone
    start = activity.recurrence_start or activity.deadline
    return occurrences(activity.recurrence, start, zone, window_start, window_end, limit=limit)
