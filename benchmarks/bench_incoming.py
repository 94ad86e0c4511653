"""Incoming work and recurrence (I1, I2, A2): one-write calls and RRULE occurrences.

Ours: `record_incoming` (event and incoming activity in one write) and
`mark_processed` (every open incoming activity of an item completed in one
write) on SQLite and in memory; `occurrences` and `occurrences_after` for
recurring activities. Baselines computing the same in the same run:
- two writes: the event, then the activity (what a host did before I1);
  the SQLite figures use a database file, where each write is a commit;
- one replace per activity, instead of one write for all of them (I2);
- dateutil's `rrule` over aware datetimes, with no checks and no placing of
  local times (wrong at DST gaps, but the floor of any RRULE engine).
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import attrs
from dateutil.rrule import rrulestr

from benchmarks._harness import figure, header, median_seconds, note, scaled, timed
from crmcounters import (
    Activity,
    IncomingMessage,
    InMemoryStorage,
    Item,
    Pipeline,
    Stage,
    User,
    WritableStorage,
    counters_of,
    mark_processed,
    occurrences,
    occurrences_after,
    record_incoming,
)
from crmcounters.sql import SqlStorage, open_storage

WARSAW = ZoneInfo("Europe/Warsaw")
T0 = datetime(2026, 12, 14, 9, 0, tzinfo=WARSAW)


def _portal(storage: WritableStorage, items: int) -> None:
    storage.add(User(id="u", name="U", time_zone="Europe/Warsaw"))
    storage.add(Pipeline(id="p", entity_type="deal", stages=(Stage(id="s", name="S"),)))
    storage.add(
        *(
            Item(
                id=f"d{n}",
                entity_type="deal",
                pipeline_id="p",
                stage_id="s",
                responsible_id="u",
                created_at=T0,
            )
            for n in range(items)
        )
    )


def _storages(items: int, directory: Path) -> dict[str, WritableStorage]:
    """The portal in memory and in a SQLite file (where a commit costs what it costs)."""
    memory = InMemoryStorage()
    _portal(memory, items)
    path = directory / f"portal-{len(list(directory.iterdir()))}.db"
    database = open_storage(str(path), create=True)
    _portal(database, items)
    return {"memory": memory, "SQLite file": database}


def _incoming(storage: WritableStorage, n: int, *, together: bool) -> None:
    at = T0 + timedelta(seconds=n)
    item = f"d{n % 100}"
    if together:
        record_incoming(storage, item, "email", at, event_id=f"e{n}", activity_id=f"a{n}")
        return
    storage.add(IncomingMessage(id=f"e{n}", item_id=item, at=at, channel="email"))
    storage.add(
        Activity(
            id=f"a{n}",
            item_ids=(item,),
            kind="email",
            direction="incoming",
            responsible_id="u",
            created_at=at,
            incoming=True,
        )
    )


def _one_by_one(storage: WritableStorage, at: datetime) -> None:
    for i in range(100):
        for activity in storage.open_activities_of_item(f"d{i}"):
            storage.replace(attrs.evolve(activity, completed_at=at))


def _bench_writes(directory: Path) -> None:
    calls = scaled(2_000, 200)
    header(f"Incoming work: {calls:,} messages over 100 deals, then processing (I1, I2)")
    ours_storages, their_storages = _storages(100, directory), _storages(100, directory)
    at = T0 + timedelta(days=1)
    for name, storage in ours_storages.items():
        other = their_storages[name]
        for n in range(-20, 0):  # warm-up: caches, statement preparation
            _incoming(storage, n, together=True)
            _incoming(other, n, together=False)
        _, ours = timed(lambda s=storage: [_incoming(s, n, together=True) for n in range(calls)])
        _, apart = timed(lambda s=other: [_incoming(s, n, together=False) for n in range(calls)])
        figure(
            f"{name}: record_incoming, per message",
            ours / calls,
            baseline=("two writes", apart / calls),
        )
        _, processed = timed(lambda s=storage: [mark_processed(s, f"d{i}", at) for i in range(100)])
        _, replaced = timed(lambda s=other: _one_by_one(s, at))
        figure(
            f"{name}: mark_processed, per item ({calls // 100} open each)",
            processed / 100,
            baseline=("one replace per activity", replaced / 100),
        )
        assert counters_of(storage, "u", at) == counters_of(other, "u", at), "answers differ"
    for storages in (ours_storages, their_storages):
        database = storages["SQLite file"]
        assert isinstance(database, SqlStorage)
        database.close()


def _bench_recurrence() -> None:
    header("Recurring activities: a daily series at 09:00 Warsaw (A2)")
    rule = "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR"
    start = T0 - timedelta(days=scaled(365, 7))
    end = T0 + timedelta(days=365)
    ours = occurrences(rule, start, WARSAW, T0, end)
    aware = rrulestr(rule, dtstart=start)
    floor = [o for o in aware.between(T0, end, inc=True) if o < end]
    assert [o.astimezone(WARSAW).replace(tzinfo=None) for o in ours] == [
        o.replace(tzinfo=None) for o in floor
    ], "baseline disagrees (no DST gap at 09:00)"
    note(f"{len(ours)} working-day occurrences in the year after a series {start.date()} start")
    figure(
        "occurrences in one year's window",
        median_seconds(lambda: occurrences(rule, start, WARSAW, T0, end), repeat=5),
        baseline=("dateutil between(), aware", median_seconds(
            lambda: aware.between(T0, end, inc=True), repeat=5
        )),
    )  # fmt: skip
    figure(
        "next occurrence after today (completing one)",
        median_seconds(lambda: occurrences_after(rule, start, WARSAW, T0), repeat=5, number=20),
        baseline=("dateutil after(), aware", median_seconds(
            lambda: aware.after(T0), repeat=5, number=20
        )),
    )  # fmt: skip


def main() -> None:
    """Print the figures."""
    with tempfile.TemporaryDirectory() as directory:
        _bench_writes(Path(directory))
    _bench_recurrence()


if __name__ == "__main__":
    main()
