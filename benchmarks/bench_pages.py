"""Kanban and Activities view pages of 50 at 2,000 and 100,000 items (issue 15), and writes.

One user, one one-stage pipeline, one to-do per item (deadlines from a month
ago to two months ahead, so every Activities view column fills). Baseline: the
same page computed from scratch (a storage without the page hook), in the same
run. Our figures are pages of `InMemoryStorage`'s live columns, after a
warm-up call; building the live structures is timed apart and printed beside.
Targets: a page at 100,000 items at most 3x its cost at 2,000 and under 2 ms;
one activity change reflected in under 50 µs; the structures for 100,000
items built in under 2 s.
"""

from __future__ import annotations

import gc
import random
import statistics
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from benchmarks._deals import deal, one_stage_portal
from benchmarks._harness import figure, header, human, median_seconds, note, scaled, timed
from crmcounters import (
    Activity,
    ActivityKind,
    Column,
    InMemoryStorage,
    Item,
    activities_view,
)
from crmcounters.focus import kanban_board

NOW = datetime(2026, 12, 14, 9, 0, tzinfo=UTC)
PAGE = 50
_HOOKS = frozenset({"kanban_focus_page", "view_focus_pages"})


class _Scratch:
    """The storage without the page hook: every page computed from scratch (the baseline)."""

    def __init__(self, storage: InMemoryStorage) -> None:
        self._storage = storage

    def __getattr__(self, name: str) -> Any:
        if name in _HOOKS:
            raise AttributeError(name)
        return getattr(self._storage, name)


def _storage(count: int, rng: random.Random) -> InMemoryStorage:
    """`count` deals of one user in one stage, each with one to-do."""
    storage = one_stage_portal("anna")
    records: list[Item | Activity] = []
    for n in range(count):
        created = NOW - timedelta(minutes=rng.randrange(90 * 24 * 60))
        records.append(item := deal(n, created))
        records.append(
            Activity(
                id=f"a-{n}",
                item_ids=(item.id,),
                kind=ActivityKind.TODO,
                responsible_id="anna",
                created_at=created,
                deadline=NOW + timedelta(minutes=rng.randrange(-30 * 24 * 60, 60 * 24 * 60)),
            )
        )
    storage.add_all(records)
    return storage


def _kanban(storage: Any, now: datetime = NOW, cursor: str | None = None) -> Any:
    return kanban_board(storage, "deal", "p", "anna", now, limit=PAGE, cursor=cursor)


def _view(storage: Any, now: datetime = NOW, cursor: str | None = None) -> Any:
    return activities_view(storage, "anna", now, limit=PAGE, cursor=cursor)


def _figures(count: int, rng: random.Random, results: dict[str, dict[int, float]]) -> None:
    header(f"pages of {PAGE}, {count:,} items (one user, one stage, one to-do each)")
    storage, load_s = timed(lambda: _storage(count, rng))
    note(f"portal built in {human(load_s)} (not part of any figure below)")
    cpu = time.process_time()
    _, build_s = timed(lambda: storage._live_pages(NOW))  # every item's timeline, Kanban columns
    cpu_build = time.process_time() - cpu
    cpu = time.process_time()
    _, view_build_s = timed(lambda: _view(storage))  # the first view page builds the user's
    cpu_view = time.process_time() - cpu
    note(
        f"live Kanban columns built in {human(build_s)} (CPU {human(cpu_build)}), the user's "
        f"view columns in {human(view_build_s)} (CPU {human(cpu_view)})   [target: < 2 s]"
    )
    results["build"][count] = build_s + view_build_s
    scratch = _Scratch(storage)
    assert _kanban(storage) == _kanban(scratch)
    assert _view(storage) == _view(scratch)
    repeat = 1 if count > 10_000 else 5
    kanban_base = median_seconds(lambda: _kanban(scratch), repeat=repeat)  # slow: few rounds
    view_base = median_seconds(lambda: _view(scratch), repeat=repeat)
    figure("kanban_board(limit=50) from scratch (baseline)", kanban_base)
    kanban_s = median_seconds(lambda: _kanban(storage), repeat=7, number=20)
    figure(
        "kanban_board(limit=50), live",
        kanban_s,
        baseline=("from scratch", kanban_base),
        target="< 2 ms, 100k <= 3x 2k",
    )
    results["kanban"][count] = kanban_s
    cursor = _kanban(storage).columns[0].next_cursor
    page2_s = median_seconds(lambda: _kanban(storage, cursor=cursor), repeat=7, number=20)
    figure("kanban_board(limit=50, cursor=page 2), live", page2_s)
    figure("activities_view(limit=50) from scratch (baseline)", view_base)
    view_s = median_seconds(lambda: _view(storage), repeat=7, number=20)
    figure(
        "activities_view(limit=50), 6 columns, live",
        view_s,
        baseline=("from scratch", view_base),
        target="< 2 ms, 100k <= 3x 2k",
    )
    results["view"][count] = view_s
    view_cursor = _view(storage).next_cursors[Column.LATER]
    column_s = median_seconds(lambda: _view(storage, cursor=view_cursor), repeat=7, number=20)
    figure("activities_view(limit=50, cursor=Later page 2), live", column_s)
    results["column"][count] = column_s

    minute = [0]

    def moving() -> None:  # each call a minute later: re-keys the items whose reminder came
        minute[0] += 1
        _kanban(storage, NOW + timedelta(minutes=minute[0]))

    figure("kanban_board(limit=50), now +1 min per call", median_seconds(moving, number=20))

    activity = storage.activity("a-0")
    versions = [
        attrs.evolve(activity, deadline=NOW + timedelta(minutes=m))
        for m in (7, 90, 3 * 24 * 60, 20 * 24 * 60)
    ]
    turn = [0]

    def change() -> None:  # reschedule one activity: the write, its index updates included
        turn[0] += 1
        storage.replace(versions[turn[0] % 4])

    live = storage._live
    assert live is not None
    write_s = median_seconds(change, repeat=7, number=50)
    storage._live = None  # the same write on a storage that keeps no live columns
    plain_s = median_seconds(change, repeat=7, number=50)
    figure("replace(activity), live columns kept", write_s, baseline=("plain write", plain_s))

    def reflect() -> float:  # a plain write, then the live columns told of it: timed alone
        spent = 0.0
        for _ in range(50):
            storage._live = None
            change()
            storage._live = live
            start = time.perf_counter()
            live.touch(("deal-0000000",))
            spent += time.perf_counter() - start
        return spent / 50

    touch_s = statistics.median(reflect() for _ in range(7))
    storage._live = live
    figure("one activity change reflected (LivePages.touch)", touch_s, target="< 50 µs")
    results["touch"][count] = touch_s
    storage._live = None  # the plain writes above went unseen: rebuild before comparing
    gc.collect()
    tracemalloc.start()
    storage._live_pages(NOW)
    _view(storage)
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    note(f"the live columns hold {held / 2**20:.1f} MB ({held / count:.0f} bytes per item)")
    change()
    assert _kanban(storage) == _kanban(scratch)
    assert _view(storage) == _view(scratch)


def main() -> None:
    """Print the page figures at two sizes, then the 100k / 2k ratios."""
    rng = random.Random(2026)
    small, big = scaled(2_000, minimum=60), scaled(100_000, minimum=120)
    results: dict[str, dict[int, float]] = {
        name: {} for name in ("build", "kanban", "view", "column", "touch")
    }
    for count in (small, big):
        _figures(count, rng, results)
    header(f"growth from {small:,} to {big:,} items")
    for name in ("kanban", "view", "column", "touch"):
        ratio = results[name][big] / results[name][small]
        note(f"{name:<8} {ratio:5.2f}x   [target: <= 3x]")


if __name__ == "__main__":
    main()
