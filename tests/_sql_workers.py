"""Writers for the concurrency tests: run in threads, or in spawned processes (importable here)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from _build import T0, deal, todo
from crmcounters import InMemoryStorage, Portal
from crmcounters.sql import import_portal, open_storage


def seed(url: str, items: int = 4) -> None:
    """Create the database (if need be) and put in the small portal with `items` deals of rep."""
    from _build import small_storage

    memory = small_storage()
    memory.add(*(deal(f"w{n}", "rep") for n in range(items)))
    with open_storage(url, create=True) as storage:
        import_portal(Portal(storage=memory), storage)


#: How long a test writer may wait for the lock: generous, so that a loaded CI machine
#: shows waiting, never a timeout (the timeout itself has tests of its own).
PATIENCE = 60


def add_one_by_one(url: str, writer: int, count: int, barrier: Any = None) -> int:
    """Through a storage of its own, add `count` activities one write each; return how many."""
    with open_storage(url, timeout=PATIENCE) as storage:
        if barrier is not None:
            barrier.wait()
        for n in range(count):
            storage.add(todo(f"t{writer}-{n}", f"w{n % 4}", deadline=T0 + timedelta(minutes=n)))
    return count


def add_batches(url: str, writer: int, batches: int, size: int, barrier: Any = None) -> int:
    """Add `batches` batches of `size` activities (with a read between); return how many."""
    with open_storage(url, timeout=PATIENCE) as storage:
        if barrier is not None:
            barrier.wait()
        for batch in range(batches):
            storage.add_all(
                todo(f"p{writer}-{batch}-{n}", f"w{n % 4}", deadline=T0 + timedelta(hours=n))
                for n in range(size)
            )
            storage.counter_totals("rep", T0)  # readers and writers interleave
    return batches * size


def memory_of(url: str) -> InMemoryStorage:
    """What the database holds, copied into memory."""
    with open_storage(url) as storage:
        return InMemoryStorage.copy_of(storage)
