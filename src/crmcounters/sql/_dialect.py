"""The two SQL dialects the adapter speaks: stdlib sqlite3 and PostgreSQL through psycopg 3."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import attrs

from .._errors import ValidationError

__all__ = ["DIALECTS", "Connection", "Dialect", "dialect_for", "dialect_named", "dialect_of"]

#: A DB-API 2.0 connection (sqlite3.Connection or psycopg.Connection).
Connection = Any
_IN_LIST = 500  # values per SQLite IN (...) list: well under every version's parameter limit


@functools.lru_cache(maxsize=512)
def _format_style(sql: str) -> str:
    """qmark (`?`) placeholders as psycopg's format style (`%s`)."""
    return sql.replace("?", "%s")


@attrs.frozen(kw_only=True)
class Dialect:
    """What differs between the databases: placeholders, an auto-numbered column, transactions."""

    name: str
    serial: str  # an auto-numbered primary key column type: keeps insertion order
    qmark: bool
    text_may_hold_nul: bool  # PostgreSQL text cannot hold a NUL character

    def sql(self, text: str) -> str:
        """`text` (written with `?` placeholders) in this dialect's placeholder style."""
        return text if self.qmark else _format_style(text)

    def query(self, connection: Connection, text: str, params: Sequence[Any] = ()) -> list[Any]:
        """Run a SELECT and return every row as a tuple."""
        cursor = connection.cursor()
        try:
            cursor.execute(self.sql(text), tuple(params))
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def execute(self, connection: Connection, text: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; return the number of rows it changed."""
        cursor = connection.cursor()
        try:
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
            cursor.executemany(self.sql(text), rows)
        finally:
            cursor.close()

    @contextmanager
    def transaction(self, connection: Connection) -> Iterator[None]:
        """One all-or-nothing unit: commits on success, rolls back on any exception.

        Inside a transaction the caller already opened, it is a savepoint, and
        committing stays the caller's business.
        """
        if self.name == "postgres":
            with connection.transaction():
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
        connection.execute("BEGIN")
        try:
            yield
        except BaseException:
            connection.rollback()
            raise
        connection.commit()

    def in_lists(self, column: str, values: Sequence[Any]) -> Iterator[tuple[str, tuple[Any, ...]]]:
        """Conditions `column IN (values)` with their parameters, covering every value.

        PostgreSQL takes one array (`column = ANY(?)`): one short statement the
        driver parses quickly, however many values. SQLite takes lists of at
        most 500 placeholders, under every version's parameter limit.
        """
        if not values:
            return
        if self.name == "postgres":
            yield f"{column} = ANY(?)", (list(values),)
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


SQLITE = Dialect(name="sqlite", serial="INTEGER PRIMARY KEY", qmark=True, text_may_hold_nul=True)
POSTGRES = Dialect(
    name="postgres", serial="BIGSERIAL PRIMARY KEY", qmark=False, text_may_hold_nul=False
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
