"""`open_storage(url)`: a `SqlStorage` from one string, as the CLI's `--db` takes it.

Accepted: a SQLite file path, ``sqlite:///relative.db`` or
``sqlite:////absolute.db`` (``?timeout=2&journal_mode=delete`` may follow),
``:memory:``, and a PostgreSQL DSN (``postgresql://user@host:5432/db``).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

from .._errors import CrmCountersError, ValidationError
from .._settings import Settings
from ._connections import Single
from ._dialect import SQLITE, Connection, busy_as_error
from ._schema import create_schema
from ._storage import SqlStorage

__all__ = ["JOURNAL_MODES", "open_storage"]

#: SQLite journal modes `open_storage` accepts (WAL is the default for files).
JOURNAL_MODES = ("wal", "delete", "truncate", "persist", "memory", "off")
_DEFAULT_TIMEOUT = 5.0
_DEFAULT_MAX_CONNECTIONS = 10
_MEMORY = ":memory:"
_SQLITE_OPTIONS = frozenset({"timeout", "journal_mode", "max_connections"})


def open_storage(
    url: str | os.PathLike[str],
    *,
    create: bool = False,
    settings: Settings | None = None,
    timeout: float | None = None,
    journal_mode: str | None = None,
    max_connections: int | None = None,
) -> SqlStorage:
    """Open the portal database named by `url`; the storage owns its connections (close it).

    `url` is a SQLite path or ``sqlite:///path`` URL (``:memory:`` for a
    private in-memory database) or a PostgreSQL DSN. With `create`, a missing
    SQLite file and a missing schema are created (storing `settings`);
    otherwise they are errors. The storage is pooled: threads may share it,
    each operation on its own connection (at most `max_connections`, default
    10).

    `timeout` (default 5 s) is how long a writer waits for another's lock
    before `StorageBusyError` (SQLite's busy timeout, PostgreSQL's
    ``lock_timeout``), and how long a thread waits for a free connection.
    SQLite files use WAL (readers never block the writer) unless
    `journal_mode` says otherwise. The SQLite URL may carry ``timeout``,
    ``journal_mode`` and ``max_connections`` as query parameters; arguments
    given here win.
    """
    text = os.fspath(url)
    if not isinstance(text, str) or not text.strip():
        raise ValidationError("url", "expected a SQLite path, a sqlite:/// URL or a PostgreSQL DSN")
    scheme = urlsplit(text).scheme.lower() if "://" in text else ""
    if scheme in ("postgresql", "postgres"):
        return _open_postgres(
            text,
            create=create,
            settings=settings,
            timeout=_DEFAULT_TIMEOUT if timeout is None else _seconds(timeout),
            max_connections=max_connections or _DEFAULT_MAX_CONNECTIONS,
        )
    options: dict[str, str] = {}
    if scheme == "sqlite":
        path, options = _sqlite_url(text)
    elif scheme:
        raise ValidationError(
            "url",
            f"unknown database scheme {scheme!r}; use a SQLite path, sqlite:///path "
            "or postgresql://...",
        )
    else:
        path = text
    return _open_sqlite(
        path,
        create=create,
        settings=settings,
        timeout=_seconds(timeout if timeout is not None else options.get("timeout", 5.0)),
        journal_mode=_journal_mode(journal_mode or options.get("journal_mode", "wal")),
        max_connections=max_connections
        or _whole("max_connections", options.get("max_connections", _DEFAULT_MAX_CONNECTIONS)),
    )


def _sqlite_url(text: str) -> tuple[str, dict[str, str]]:
    """The path and options of ``sqlite:///relative``, ``sqlite:////absolute`` or ``sqlite://``."""
    parts = urlsplit(text)
    if parts.netloc:
        raise ValidationError(
            "url",
            f"a sqlite URL has no host ({parts.netloc!r}); write sqlite:///relative.db "
            "or sqlite:////absolute/path.db",
        )
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(options) - _SQLITE_OPTIONS)
    if unknown:
        raise ValidationError(
            "url",
            f"unknown sqlite URL option {unknown[0]!r}; use {', '.join(sorted(_SQLITE_OPTIONS))}",
        )
    path = unquote(parts.path[1:]) if parts.path.startswith("/") else unquote(parts.path)
    return path or _MEMORY, options


def _seconds(value: object) -> float:
    try:
        seconds = float(value)  # type: ignore[arg-type]  # checked just below
    except (TypeError, ValueError):
        raise ValidationError("timeout", f"expected seconds, got {value!r}") from None
    if not 0 <= seconds <= 86_400:
        raise ValidationError("timeout", f"expected 0 to 86400 seconds, got {value!r}")
    return seconds


def _whole(field: str, value: object) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise ValidationError(field, f"expected a whole number, got {value!r}") from None
    return number


def _journal_mode(mode: str) -> str:
    if mode.lower() not in JOURNAL_MODES:
        raise ValidationError(
            "journal_mode", f"expected one of {', '.join(JOURNAL_MODES)}, got {mode!r}"
        )
    return mode.lower()


def _open_sqlite(
    path: str,
    *,
    create: bool,
    settings: Settings | None,
    timeout: float,
    journal_mode: str,
    max_connections: int,
) -> SqlStorage:
    if path == _MEMORY:  # one private database: every thread must share its one connection
        connection = sqlite3.connect(
            _MEMORY, timeout=timeout, isolation_level=None, check_same_thread=False
        )
        create_schema(connection, settings)
        storage = SqlStorage.__new__(SqlStorage)
        storage._setup(Single(connection, owned=True), SQLITE)  # same package
        return storage
    file = Path(path)
    if not create and not file.is_file():
        raise ValidationError(
            "url",
            f"no SQLite database at {path}; create one with `crmcounters import` "
            "or open_storage(..., create=True)",
        )

    def connect() -> sqlite3.Connection:
        connection = sqlite3.connect(
            file, timeout=timeout, isolation_level=None, check_same_thread=False
        )
        try:
            _set_journal_mode(connection, journal_mode)
        except BaseException:
            connection.close()
            raise
        return connection

    first = _sqlite_connection(connect, path)
    try:
        if create:
            create_schema(first, settings)
    finally:
        first.close()
    return SqlStorage.pooled(
        connect, dialect="sqlite", max_connections=max_connections, timeout=timeout
    )


def _sqlite_connection(connect: Callable[[], sqlite3.Connection], path: str) -> sqlite3.Connection:
    try:
        return connect()
    except CrmCountersError:
        raise
    except sqlite3.Error as exc:
        raise ValidationError("url", f"cannot open SQLite database {path}: {exc}") from None


def _set_journal_mode(connection: sqlite3.Connection, mode: str) -> None:
    """Put the connection in `mode` unless it is in it already.

    WAL is stored in the file (the first connection switches it); the other
    modes hold per connection.
    """
    try:
        with busy_as_error():
            current = str(connection.execute("PRAGMA journal_mode").fetchone()[0]).lower()
            if current != mode:
                connection.execute(f"PRAGMA journal_mode = {mode}")  # one of JOURNAL_MODES
    except CrmCountersError:
        raise
    except sqlite3.DatabaseError as exc:
        raise ValidationError("url", f"not a SQLite database: {exc}") from None


def _redacted(dsn: str) -> str:
    """The DSN without its password, fit for an error message."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


def _open_postgres(
    dsn: str,
    *,
    create: bool,
    settings: Settings | None,
    timeout: float,
    max_connections: int,
) -> SqlStorage:
    try:
        import psycopg  # the `postgres` extra
    except ImportError:
        raise ValidationError(
            "url",
            "PostgreSQL needs the psycopg driver: pip install 'crmcounters[postgres]'",
        ) from None
    lock_timeout_ms = int(timeout * 1000)

    def connect() -> Connection:
        try:
            connection: Any = psycopg.connect(
                dsn, autocommit=True, connect_timeout=max(2, int(timeout))
            )
        except psycopg.Error as exc:
            detail = " ".join(str(exc).split())
            raise ValidationError(
                "url", f"cannot connect to PostgreSQL at {_redacted(dsn)}: {detail}"
            ) from None
        connection.execute(f"SET lock_timeout = {lock_timeout_ms}")  # a whole number
        return connection

    if create:
        first = connect()
        try:
            create_schema(first, settings)
        finally:
            first.close()
    return SqlStorage.pooled(
        connect, dialect="postgres", max_connections=max_connections, timeout=timeout
    )
