"""examples/fastapi_app.py through FastAPI's test client, on SQLite and PostgreSQL.

The endpoints answer as the library does (C2-C9, V1, F1, F4, X1), refuse as
HTTP errors (C7 -> 403, unknown -> 404, busy -> 503 per P5), turn
`valid_until` into `Cache-Control: max-age` (C9), and take writes from many
threads at once (P5).
"""

from __future__ import annotations

import importlib.util
import sqlite3
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from _sql_backends import BACKENDS, fresh_database
from crmcounters import activities_view, explain, kanban_board, sample_portal
from crmcounters.sql import import_portal, open_storage
from crmcounters.testing import ManualClock

pytest.importorskip("fastapi", reason="the FastAPI example needs the `fastapi` extra")
from fastapi.testclient import TestClient  # after the extra is known to be there

ROOT = Path(__file__).resolve().parent.parent
PORTAL = sample_portal()
assert PORTAL.as_of is not None
AT: datetime = PORTAL.as_of


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "fastapi_app", ROOT / "examples" / "fastapi_app.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fastapi_app"] = module
    spec.loader.exec_module(module)
    return module


EXAMPLE = _example()


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database holding the sample portal."""
    with fresh_database(request.param, tmp_path) as found:
        with open_storage(found, create=True) as storage:
            import_portal(PORTAL, storage)
        yield found


@pytest.fixture
def clock() -> ManualClock:
    """The service's clock, at the sample's instant."""
    return ManualClock(AT)


@pytest.fixture
def client(url: str, clock: ManualClock) -> Iterator[TestClient]:
    """The service over `url`, started (its lifespan opens the storage) and stopped after."""
    with TestClient(EXAMPLE.create_app(url, clock=clock, max_age=3600)) as started:
        yield started


def test_c2_c9_counters_come_from_the_database_with_their_cache_lifetime(
    client: TestClient, url: str, clock: ManualClock
) -> None:
    """C9: max-age is the time left until valid_until (15 minutes here), capped by max_age."""
    got = client.get("/users/u-piotr/counters")
    assert got.status_code == 200
    with open_storage(url) as storage:
        totals = storage.counter_totals("u-piotr", AT)
    body = got.json()
    assert (body["incoming"], body["planned"], body["items"]) == (
        totals.incoming,
        totals.planned,
        totals.items,
    )
    assert totals.valid_until is not None
    assert body["valid_until"] == totals.valid_until.isoformat()
    assert got.headers["cache-control"] == "private, max-age=900"
    clock.advance(timedelta(minutes=14, seconds=30))
    assert client.get("/users/u-piotr/counters").headers["cache-control"] == ("private, max-age=30")
    late = client.get("/users/u-piotr/counters", params={"at": "2030-01-01T00:00:00+00:00"})
    assert late.json()["valid_until"] is None  # nothing left to light: the cap applies
    assert late.headers["cache-control"] == "private, max-age=3600"


def test_v1_f4_x1_pages_answer_as_the_library(client: TestClient) -> None:
    """The Activities view, a Kanban page and explain equal the library's own answers."""
    portal = PORTAL.storage
    view = client.get("/users/u-piotr/activities").json()
    expected = activities_view(portal, "u-piotr", AT, policy=PORTAL.access)
    assert view["columns"] == {c.value: list(ids) for c, ids in expected.columns.items()}
    page = client.get("/pipelines/p-sales/kanban", params={"viewer": "u-anna", "limit": 3})
    board = kanban_board(portal, "deal", "p-sales", "u-anna", AT, limit=3, policy=PORTAL.access)
    assert [[card["item_id"] for card in column["cards"]] for column in page.json()["columns"]] == [
        [card.item.id for card in column.cards] for column in board.columns
    ]
    why = client.get("/items/deal-015/explain", params={"viewer": "u-piotr"}).json()
    found = explain(portal, "deal-015", AT, viewer_id="u-piotr", policy=PORTAL.access)
    assert (why["column"], why["position"]) == (found.column.value, found.position)
    assert [reason["rule"] for reason in why["reasons"]] == [r.rule for r in found.reasons]


@pytest.mark.parametrize(
    ("path", "params", "status", "words"),
    [
        ("/users/nobody/counters", {}, 404, "unknown user id 'nobody'"),
        ("/users/u-anna/counters", {"viewer": "u-piotr"}, 403, "(C7)"),
        ("/users/u-piotr/activities", {"at": "2026-12-14T10:00:00"}, 422, "UTC offset"),
        ("/pipelines/nope/kanban", {"viewer": "u-anna"}, 404, "unknown pipeline id 'nope'"),
        ("/pipelines/p-sales/kanban", {"viewer": "u-anna", "entity": "lead"}, 422, "for deal"),
        ("/items/deal-015/explain", {"viewer": "ghost"}, 404, "unknown user id 'ghost'"),
    ],
)
def test_c7_refusals_are_http_errors_naming_the_problem(
    client: TestClient, path: str, params: dict[str, str], status: int, words: str
) -> None:
    """The library's errors become 404, 403 or 422 with its message; never a 500."""
    got = client.get(path, params=params)
    assert got.status_code == status
    assert words in got.json()["detail"]


def test_c3_c4_creating_and_completing_an_activity_moves_the_counters(
    client: TestClient, clock: ManualClock
) -> None:
    """POST /activities counts at its lit time (C4); completing it stops it counting (C2)."""
    lit = {"at": (AT + timedelta(minutes=45)).isoformat()}
    before = client.get("/users/u-piotr/counters").json()["planned"]
    before_lit = client.get("/users/u-piotr/counters", params=lit).json()["planned"]
    body = {
        "id": "web-1",
        "item_ids": ["deal-008"],
        "kind": "call",
        "responsible_id": "u-piotr",
        "deadline": (AT + timedelta(hours=1)).isoformat(),
    }
    assert client.post("/activities", json=body).status_code == 201
    assert client.get("/users/u-piotr/counters").json()["planned"] == before  # lit at 10:45
    clock.advance(timedelta(minutes=45))
    assert client.get("/users/u-piotr/counters").json()["planned"] == before_lit + 1
    assert client.post("/activities/web-1/complete").status_code == 200
    assert client.get("/users/u-piotr/counters").json()["planned"] == before_lit
    assert client.post("/activities/web-1/complete").status_code == 409
    assert client.post("/activities/nope/complete").status_code == 404
    duplicate = client.post("/activities", json=body)
    assert duplicate.status_code == 422
    assert "duplicate activity id 'web-1'" in duplicate.json()["detail"]
    dangling = client.post("/activities", json={**body, "id": "web-2", "item_ids": ["ghost"]})
    assert dangling.status_code == 422
    assert "unknown item id 'ghost'" in dangling.json()["detail"]


def test_p5_many_threads_posting_at_once_all_succeed(client: TestClient, url: str) -> None:
    """P5: 8 threads x 10 POSTs through the app's thread pool: 80 of 80 written."""

    def post(writer: int) -> list[int]:
        return [
            client.post(
                "/activities",
                json={
                    "id": f"t{writer}-{n}",
                    "item_ids": ["deal-008", "deal-015"],
                    "responsible_id": "u-piotr",
                    "incoming": True,
                    "kind": "email",
                },
            ).status_code
            for n in range(10)
        ]

    with ThreadPoolExecutor(8) as pool:
        codes = [code for codes in pool.map(post, range(8)) for code in codes]
    assert codes == [201] * 80
    with open_storage(url) as storage:
        assert len([a for a in storage.activities() if a.id.startswith("t")]) == 80


def test_p5_a_write_held_up_past_the_timeout_is_503_with_retry_after(
    tmp_path: Path, clock: ManualClock
) -> None:
    """P5: the lock held elsewhere past the timeout: 503 Service Unavailable, nothing written."""
    path = tmp_path / "busy.db"
    with open_storage(path, create=True) as storage:
        import_portal(PORTAL, storage)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        app = EXAMPLE.create_app(f"sqlite:///{path}?timeout=0.2", clock=clock)
        with TestClient(app) as busy:
            got = busy.post(
                "/activities",
                json={"id": "late", "item_ids": ["deal-008"], "responsible_id": "u-piotr"},
            )
            assert got.status_code == 503
            assert got.headers["retry-after"] == "1"
            assert "busy" in got.json()["detail"]
    finally:
        blocker.rollback()
        blocker.close()
    with open_storage(path) as storage:
        assert "late" not in {a.id for a in storage.activities()}


def test_the_example_runs_on_the_database_it_is_given(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python examples/fastapi_app.py DATABASE_URL` works on SQLite and PostgreSQL alike."""
    EXAMPLE.main(url)
    printed: Any = capsys.readouterr().out
    assert "Cache-Control: private, max-age=900" in printed
    assert "GET /users/u-anna/counters as u-piotr -> 403 (C7)" in printed
