"""The outbox (P3): what a host must deliver outside its database, written with the data.

An `OutboxEntry` is a kind, a JSON payload and a stable id. Rules put their
notifications here (kind "notify"); other producers add kinds of their own.
The host takes a batch, delivers it, and acknowledges it; an entry taken but
not acknowledged comes back after its lease, so delivery is at least once,
and the stable id lets the receiving side drop a repeat.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

import attrs

from . import _validate as v
from ._clock import Clock, SystemClock
from ._errors import DuplicateIdError, ValidationError

__all__ = [
    "DEFAULT_OUTBOX_LEASE",
    "InMemoryOutbox",
    "Outbox",
    "OutboxEntry",
    "ReminderMark",
    "check_new_entries",
    "check_take_args",
    "dump_payload",
]

#: How long a taken entry stays with its taker before another `take` may return it.
DEFAULT_OUTBOX_LEASE = timedelta(minutes=5)


def dump_payload(payload: Mapping[str, Any]) -> str:
    """A payload as compact JSON text (keys sorted); anything but a JSON object is refused."""
    if not isinstance(payload, Mapping):
        raise ValidationError("payload", f"expected a JSON object, got {type(payload).__name__}")
    try:
        return json.dumps(
            dict(payload),
            ensure_ascii=False,
            allow_nan=False,
            sort_keys=True,
            separators=(",", ":"),
        )
    except (TypeError, ValueError) as exc:
        raise ValidationError("payload", f"not JSON: {exc}") from None


@attrs.frozen(kw_only=True, eq=True, hash=False)
class OutboxEntry:
    """One message for the host to deliver (P3): a notification, a client message, a reminder.

    `id` is stable: the same cause gives the same id, so the receiver can
    de-duplicate. `kind` says what it is ("notify" for rule notifications;
    a host or a later release adds its own kinds), `payload` is a JSON object
    whose fields the kind defines (kept as a read-only copy), `at` when it
    was produced and `item_id` the item it concerns, if any.
    """

    id: str = attrs.field(validator=v.an_id)
    kind: str = attrs.field(validator=v.an_id)
    at: datetime = attrs.field(validator=v.aware)
    item_id: str | None = attrs.field(default=None, validator=v.optional_id)
    payload: Mapping[str, Any] = attrs.field(factory=dict)
    _json: str = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        text = dump_payload(self.payload)  # checked once; the copy cannot be changed
        object.__setattr__(self, "_json", text)
        object.__setattr__(self, "payload", MappingProxyType(json.loads(text)))

    def payload_json(self) -> str:
        """The payload as compact JSON text (keys sorted), as the SQL outbox stores it."""
        return self._json


def check_new_entries(entries: Collection[OutboxEntry], stored: Collection[str]) -> None:
    """Refuse a batch with something other than entries, an id twice, or an id `stored` holds."""
    seen: set[str] = set()
    for entry in entries:
        if not isinstance(entry, OutboxEntry):
            raise ValidationError("entry", f"expected an OutboxEntry, got {type(entry).__name__}")
        if entry.id in seen or entry.id in stored:
            raise DuplicateIdError("outbox entry", entry.id)
        seen.add(entry.id)


def check_take_args(limit: int, lease: timedelta) -> None:
    """Refuse a `limit` below 1 or a lease that is not a positive timedelta."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValidationError("limit", f"expected a whole number >= 1, got {limit!r}")
    if not isinstance(lease, timedelta) or lease <= timedelta(0):
        raise ValidationError("lease", f"expected a positive timedelta, got {lease!r}")


@runtime_checkable
class Outbox(Protocol):
    """Where effects that leave the database wait for the host (P3).

    `put` adds entries (all or nothing; written in the same transaction as the
    data when the outbox lives in the same database); `take` hands out the
    oldest entries not taken by someone else, for `lease`; `acknowledge`
    removes delivered ones. `InMemoryOutbox` and `crmcounters.sql.SqlOutbox`
    implement it.
    """

    def check(self, entries: Collection[OutboxEntry]) -> None:
        """Raise, changing nothing, if `put(entries)` would be refused (a repeated id)."""
        ...

    def put(self, entries: Collection[OutboxEntry]) -> None:
        """Add entries: all of them, or none and an error."""
        ...

    def take(
        self, limit: int = 100, *, lease: timedelta = DEFAULT_OUTBOX_LEASE
    ) -> list[OutboxEntry]:
        """Up to `limit` entries, oldest first, that no other taker holds; held for `lease`."""
        ...

    def acknowledge(self, entry_ids: Iterable[str]) -> int:
        """Remove delivered entries; return how many were there (a repeat is harmless)."""
        ...

    def __len__(self) -> int:
        """How many entries wait, taken or not."""
        ...


@runtime_checkable
class ReminderMark(Protocol):
    """How far reminder pings (N1) have been put in this outbox: a "delivered up to" mark.

    `RuleHost.deliver_reminders` reads it (locking it, in a database, until the
    transaction ends, so two workers never put one ping twice), puts the
    pings after it, and moves it, in one transaction. `InMemoryOutbox` and
    `crmcounters.sql.SqlOutbox` keep one.
    """

    def reminders_delivered_until(self, start: datetime) -> datetime:
        """The mark, in UTC; a first call stores `start` as the mark and returns it."""
        ...

    def set_reminders_delivered_until(self, until: datetime) -> None:
        """Move the mark to `until`."""
        ...


class InMemoryOutbox:
    """The outbox in memory, for `InMemoryStorage` hosts and tests (an `Outbox`).

    Entries keep the order they were put in. Not safe to share between
    threads without a lock of the host's.
    """

    def __init__(self, *, clock: Clock | None = None) -> None:
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._entries: dict[str, OutboxEntry] = {}
        self._leases: dict[str, datetime] = {}
        self._reminders_until: datetime | None = None

    def check(self, entries: Collection[OutboxEntry]) -> None:
        """Raise `DuplicateIdError` (or `ValidationError`), changing nothing, on a bad batch."""
        check_new_entries(entries, self._entries)

    def put(self, entries: Collection[OutboxEntry]) -> None:
        """Add entries: all of them, or none and an error."""
        entries = tuple(entries)
        self.check(entries)
        for entry in entries:
            self._entries[entry.id] = entry

    def take(
        self, limit: int = 100, *, lease: timedelta = DEFAULT_OUTBOX_LEASE
    ) -> list[OutboxEntry]:
        """Up to `limit` entries, oldest first, that no other taker holds; held for `lease`."""
        check_take_args(limit, lease)
        now = v.check_aware("now", self._clock.now())
        taken: list[OutboxEntry] = []
        for entry_id, entry in self._entries.items():
            held = self._leases.get(entry_id)
            if held is not None and held > now:
                continue
            taken.append(entry)
            if len(taken) == limit:
                break
        for entry in taken:
            self._leases[entry.id] = now + lease
        return taken

    def acknowledge(self, entry_ids: Iterable[str]) -> int:
        """Remove delivered entries; return how many were there."""
        removed = 0
        for entry_id in entry_ids:
            if self._entries.pop(entry_id, None) is not None:
                removed += 1
            self._leases.pop(entry_id, None)
        return removed

    def entries(self) -> list[OutboxEntry]:
        """Every waiting entry, oldest first, taken or not (for tests and inspection)."""
        return list(self._entries.values())

    def reminders_delivered_until(self, start: datetime) -> datetime:
        """How far reminder pings were put here (N1); the first call starts it at `start`."""
        if self._reminders_until is None:
            self._reminders_until = v.instant("start", start)
        return self._reminders_until

    def set_reminders_delivered_until(self, until: datetime) -> None:
        """Move the reminder mark to `until`."""
        self._reminders_until = v.instant("until", until)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"InMemoryOutbox({len(self._entries)} waiting)"
