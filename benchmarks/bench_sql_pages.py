"""SQL pages: a 50-card Kanban page and Activities-view pages over a 1,000,000-activity portal.

Then one user owning 100,000 deals, whose narrow view columns (Today, This
week) hold a few hundred to a few thousand of them.

The portal: 100 users, 500,000 deals in one pipeline of 5 stages (100,000 per
column), two activities per deal (10% incoming, 10% completed, deadlines
spread over two months around `now`), a comment or message on one deal in
four. It is built in memory, then bulk-loaded with `import_portal` into
SQLite (a WAL file) and PostgreSQL (when CRMCOUNTERS_PG_DSN is set); the load
also fills the focus tables. The baseline, in the same run on the same data:
`InMemoryStorage`'s own pages (its live columns), checked to give the same
pages. Each in-memory figure is the median after a warm-up round; each database
figure the median of 7 after 12 warm-up calls (psycopg prepares a statement on
its fifth run, PostgreSQL keeps a generic plan after five more, as for any host
that serves pages all day).
"""

from __future__ import annotations

import gc
import os
import random
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs

from crmcounters import (
    ActivitiesView,
    Activity,
    Column,
    CommentAdded,
    Department,
    IncomingChannel,
    IncomingMessage,
    InMemoryStorage,
    Item,
    Pipeline,
    Portal,
    Settings,
    Stage,
    User,
    activities_view,
)
from crmcounters.focus import FocusPage, KanbanBoard, kanban_board
from crmcounters.sql import SqlStorage, import_portal, open_storage

from ._harness import figure, header, host_speed, human, median_seconds, note, scaled, timed

NOW = datetime(2026, 12, 14, 9, 0, tzinfo=UTC)
STAGES = ("new", "qualified", "proposal", "negotiation", "closing")


def build(users: int, items: int) -> InMemoryStorage:
    """`items` deals spread over `users` and 5 stages, two activities each."""
    rng = random.Random(15)
    storage = InMemoryStorage(Settings())
    storage.add(
        Department(id="all", name="All"),
        *(
            User(id=f"u{u}", name=f"User {u}", time_zone="Europe/Warsaw", department_id="all")
            for u in range(users)
        ),
    )
    storage.add(
        Pipeline(
            id="p",
            entity_type="deal",
            stages=tuple(Stage(id=stage, name=stage.title()) for stage in STAGES),
        )
    )
    minute = timedelta(minutes=1)
    storage.add_all(
        Item(
            id=f"i{n:07d}",
            entity_type="deal",
            pipeline_id="p",
            stage_id=STAGES[n % len(STAGES)],
            responsible_id=f"u{n % users}",
            created_at=NOW - rng.randint(60, 90 * 24 * 60) * minute,
        )
        for n in range(items)
    )

    def activity(n: int, k: int) -> Activity:
        incoming = rng.random() < 0.1
        created = NOW - rng.randint(2, 60 * 24 * 60) * minute
        return Activity(
            id=f"a{n:07d}-{k}",
            item_ids=(f"i{n:07d}",),
            kind="call" if incoming else "todo",
            direction="incoming" if incoming else "none",
            responsible_id=f"u{n % users}",
            created_at=created,
            deadline=None if incoming else NOW + rng.randint(-30 * 24 * 60, 30 * 24 * 60) * minute,
            completed_at=NOW - minute if rng.random() < 0.1 else None,
            incoming=incoming,
        )

    storage.add_all(activity(n, k) for n in range(items) for k in range(2))
    storage.add_all(
        (
            CommentAdded(
                id=f"e{n:07d}",
                item_id=f"i{n:07d}",
                at=NOW - rng.randint(0, 30 * 24 * 60) * minute,
                author_id=f"u{(n + 1) % users}",
            )
            if n % 8
            else IncomingMessage(
                id=f"e{n:07d}",
                item_id=f"i{n:07d}",
                at=NOW - rng.randint(0, 30 * 24 * 60) * minute,
                channel=IncomingChannel.EMAIL,
            )
        )
        for n in range(0, items, 4)
    )
    return storage


@contextmanager
def _databases() -> Iterator[list[tuple[str, str]]]:
    """(name, URL) of an empty SQLite file and, with CRMCOUNTERS_PG_DSN, a PostgreSQL schema."""
    with tempfile.TemporaryDirectory() as directory:
        found = [("sqlite", str(Path(directory) / "portal.db"))]
        dsn = os.environ.get("CRMCOUNTERS_PG_DSN")
        if not dsn:
            note("postgres: skipped (CRMCOUNTERS_PG_DSN is not set)")
            yield found
            return
        import psycopg

        schema = f"crmcounters_bench_pages_{os.getpid()}"
        admin = psycopg.connect(dsn, autocommit=True)
        admin.execute(f"CREATE SCHEMA {schema}")
        joiner = "&" if "?" in dsn else "?"
        try:
            yield [*found, ("postgres", f"{dsn}{joiner}options=-csearch_path%3D{schema}")]
        finally:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")
            admin.close()


def main() -> None:
    """Print SQL page times beside the in-memory pages and the bulk load that fills the tables."""
    start = host_speed()
    whole_portal()
    one_user()
    note(
        f"host speed: a fixed Python workload took {human(start)} at the start of this "
        f"benchmark and {human(host_speed())} at its end (compare runs by these)"
    )


def whole_portal() -> None:
    """The 1,000,000-activity portal: Kanban and Activities-view pages."""
    header("sql pages: a portal of 1,000,000 activities")
    user, stage = "u7", "proposal"
    with _databases() as databases:
        reference = _in_memory(databases, user, stage)
        # The database pages are timed as a host reads them, without the in-memory portal
        # in the process: kept, its 1 GB of objects made each round's gc.collect() walk them
        # and leave the caches cold, adding 5-10 ms to a PostgreSQL board.
        gc.collect()
        for name, url in databases:
            with open_storage(url) as storage:
                _compare(name, storage, user, stage, *reference.times)
                # The whole calls answer as in memory (issue 15: one batch per board).
                assert kanban_board(storage, "deal", "p", user, NOW, limit=50) == reference.board
                assert activities_view(storage, user, NOW, limit=50) == reference.view
                first = storage.kanban_focus_page("deal", "p", stage, NOW, limit=50, after=None)
                assert first == reference.kanban
                assert (
                    storage.kanban_focus_page(
                        "deal", "p", stage, NOW, limit=50, after=first.last_key
                    )
                    == reference.second
                )
                pages = storage.view_focus_pages(user, NOW, limit=50, column=None, after=None)
                assert pages[0] == reference.pages


@attrs.frozen
class _Reference:
    """The in-memory answers and figures the database pages are checked and compared with."""

    kanban: FocusPage
    second: FocusPage
    pages: Mapping[Column, FocusPage]
    board: KanbanBoard
    view: ActivitiesView
    times: tuple[float, float, tuple[float, float]]


def _in_memory(databases: list[tuple[str, str]], user: str, stage: str) -> _Reference:
    """Build the portal in memory, time its pages, load it into `databases`; keep only the
    answers and figures (the portal itself is dropped on return)."""
    items = scaled(500_000, 50)
    memory, built = timed(lambda: build(100, items))
    note(f"{len(memory.activities())} activities, {items} deals; built in memory in {built:.1f} s")
    kanban = memory.kanban_focus_page("deal", "p", stage, NOW, limit=50, after=None)
    pages, _ = memory.view_focus_pages(user, NOW, limit=50, column=None, after=None)
    second = memory.kanban_focus_page("deal", "p", stage, NOW, limit=50, after=kanban.last_key)
    memory_page = median_seconds(
        lambda: memory.kanban_focus_page("deal", "p", stage, NOW, limit=50, after=None), repeat=7
    )
    figure("in memory: Kanban page (50 of a column)", memory_page)
    memory_view = median_seconds(
        lambda: memory.view_focus_pages(user, NOW, limit=50, column=None, after=None), repeat=7
    )
    figure("in memory: Activities view pages (6 columns x 50)", memory_view)
    board = kanban_board(memory, "deal", "p", user, NOW, limit=50)
    view = activities_view(memory, user, NOW, limit=50)
    memory_calls = (
        median_seconds(lambda: kanban_board(memory, "deal", "p", user, NOW, limit=50), repeat=5),
        median_seconds(lambda: activities_view(memory, user, NOW, limit=50), repeat=5),
    )
    figure("in memory: kanban_board(limit=50), 5 columns x 50 cards", memory_calls[0])
    figure("in memory: activities_view(limit=50), 6 columns", memory_calls[1])
    portal = Portal(storage=memory)
    for name, url in databases:
        with open_storage(url, create=True) as storage:
            count, seconds = timed(lambda storage=storage: import_portal(portal, storage))
            note(f"{name}: import_portal of {count} records (focus tables too) {seconds:.1f} s")
    return _Reference(
        kanban=kanban,
        second=second,
        pages=pages,
        board=board,
        view=view,
        times=(memory_page, memory_view, memory_calls),
    )


#: Calls before timing a database figure, to time the state a host serving pages all day
#: is in: psycopg prepares a statement on its fifth run, and PostgreSQL plans a prepared
#: statement afresh for its first five runs before it settles on one generic plan.
_WARM_UP = 12


def _steady(fn: Callable[[], object]) -> float:
    """The median of 7 calls of `fn` after `_WARM_UP` calls: the cost a busy host sees."""
    for _ in range(_WARM_UP):
        fn()
    return median_seconds(fn, repeat=7)


def _compare(
    name: str,
    storage: SqlStorage,
    user: str,
    stage: str,
    memory_page: float,
    memory_view: float,
    memory_calls: tuple[float, float],
) -> None:
    first = storage.kanban_focus_page("deal", "p", stage, NOW, limit=50, after=None)  # warm-up
    storage.view_focus_pages(user, NOW, limit=50, column=None, after=None)
    page = _steady(lambda: storage.kanban_focus_page("deal", "p", stage, NOW, limit=50, after=None))
    figure(
        f"{name}: Kanban page (50 of {first.total})",
        page,
        baseline=("the in-memory page", memory_page),
        target="< 20 ms",
    )
    after = first.last_key
    figure(
        f"{name}: Kanban page 2 (after a cursor)",
        _steady(lambda: storage.kanban_focus_page("deal", "p", stage, NOW, limit=50, after=after)),
        target="< 20 ms",
    )
    later = NOW + timedelta(days=3, hours=5)
    figure(
        f"{name}: Kanban page at now + 3 days 5 h (time travel)",
        _steady(lambda: storage.kanban_focus_page("deal", "p", stage, later, limit=50, after=None)),
        target="< 20 ms",
    )
    for column in (Column.OVERDUE, Column.THIS_WEEK, Column.LATER):
        one = storage.view_focus_pages(user, NOW, limit=50, column=column, after=None)[0][column]
        figure(
            f"{name}: Activities view page, {column.value} (50 of {one.total})",
            _steady(
                lambda column=column: storage.view_focus_pages(  # type: ignore[misc]
                    user, NOW, limit=50, column=column, after=None
                )
            ),
            target="< 20 ms",
        )
    view = _steady(lambda: storage.view_focus_pages(user, NOW, limit=50, column=None, after=None))
    figure(
        f"{name}: Activities view pages (6 columns x 50)",
        view,
        baseline=("the in-memory pages", memory_view),
        target="6 pages",
    )
    board = _steady(lambda: kanban_board(storage, "deal", "p", user, NOW, limit=50))
    figure(
        f"{name}: kanban_board(limit=50), 5 columns x 50 cards (badges, Unread)",
        board,
        baseline=("the in-memory board", memory_calls[0]),
        target="< 20 ms",
    )
    figure(
        f"{name}: activities_view(limit=50), 6 columns",
        _steady(lambda: activities_view(storage, user, NOW, limit=50)),
        baseline=("the in-memory view", memory_calls[1]),
        target="< 20 ms",
    )


def one_user() -> None:
    """One user owning 100,000 deals: the Activities view's narrow columns at their widest."""
    header("sql pages: one user with 100,000 deals (200,000 activities)")
    items = scaled(100_000, 50)
    memory, built = timed(lambda: build(1, items))
    note(f"{len(memory.activities())} activities; built in memory in {built:.1f} s")
    pages, _ = memory.view_focus_pages("u0", NOW, limit=50, column=None, after=None)
    portal = Portal(storage=memory)
    with _databases() as databases:
        for name, url in databases:
            with open_storage(url, create=True) as storage:
                count, seconds = timed(lambda storage=storage: import_portal(portal, storage))
                note(f"{name}: import_portal of {count} records {seconds:.1f} s")
                found, _ = storage.view_focus_pages("u0", NOW, limit=50, column=None, after=None)
                assert found == pages
                for column in Column:
                    figure(
                        f"{name}: view page, {column.value} (50 of {pages[column].total})",
                        _steady(
                            lambda column=column, storage=storage: storage.view_focus_pages(  # type: ignore[misc]
                                "u0", NOW, limit=50, column=column, after=None
                            )
                        ),
                        target="< 20 ms",
                    )
