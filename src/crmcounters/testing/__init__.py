"""Test helpers for hosts' own test suites: clocks you control, and a rule runtime.

Hypothesis strategies live in `crmcounters.testing.strategies` (they need the
`test` extra).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .._errors import ValidationError
from .._validate import check_aware, instant
from ._runtime import RuleRuntime, RuntimeStorage

__all__ = ["FixedClock", "ManualClock", "RuleRuntime", "RuntimeStorage"]


class FixedClock:
    """A clock stopped at one instant (X2: preview or replay any moment)."""

    __slots__ = ("_at",)

    def __init__(self, at: datetime) -> None:
        self._at = check_aware("at", at)

    def now(self) -> datetime:
        """The fixed instant."""
        return self._at

    def __repr__(self) -> str:
        return f"FixedClock({self._at.isoformat()})"


class ManualClock:
    """A clock that moves only when told: `advance(timedelta)` or `set(datetime)`."""

    __slots__ = ("_at",)

    def __init__(self, start: datetime) -> None:
        self._at = check_aware("start", start)

    def now(self) -> datetime:
        """The current simulated instant."""
        return self._at

    def advance(self, by: timedelta) -> datetime:
        """Move forward by `by` (never backwards) and return the new instant."""
        if not isinstance(by, timedelta):
            raise ValidationError("by", f"expected a timedelta, got {type(by).__name__}")
        if by < timedelta(0):
            raise ValidationError("by", f"a clock only moves forward, got {by}")
        # Elapsed time is added in UTC: adding to a zoned datetime moves the wall
        # clock instead, which is an hour off across a DST change.
        self._at = (self._at.astimezone(UTC) + by).astimezone(self._at.tzinfo)
        return self._at

    def set(self, at: datetime) -> datetime:
        """Jump to `at`, which must not be before the current instant."""
        if instant("at", at) < self._at.astimezone(UTC):  # as instants: fold counts (G4)
            raise ValidationError(
                "at", f"a clock only moves forward: {at.isoformat()} < {self._at.isoformat()}"
            )
        self._at = at
        return self._at

    def __repr__(self) -> str:
        return f"ManualClock({self._at.isoformat()})"


RuleRuntime.__module__ = __name__  # show crmcounters.testing.RuleRuntime in reprs and docs
RuntimeStorage.__module__ = __name__
