"""Bulk calls pause the cyclic garbage collector and leave it as found (docs/threads.md)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from _build_rules import HOUR, MONDAY, deal, make_storage, sales_rule
from crmcounters import InMemoryStorage, Item, StageChanged, dump_portal, load_portal, sample_portal
from crmcounters._gc import collector_paused
from crmcounters.rules import AddHistoryEntry, Delay, PendingJobs, RuleEngine, RuleSet, Timing


@pytest.fixture(params=[True, False], ids=["enabled", "disabled"])
def collector(request: pytest.FixtureRequest) -> Iterator[bool]:
    was = gc.isenabled()
    if request.param:
        gc.enable()
    else:
        gc.disable()
    yield request.param
    if was:
        gc.enable()
    else:
        gc.disable()


def test_collector_paused_restores_the_state_it_found_even_on_an_error(collector: bool) -> None:
    seen: list[bool] = []

    def fail_inside() -> None:
        with collector_paused():
            seen.append(gc.isenabled())
            raise RuntimeError("inside")

    with pytest.raises(RuntimeError):
        fail_inside()
    assert seen == [False]
    assert gc.isenabled() is collector


def test_g5_load_portal_leaves_the_collector_as_found(collector: bool) -> None:
    load_portal(dump_portal(sample_portal()))
    assert gc.isenabled() is collector


class _Spy:
    """A storage that notes whether the collector ran while the engine read an item."""

    def __init__(self, storage: InMemoryStorage) -> None:
        self._storage = storage
        self.seen: list[bool] = []

    def item(self, item_id: str) -> Item:
        self.seen.append(gc.isenabled())
        return self._storage.item(item_id)

    def __getattr__(self, name: str) -> object:
        return getattr(self._storage, name)


def test_r1_run_due_runs_without_the_collector_and_leaves_it_as_found(collector: bool) -> None:
    storage = make_storage()
    storage.add(deal())
    rule_set = RuleSet(
        rules=[
            sales_rule(
                "r-note",
                timing=Timing(delay=Delay(after=1, unit="hours")),
                action=AddHistoryEntry(text="{{Title}} waits"),
            )
        ]
    )
    engine = RuleEngine.for_storage(rule_set, storage)
    pending = PendingJobs()
    entered = StageChanged(
        id="e-1", item_id="deal-1", at=MONDAY, by_user_id="u-piotr", to_stage_id="new"
    )
    pending.apply(engine.handle(entered, storage, MONDAY, pending))
    assert len(pending) == 1
    spy = _Spy(storage)
    outcome = engine.run_due(spy, MONDAY + HOUR, pending)  # type: ignore[arg-type]
    assert len(outcome.finished) == 1
    assert spy.seen
    assert not any(spy.seen)
    assert gc.isenabled() is collector
