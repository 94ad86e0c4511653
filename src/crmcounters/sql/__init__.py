"""A real database behind the `Storage` protocol: SQLite by default, PostgreSQL at scale.

`SqlStorage` reads and writes one portal through a DB-API connection (stdlib
`sqlite3`, or psycopg 3 with the `postgres` extra), and answers the counters
(C2-C5), the Activities view (V1) and a department's summed counters in SQL.
`open_storage(url)` opens one from a path or DSN; `import_portal` and
`export_portal` copy a whole portal in and out. `SqlJobStore` and
`SqlOutbox` keep rule jobs and the outbox in the same database, written in
the same transactions (P1-P3). See docs/storage.md and docs/production.md.
"""

from __future__ import annotations

from .._public import show_public_paths
from ._copy import Progress, export_portal, import_portal
from ._counters import VIEW_COLUMNS, CounterTotals
from ._jobs import SqlJobStore
from ._open import JOURNAL_MODES, open_storage
from ._outbox import SqlOutbox
from ._schema import SCHEMA_VERSION, create_schema, migrate_schema, schema_script
from ._storage import SqlStorage
from ._views import VIEWS, OwnTables, TableMapping, Timestamp, create_views, views_script

__all__ = [
    "JOURNAL_MODES",
    "SCHEMA_VERSION",
    "VIEWS",
    "VIEW_COLUMNS",
    "CounterTotals",
    "OwnTables",
    "Progress",
    "SqlJobStore",
    "SqlOutbox",
    "SqlStorage",
    "TableMapping",
    "Timestamp",
    "create_schema",
    "create_views",
    "export_portal",
    "import_portal",
    "migrate_schema",
    "open_storage",
    "schema_script",
    "views_script",
]

show_public_paths(__name__, globals(), __all__)
