"""The one-stage portal of deals that the in-memory page and focus benchmarks fill."""

from __future__ import annotations

from datetime import datetime

from crmcounters import InMemoryStorage, Item, Pipeline, Stage, User


def one_stage_portal(*user_ids: str) -> InMemoryStorage:
    """An empty portal: the users (in Warsaw) and pipeline "p" of deals with one stage, "new"."""
    storage = InMemoryStorage()
    storage.add(
        *(User(id=one, name=one.title(), time_zone="Europe/Warsaw") for one in user_ids),
        Pipeline(id="p", entity_type="deal", stages=[Stage(id="new", name="New")]),
    )
    return storage


def deal(n: int, created: datetime, responsible_id: str = "anna") -> Item:
    """Deal number `n` of the portal, in stage "new", created at `created`."""
    return Item(
        id=f"deal-{n:07d}",
        entity_type="deal",
        pipeline_id="p",
        stage_id="new",
        responsible_id=responsible_id,
        created_at=created,
    )
