"""`write(add=..., replace=...)`: new and replaced records in one all-or-nothing step (G5).

The same checks and the same answers from `InMemoryStorage` and `SqlStorage`
(SQLite always, PostgreSQL when a server is configured).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import attrs
import pytest

from _build import T0, deal, small_storage, todo
from _sql_backends import BACKENDS, copy_into, sql_storage
from crmcounters import (
    CommentAdded,
    CrmCountersError,
    DanglingReferenceError,
    DuplicateIdError,
    InMemoryStorage,
    UnknownIdError,
    User,
    ValidationError,
    counters_of,
)
from crmcounters.sql import SqlStorage

STORAGES = ["memory", *BACKENDS]
Storage = InMemoryStorage | SqlStorage


@contextmanager
def storage_on(kind: str) -> Iterator[Storage]:
    """`small_storage()` in memory or in a database (rep owns d1, lead d2)."""
    if kind == "memory":
        yield small_storage()
        return
    with sql_storage(kind) as storage:
        copy_into(small_storage(), storage)
        yield storage


def state(storage: Storage) -> tuple[Any, ...]:
    """Everything a write could touch, as plain comparable values."""
    return (
        sorted((i.id, i.responsible_id, i.stage_id) for i in storage.items()),
        sorted((a.id, a.item_ids, a.completed_at) for a in storage.activities()),
        sorted((t.id, t.status) for t in storage.tasks()),
        sorted(e.id for e in storage.events()),
        sorted(u.id for u in storage.users()),
        counters_of(storage, "rep", T0),
        counters_of(storage, "lead", T0),
    )


@pytest.mark.parametrize("kind", STORAGES)
def test_g5_write_adds_and_replaces_in_one_step_resolving_references_across_halves(
    kind: str,
) -> None:
    """G5, C2: a new user and the item reassigned to them, with a new activity on it."""
    with storage_on(kind) as storage:
        storage.add(todo("old", "d1", deadline=T0))
        newcomer = User(id="new", name="New", time_zone="Europe/Warsaw", department_id="sales")
        moved = attrs.evolve(storage.item("d1"), responsible_id="new")
        done = attrs.evolve(storage.activity("old"), completed_at=T0)
        storage.write(add=[newcomer, todo("a1", "d1", deadline=T0)], replace=(moved, done))
        assert storage.item("d1").responsible_id == "new"
        assert storage.activity("old").completed_at == T0
        counters = counters_of(storage, "new", T0)  # the new activity counts for the new owner
        assert (counters.planned, counters.open_activities) == (1, 1)
        if isinstance(storage, SqlStorage):
            assert storage.counter_totals("new", T0).planned == 1
        storage.write(add=[todo("a2", "d2")])  # either half may be empty
        storage.write(replace=[attrs.evolve(storage.item("d2"), title="Renamed")])
        storage.write()
        assert storage.item("d2").title == "Renamed"
        assert storage.activity("a2").item_ids == ("d2",)


def _unknown_replaced(storage: Storage) -> None:
    ghost = todo("ghost", "d1")
    storage.write(add=[deal("d3", "rep"), todo("a1", "d1")], replace=[ghost])


def _dangling_replaced(storage: Storage) -> None:
    stray = attrs.evolve(storage.item("d1"), responsible_id="nobody")
    storage.write(add=[deal("d3", "rep"), todo("a1", "d3")], replace=[stray])


def _same_id_in_both_halves(storage: Storage) -> None:
    storage.write(add=[deal("d3", "rep")], replace=[deal("d3", "lead")])


def _added_id_already_stored(storage: Storage) -> None:
    storage.write(add=[todo("a1", "d1"), deal("d1", "rep")], replace=[deal("d2", "rep")])


def _event_replaced(storage: Storage) -> None:
    comment = CommentAdded(id="c1", item_id="d1", at=T0, author_id="lead")
    storage.write(add=[todo("a1", "d1")], replace=[comment])


@pytest.mark.parametrize("kind", STORAGES)
@pytest.mark.parametrize(
    ("bad_write", "error", "match"),
    [
        (_unknown_replaced, UnknownIdError, "ghost"),
        (_dangling_replaced, DanglingReferenceError, "nobody"),
        (_same_id_in_both_halves, DuplicateIdError, "d3"),
        (_added_id_already_stored, DuplicateIdError, "d1"),
        (_event_replaced, ValidationError, "history"),
    ],
)
def test_g5_a_write_with_a_bad_half_writes_nothing_of_either_half(
    kind: str,
    bad_write: Callable[[Storage], None],
    error: type[CrmCountersError],
    match: str,
) -> None:
    """G5: the records of the good half are not written when the other half is refused."""
    with storage_on(kind) as storage:
        before = state(storage)
        with pytest.raises(error, match=match):
            bad_write(storage)
        assert state(storage) == before


@pytest.mark.parametrize("kind", STORAGES)
def test_g5_write_wants_collections_of_records(kind: str) -> None:
    """G5: one record (or a string) where a collection belongs is refused, naming the half."""
    with storage_on(kind) as storage:
        before = state(storage)
        with pytest.raises(ValidationError, match="add: expected a collection of records"):
            storage.write(add=todo("a1", "d1"))  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="replace: expected a collection"):
            storage.write(replace="d1")  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="cannot store a str"):
            storage.write(add=[todo("a1", "d1"), "d1"])  # type: ignore[list-item]
        assert state(storage) == before
