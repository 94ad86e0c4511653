"""Writes through SqlStorage are transactions: a batch failing midway leaves nothing (G5).

The failure is injected inside the database: a trigger aborts the insert of one
activity after the batch's earlier rows (items, other activities, bindings)
were already written.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import attrs
import pytest

from _build import deal, small_storage, todo
from _sql_backends import BACKENDS, copy_into, inject_failure, run_statements, sql_storage
from crmcounters.sql import SqlStorage


def _state(storage: SqlStorage) -> tuple[object, ...]:
    return (
        sorted(i.id for i in storage.items()),
        sorted(a.id for a in storage.activities()),
        sorted(a.id for a in storage.open_activities_of_item("d1")),
        storage.counter_totals("rep", storage.item("d1").created_at),
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_g5_a_batch_failing_midway_in_the_database_leaves_nothing_written(backend: str) -> None:
    """G5: items and activities before the failing row are rolled back with it."""
    with sql_storage(backend) as storage:
        copy_into(small_storage(), storage)
        before = _state(storage)
        undo = inject_failure(storage, "INSERT", "crm_activities", "NEW.id = 'boom'")
        try:
            with pytest.raises(Exception, match="injected failure"):
                storage.add(
                    deal("d3", "rep"),
                    todo("a1", "d1", "d3"),
                    todo("a2", "d1"),
                    todo("boom", "d1"),
                    todo("a3", "d1"),
                )
            assert _state(storage) == before
            storage.add(deal("d3", "rep"), todo("a1", "d1", "d3"))  # the storage still works
            assert sorted(a.id for a in storage.open_activities_of_item("d3")) == ["a1"]
        finally:
            run_statements(storage, undo)


@pytest.mark.parametrize("backend", BACKENDS)
def test_g5_a_write_failing_in_its_replace_half_rolls_back_its_add_half(backend: str) -> None:
    """G5: `write(add=..., replace=...)` is one transaction: added rows go with the failure."""
    with sql_storage(backend) as storage:
        copy_into(small_storage(), storage)
        storage.add(todo("old", "d1"))
        before = _state(storage)
        undo = inject_failure(storage, "UPDATE", "crm_activities", "NEW.id = 'old'")
        try:
            old = storage.activity("old")
            done = attrs.evolve(old, completed_at=old.created_at)
            with pytest.raises(Exception, match="injected failure"):
                storage.write(
                    add=[deal("d3", "rep"), todo("a1", "d1", "d3")],
                    replace=[attrs.evolve(storage.item("d1"), title="Renamed"), done],
                )
            assert _state(storage) == before
            assert storage.item("d1").title != "Renamed"
        finally:
            run_statements(storage, undo)


@pytest.mark.parametrize("backend", BACKENDS)
def test_g5_remove_item_failing_midway_leaves_the_item_whole(backend: str) -> None:
    """G5: the cascade of remove_item is one transaction too."""
    with sql_storage(backend) as storage:
        copy_into(small_storage(), storage)
        storage.add(todo("solo", "d1"), todo("shared", "d1", "d2"))
        before = _state(storage)
        undo = inject_failure(storage, "DELETE", "crm_items", "OLD.id = 'd1'")
        try:
            with pytest.raises(Exception, match="injected failure"):
                storage.remove_item("d1")
            assert _state(storage) == before
            assert storage.activity("shared").item_ids == ("d1", "d2")
        finally:
            run_statements(storage, undo)


def test_a_write_inside_the_callers_transaction_is_a_savepoint(
    sqlite_connect: Callable[..., sqlite3.Connection],
) -> None:
    """Inside a transaction the host opened, a failed write undoes only itself."""
    connection = sqlite_connect()
    storage = SqlStorage.create(connection)
    copy_into(small_storage(), storage)
    connection.execute("UPDATE crm_users SET name = 'Renamed' WHERE id = 'rep'")  # host's own
    assert connection.in_transaction
    with pytest.raises(Exception, match="unknown item id 'ghost'"):
        storage.add(todo("a1", "d1"), todo("a2", "ghost"))
    storage.add(todo("a3", "d1"))
    assert connection.in_transaction  # committing stays the host's business
    connection.rollback()
    assert storage.user("rep").name == "Rep"
    assert [a.id for a in storage.activities()] == []
