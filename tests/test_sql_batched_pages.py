"""A page's records read in one batch (F1, F3, F4, C6, C11, V1; issue 15).

`kanban_board` reads the shown cards' items, activities and events with
`records_of_items` and badges them from those records (`badge_of_records`):
over `SqlStorage` a whole board costs the same number of queries however many
cards it shows, and its answer equals the in-memory one, the per-item reads
of a plain storage, and `item_badge` card by card.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _build_focus import MONDAY, incoming_call, item, message, portal, todo, viewed
from _sql_backends import (
    BACKENDS,
    copy_into,
    fresh_database,
    make_older,
    sql_examples,
    sql_storage,
)
from crmcounters import (
    AccessLevel,
    AccessPolicy,
    BatchedRecordStorage,
    CounterMode,
    InMemoryStorage,
    ItemRecords,
    PlannedRule,
    Portal,
    Settings,
    UnknownIdError,
    ValidationError,
    activities_view,
    item_badge,
    kanban_board,
    sample_portal,
)
from crmcounters.sql import SqlStorage, import_portal, migrate_schema, open_storage
from crmcounters.testing.strategies import aware_datetimes, portals

HOUR = timedelta(hours=1)
SEE_ALL = AccessPolicy(default=AccessLevel.ALL)


class _Plain:
    """A storage with neither batched reads nor paged focus: every read is per item."""

    _HIDDEN = frozenset({"records_of_items", "users_with_ids", "kanban_focus_page"})

    def __init__(self, inner: InMemoryStorage) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        if name in self._HIDDEN:
            raise AttributeError(name)
        return getattr(self._inner, name)


def _boards_equal(storage: Any, memory: InMemoryStorage, now: datetime) -> None:
    """Every board of every pipeline, for every viewer, at a few page sizes, equals memory's."""
    plain = _Plain(memory)
    assert not isinstance(plain, BatchedRecordStorage)
    for pipeline in memory.pipelines():
        for viewer in memory.users():
            for limit in (None, 1, 2):
                args = (pipeline.entity_type, pipeline.id, viewer.id, now)
                expected = kanban_board(memory, *args, limit=limit)
                assert kanban_board(storage, *args, limit=limit) == expected
                assert kanban_board(plain, *args, limit=limit) == expected  # type: ignore[arg-type]
                for column in expected.columns:
                    for card in column.cards:
                        # C6: each card's badge is the item's own badge for that viewer.
                        badge = item_badge(memory, card.item.id, viewer.id, now, policy=SEE_ALL)
                        assert card.badge == badge


def _records_equal(storage: Any, memory: InMemoryStorage) -> None:
    """`records_of_items` answers what the per-item reads answer, unknown ids left out."""
    ids = [one.id for one in memory.items()]
    for source in (storage, memory):
        batch = source.records_of_items([*ids, "no-such-item"])
        assert set(batch) == set(ids)
        for item_id in ids:
            assert batch[item_id] == ItemRecords(
                item=source.item(item_id),
                activities=tuple(source.activities_of_item(item_id)),
                events=tuple(source.events_of_item(item_id)),
            )
            assert set(batch[item_id].open_activities) == set(
                source.open_activities_of_item(item_id)
            )


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=sql_examples())
@given(portal=portals(max_items=8, max_activities=14), now=aware_datetimes())
def test_c6_c11_f3_f4_sql_boards_equal_the_in_memory_boards(
    backend: str, portal: Portal, now: datetime
) -> None:
    """C6, C11, F3, F4: boards read in one batch over SQL equal memory's and a plain storage's.

    Portals draw every counter mode and planned rule, so C11's zones (the
    item's or the activity's responsible, C2) are read in the batch too.
    """
    memory = portal.storage
    with sql_storage(backend) as storage:
        try:
            copy_into(memory, storage)
        except ValidationError:  # PostgreSQL text refuses NUL: tested in test_sql_storage
            if backend == "sqlite":
                raise
            return
        _records_equal(storage, memory)
        _boards_equal(storage, memory, now)


def test_f4_an_unknown_card_is_an_error_as_before() -> None:
    """F4: a page naming an item the batch does not hold raises `UnknownIdError`, as a
    per-item read did (a storage whose pages and records disagree)."""
    memory = portal()
    memory.add(item("d1"))

    class _Forgetful(InMemoryStorage):
        def records_of_items(self, item_ids: Any) -> dict[str, ItemRecords]:
            return {}

    forgetful = _Forgetful(None)
    forgetful.add(*memory.users(), *memory.pipelines(), *memory.items())
    with pytest.raises(UnknownIdError):
        kanban_board(forgetful, "deal", "p-deal", "anna", MONDAY)


# -- query counts ----------------------------------------------------------------


def _filled(storage: SqlStorage, per_stage: int) -> None:
    """`per_stage` cards in each stage of the deal pipeline, each with activities and events:
    an open to-do, a completed one, an incoming call on a third, a message and a view."""
    memory = portal(storage.settings)
    records: list[Any] = []
    for stage in ("new", "work", "won"):
        for n in range(per_stage):
            item_id = f"{stage}-{n:03d}"
            responsible = ("anna", "keala", "tama")[n % 3]
            records += [
                item(item_id, stage=stage, responsible=responsible),
                todo(f"{item_id}-a", item_id, deadline=MONDAY + n * HOUR, responsible="piotr"),
                todo(
                    f"{item_id}-b",
                    item_id,
                    deadline=MONDAY - HOUR,
                    completed=MONDAY - 2 * HOUR,
                ),
                message(f"{item_id}-m", item_id, MONDAY - 3 * HOUR),
                viewed(f"{item_id}-v", item_id, MONDAY - 4 * HOUR, responsible),
            ]
            if n % 3 == 0:
                records.append(incoming_call(f"{item_id}-c", item_id, MONDAY - HOUR))
    memory.add(*records)
    copy_into(memory, storage)


@contextmanager
def _counted(storage: SqlStorage) -> Iterator[list[str]]:
    """The statements SQLite runs meanwhile on the storage's connection."""
    statements: list[str] = []
    connection = storage.connection
    assert isinstance(connection, sqlite3.Connection)
    connection.set_trace_callback(statements.append)
    try:
        yield statements
    finally:
        connection.set_trace_callback(None)


@pytest.mark.parametrize(
    "settings_",
    [
        Settings(),
        Settings(planned_rule=PlannedRule.DUE_TODAY),
        Settings(planned_rule=PlannedRule.DUE_TODAY, counter_mode=CounterMode.ACTIVITY_RESPONSIBLE),
    ],
    ids=["c4", "c11-item-responsible", "c11-activity-responsible"],
)
def test_c6_c11_f4_a_board_costs_the_same_queries_for_10_and_50_cards(
    settings_: Settings,
) -> None:
    """C6, C11, F4 (issue 15): a board's queries do not grow with its cards (SQLite trace).

    Three columns of 60 cards: a page of 10 cards per column and a page of 50
    run the same statements, the columns' pages read together and each card's
    item, activities, events, badge, Unread flag and C11 zone coming from one
    batched read.
    """
    with sql_storage("sqlite", settings_) as storage:
        _filled(storage, 60)
        counts = {}
        for limit in (10, 50):
            with _counted(storage) as statements:
                board = kanban_board(storage, "deal", "p-deal", "anna", MONDAY, limit=limit)
            assert [len(column.cards) for column in board.columns] == [limit] * 3
            # One read-only transaction for the whole board: one state of the database.
            assert [one for one in statements if one.startswith("BEGIN")] == ["BEGIN DEFERRED"]
            counts[limit] = len(statements)
        assert counts[10] == counts[50]
        # Three statements for every column's page (sizes, keys, changes), three for the
        # cards, a few reads of the pipeline, user and settings: not a few per column or card.
        assert counts[50] <= 15


def test_v1_v2_a_view_page_costs_the_same_queries_for_10_and_50_items() -> None:
    """V1, V2 (issue 15): an Activities-view page reads ids from the focus tables only."""
    with sql_storage("sqlite") as storage:
        _filled(storage, 60)
        counts = {}
        for limit in (10, 50):
            with _counted(storage) as statements:
                view = activities_view(storage, "anna", MONDAY, limit=limit)
            assert max(len(ids) for ids in view.columns.values()) == limit
            assert [one for one in statements if one.startswith("BEGIN")] == ["BEGIN DEFERRED"]
            counts[limit] = len(statements)
        assert counts[10] == counts[50]


def test_f4_memory_and_sql_storages_read_pages_in_one_batch() -> None:
    """F4: InMemoryStorage and SqlStorage are `BatchedRecordStorage`s; a plain one is not."""
    assert isinstance(InMemoryStorage(None), BatchedRecordStorage)
    with sql_storage("sqlite") as storage:
        assert isinstance(storage, BatchedRecordStorage)
        assert storage.records_of_items([]) == {}
        assert storage.users_with_ids([]) == []
    assert not isinstance(_Plain(InMemoryStorage(None)), BatchedRecordStorage)


#: Ids a text-array literal must quote: its delimiters, quote and escape characters,
#: spaces, the word NULL, and text outside ASCII.
_AWKWARD_IDS = st.lists(
    st.one_of(
        st.sampled_from(['a"b', "c\\d", "e,f", "{g}", " h ", "NULL", "null", "é", '\\"', "}{"]),
        st.text(
            st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
            min_size=1,
            max_size=12,
        ).filter(str.strip),
    ),
    min_size=1,
    max_size=6,
    unique=True,
)


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=sql_examples())
@given(ids=_AWKWARD_IDS)
def test_f4_batched_reads_find_ids_of_any_characters(backend: str, ids: list[str]) -> None:
    """F4: a page's batched reads find every stored id whatever its characters (PostgreSQL
    takes the ids as one text-array literal, quoted and escaped by the library)."""
    memory = portal()
    memory.add(*(item(item_id) for item_id in ids))
    memory.add(*(todo(f"t-{item_id}", item_id, deadline=MONDAY) for item_id in ids))
    with sql_storage(backend) as storage:
        copy_into(memory, storage)
        wanted = [*ids, "not stored"]
        records = storage.records_of_items(wanted)
        assert sorted(records) == sorted(ids)
        for item_id in ids:
            assert [one.id for one in records[item_id].activities] == [f"t-{item_id}"]
        assert sorted(one.id for one in storage.items_with_ids(wanted)) == sorted(ids)


def _index_columns(connection: Any, backend: str) -> str:
    """The definition of the bindings' item index, as the database reports it."""
    if backend == "sqlite":
        rows = connection.execute("PRAGMA index_info(crm_activity_items_item)").fetchall()
        return ", ".join(row[2] for row in rows)
    row = connection.execute(
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'crm_activity_items_item' "
        "AND schemaname = ANY(current_schemas(false))"
    ).fetchone()
    return str(row[0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_f4_a_migrated_database_reads_a_pages_bindings_from_the_index(
    backend: str, tmp_path: Path
) -> None:
    """F4 (issue 15): `migrate_schema` from 0.2.0 rebuilds the bindings' item index with
    `activity_id`, as a new schema has it, and the migrated board answers as before."""
    portal = sample_portal()
    with fresh_database(backend, tmp_path) as url:
        with open_storage(url, create=True) as storage:
            import_portal(portal, storage)
        connection = _connect(backend, url)
        try:
            assert "activity_id" in _index_columns(connection, backend)
            make_older(connection, 2)
            if backend == "sqlite":
                connection.commit()
            assert "activity_id" not in _index_columns(connection, backend)
            assert migrate_schema(connection) == 2
            assert "activity_id" in _index_columns(connection, backend)
            args = ("deal", "p-sales", "u-anna", portal.as_of)
            assert kanban_board(SqlStorage(connection), *args) == kanban_board(
                portal.storage, *args
            )
        finally:
            connection.close()


def _connect(backend: str, url: str) -> Any:
    """A plain connection to the database at `url` (the one `fresh_database` made)."""
    if backend == "sqlite":
        return sqlite3.connect(url)
    import psycopg

    return psycopg.connect(url, autocommit=True)
