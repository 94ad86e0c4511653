"""A request-shaped figure: one user's counters plus a 50-card Kanban page, HTTP and in process.

Through examples/fastapi_app.py (FastAPI's test client: routing, validation,
the thread pool, JSON) on SQLite and PostgreSQL, beside the same two calls
made in process on the same database (`SqlStorage.counter_totals` and
`kanban_board(..., limit=10)` over 5 stages), and the same page over
`InMemoryStorage`, all in the same run. The difference is what the web layer
costs per request.
"""

from __future__ import annotations

import importlib.util
import os
import random
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

from crmcounters import (
    AccessLevel,
    AccessPolicy,
    Activity,
    InMemoryStorage,
    Item,
    Pipeline,
    Portal,
    Settings,
    Stage,
    User,
    kanban_board,
)
from crmcounters.sql import SqlStorage, import_portal, open_storage
from crmcounters.testing import FixedClock

from ._harness import figure, header, median_seconds, note, scale, scaled

NOW = datetime(2026, 12, 14, 9, 0, tzinfo=UTC)
EVERYONE = AccessPolicy(default=AccessLevel.ALL)
STAGES = 5
LIMIT = 10  # cards per stage: a 50-card page


def build(users: int, deals: int, activities_per_deal: int) -> InMemoryStorage:
    """Users owning deals spread over one pipeline's stages, each deal with open activities."""
    rng = random.Random(13)
    storage = InMemoryStorage(Settings())
    storage.add(*(User(id=f"u{u}", name=f"U{u}", time_zone="Europe/Warsaw") for u in range(users)))
    stages = [Stage(id=f"s{n}", name=f"Stage {n}") for n in range(STAGES)]
    storage.add(Pipeline(id="p", entity_type="deal", stages=stages))
    storage.add_all(
        Item(
            id=f"d{n}",
            entity_type="deal",
            pipeline_id="p",
            stage_id=f"s{n % STAGES}",
            responsible_id=f"u{n % users}",
            created_at=NOW - timedelta(days=30),
            title=f"Deal {n}",
        )
        for n in range(deals)
    )
    storage.add_all(
        Activity(
            id=f"a{n}-{k}",
            item_ids=(f"d{n}",),
            kind="todo",
            responsible_id=f"u{n % users}",
            created_at=NOW - timedelta(days=20),
            deadline=NOW + timedelta(minutes=rng.randint(-5_000, 20_000)),
        )
        for n in range(deals)
        for k in range(activities_per_deal)
    )
    return storage


def _example() -> ModuleType:
    path = Path(__file__).resolve().parent.parent / "examples" / "fastapi_app.py"
    spec = importlib.util.spec_from_file_location("fastapi_app", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fastapi_app"] = module
    spec.loader.exec_module(module)
    return module


def _databases(folder: Path) -> Iterator[tuple[str, str]]:
    yield "sqlite", str(folder / "web.db")
    dsn = os.environ.get("CRMCOUNTERS_PG_DSN")
    if not dsn:
        note("postgres: skipped (CRMCOUNTERS_PG_DSN is not set)")
        return
    import psycopg

    schema = f"crmcounters_bench_web_{os.getpid()}"
    admin = psycopg.connect(dsn, autocommit=True)
    admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield "postgres", f"{dsn}{'&' if '?' in dsn else '?'}options=-csearch_path%3D{schema}"
    finally:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")
        admin.close()


def main() -> None:
    """Print the request over HTTP against the same calls in process, per database."""
    from fastapi.testclient import TestClient  # the `fastapi` extra

    example = _example()
    deals = scaled(500, STAGES * LIMIT)
    memory = build(10, deals, 10)
    header(f"web: counters + a {STAGES * LIMIT}-card Kanban page ({deals} deals)")

    def in_memory() -> object:
        return kanban_board(memory, "deal", "p", "u0", NOW, limit=LIMIT, policy=EVERYONE)

    rounds, calls = (5, 20) if scale() >= 0.5 else (1, 2)  # a smoke run only checks it works
    figure("in memory: kanban_board page", median_seconds(in_memory, repeat=rounds))
    with tempfile.TemporaryDirectory() as folder:
        for label, url in _databases(Path(folder)):
            with open_storage(url, create=True) as storage:
                import_portal(Portal(storage=memory, access=EVERYONE), storage)

                def direct(storage: SqlStorage = storage) -> None:
                    storage.counter_totals("u0", NOW)
                    kanban_board(storage, "deal", "p", "u0", NOW, limit=LIMIT, policy=EVERYONE)

                direct()  # warm-up
                in_process = median_seconds(direct, repeat=rounds)
                counters_in_process = median_seconds(
                    lambda storage=storage: storage.counter_totals("u0", NOW),
                    repeat=rounds,
                    number=calls,
                )
            app = example.create_app(url, clock=FixedClock(NOW), access=EVERYONE)
            with TestClient(app) as client:

                def request() -> None:
                    counters = client.get("/users/u0/counters")
                    page = client.get(
                        "/pipelines/p/kanban", params={"viewer": "u0", "limit": LIMIT}
                    )
                    assert counters.status_code == page.status_code == 200
                    cards = sum(len(column["cards"]) for column in page.json()["columns"])
                    assert cards == STAGES * LIMIT

                request()  # warm-up
                over_http = median_seconds(request, repeat=rounds)
                counters_over_http = median_seconds(
                    lambda: client.get("/users/u0/counters"), repeat=rounds, number=calls
                )
            figure(f"{label}: counters + page in process", in_process)
            figure(
                f"{label}: the same over HTTP (FastAPI)",
                over_http,
                baseline=("in process", in_process),
            )
            figure(f"{label}: counters alone in process", counters_in_process)
            figure(
                f"{label}: counters alone over HTTP (FastAPI)",
                counters_over_http,
                baseline=("in process", counters_in_process),
            )
