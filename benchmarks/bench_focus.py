"""Focus ordering (F1, F5): a column of 100,000 items, in full and as a page of 50.

Baseline: `sorted()` over keys (focus time, item id) computed beforehand, in the
same run. Our figures include computing each item's focus time and next rise
from its timeline at `now`; the partial selection (`heapq.nlargest`) is what
lets a page of 50 beat the full sort. Target: top 50 of 100,000 at least 3x
faster than the full sort.
"""

from __future__ import annotations

import heapq
import random
from datetime import UTC, datetime, timedelta

from benchmarks._deals import deal, one_stage_portal
from benchmarks._harness import figure, header, human, median_seconds, note, scaled, timed
from crmcounters import (
    Activity,
    ActivityKind,
    CommentAdded,
    FocusColumn,
    FocusTimeline,
    IncomingMessage,
    InMemoryStorage,
    Item,
    focus_timelines,
    order_by_focus,
    rank_by_focus,
)

NOW = datetime(2026, 12, 14, 9, 0, tzinfo=UTC)
PAGE = 50


def _timelines(count: int, rng: random.Random, *, ahead: float) -> list[FocusTimeline]:
    """Items created over two years, each with up to 4 past instants; a share `ahead`
    of them also has 1 to 2 instants in the next 30 days."""
    timelines = []
    for n in range(count):
        created = NOW - timedelta(minutes=rng.randrange(1, 730 * 24 * 60))
        past = (NOW - created).total_seconds() // 60
        instants = [
            created + timedelta(minutes=rng.randrange(1, int(past) + 1))
            for _ in range(rng.randrange(5))
        ]
        if rng.random() < ahead:
            instants += [
                NOW + timedelta(minutes=rng.randrange(1, 30 * 24 * 60))
                for _ in range(rng.randrange(1, 3))
            ]
        timelines.append(
            FocusTimeline(item_id=f"deal-{n:07d}", created_at=created, instants=instants)
        )
    rng.shuffle(timelines)
    return timelines


def _storage(count: int, rng: random.Random) -> InMemoryStorage:
    """A portal with `count` deals, two activities and two events each."""
    storage = one_stage_portal("anna", "piotr")
    records: list[Item | Activity | CommentAdded | IncomingMessage] = []
    for n in range(count):
        created = NOW - timedelta(minutes=rng.randrange(90 * 24 * 60))
        records.append(item := deal(n, created))
        item_id = item.id
        for k in range(2):
            records.append(
                Activity(
                    id=f"a-{n}-{k}",
                    item_ids=(item_id,),
                    kind=ActivityKind.TODO,
                    responsible_id="anna",
                    created_at=created,
                    deadline=created + timedelta(minutes=rng.randrange(1, 120 * 24 * 60)),
                )
            )
        records.append(
            CommentAdded(
                id=f"c-{n}",
                item_id=item_id,
                at=created + timedelta(minutes=rng.randrange(90 * 24 * 60)),
                author_id="piotr",
            )
        )
        records.append(
            IncomingMessage(
                id=f"m-{n}",
                item_id=item_id,
                at=created + timedelta(minutes=rng.randrange(90 * 24 * 60)),
                channel="email",
            )
        )
    storage.add_all(records)
    return storage


def _column_figures(count: int, rng: random.Random, *, ahead: float, label: str) -> None:
    header(f"focus ordering, {count:,} items, {label}")
    timelines = _timelines(count, rng, ahead=ahead)
    live = sum(1 for timeline in timelines if timeline.settled_at > NOW)
    note(f"{live:,} items ({live / count:.0%}) can still rise after now")
    keys = [(timeline.focus_time(NOW), timeline.item_id) for timeline in timelines]

    baseline_s = median_seconds(lambda: sorted(keys, reverse=True))
    baseline = ("full sort", baseline_s)
    figure("sorted() on precomputed keys (baseline)", baseline_s)
    nlargest_s = median_seconds(lambda: heapq.nlargest(PAGE, keys))
    figure(f"heapq.nlargest({PAGE}) on precomputed keys", nlargest_s, baseline=baseline)

    full = rank_by_focus(timelines, NOW)
    assert [(t, i) for i, t in full] == sorted(keys, reverse=True)
    full_s = median_seconds(lambda: rank_by_focus(timelines, NOW))
    figure("rank_by_focus, whole column", full_s, baseline=baseline)
    page = rank_by_focus(timelines, NOW, limit=PAGE)
    assert page.item_ids == full.item_ids[:PAGE]
    page_s = median_seconds(lambda: rank_by_focus(timelines, NOW, limit=PAGE))
    figure(f"rank_by_focus, top {PAGE}", page_s, baseline=baseline)

    column, build_s = timed(lambda: FocusColumn(timelines=timelines))
    note(f"FocusColumn built once in {human(build_s)}")
    assert column.rank(NOW, limit=PAGE) == page
    assert column.rank(NOW) == full
    column_full_s = median_seconds(lambda: column.rank(NOW))
    figure("FocusColumn.rank, whole column", column_full_s, baseline=baseline)
    column_page_s = median_seconds(lambda: column.rank(NOW, limit=PAGE))
    figure(
        f"FocusColumn.rank, top {PAGE}",
        column_page_s,
        baseline=baseline,
        target=">= 3x faster than the full sort",
    )


def main() -> None:
    """Print the focus-ordering figures."""
    rng = random.Random(2026)
    count = scaled(100_000, minimum=200)
    _column_figures(count, rng, ahead=0.1, label="typical (10% with something ahead)")
    _column_figures(count, rng, ahead=0.9, label="worst case (90% with something ahead)")

    stored = scaled(10_000, minimum=50)
    header(f"focus ordering from storage, {stored:,} items")
    storage, _ = timed(lambda: _storage(stored, rng))
    ids = [item.id for item in storage.items()]
    stored_keys = [(t.focus_time(NOW), t.item_id) for t in focus_timelines(storage, ids)]
    stored_base_s = median_seconds(lambda: sorted(stored_keys, reverse=True), repeat=3)
    figure("sorted() on precomputed keys (baseline)", stored_base_s)
    from_storage_s = median_seconds(lambda: order_by_focus(storage, ids, NOW, limit=PAGE), repeat=3)
    figure(
        f"order_by_focus, top {PAGE} (reads storage)",
        from_storage_s,
        baseline=("full sort", stored_base_s),
    )
    note(f"{from_storage_s / stored * 1e6:.1f} µs per item to read and index it from storage")


if __name__ == "__main__":
    main()
