"""A FastAPI service over crmcounters: counters, the Activities view, a Kanban page and explain.

JSON endpoints over one `SqlStorage` shared by FastAPI's thread pool (it is
pooled: docs/threads.md). Each answer carries `Cache-Control: max-age` up to
its `valid_until` (C9, F5): until then only a write can change it. Writes
create and complete activities. The clock is injected (X2: `?at=` answers
for any instant). SQLite by default, PostgreSQL by DSN. Needs the `fastapi`
extra (`pip install 'crmcounters[fastapi]'`); docs/web.md shows how to
serve it with uvicorn.

Run: `python examples/fastapi_app.py [DATABASE_URL]` imports the sample
portal (into a temporary SQLite file, or an empty database you name) and
calls each endpoint through FastAPI's test client.
"""

from __future__ import annotations

import math
import sys
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import attrs
from fastapi import FastAPI, HTTPException, Query, Response
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from crmcounters import (
    AccessDeniedError,
    AccessPolicy,
    Activity,
    Badge,
    Clock,
    CrmCountersError,
    StorageBusyError,
    UnknownIdError,
    activities_view,
    explain,
    kanban_board,
    sample_portal,
)
from crmcounters.sql import SqlStorage, import_portal, open_storage
from crmcounters.testing import FixedClock

_T = TypeVar("_T")
WARSAW = ZoneInfo("Europe/Warsaw")


class NewActivity(BaseModel):
    """The body of POST /activities: a planned activity (or an incoming one, without deadline)."""

    id: str = Field(min_length=1, max_length=200)
    item_ids: list[str] = Field(min_length=1, max_length=100)
    kind: str = "todo"
    responsible_id: str
    subject: str = Field(default="", max_length=2000)
    deadline: datetime | None = None
    incoming: bool = False


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _badge(badge: Badge | None) -> dict[str, Any] | None:
    if badge is None:
        return None
    return {
        "colour": badge.colour.value,
        "number": badge.number,
        "dot": badge.dot,
        "valid_until": _iso(badge.valid_until),
    }


def create_app(
    database: str,
    *,
    clock: Clock,
    access: AccessPolicy | None = None,
    max_age: int = 60,
) -> FastAPI:
    """The service over the portal database at `database` (a path, sqlite:/// URL or DSN).

    `access` is who may read whom (C7); None takes the policy stored with the
    portal. `max_age` caps the cache lifetime (seconds): a write can change an
    answer before its `valid_until`.
    """
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        with open_storage(database) as storage:  # closed, connections and all, at shutdown
            state["storage"] = storage
            state["access"] = access if access is not None else storage.portal().access
            yield

    app = FastAPI(title="crmcounters example", lifespan=lifespan)

    def instant(at: datetime | None) -> datetime:
        if at is None:
            return clock.now()
        if at.tzinfo is None:
            raise HTTPException(422, "at: add a UTC offset, e.g. 2026-12-14T10:00+01:00")
        return at

    def answer(response: Response, now: datetime, valid_until: datetime | None) -> None:
        """Cache-Control from valid_until (C9, F5), capped by max_age."""
        seconds = max_age if valid_until is None else (valid_until - now).total_seconds()
        response.headers["Cache-Control"] = (
            f"private, max-age={max(0, min(max_age, math.floor(seconds)))}"
        )

    def run(call: Callable[[], _T]) -> _T:
        """The library's refusals as HTTP errors: 404, 403, 503 (busy) or 422."""
        try:
            return call()
        except UnknownIdError as error:
            raise HTTPException(404, str(error)) from None
        except AccessDeniedError as error:
            raise HTTPException(403, str(error)) from None
        except StorageBusyError as error:
            raise HTTPException(503, str(error), headers={"Retry-After": "1"}) from None
        except CrmCountersError as error:
            raise HTTPException(422, str(error)) from None

    @app.get("/users/{user_id}/counters")
    def counters(
        user_id: str, response: Response, viewer: str | None = None, at: datetime | None = None
    ) -> dict[str, Any]:
        """Incoming and Planned from the database itself (C2-C9)."""
        storage: SqlStorage = state["storage"]
        now = instant(at)
        run(lambda: state["access"].check(storage, viewer or user_id, user_id))
        totals = run(lambda: storage.counter_totals(user_id, now))
        answer(response, now, totals.valid_until)
        return {
            "user_id": user_id,
            "at": now.isoformat(),
            "incoming": totals.incoming,
            "planned": totals.planned,
            "items": totals.items,
            "blocked": totals.blocked,
            "valid_until": _iso(totals.valid_until),
        }

    @app.get("/users/{user_id}/activities")
    def view(
        user_id: str, response: Response, viewer: str | None = None, at: datetime | None = None
    ) -> dict[str, Any]:
        """The Activities view: six columns in focus order (V1, V2)."""
        storage, now = state["storage"], instant(at)
        result = run(
            lambda: activities_view(
                storage, user_id, now, viewer_id=viewer or user_id, policy=state["access"]
            )
        )
        answer(response, now, result.valid_until)
        return {
            "user_id": user_id,
            "today": result.today.isoformat(),
            "columns": {column.value: list(ids) for column, ids in result.columns.items()},
            "valid_until": _iso(result.valid_until),
        }

    @app.get("/pipelines/{pipeline_id}/kanban")
    def kanban(
        pipeline_id: str,
        response: Response,
        viewer: str,
        entity: str = "deal",
        limit: int = Query(default=10, ge=1, le=200),
        at: datetime | None = None,
    ) -> dict[str, Any]:
        """One page of a Kanban board: at most `limit` cards per stage, in focus order (F1, F4)."""
        storage, now = state["storage"], instant(at)
        board = run(
            lambda: kanban_board(
                storage, entity, pipeline_id, viewer, now, limit=limit, policy=state["access"]
            )
        )
        answer(response, now, board.valid_until)
        return {
            "pipeline_id": pipeline_id,
            "valid_until": _iso(board.valid_until),
            "columns": [
                {
                    "stage_id": column.stage.id,
                    "total": column.total,
                    "cards": [
                        {
                            "item_id": card.item.id,
                            "title": card.item.title,
                            "focus_time": card.focus_time.isoformat(),
                            "unread": card.unread,
                            "badge": _badge(card.badge),
                        }
                        for card in column.cards
                    ],
                }
                for column in board.columns
            ],
        }

    @app.get("/items/{item_id}/explain")
    def why(
        item_id: str, response: Response, viewer: str, at: datetime | None = None
    ) -> dict[str, Any]:
        """Why the item is counted, placed and ordered (X1)."""
        storage, now = state["storage"], instant(at)
        found = run(
            lambda: explain(storage, item_id, now, viewer_id=viewer, policy=state["access"])
        )
        answer(response, now, found.valid_until)
        return {
            "item_id": found.item_id,
            "column": found.column.value,
            "position": found.position,
            "incoming": found.incoming,
            "planned": found.planned,
            "badge": _badge(found.badge),
            "reasons": [{"rule": r.rule, "text": r.text} for r in found.reasons],
            "valid_until": _iso(found.valid_until),
        }

    @app.post("/activities", status_code=201)
    def create(body: NewActivity) -> dict[str, Any]:
        """Store a new activity: it counts at once (C3) or from its lit time (C4)."""
        storage: SqlStorage = state["storage"]
        activity = run(
            lambda: Activity(
                id=body.id,
                item_ids=body.item_ids,
                kind=body.kind,
                direction="incoming" if body.incoming else "none",
                responsible_id=body.responsible_id,
                subject=body.subject,
                created_at=clock.now(),
                deadline=body.deadline,
                incoming=body.incoming,
            )
        )
        run(lambda: storage.add(activity))
        return {
            "id": activity.id,
            "lit_at": _iso(activity.lit_at(storage.settings.urgency_offset_minutes)),
        }

    @app.post("/activities/{activity_id}/complete")
    def complete(activity_id: str) -> dict[str, Any]:
        """Complete an open activity: it stops counting (C2)."""
        storage: SqlStorage = state["storage"]
        with storage.transaction():  # read and write as one unit: no lost update
            activity = run(lambda: storage.activity(activity_id))
            if not activity.is_open:
                raise HTTPException(409, f"activity {activity_id!r} is already completed")
            done = attrs.evolve(activity, completed_at=max(clock.now(), activity.created_at))
            run(lambda: storage.replace(done))
        return {"id": activity_id, "completed_at": _iso(done.completed_at)}

    return app


def main(database: str | None = None) -> None:
    """Import the sample portal, then call each endpoint through FastAPI's test client."""
    portal = sample_portal()
    assert portal.as_of is not None
    with tempfile.TemporaryDirectory() as folder:
        url = database or str(Path(folder) / "portal.db")
        with open_storage(url, create=True) as storage:
            if not len(storage):
                import_portal(portal, storage)
        app = create_app(url, clock=FixedClock(portal.as_of), max_age=3600)
        with TestClient(app) as client:
            got = client.get("/users/u-piotr/counters")
            data = got.json()
            print(f"GET /users/u-piotr/counters -> {got.status_code}")
            print(f"  Incoming {data['incoming']}, Planned {data['planned']}")
            print(f"  valid until {data['valid_until']}")
            print(f"  Cache-Control: {got.headers['cache-control']}")  # 15 minutes: C9
            view = client.get("/users/u-piotr/activities").json()
            print(f"GET /users/u-piotr/activities -> overdue {view['columns']['overdue']}")
            board = client.get(
                "/pipelines/p-sales/kanban", params={"viewer": "u-anna", "limit": 2}
            ).json()
            first = board["columns"][0]
            print(
                f"GET /pipelines/p-sales/kanban -> {first['stage_id']}: "
                f"{[card['item_id'] for card in first['cards']]} of {first['total']}"
            )
            why = client.get("/items/deal-015/explain", params={"viewer": "u-piotr"}).json()
            print(f"GET /items/deal-015/explain -> {why['column']}: {why['reasons'][0]['text']}")
            created = client.post(
                "/activities",
                json={
                    "id": "web-call",
                    "item_ids": ["deal-008"],
                    "kind": "call",
                    "responsible_id": "u-piotr",
                    "subject": "Call about the renewal",
                    "deadline": (portal.as_of + timedelta(minutes=5)).isoformat(),
                },
            )
            lit = datetime.fromisoformat(created.json()["lit_at"]).astimezone(WARSAW)
            print(f"POST /activities -> {created.status_code}, lit at {lit:%H:%M} (C4)")
            after = client.get("/users/u-piotr/counters").json()
            print(f"  Planned now {after['planned']}")  # lit at once: deadline in 5 minutes
            done = client.post("/activities/web-call/complete")
            print(f"POST /activities/web-call/complete -> {done.status_code}")
            again = client.post("/activities/web-call/complete")
            print(f"  again -> {again.status_code}: {again.json()['detail']}")
            print(f"  Planned back to {client.get('/users/u-piotr/counters').json()['planned']}")
            denied = client.get("/users/u-anna/counters", params={"viewer": "u-piotr"})
            print(f"GET /users/u-anna/counters as u-piotr -> {denied.status_code} (C7)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
