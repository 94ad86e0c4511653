"""`SqlOutbox`: the outbox (P3) in the portal's database, written in the same transaction as
the data; the host takes batches with a lease and acknowledges them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from .._clock import Clock, SystemClock
from .._errors import ValidationError
from .._outbox import DEFAULT_OUTBOX_LEASE, OutboxEntry, check_new_entries, check_take_args
from .._validate import check_aware
from ._dialect import dialect_named
from ._jobs import refuse_nul
from ._rows import instant_columns, instant_from, instant_us, utc_from_us
from ._storage import SqlStorage

__all__ = ["SqlOutbox"]

_NAMES = ("id", "kind", "at_us", "at_tz", "item_id", "payload")
_COLUMNS = ", ".join(_NAMES)


def _row(entry: OutboxEntry) -> tuple[Any, ...]:
    return (entry.id, entry.kind, *instant_columns(entry.at), entry.item_id, entry.payload_json())


def _entry(row: Sequence[Any]) -> OutboxEntry:
    return OutboxEntry(
        id=row[0],
        kind=row[1],
        at=instant_from(row[2], row[3]),
        item_id=row[4],
        payload=json.loads(row[5]),
    )


class SqlOutbox:
    """Outbox entries in the `crm_outbox` table of a `SqlStorage`'s database (an `Outbox`, P3).

    It reads and writes through the storage, joining the storage's
    `transaction()` on the same thread, so entries are written in the
    transaction of the data that produced them. `take` hands out the oldest
    entries no other taker holds (PostgreSQL skips rows being taken, SQLite
    holds the write lock), each for `lease`; `acknowledge` deletes delivered
    ones. Several delivering processes may take from one database at once.
    """

    def __init__(self, storage: SqlStorage, *, clock: Clock | None = None) -> None:
        if not isinstance(storage, SqlStorage):
            raise ValidationError("storage", f"expected a SqlStorage, got {type(storage).__name__}")
        self._storage = storage
        self._dialect = dialect_named(storage.dialect)
        self._clock: Clock = clock if clock is not None else SystemClock()

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return self._storage._query(sql, params)  # same package: joins this thread's transaction

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._storage._execute(sql, params)  # same package

    def check(self, entries: Collection[OutboxEntry]) -> None:
        """Raise `DuplicateIdError` (or `ValidationError`), changing nothing, on a bad batch."""
        ids = [entry.id for entry in entries if isinstance(entry, OutboxEntry)]
        if not self._dialect.text_may_hold_nul:
            refuse_nul("outbox entry", [(entry_id,) for entry_id in ids])  # before querying them
        found: set[str] = set()
        for condition, params in self._dialect.in_lists("id", ids):
            sql = f"SELECT id FROM crm_outbox WHERE {condition}"
            found.update(row[0] for row in self._query(sql, params))
        check_new_entries(entries, found)

    def put(self, entries: Collection[OutboxEntry]) -> None:
        """Add entries in one transaction (a savepoint inside the caller's): all or none."""
        entries = tuple(entries)
        if not entries:
            return
        with self._storage.transaction():
            self.check(entries)
            rows = [_row(entry) for entry in entries]
            if not self._dialect.text_may_hold_nul:
                refuse_nul("outbox entry", rows)
            self._storage._insert("crm_outbox", _NAMES, rows)  # same package: COPY on PostgreSQL

    def take(
        self, limit: int = 100, *, lease: timedelta = DEFAULT_OUTBOX_LEASE
    ) -> list[OutboxEntry]:
        """Up to `limit` entries, oldest first, that no other taker holds; held for `lease`.

        An entry taken and not acknowledged before its lease ends is handed
        out again: delivery is at least once, de-duplicated by `id`.
        """
        check_take_args(limit, lease)
        now = instant_us(check_aware("now", self._clock.now()))
        skip_locked = " FOR UPDATE SKIP LOCKED" if self._dialect.name == "postgres" else ""
        with self._storage.transaction():
            rows = self._query(
                f"SELECT {_COLUMNS} FROM crm_outbox "
                "WHERE lease_until_us IS NULL OR lease_until_us <= ? "
                f"ORDER BY seq LIMIT ?{skip_locked}",
                (now, limit),
            )
            token = uuid.uuid4().hex
            until = now + lease // timedelta(microseconds=1)
            ids = [row[0] for row in rows]
            for condition, params in self._dialect.in_lists("id", ids):
                self._execute(
                    f"UPDATE crm_outbox SET lease_until_us = ?, lease_token = ? WHERE {condition}",
                    (until, token, *params),
                )
        return [_entry(row) for row in rows]

    def acknowledge(self, entry_ids: Iterable[str]) -> int:
        """Delete delivered entries; return how many were there (a repeat is harmless)."""
        ids = sorted(set(entry_ids))
        removed = 0
        with self._storage.transaction():
            for condition, params in self._dialect.in_lists("id", ids):
                removed += self._execute(f"DELETE FROM crm_outbox WHERE {condition}", params)
        return removed

    def reminders_delivered_until(self, start: datetime) -> datetime:
        """How far reminder pings were put here (N1), from `crm_reminder_delivery`.

        The first call stores `start`. Inside a transaction the row stays
        locked until it ends (PostgreSQL `FOR UPDATE`; SQLite holds the write
        lock), so a second worker waits and then reads the moved mark.
        """
        with self._storage.transaction():
            self._execute(
                "INSERT INTO crm_reminder_delivery (id, delivered_until_us) VALUES (1, ?) "
                "ON CONFLICT (id) DO NOTHING",
                (instant_us(check_aware("start", start)),),
            )
            lock = " FOR UPDATE" if self._dialect.name == "postgres" else ""
            found = self._query(
                f"SELECT delivered_until_us FROM crm_reminder_delivery WHERE id = 1{lock}"
            )
        return utc_from_us(int(found[0][0]))

    def set_reminders_delivered_until(self, until: datetime) -> None:
        """Move the reminder mark to `until` (in the caller's transaction)."""
        self._execute(
            "UPDATE crm_reminder_delivery SET delivered_until_us = ? WHERE id = 1",
            (instant_us(check_aware("until", until)),),
        )

    def entries(self) -> list[OutboxEntry]:
        """Every waiting entry, oldest first, taken or not (for tests and inspection)."""
        return [
            _entry(row) for row in self._query(f"SELECT {_COLUMNS} FROM crm_outbox ORDER BY seq")
        ]

    def __len__(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM crm_outbox")[0][0])

    def __repr__(self) -> str:
        return f"SqlOutbox({self._dialect.name}, {len(self)} waiting)"
