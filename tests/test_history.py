"""Portal-wide history (R4, R8): entries across items, filtered by type, item, author and a
time window, the same in memory and in SQL (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from _build_rules import deal, make_storage, runtime, sales_rule
from _sql_backends import BACKENDS, copy_into, sql_storage
from crmcounters import (
    CommentAdded,
    HistoryEntryAdded,
    InMemoryStorage,
    UnknownIdError,
    ValidationError,
    history_entries,
)
from crmcounters.rules import AddHistoryEntry, Delay, Timing

WARSAW = ZoneInfo("Europe/Warsaw")
HONOLULU = ZoneInfo("Pacific/Honolulu")
KIRITIMATI = ZoneInfo("Pacific/Kiritimati")
#: The last Sunday of March 2026: Warsaw springs forward at 02:00 (a 23-hour day).
DST_SUNDAY = datetime(2026, 3, 29, 0, 0, tzinfo=WARSAW)


def _portal() -> InMemoryStorage:
    """Three deals; history entries of two types by three authors, over a DST change, with
    instants given in Warsaw, Honolulu and Kiritimati; a comment that is not history."""
    storage = make_storage()
    items = [deal(f"deal-{n}", created_at=DST_SUNDAY - timedelta(days=1)) for n in (1, 2, 3)]
    storage.add(*items)
    authors = ("u-piotr", "u-anna", "u-keala")
    zones = (WARSAW, HONOLULU, KIRITIMATI)
    entries = []
    for n in range(30):
        at = (DST_SUNDAY + timedelta(minutes=37 * n)).astimezone(zones[n % 3])
        entries.append(
            HistoryEntryAdded(
                id=f"h-{n:02d}",
                item_id=f"deal-{n % 3 + 1}",
                at=at,
                author_id=authors[n % 3 if n % 4 else 0],
                text=f"entry {n}",
                entry_type="information" if n % 5 else "violation",
            )
        )
    entries.append(  # the same instant as h-00: ties are ordered by id
        HistoryEntryAdded(id="h-00b", item_id="deal-2", at=DST_SUNDAY, author_id="u-anna")
    )
    storage.add(*entries)
    storage.add(CommentAdded(id="c-1", item_id="deal-1", at=DST_SUNDAY, author_id="u-piotr"))
    return storage


QUERIES: list[dict[str, Any]] = [
    {},
    {"entry_type": "information"},
    {"entry_type": "violation", "user_id": "u-piotr"},
    {"item_id": "deal-2"},
    {"item_id": "deal-2", "entry_type": "information", "user_id": "u-anna"},
    {"since": DST_SUNDAY + timedelta(hours=2), "until": DST_SUNDAY + timedelta(hours=9)},
    {"since": datetime(2026, 3, 28, 17, 0, tzinfo=HONOLULU)},  # = DST_SUNDAY + 4 h
    {"until": datetime(2026, 3, 29, 14, 0, tzinfo=KIRITIMATI)},
    {"entry_type": "information", "since": DST_SUNDAY, "until": DST_SUNDAY},  # empty window
    {"entry_type": "nothing-of-this-type"},
]


def _brute(storage: InMemoryStorage, query: dict[str, Any]) -> list[str]:
    found = []
    for event in storage.events():
        if not isinstance(event, HistoryEntryAdded):
            continue
        if query.get("entry_type") not in (None, event.entry_type):
            continue
        if query.get("item_id") not in (None, event.item_id):
            continue
        if query.get("user_id") not in (None, event.author_id):
            continue
        if "since" in query and event.at < query["since"]:
            continue
        if "until" in query and event.at >= query["until"]:
            continue
        found.append(event)
    return [event.id for event in sorted(found, key=lambda e: (e.at, e.id))]


@pytest.mark.parametrize("query", QUERIES)
def test_r4_r8_history_in_memory_filters_by_type_item_user_and_window(
    query: dict[str, Any],
) -> None:
    storage = _portal()
    found = history_entries(storage, **query)
    assert [entry.id for entry in found] == _brute(storage, query)
    assert all(isinstance(entry, HistoryEntryAdded) for entry in found)


def test_r4_r8_the_window_is_half_open_and_ties_are_ordered_by_id() -> None:
    storage = _portal()
    at_start = history_entries(storage, since=DST_SUNDAY, until=DST_SUNDAY + timedelta(minutes=37))
    assert [entry.id for entry in at_start] == ["h-00", "h-00b"]
    assert history_entries(storage, entry_type="violation")[0].id == "h-00"
    assert len(history_entries(storage)) == 31  # the comment is not history


@pytest.mark.parametrize("backend", BACKENDS)
def test_r4_r8_history_in_sql_gives_the_same_answers_as_in_memory(backend: str) -> None:
    memory = _portal()
    with sql_storage(backend) as database:
        copy_into(memory, database)
        for query in QUERIES:
            assert history_entries(database, **query) == history_entries(memory, **query), query


@pytest.mark.parametrize("backend", BACKENDS)
def test_r4_the_sql_history_query_uses_an_index(backend: str) -> None:
    with sql_storage(backend) as database:
        copy_into(_portal(), database)
        query = "SELECT id FROM crm_events WHERE type = 'history' AND at_us >= 0 ORDER BY at_us"
        rows = database._query(
            f"EXPLAIN QUERY PLAN {query}" if backend == "sqlite" else f"EXPLAIN {query}"
        )
        plan = " ".join(str(value) for row in rows for value in row)
        if backend == "sqlite":
            assert "crm_events_type_at" in plan
        else:  # a tiny table may be scanned; the index must at least exist
            names = database._query(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'crm_events'"
            )
            assert "crm_events_type_at" in {row[0] for row in names}


def test_g5_history_refuses_unknown_ids_naive_instants_and_a_reversed_window() -> None:
    storage = _portal()
    with pytest.raises(UnknownIdError):
        history_entries(storage, item_id="deal-404")
    with pytest.raises(UnknownIdError):
        history_entries(storage, user_id="u-ghost")
    with pytest.raises(ValidationError, match="since"):
        history_entries(storage, since=datetime(2026, 3, 29, 1, 0))
    with pytest.raises(ValidationError, match="until"):
        history_entries(storage, since=DST_SUNDAY, until=DST_SUNDAY - timedelta(hours=1))


def test_r4_the_supervisor_counts_a_managers_violations_written_by_rules() -> None:
    """The seed's supervisor: a rule writes an "information" entry when a deal sits 24 hours
    in New; History filtered by type and author counts them for the manager."""
    rule = sales_rule(
        "r-late",
        timing=Timing(delay=Delay(after=24, unit="hours")),
        action=AddHistoryEntry(text="{{Title}} was not moved in 24 hours"),
    )
    rt = runtime([rule])
    for n in range(3):
        rt.create_item(deal(f"deal-{n}", responsible_id="u-piotr" if n < 2 else "u-keala"))
    start = rt.clock.now()
    rt.advance(timedelta(hours=25))
    piotr = history_entries(rt.storage, entry_type="information", user_id="u-piotr", since=start)
    assert [entry.item_id for entry in piotr] == ["deal-0", "deal-1"]
