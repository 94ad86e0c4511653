"""The injected clock (SPEC G1, X2): SystemClock for hosts, FixedClock/ManualClock for tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crmcounters import Clock, NaiveDatetimeError, SystemClock, ValidationError
from crmcounters.testing import FixedClock, ManualClock

START = datetime(2026, 12, 14, 8, 0, tzinfo=UTC)


def test_g1_every_clock_satisfies_the_protocol() -> None:
    """G1: time comes from anything with now() -> aware datetime."""
    for clock in (SystemClock(), FixedClock(START), ManualClock(START)):
        assert isinstance(clock, Clock)
        assert clock.now().tzinfo is not None


def test_system_clock_is_aware_and_current() -> None:
    """SystemClock answers the real time, in UTC."""
    before = datetime.now(UTC)
    assert SystemClock().now() >= before


def test_x2_fixed_clock_answers_one_instant() -> None:
    """X2: preview or replay any instant."""
    clock = FixedClock(START)
    assert clock.now() == clock.now() == START


def test_manual_clock_advances_and_jumps_forward_only() -> None:
    """A simulated day moves forward by steps; never backwards."""
    clock = ManualClock(START)
    assert clock.advance(timedelta(minutes=15)) == START + timedelta(minutes=15)
    assert clock.set(START + timedelta(hours=1)) == clock.now()
    with pytest.raises(ValidationError, match="forward"):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(ValidationError, match="forward"):
        clock.set(START)
    with pytest.raises(ValidationError, match="timedelta"):
        clock.advance(15)  # type: ignore[arg-type]


def test_g2_clocks_refuse_naive_datetimes() -> None:
    """G2: a naive start is refused, naming the parameter."""
    naive = datetime(2026, 12, 14, 8, 0)
    with pytest.raises(NaiveDatetimeError, match="at"):
        FixedClock(naive)
    with pytest.raises(NaiveDatetimeError, match="start"):
        ManualClock(naive)
    with pytest.raises(NaiveDatetimeError, match="at"):
        ManualClock(START).set(naive)


def test_g4_manual_clock_advances_real_time_across_a_dst_change() -> None:
    """G4: two hours after 01:30 on the autumn change in Warsaw is 02:30 CET, not 03:30."""
    from zoneinfo import ZoneInfo

    warsaw = ZoneInfo("Europe/Warsaw")
    clock = ManualClock(datetime(2026, 10, 25, 1, 30, tzinfo=warsaw))  # CEST, +02:00
    later = clock.advance(timedelta(hours=2))
    start_utc = datetime(2026, 10, 25, 1, 30, tzinfo=warsaw).astimezone(UTC)
    assert later.astimezone(UTC) - start_utc == timedelta(hours=2)
    assert later.isoformat() == "2026-10-25T02:30:00+01:00"
