"""Where a `SqlStorage` gets its connection: one given connection, or a pool (docs/threads.md).

A storage borrows a connection for one operation (a read, or a whole
transaction) and gives it back. `Single` hands out the caller's one
connection to one thread at a time; `Pool` opens connections from a factory
as threads need them, so threads read and write in parallel, each operation
on a connection no other thread is using.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from .._errors import StorageBusyError, ValidationError
from ._dialect import Connection

__all__ = ["Connections", "Pool", "Single"]


def _closed() -> ValidationError:
    return ValidationError("storage", "this SqlStorage is closed; open a new one")


class Connections(Protocol):
    """What a storage borrows connections from."""

    def acquire(self) -> Connection:
        """A connection no other thread is using, until `release`."""
        ...

    def release(self, connection: Connection) -> None:
        """Give back a connection from `acquire`."""
        ...

    def close(self) -> None:
        """Close the connections this source opened; later `acquire` calls fail."""
        ...


class Single:
    """One connection, lent to one thread at a time (a lock serialises the operations).

    `owned`: the storage opened it (`open_storage(":memory:")`) and closes it
    on `close`; a connection the caller passed in stays the caller's.
    """

    def __init__(self, connection: Connection, *, owned: bool = False) -> None:
        self._connection = connection
        self._owned = owned
        self._lock = threading.RLock()
        self._closed = False

    @property
    def connection(self) -> Connection:
        """The one connection."""
        return self._connection

    def acquire(self) -> Connection:
        """The connection, once no other thread is using it."""
        self._lock.acquire()
        if self._closed:
            self._lock.release()
            raise _closed()
        return self._connection

    def release(self, connection: Connection) -> None:
        """Let the next thread have it."""
        self._lock.release()

    def close(self) -> None:
        """Stop lending it; close it if the storage opened it."""
        with self._lock:
            if not self._closed and self._owned:
                self._connection.close()
            self._closed = True


class Pool:
    """Connections opened by `connect` as they are needed, at most `size` at once.

    A thread that finds all `size` connections lent waits up to `timeout`
    seconds for one, then gets `StorageBusyError`. Returned connections are kept
    for the next borrower unless `usable` says they are broken.
    """

    def __init__(
        self,
        connect: Callable[[], Connection],
        *,
        size: int,
        timeout: float,
        usable: Callable[[Connection], bool] = lambda _connection: True,
    ) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValidationError("max_connections", f"expected a whole number >= 1, got {size!r}")
        self._connect = connect
        self._size = size
        self._timeout = timeout
        self.usable = usable
        self._idle: list[Connection] = []
        self._lent = 0
        self._closed = False
        self._ready = threading.Condition()

    def acquire(self) -> Connection:
        """An idle connection, or a new one while fewer than `size` are open."""
        deadline = time.monotonic() + self._timeout
        with self._ready:
            while True:
                if self._closed:
                    raise _closed()
                if self._idle:
                    self._lent += 1
                    return self._idle.pop()
                if self._lent < self._size:
                    self._lent += 1
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    raise StorageBusyError(
                        f"all {self._size} connections of the storage stayed in use for "
                        f"{self._timeout:g} s; raise max_connections or the timeout"
                    )
                self._ready.wait(left)
        try:
            return self._connect()
        except BaseException:
            with self._ready:
                self._lent -= 1
                self._ready.notify()
            raise

    def release(self, connection: Connection) -> None:
        """Keep the connection for the next borrower (close it if broken or the pool is closed)."""
        keep = self.usable(connection)
        with self._ready:
            self._lent -= 1
            if keep and not self._closed:
                self._idle.append(connection)
                connection = None
            self._ready.notify()
        if connection is not None:
            _close_quietly(connection)

    def close(self) -> None:
        """Close the idle connections now and the lent ones as they come back."""
        with self._ready:
            self._closed = True
            idle, self._idle = self._idle, []
            self._ready.notify_all()
        for connection in idle:
            _close_quietly(connection)


def _close_quietly(connection: Any) -> None:
    with contextlib.suppress(Exception):  # a broken connection may fail to close; it is gone
        connection.close()
