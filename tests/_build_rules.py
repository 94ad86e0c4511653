"""Builders for the rules tests: a small portal with one sales pipeline and three zones."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from crmcounters import (
    CalendarSettings,
    Department,
    InMemoryStorage,
    Item,
    Pipeline,
    Settings,
    Stage,
    StageSemantics,
    User,
)
from crmcounters.rules import (
    Comparison,
    CompleteTasks,
    CreateTask,
    Delay,
    Rule,
    RuleEngine,
    RuleSet,
    Timing,
    Trigger,
)
from crmcounters.testing import ManualClock, RuleRuntime

WARSAW = ZoneInfo("Europe/Warsaw")
HONOLULU = ZoneInfo("Pacific/Honolulu")
KIRITIMATI = ZoneInfo("Pacific/Kiritimati")
#: Monday 2026-12-14 10:00 in Warsaw, the sample portal's as_of.
MONDAY = datetime(2026, 12, 14, 10, 0, tzinfo=WARSAW)

SALES_STAGES = (
    ("new", "New", StageSemantics.IN_PROGRESS),
    ("preparation", "Preparing documents", StageSemantics.IN_PROGRESS),
    ("proposal", "Proposal sent", StageSemantics.IN_PROGRESS),
    ("send-invoice", "Send invoice", StageSemantics.IN_PROGRESS),
    ("won", "Closed won", StageSemantics.SUCCESS),
    ("lost", "Closed lost", StageSemantics.FAILURE),
)
STAGE_IDS = tuple(stage_id for stage_id, _, _ in SALES_STAGES)

USERS = (
    User(id="u-marek", name="Marek Nowak", time_zone="Europe/Warsaw", department_id="d-hq"),
    User(id="u-anna", name="Anna Kowalska", time_zone="Europe/Warsaw", department_id="d-eu"),
    User(id="u-piotr", name="Piotr Wiśniewski", time_zone="Europe/Warsaw", department_id="d-eu"),
    User(id="u-keala", name="Keala Kahale", time_zone="Pacific/Honolulu", department_id="d-eu"),
    User(id="u-tama", name="Tama Teiaua", time_zone="Pacific/Kiritimati", department_id="d-eu"),
)
DEPARTMENTS = (
    Department(id="d-hq", name="Head office", head_id="u-marek"),
    Department(id="d-eu", name="Sales", head_id="u-anna", parent_id="d-hq"),
)


def make_storage(*, country: str | None = "PL") -> InMemoryStorage:
    """Users in Warsaw, Honolulu and Kiritimati under Anna, who reports to Marek."""
    storage = InMemoryStorage(Settings(calendar=CalendarSettings(country=country)))
    storage.add(*USERS, *DEPARTMENTS)
    storage.add(
        Pipeline(
            id="p-sales",
            entity_type="deal",
            name="Sales",
            stages=[Stage(id=i, name=n, semantics=s) for i, n, s in SALES_STAGES],
        ),
        Pipeline(
            id="p-leads",
            entity_type="lead",
            name="Leads",
            stages=[Stage(id="new", name="Unassigned"), Stage(id="in-work", name="In progress")],
        ),
    )
    return storage


def deal(
    item_id: str = "deal-1",
    *,
    stage_id: str = "new",
    responsible_id: str = "u-piotr",
    amount: str | None = "4200",
    created_at: datetime = MONDAY,
    **fields: str | int | float | bool | None,
) -> Item:
    """A deal in the sales pipeline."""
    return Item(
        id=item_id,
        entity_type="deal",
        pipeline_id="p-sales",
        stage_id=stage_id,
        responsible_id=responsible_id,
        created_at=created_at,
        title=f"Website for {item_id}",
        amount=None if amount is None else Decimal(amount),
        currency="PLN",
        client="Boulangerie Dupont",
        fields=fields,
    )


def sales_rule(rule_id: str, stage_id: str = "new", **kwargs: object) -> Rule:
    """A rule on a stage of the sales pipeline."""
    return Rule(
        id=rule_id,
        entity_type="deal",
        pipeline_id="p-sales",
        stage_id=stage_id,
        **kwargs,  # type: ignore[arg-type]
    )


def sales_trigger(trigger_id: str, stage_id: str, **kwargs: object) -> Trigger:
    """A task status trigger moving deals of the sales pipeline to `stage_id`."""
    return Trigger(
        id=trigger_id,
        entity_type="deal",
        pipeline_id="p-sales",
        stage_id=stage_id,
        **kwargs,  # type: ignore[arg-type]
    )


def runtime(
    rules: Iterable[Rule] = (),
    triggers: Iterable[Trigger] = (),
    *,
    start: datetime = MONDAY,
    storage: InMemoryStorage | None = None,
    fields: dict[str, str] | None = None,
    max_depth: int = 16,
) -> RuleRuntime:
    """A runtime over a fresh portal with these rules, its clock at `start`."""
    storage = storage if storage is not None else make_storage()
    rule_set = RuleSet(rules=rules, triggers=triggers, fields=fields or {})
    engine = RuleEngine.for_storage(rule_set, storage, max_depth=max_depth)
    return RuleRuntime(engine, storage, ManualClock(start))


HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)


def ping_pong_rules(delay: Delay | None = None) -> RuleSet:
    """The issue's ping-pong set (P4): New makes a "ping" task and completes it (after `delay`),
    which moves the deal to Preparation; there a "pong" task does the same, moving it back."""
    timing = Timing() if delay is None else Timing(delay=delay)
    rules = [
        sales_rule("r-ping", "new", action=CreateTask(title="ping {{Title}}")),
        sales_rule(
            "r-ping-done",
            "new",
            timing=timing,
            action=CompleteTasks(pipeline_id="p-sales", stage_ids=["new"]),
        ),
        sales_rule("r-pong", "preparation", action=CreateTask(title="pong {{Title}}")),
        sales_rule(
            "r-pong-done",
            "preparation",
            timing=timing,
            action=CompleteTasks(pipeline_id="p-sales", stage_ids=["preparation"]),
        ),
    ]
    triggers = [
        sales_trigger(
            "t-ping", "preparation", filter=Comparison(field="title", op="contains", value="ping")
        ),
        sales_trigger(
            "t-pong",
            "new",
            allow_backward=True,
            filter=Comparison(field="title", op="contains", value="pong"),
        ),
    ]
    return RuleSet(
        rules=rules,
        triggers=triggers,
        description="Ping-pong: two stages restart each other through delayed jobs",
    )
