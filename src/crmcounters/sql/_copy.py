"""Copying a whole portal between a `Portal` (JSON, memory) and a database, both ways."""

from __future__ import annotations

from collections.abc import Callable

import attrs

from .._batch import Record
from .._errors import ValidationError
from .._gc import collector_paused
from .._memory import InMemoryStorage
from .._portal import Portal
from ._storage import SqlStorage

__all__ = ["Progress", "export_portal", "import_portal"]

#: Told (records done, records in all) as a copy goes on: the CLI draws a progress line.
Progress = Callable[[int, int], None]


def import_portal(portal: Portal, storage: SqlStorage, *, progress: Progress | None = None) -> int:
    """Copy a whole portal into an empty database, in one transaction; return the records written.

    Settings, the description, `as_of` and the access policy go in with every
    record, in the portal's order. The portal is checked as a whole (G5; an
    `InMemoryStorage` was checked as it was filled) and bulk-inserted (COPY on
    PostgreSQL, indexes built once at the end); a failure anywhere leaves the
    database as empty as it was. A database that already holds records is
    refused. On PostgreSQL the loaded tables are then vacuumed and analysed
    (outside the transaction, unless called inside the host's own).
    """
    source = portal.storage
    records: list[Record] = [
        *source.users(),
        *source.departments(),
        *source.pipelines(),
        *source.items(),
        *source.activities(),
        *source.tasks(),
        *source.events(),
    ]
    with storage.transaction(), collector_paused():
        held = len(storage)
        if held:
            raise ValidationError(
                "storage",
                f"the database already holds {held} records; import into an empty one",
            )
        storage.set_settings(source.settings)
        storage._set_portal_details(portal)  # same package
        # An InMemoryStorage checked every record as it was added (G5): no second check.
        storage._load(records, progress, checked=type(source) is InMemoryStorage)
    storage._settle_after_load()  # PostgreSQL: the visibility map set for index-only scans
    return len(records)


def export_portal(storage: SqlStorage, *, progress: Progress | None = None) -> Portal:
    """The whole database as a `Portal` held in memory (save it with `write_portal`).

    Records keep the database's order, so JSON -> database -> JSON gives the
    same document back. `progress` is told after each kind of record.
    """
    with storage._snapshot():  # one consistent state of every table; same package
        live = storage.portal()
        copy = InMemoryStorage.copy_of(storage, progress=progress)
    return attrs.evolve(live, storage=copy)
