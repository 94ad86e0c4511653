"""The two SQL dialects the adapter speaks: stdlib sqlite3 and PostgreSQL through psycopg 3."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import attrs

from .._errors import StorageBusyError, ValidationError

__all__ = [
    "DIALECTS",
    "Connection",
    "Dialect",
    "busy_as_error",
    "dialect_for",
    "dialect_named",
    "dialect_of",
    "is_busy",
]

#: A DB-API 2.0 connection (sqlite3.Connection or psycopg.Connection).
Connection = Any
_IN_LIST = 500  # values per SQLite IN (...) list: well under every version's parameter limit


@functools.lru_cache(maxsize=512)
def _format_style(sql: str) -> str:
    """qmark (`?`) placeholders as psycopg's format style (`%s`)."""
    return sql.replace("?", "%s")


#: SQLite's primary result codes for a database another connection holds locked.
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
#: PostgreSQL's SQLSTATE for "lock_timeout expired" (lock_not_available).
_PG_LOCK_NOT_AVAILABLE = "55P03"
#: Rows from which an INSERT batch goes through PostgreSQL's COPY instead of executemany.
_COPY_FROM = 16
#: Memory a bulk load may use for the page cache (SQLite) or index builds (PostgreSQL).
_BULK_MEMORY_MB = 256


def is_busy(exc: BaseException) -> bool:
    """True when a driver error means "another writer holds the lock" (P5)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
    return getattr(exc, "sqlstate", None) == _PG_LOCK_NOT_AVAILABLE


@contextmanager
def busy_as_error() -> Iterator[None]:
    """Turn the driver's "database is locked" into `StorageBusyError` (P5)."""
    try:
        yield
    except StorageBusyError:
        raise
    except Exception as exc:
        if is_busy(exc):
            raise StorageBusyError(
                "the database is busy: another writer held its lock past the timeout "
                f"({type(exc).__name__}: {exc}); nothing was written, try again"
            ) from exc
        raise


def text_array(values: Iterable[str]) -> str:
    """PostgreSQL's literal of a text array holding `values`: each element quoted, with its
    backslashes and double quotes escaped (so commas, braces, spaces and "NULL" stay text)."""
    return (
        "{"
        + ",".join('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"' for value in values)
        + "}"
    )


@attrs.frozen(kw_only=True)
class Dialect:
    """What differs between the databases: placeholders, an auto-numbered column, transactions."""

    name: str
    serial: str  # an auto-numbered primary key column type: keeps insertion order
    qmark: bool
    text_may_hold_nul: bool  # PostgreSQL text cannot hold a NUL character
    share_lock: str  # appended to a SELECT that must keep its rows from changing until commit
    is_view_sql: str  # one row when the relation named by the parameter is a view
    is_table_sql: str  # one row when it is a table
    binary: str = ""  # after a TEXT column type: compare in code-point order, as Python does

    def sql(self, text: str) -> str:
        """`text` (written with `?` placeholders) in this dialect's placeholder style."""
        return text if self.qmark else _format_style(text)

    def query(self, connection: Connection, text: str, params: Sequence[Any] = ()) -> list[Any]:
        """Run a SELECT and return every row as a tuple."""
        cursor = connection.cursor()
        try:
            with busy_as_error():
                cursor.execute(self.sql(text), tuple(params))
                return list(cursor.fetchall())
        finally:
            cursor.close()

    def execute(self, connection: Connection, text: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; return the number of rows it changed."""
        cursor = connection.cursor()
        try:
            with busy_as_error():
                cursor.execute(self.sql(text), tuple(params))
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def execute_many(
        self, connection: Connection, text: str, rows: Sequence[Sequence[Any]]
    ) -> None:
        """Run one statement once per row of parameters."""
        if not rows:
            return
        cursor = connection.cursor()
        try:
            with busy_as_error():
                cursor.executemany(self.sql(text), rows)
        finally:
            cursor.close()

    def insert_many(
        self, connection: Connection, table: str, columns: Sequence[str], rows: Sequence[Any]
    ) -> None:
        """Insert rows into `table`: PostgreSQL's COPY for a batch, else one INSERT per row.

        COPY streams the rows in one statement (an order of magnitude faster than
        executemany for bulk loads); it runs inside the open transaction like any
        statement, so a failure rolls it back with the rest.
        """
        if not rows:
            return
        names = ", ".join(columns)
        if self.name == "postgres" and len(rows) >= _COPY_FROM:
            cursor = connection.cursor()
            try:
                with busy_as_error(), cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            finally:
                cursor.close()
            return
        marks = ", ".join("?" for _ in columns)
        self.execute_many(connection, f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)

    @contextmanager
    def transaction(self, connection: Connection) -> Iterator[None]:
        """One all-or-nothing unit: commits on success, rolls back on any exception.

        On SQLite it starts with ``BEGIN IMMEDIATE``: the write lock is taken
        up front, so a writer waits (up to the connection's busy timeout) for
        the others to finish instead of failing when it would upgrade a read
        lock (P5); past the timeout it raises `StorageBusyError`. Inside a
        transaction the caller already opened, it is a savepoint, and
        committing stays the caller's business.
        """
        if self.name == "postgres":
            with busy_as_error(), connection.transaction():
                yield
            return
        if connection.in_transaction:
            connection.execute("SAVEPOINT crmcounters_write")
            try:
                yield
            except BaseException:
                connection.execute("ROLLBACK TO crmcounters_write")
                connection.execute("RELEASE crmcounters_write")
                raise
            connection.execute("RELEASE crmcounters_write")
            return
        with busy_as_error():
            connection.execute("BEGIN IMMEDIATE")
        try:
            yield
            with busy_as_error():
                connection.commit()
        except BaseException:
            if connection.in_transaction:
                connection.rollback()
            raise

    @contextmanager
    def bulk_load(self, connection: Connection) -> Iterator[None]:
        """More memory for a bulk load inside the open transaction: page cache, index sorts.

        A million rows with their id indexes outgrow SQLite's default 2 MB page
        cache and PostgreSQL's default index-build memory many times over.
        """
        if self.name == "postgres":
            self.execute(connection, f"SET LOCAL maintenance_work_mem = '{_BULK_MEMORY_MB}MB'")
            yield  # LOCAL: back to the server's value when the transaction ends
            return
        before = self.query(connection, "PRAGMA cache_size")[0][0]
        self.execute(connection, f"PRAGMA cache_size = -{_BULK_MEMORY_MB * 1024}")  # in KiB
        try:
            yield
        finally:
            self.execute(connection, f"PRAGMA cache_size = {int(before)}")

    @contextmanager
    def snapshot(self, connection: Connection) -> Iterator[None]:
        """A read-only transaction: every read inside sees the database as of one instant.

        Writers are not held up: SQLite (in WAL mode) and PostgreSQL keep the
        snapshot while others commit.
        """
        if self.name == "postgres":
            if connection.info.transaction_status != 0:  # not idle: inside one already
                yield
                return
            # One statement to begin (not BEGIN, then SET TRANSACTION): a page of a board
            # pays each round trip (issue 15). Read only, so ending it is a ROLLBACK.
            with busy_as_error():
                connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            try:
                yield
            finally:
                connection.execute("ROLLBACK")
            return
        if connection.in_transaction:
            yield
            return
        with busy_as_error():
            connection.execute("BEGIN DEFERRED")
        try:
            yield
        finally:
            if connection.in_transaction:
                connection.rollback()

    def reusable(self, connection: Connection) -> bool:
        """True when a connection back from an operation can serve the next one as it is."""
        if self.name == "postgres":
            return (
                not (connection.closed or connection.broken)
                and connection.autocommit
                and (
                    connection.info.transaction_status == 0  # idle: no transaction left open
                )
            )
        return not connection.in_transaction

    def in_lists(self, column: str, values: Sequence[str]) -> Iterator[tuple[str, tuple[Any, ...]]]:
        """Conditions `column IN (values)` over text ids with their parameters, covering all.

        PostgreSQL takes one array (`column = ANY(?::text[])`): one short statement
        the driver parses quickly, however many values, its array written as one
        text literal (`text_array`: a third of a millisecond less per 250 ids than
        the driver's list adapter, four times per Kanban board). SQLite takes lists
        of at most 500 placeholders, under every version's parameter limit.
        """
        if not values:
            return
        if self.name == "postgres":
            yield f"{column} = ANY(?::text[])", (text_array(values),)
            return
        for start in range(0, len(values), _IN_LIST):
            chunk = tuple(values[start : start + _IN_LIST])
            yield f"{column} IN ({', '.join('?' for _ in chunk)})", chunk

    def check_connection(self, connection: Connection) -> None:
        """Refuse a connection the adapter cannot drive correctly."""
        if self.name == "postgres" and not getattr(connection, "autocommit", False):
            raise ValidationError(
                "connection",
                "open the psycopg connection with autocommit=True: SqlStorage opens one "
                "transaction per write itself (psycopg.connect(dsn, autocommit=True))",
            )


SQLITE = Dialect(
    name="sqlite",
    serial="INTEGER PRIMARY KEY",
    qmark=True,
    text_may_hold_nul=True,
    share_lock="",  # a SQLite writer holds the whole database already (BEGIN IMMEDIATE)
    is_view_sql="SELECT 1 FROM sqlite_master WHERE type = 'view' AND name = ?",
    is_table_sql="SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
)
POSTGRES = Dialect(
    name="postgres",
    serial="BIGSERIAL PRIMARY KEY",
    qmark=False,
    text_may_hold_nul=False,
    share_lock=" FOR SHARE",
    is_view_sql=(
        "SELECT 1 FROM pg_views WHERE viewname = ? AND schemaname = ANY(current_schemas(false))"
    ),
    is_table_sql=(
        "SELECT 1 FROM pg_tables WHERE tablename = ? AND schemaname = ANY(current_schemas(false))"
    ),
    binary=' COLLATE "C"',
)
#: The dialects by name.
DIALECTS = {"sqlite": SQLITE, "postgres": POSTGRES}


def dialect_named(name: str) -> Dialect:
    """The dialect called `name` ("sqlite" or "postgres")."""
    try:
        return DIALECTS[name]
    except KeyError:
        raise ValidationError(
            "dialect", f"unknown SQL dialect {name!r}; use 'sqlite' or 'postgres'"
        ) from None


def dialect_of(connection: Connection) -> Dialect:
    """The dialect of a sqlite3 or psycopg connection, told apart by its class's module."""
    module = type(connection).__module__
    if module.startswith("sqlite3"):
        return SQLITE
    if module.startswith("psycopg"):
        return POSTGRES
    raise ValidationError(
        "connection",
        f"cannot tell the SQL dialect of a {type(connection).__qualname__} from {module}; "
        "pass dialect='sqlite' or dialect='postgres'",
    )


def dialect_for(connection: Connection, dialect: str | None) -> Dialect:
    """The dialect named `dialect`, else the connection's; refuses a connection it cannot drive."""
    chosen = dialect_named(dialect) if dialect is not None else dialect_of(connection)
    chosen.check_connection(connection)
    return chosen
