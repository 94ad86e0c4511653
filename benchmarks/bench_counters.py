"""Counters (C1-C9): the calculator and the `CounterIndex` against two baselines.

Baselines compute the same numbers in the same run: a naive full scan over every
activity in storage, and an indexed SQLite query (stdlib sqlite3) over the same
open (activity, item) pairs. Scenarios (sizes at BENCH_SCALE=1):

1. one user with 50,000 open activities over 10,000 items;
2. a portal with 1,000,000 activities and 1,000 users: every user's counters;
3. 100,000 mixed changes applied to the index;
4. advancing the clock through one working day, minute by minute;
5. per-section reads (C10) of one user with 50,000 open activities in four
   sections, under both Planned rules (C4, C11);
6. how `counters_of` grows: a user of 10,000, 50,000 and 100,000 open
   activities, each alone in a fresh interpreter (the cap raised so none is
   blocked).
"""

from __future__ import annotations

import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import attrs

from benchmarks._harness import figure, header, human, median_seconds, note, scaled, timed
from crmcounters import (
    Activity,
    ActivityKind,
    CounterIndex,
    CounterResult,
    InMemoryStorage,
    Item,
    Pipeline,
    PlannedRule,
    Settings,
    Stage,
    User,
    counters_of,
)
from crmcounters._counters import lit_at

WARSAW = ZoneInfo("Europe/Warsaw")
#: Monday 2026-12-14 08:00 in Warsaw: the start of the working day we advance through.
NOW = datetime(2026, 12, 14, 8, 0, tzinfo=WARSAW)
CREATED = datetime(2026, 1, 1, tzinfo=WARSAW)
OFFSET = timedelta(minutes=15)

# The same numbers as CounterResult: incoming, planned, incoming items, planned items,
# items, open activities, valid_until (epoch seconds or None).
Numbers = tuple[int, int, int, int, int, int, float | None]


def _numbers(result: CounterResult) -> Numbers:
    until = result.valid_until
    return (
        result.incoming or 0,
        result.planned or 0,
        result.incoming_items or 0,
        result.planned_items or 0,
        result.items or 0,
        result.open_activities,
        None if until is None else until.timestamp(),
    )


# -- building data ---------------------------------------------------------------------


def _activity(rng: random.Random, activity_id: str, item_id: str, owner: str) -> Activity:
    roll = rng.random()
    if roll < 0.1:  # incoming-channel: an e-mail waiting
        return Activity(
            id=activity_id,
            item_ids=(item_id,),
            kind=ActivityKind.EMAIL,
            responsible_id=owner,
            created_at=CREATED,
            incoming=True,
        )
    deadline = None
    if roll < 0.9:  # planned, due between 3 days ago and 7 days ahead
        deadline = NOW + timedelta(minutes=rng.randrange(-3 * 1440, 7 * 1440))
    return Activity(
        id=activity_id,
        item_ids=(item_id,),
        kind=ActivityKind.CALL,
        responsible_id=owner,
        created_at=CREATED,
        deadline=deadline,
        reminder_offsets=(60, 0) if rng.random() < 0.1 else None,
    )


#: The sections of scenario 5 (C10): two deal pipelines, leads, contacts.
SECTIONS: tuple[tuple[str, str | None], ...] = (
    ("deal", "p"),
    ("deal", "p-vip"),
    ("lead", "p-lead"),
    ("contact", None),
)


def build_portal(
    users: int,
    items_per_user: int,
    activities_per_item: int,
    *,
    sections: tuple[tuple[str, str | None], ...] = (("deal", "p"),),
    settings: Settings | None = None,
) -> InMemoryStorage:
    """A portal of `users` users, each with items (spread over `sections`) and open activities."""
    rng = random.Random(42)
    storage = InMemoryStorage(settings)
    storage.add_all(
        Pipeline(id=pid, entity_type=et, stages=(Stage(id="new", name="New"),))
        for et, pid in sections
        if pid is not None
    )
    storage.add_all(
        User(id=f"u{u}", name=f"User {u}", time_zone="Europe/Warsaw") for u in range(users)
    )
    records: list[Item | Activity] = []
    for u in range(users):
        owner = f"u{u}"
        for i in range(items_per_user):
            item_id = f"d{u}-{i}"
            entity_type, pipeline_id = sections[i % len(sections)]
            records.append(
                Item(
                    id=item_id,
                    entity_type=entity_type,
                    pipeline_id=pipeline_id,
                    stage_id=None if pipeline_id is None else "new",
                    responsible_id=owner,
                    created_at=CREATED,
                )
            )
            for k in range(activities_per_item):
                records.append(_activity(rng, f"a{u}-{i}-{k}", item_id, owner))
    storage.add_all(records)
    return storage


# -- baselines -------------------------------------------------------------------------


def naive_counters(storage: InMemoryStorage, user_id: str, now: datetime) -> Numbers:
    """Scan every activity in storage; keep the open ones on the user's items."""
    incoming = planned = opened = 0
    incoming_items: set[str] = set()
    planned_items: set[str] = set()
    next_lit: datetime | None = None
    for activity in storage.activities():
        if activity.completed_at is not None:
            continue
        for item_id in activity.item_ids:
            if storage.item(item_id).responsible_id != user_id:
                continue
            opened += 1
            if activity.incoming:
                incoming += 1
                incoming_items.add(item_id)
                continue
            lights = activity.lit_at(15)
            if lights is None:
                continue
            if lights <= now:
                planned += 1
                planned_items.add(item_id)
            elif next_lit is None or lights < next_lit:
                next_lit = lights
    return (
        incoming,
        planned,
        len(incoming_items),
        len(planned_items),
        len(incoming_items | planned_items),
        opened,
        None if next_lit is None else next_lit.timestamp(),
    )


class Sqlite:
    """The open (activity, item) pairs in an indexed in-memory SQLite table."""

    def __init__(self, storage: InMemoryStorage) -> None:
        self.db = sqlite3.connect(":memory:")
        self.db.execute(
            "CREATE TABLE pairs (activity TEXT, item TEXT, owner TEXT, incoming INT, lit REAL)"
        )
        rows = []
        for item in storage.items():
            for activity in storage.open_activities_of_item(item.id):
                lights = lit_at(activity, OFFSET)
                rows.append(
                    (
                        activity.id,
                        item.id,
                        item.responsible_id,
                        int(activity.incoming),
                        None if lights is None else lights.timestamp(),
                    )
                )
        self.db.executemany("INSERT INTO pairs VALUES (?, ?, ?, ?, ?)", rows)
        self.db.execute("CREATE INDEX by_owner ON pairs (owner, incoming, lit, item)")
        self.db.execute("CREATE INDEX by_activity ON pairs (activity)")
        self.db.execute("CREATE INDEX by_item ON pairs (item)")
        self.db.commit()

    def counters(self, user_id: str, now: datetime) -> Numbers:
        """One query computing what `counters_of` returns."""
        t = now.timestamp()
        row = self.db.execute(
            """SELECT
              (SELECT count(*) FROM pairs WHERE owner = :u AND incoming = 1),
              (SELECT count(*) FROM pairs WHERE owner = :u AND incoming = 0 AND lit <= :t),
              (SELECT count(DISTINCT item) FROM pairs WHERE owner = :u AND incoming = 1),
              (SELECT count(DISTINCT item) FROM pairs
                 WHERE owner = :u AND incoming = 0 AND lit <= :t),
              (SELECT count(DISTINCT item) FROM pairs
                 WHERE owner = :u AND (incoming = 1 OR lit <= :t)),
              (SELECT count(*) FROM pairs WHERE owner = :u),
              (SELECT min(lit) FROM pairs WHERE owner = :u AND incoming = 0 AND lit > :t)""",
            {"u": user_id, "t": t},
        ).fetchone()
        return tuple(row)  # type: ignore[return-value]


def _check(label: str, ours: Numbers, theirs: Numbers) -> None:
    if ours != theirs:
        raise AssertionError(f"{label}: baseline disagrees: {ours} != {theirs}")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- scenarios -------------------------------------------------------------------------


def scenario_one_heavy_user() -> None:
    """One user with 50,000 open activities over 10,000 items."""
    header("one user, 50,000 open activities over 10,000 items")
    items = scaled(10_000, minimum=4)
    storage, built = timed(lambda: build_portal(1, items, 5))
    note(f"{items * 5} activities, {items} items; built in {built:.1f} s")
    now = NOW + timedelta(hours=2)
    sql = Sqlite(storage)
    ours = _numbers(counters_of(storage, "u0", now))
    _check("naive", ours, naive_counters(storage, "u0", now))
    _check("sqlite", ours, sql.counters("u0", now))
    naive_s = median_seconds(lambda: naive_counters(storage, "u0", now), repeat=3)
    sql_s = median_seconds(lambda: sql.counters("u0", now), repeat=5)
    full_s = median_seconds(lambda: counters_of(storage, "u0", now), repeat=7)
    figure("full recompute: counters_of", full_s, baseline=("naive scan", naive_s))
    figure("full recompute: counters_of", full_s, baseline=("sqlite", sql_s), target="< 50 ms")
    index = CounterIndex.build(storage, now)
    _check("index", ours, _numbers(index.counters("u0")))
    read_s = median_seconds(lambda: index.counters("u0"), repeat=7, number=10_000)
    figure("index read: CounterIndex.counters", read_s, baseline=("naive scan", naive_s))
    figure(
        "index read: CounterIndex.counters",
        read_s,
        baseline=("sqlite", sql_s),
        target="< 5 µs, >= 100x sqlite",
    )


def scenario_portal(
    users: int,
) -> tuple[InMemoryStorage, CounterIndex, Sqlite]:
    """1,000,000 activities, 1,000 users: recompute every user's counters."""
    header("portal, 1,000,000 activities and 1,000 users: every user's counters")
    rss_before = _rss_mb()
    storage, built = timed(lambda: build_portal(users, 200, 5))
    index, indexed = timed(lambda: CounterIndex.build(storage, NOW))
    rss_after = _rss_mb()
    note(f"{users * 1000} activities, {users * 200} items, {users} users")
    note(f"storage built in {built:.1f} s, index built in {indexed:.1f} s")
    note(
        f"peak RSS with storage + index: {rss_after:.0f} MB "
        f"(was {rss_before:.0f} MB before building)   [target: < 1.5 GB for 1,000,000]"
    )
    sql = Sqlite(storage)
    user_ids = [u.id for u in storage.users()]
    for one in user_ids[:3]:
        ours = _numbers(counters_of(storage, one, NOW))
        _check("sqlite", ours, sql.counters(one, NOW))
        _check("index", ours, _numbers(index.counters(one)))
    _check("naive", _numbers(counters_of(storage, "u0", NOW)), naive_counters(storage, "u0", NOW))

    full_s = median_seconds(lambda: [counters_of(storage, u, NOW) for u in user_ids], repeat=3)
    sql_s = median_seconds(lambda: [sql.counters(u, NOW) for u in user_ids], repeat=3)
    sample = user_ids[:2]
    naive_one = median_seconds(lambda: [naive_counters(storage, u, NOW) for u in sample], repeat=1)
    naive_s = naive_one / len(sample) * len(user_ids)
    read_s = median_seconds(lambda: [index.counters(u) for u in user_ids], repeat=5)
    figure(
        "all users: counters_of each",
        full_s,
        baseline=(f"naive scan (extrapolated from {len(sample)} users)", naive_s),
    )
    figure("all users: counters_of each", full_s, baseline=("sqlite", sql_s))
    figure("all users: CounterIndex.counters each", read_s, baseline=("sqlite", sql_s))
    return storage, index, sql


def scenario_changes(storage: InMemoryStorage, index: CounterIndex, sql: Sqlite) -> None:
    """100,000 mixed changes: add, complete, reschedule, delete, reassign."""
    header("100,000 mixed changes applied to the index")
    rng = random.Random(7)
    n = scaled(100_000, minimum=50)
    user_ids = [u.id for u in storage.users()]
    item_ids = [i.id for i in storage.items()]
    open_ids = [a.id for a in storage.activities() if a.is_open]
    ours: list[float] = []
    theirs: list[float] = []
    recompute: list[float] = []
    clock = time.perf_counter
    db = sql.db
    for step in range(n):
        roll = rng.random()
        affected: str
        if roll < 0.3 or not open_ids:  # add an activity
            item = storage.item(rng.choice(item_ids))
            new = _activity(rng, f"new-{step}", item.id, item.responsible_id)
            storage.add(new)
            open_ids.append(new.id)
            start = clock()
            index.put_activity(new)
            ours.append(clock() - start)
            lights = lit_at(new, OFFSET)
            row = (new.id, item.id, item.responsible_id, int(new.incoming), lights)
            start = clock()
            db.execute(
                "INSERT INTO pairs VALUES (?, ?, ?, ?, ?)",
                (*row[:4], None if lights is None else lights.timestamp()),
            )
            theirs.append(clock() - start)
            affected = item.responsible_id
        elif roll < 0.55:  # complete one
            activity = storage.activity(open_ids.pop(rng.randrange(len(open_ids))))
            done = attrs.evolve(activity, completed_at=NOW)
            storage.replace(done)
            start = clock()
            index.put_activity(done)
            ours.append(clock() - start)
            start = clock()
            db.execute("DELETE FROM pairs WHERE activity = ?", (activity.id,))
            theirs.append(clock() - start)
            affected = storage.item(activity.item_ids[0]).responsible_id
        elif roll < 0.8:  # reschedule one
            activity = storage.activity(rng.choice(open_ids))
            if activity.incoming:
                continue
            moved = attrs.evolve(
                activity, deadline=NOW + timedelta(minutes=rng.randrange(-1440, 7 * 1440))
            )
            storage.replace(moved)
            start = clock()
            index.put_activity(moved)
            ours.append(clock() - start)
            lights = lit_at(moved, OFFSET)
            start = clock()
            db.execute(
                "UPDATE pairs SET lit = ? WHERE activity = ?",
                (None if lights is None else lights.timestamp(), moved.id),
            )
            theirs.append(clock() - start)
            affected = storage.item(moved.item_ids[0]).responsible_id
        elif roll < 0.9:  # delete one
            activity_id = open_ids.pop(rng.randrange(len(open_ids)))
            item_id = storage.activity(activity_id).item_ids[0]
            storage.remove_activity(activity_id)
            start = clock()
            index.remove_activity(activity_id)
            ours.append(clock() - start)
            start = clock()
            db.execute("DELETE FROM pairs WHERE activity = ?", (activity_id,))
            theirs.append(clock() - start)
            affected = storage.item(item_id).responsible_id
        else:  # reassign an item
            item = storage.item(rng.choice(item_ids))
            moved_item = attrs.evolve(item, responsible_id=rng.choice(user_ids))
            storage.replace(moved_item)
            start = clock()
            index.put_item(moved_item)
            ours.append(clock() - start)
            start = clock()
            db.execute(
                "UPDATE pairs SET owner = ? WHERE item = ?", (moved_item.responsible_id, item.id)
            )
            theirs.append(clock() - start)
            affected = moved_item.responsible_id
        if step % 100 == 0:  # what a host without an index pays: recompute the user
            start = clock()
            counters_of(storage, affected, NOW)
            recompute.append(clock() - start)
    db.commit()
    for one in user_ids[:3]:
        recomputed = _numbers(counters_of(storage, one, NOW))
        _check("after changes", recomputed, _numbers(index.counters(one)))
        _check("sqlite after changes", _numbers(index.counters(one)), sql.counters(one, NOW))
    note(f"{len(ours)} changes; index mean {statistics.fmean(ours) * 1e6:.2f} µs")
    median_ours = statistics.median(ours)
    figure(
        "index update (median)",
        median_ours,
        baseline=("sqlite update", statistics.median(theirs)),
        target="< 20 µs",
    )
    figure(
        "index update (median)",
        median_ours,
        baseline=("recompute the user (counters_of)", statistics.median(recompute)),
    )


def scenario_working_day(storage: InMemoryStorage, index: CounterIndex, sql: Sqlite) -> None:
    """Advance the clock from 08:00 to 18:00, minute by minute; read every user each minute."""
    header("advancing the clock through one working day (08:00-18:00, 1-minute steps)")
    steps = scaled(600, minimum=10)
    user_ids = [u.id for u in storage.users()]
    before = sum(index.counters(u).planned or 0 for u in user_ids)
    per_step: list[float] = []
    clock = time.perf_counter
    moment = NOW
    for _ in range(steps):
        moment += timedelta(minutes=1)
        start = clock()
        index.advance_to(moment)
        for u in user_ids:
            index.counters(u)
        per_step.append(clock() - start)
    after = sum(index.counters(u).planned or 0 for u in user_ids)
    note(f"{steps} steps; {after - before} activities lit on the way")
    for one in user_ids[:3]:
        recomputed = _numbers(counters_of(storage, one, moment))
        _check("end of day", recomputed, _numbers(index.counters(one)))
    sql_s = median_seconds(lambda: [sql.counters(u, moment) for u in user_ids], repeat=3)
    full_s = median_seconds(lambda: [counters_of(storage, u, moment) for u in user_ids], repeat=1)
    ours = statistics.median(per_step)
    figure("one minute: advance_to + read every user", ours, baseline=("sqlite, every user", sql_s))
    figure(
        "one minute: advance_to + read every user",
        ours,
        baseline=("counters_of, every user", full_s),
    )
    figure("the whole day", sum(per_step), baseline=("sqlite, every user", sql_s * steps))


def _section_reads(rule: PlannedRule, items: int, now: datetime) -> None:
    storage, built = timed(
        lambda: build_portal(1, items, 5, sections=SECTIONS, settings=Settings(planned_rule=rule))
    )
    index, indexed = timed(lambda: CounterIndex.build(storage, now))
    note(f"Planned rule {rule.value}: storage built in {built:.1f} s, index in {indexed:.1f} s")
    reads: dict[str, dict[str, str]] = {
        "one pipeline": {"entity_type": "deal", "pipeline_id": "p"},
        "one entity type over two pipelines": {"entity_type": "deal"},
        "contacts": {"entity_type": "contact"},
        "every section": {},
    }
    for label, scope in reads.items():
        expected = counters_of(storage, "u0", now, **scope)  # type: ignore[arg-type]
        got = index.counters("u0", **scope)  # type: ignore[arg-type]
        _check(f"index {label}", _numbers(expected), _numbers(got))
        full_s = median_seconds(
            lambda scope=scope: counters_of(storage, "u0", now, **scope),  # type: ignore[arg-type]
            repeat=3,
        )
        read_s = median_seconds(
            lambda scope=scope: index.counters("u0", **scope),  # type: ignore[arg-type]
            repeat=7,
            number=10_000,
        )
        figure(
            f"{rule.value}, {label}: CounterIndex.counters",
            read_s,
            baseline=("counters_of", full_s),
            target="< 5 µs",
        )


def scenario_sections() -> None:
    """One user, 50,000 open activities over 10,000 items in four sections (C10, C11)."""
    header("per-section reads: one user, 50,000 open activities in four sections")
    items = scaled(10_000, minimum=8)
    for rule in PlannedRule:
        _section_reads(rule, items, NOW + timedelta(hours=2))


_SCALING_CHILD = """
import random, statistics, sys, time
from datetime import timedelta
from benchmarks.bench_counters import CREATED, NOW, _activity, _check, _numbers, naive_counters
from crmcounters import InMemoryStorage, Item, Pipeline, Settings, Stage, User, counters_of
size = int(sys.argv[1])
rng = random.Random(15)
storage = InMemoryStorage(Settings(open_activity_cap=1_000_000))
storage.add(Pipeline(id="p", entity_type="deal", stages=(Stage(id="new", name="New"),)))
records = [User(id="u", name="u", time_zone="Europe/Warsaw")]
for i in range(size // 5):
    records.append(Item(id=f"d{i}", entity_type="deal", pipeline_id="p", stage_id="new",
                        responsible_id="u", created_at=CREATED))
    records.extend(_activity(rng, f"a{i}-{k}", f"d{i}", "u") for k in range(5))
storage.add_all(records)
del records
now = NOW + timedelta(hours=2)
_check("naive", _numbers(counters_of(storage, "u", now)), naive_counters(storage, "u", now))
times = []
for _ in range(15):
    start = time.perf_counter()
    counters_of(storage, "u", now)
    times.append(time.perf_counter() - start)
print(min(times), statistics.median(times))
"""


def _one_user(size: int) -> tuple[float, float]:
    """(fastest, median) seconds of `counters_of` for one user of `size` activities, alone in
    a fresh interpreter."""
    done = subprocess.run(  # noqa: S603 - this interpreter, our own script
        [sys.executable, "-c", _SCALING_CHILD, str(size)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    fastest, median = done.stdout.split()
    return float(fastest), float(median)


def scenario_scaling() -> None:
    """counters_of for users of 10,000, 50,000 and 100,000 activities (issue 15).

    Each user is alone in a portal built in a fresh interpreter: where a user's
    records lie in memory changes the cost per activity (in one portal, the
    user built last is the slowest per activity, whichever its size), so
    sizes are compared with the same layout.
    """
    header("counters_of as a user grows: 10,000, 50,000, 100,000 open activities")
    sizes = [scaled(n, minimum=5) for n in (10_000, 50_000, 100_000)]
    # Five rounds take the sizes in turn, each in a new interpreter, so that a busy spell
    # on a shared machine slows all three alike; the fastest and the median round count.
    rounds: dict[int, list[tuple[float, float]]] = {size: [] for size in sizes}
    for _ in range(5):
        for size in sizes:
            rounds[size].append(_one_user(size))
    figures = {
        size: (min(f for f, _ in runs), statistics.median(m for _, m in runs))
        for size, runs in rounds.items()
    }
    _, middle, large = sizes
    for size, (fastest, median) in figures.items():
        note(
            f"counters_of, {size:>7,} activities: fastest {human(fastest):>10}"
            f" ({fastest / size * 1e9:4.0f} ns per activity), median {human(median)}"
        )
    note(
        f"{large:,} vs {middle:,} activities: {figures[large][0] / figures[middle][0]:.2f}x the "
        f"time (medians: {figures[large][1] / figures[middle][1]:.2f}x) for "
        f"{large / middle:.1f}x the activities   [target: <= 2.2x]"
    )


def main() -> None:
    """Run the six scenarios and print their figures."""
    storage, index, sql = scenario_portal(scaled(1_000, minimum=2))
    scenario_changes(storage, index, sql)
    scenario_working_day(storage, index, sql)
    del storage, index, sql
    scenario_one_heavy_user()
    scenario_sections()
    scenario_scaling()


if __name__ == "__main__":
    main()
