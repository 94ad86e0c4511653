"""Opening a `SqlStorage` from a string: a SQLite file path or `sqlite:` URL, or a
PostgreSQL DSN (`postgresql://…`, or `key=value` pairs)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .._errors import ValidationError
from ._storage import SqlStorage

__all__ = ["is_postgres_url", "open_sql_storage"]

#: How long a SQLite writer waits for the write lock before giving up (seconds).
SQLITE_BUSY_TIMEOUT = 30.0


def is_postgres_url(url: str) -> bool:
    """True for a PostgreSQL DSN: a postgresql:// or postgres:// URL, or key=value pairs."""
    return url.startswith(("postgresql://", "postgres://")) or "dbname=" in url or "host=" in url


def open_sql_storage(url: str) -> SqlStorage:
    """The storage in the database `url` names; its schema must exist (a missing SQLite file
    is an error, not a new empty database)."""
    if not isinstance(url, str) or not url.strip():
        raise ValidationError("db", "expected a SQLite path or URL, or a PostgreSQL DSN")
    if is_postgres_url(url):
        try:
            import psycopg
        except ImportError:  # the `postgres` extra
            raise ValidationError(
                "db", "PostgreSQL needs psycopg: pip install 'crmcounters[postgres]'"
            ) from None
        try:
            connection = psycopg.connect(url, autocommit=True)
        except psycopg.Error as exc:
            raise ValidationError("db", f"cannot connect to PostgreSQL: {exc}") from None
        return SqlStorage(connection)
    path = Path(
        url.removeprefix("sqlite://").removeprefix("sqlite:") if url.startswith("sqlite:") else url
    )
    if not path.is_file():
        raise ValidationError("db", f"no SQLite database file at {str(path)!r}")
    database = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT)
    database.execute("PRAGMA journal_mode=WAL")  # readers never wait on the worker's writes
    return SqlStorage(database)
