"""Models refuse bad input at construction, naming the field (SPEC G2, G3, G5, section 1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import attrs
import pytest

from _build import T0, deal, todo
from crmcounters import (
    Activity,
    Column,
    CommentAdded,
    CrmCountersError,
    Department,
    IncomingMessage,
    Item,
    ItemViewed,
    NaiveDatetimeError,
    Pipeline,
    Settings,
    Stage,
    StageChanged,
    Task,
    User,
    ValidationError,
    place_item,
)

MAX_OFFSET_MINUTES = 366 * 24 * 60  # the largest offset (C4): 366 days

NAIVE = datetime(2026, 12, 14, 9, 0)  # deliberately naive


@pytest.mark.parametrize(
    "deadline",
    [
        datetime.max.replace(tzinfo=ZoneInfo("Pacific/Honolulu")),  # UTC instant after year 9999
        datetime.min.replace(tzinfo=ZoneInfo("Pacific/Kiritimati")),  # UTC instant before year 1
        datetime(1, 1, 1, 0, 10, tzinfo=UTC),  # lit_at would fall before year 1
        datetime(9999, 12, 31, 12, 0, tzinfo=UTC),  # its next local midnight after year 9999
    ],
)
def test_g5_a_deadline_at_the_edge_of_the_datetime_range_is_refused(deadline: datetime) -> None:
    """G5: refused at construction, not a raw OverflowError later in lit_at or the view."""
    with pytest.raises(ValidationError, match=r"deadline: .*edge of the datetime range") as raised:
        todo("a", "d1", deadline=deadline)
    assert raised.value.field == "deadline"
    with pytest.raises(ValidationError, match="deadline"):
        attrs.evolve(todo("a", "d1"), deadline=deadline)


EDGE = datetime.max.replace(tzinfo=ZoneInfo("Pacific/Honolulu"))  # UTC after year 9999


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: todo("a", "d1", created_at=EDGE), "created_at"),
        (lambda: todo("a", "d1", completed_at=EDGE), "completed_at"),
        (lambda: deal("d", "u", created_at=EDGE), "created_at"),
        (
            lambda: Task(id="t", item_id="d", title="x", responsible_id="u", created_at=EDGE),
            "created_at",
        ),
        (lambda: CommentAdded(id="e", item_id="d", at=EDGE, author_id="u"), "at"),
        (lambda: ItemViewed(id="e", item_id="d", at=EDGE, user_id="u"), "at"),
    ],
)
def test_g5_every_stored_instant_at_the_edge_of_the_range_is_refused(
    make: object, field: str
) -> None:
    """G5: not only deadlines: any instant the library would compute days around."""
    with pytest.raises(ValidationError, match="edge of the datetime range") as raised:
        make()  # type: ignore[operator]
    assert raised.value.field == field


def test_g5_c4_the_first_and_last_deadlines_allowed_light_and_place_without_overflow() -> None:
    """G5, C4, V1: at the allowed edges, the largest offsets still give an instant in range."""
    first = datetime.min.replace(tzinfo=UTC) + timedelta(minutes=MAX_OFFSET_MINUTES)
    last = datetime.max.replace(tzinfo=UTC) - timedelta(days=1)
    early = todo("a", "d1", deadline=first, reminder_offsets=[MAX_OFFSET_MINUTES])
    assert early.lit_at() == datetime.min.replace(tzinfo=UTC)
    assert todo("a", "d1", deadline=first).lit_at(MAX_OFFSET_MINUTES) == early.lit_at()
    late = todo("a", "d1", deadline=last.astimezone(ZoneInfo("Pacific/Kiritimati")))
    assert late.lit_at() == last - timedelta(minutes=15)
    for activity in (early, late):
        for zone in ("Pacific/Honolulu", "Pacific/Kiritimati"):
            placed = place_item([activity], T0, zone=ZoneInfo(zone))
            assert placed.column in (Column.OVERDUE, Column.LATER)
    with pytest.raises(ValidationError, match="deadline"):
        todo("a", "d1", deadline=first - timedelta(microseconds=1))
    with pytest.raises(ValidationError, match="deadline"):
        todo("a", "d1", deadline=last + timedelta(microseconds=1))


@pytest.mark.parametrize("field", ["urgency_offset_minutes", "focus_reminder_offsets"])
def test_c4_offsets_are_at_most_366_days(field: str) -> None:
    """C4, F2, G5: a larger offset would light before the datetime range begins."""
    with pytest.raises(ValidationError, match=r"reminder_offsets.*at most 527040"):
        todo("a", "d1", reminder_offsets=[MAX_OFFSET_MINUTES + 1])
    assert todo("a", "d1", reminder_offsets=[MAX_OFFSET_MINUTES]).reminder_offsets == (
        MAX_OFFSET_MINUTES,
    )
    value = MAX_OFFSET_MINUTES + 1
    with pytest.raises(ValidationError, match=field):
        Settings(**{field: value if field == "urgency_offset_minutes" else [value]})


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: todo("a", "d1", created_at=NAIVE), "created_at"),
        (lambda: todo("a", "d1", deadline=NAIVE), "deadline"),
        (lambda: todo("a", "d1", completed_at=NAIVE), "completed_at"),
        (lambda: deal("d", "u", created_at=NAIVE), "created_at"),
        (
            lambda: Task(id="t", item_id="d", title="x", responsible_id="u", created_at=NAIVE),
            "created_at",
        ),
        (
            lambda: Task(
                id="t", item_id="d", title="x", responsible_id="u", created_at=T0, deadline=NAIVE
            ),
            "deadline",
        ),
        (lambda: CommentAdded(id="e", item_id="d", at=NAIVE, author_id="u"), "at"),
        (lambda: IncomingMessage(id="e", item_id="d", at=NAIVE, channel="email"), "at"),
        (lambda: ItemViewed(id="e", item_id="d", at=NAIVE, user_id="u"), "at"),
        (
            lambda: StageChanged(id="e", item_id="d", at=NAIVE, by_user_id="u", to_stage_id="s"),
            "at",
        ),
    ],
)
def test_g2_naive_datetimes_are_refused_naming_the_field(make: object, field: str) -> None:
    """G2: a naive datetime is a TypeError/ValueError subclass of CrmCountersError naming it."""
    with pytest.raises(NaiveDatetimeError) as raised:
        make()  # type: ignore[operator]
    assert raised.value.field == field
    assert field in str(raised.value)
    assert isinstance(raised.value, CrmCountersError)
    assert isinstance(raised.value, TypeError)
    assert isinstance(raised.value, ValueError)


@pytest.mark.parametrize("offsets", [(-15,), (15, -1), (1.5,), ("15",)])
def test_c4_reminder_offsets_must_be_whole_minutes_not_negative(offsets: tuple[object]) -> None:
    """C4: offsets are minutes >= 0."""
    with pytest.raises(ValidationError, match="reminder_offsets"):
        todo("a", "d1", reminder_offsets=offsets)


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: todo("", "d1"), "id"),
        (lambda: todo("  ", "d1"), "id"),
        (lambda: todo("a", ""), "item_ids[0]"),
        (lambda: todo("a"), "item_ids"),
        (lambda: todo("a", "d1", responsible_id=""), "responsible_id"),
        (lambda: deal("", "u"), "id"),
        (lambda: deal("d", ""), "responsible_id"),
        (lambda: User(id="", name="x", time_zone="UTC"), "id"),
        (lambda: Department(id="", name="x"), "id"),
        (lambda: Stage(id="", name="x"), "id"),
    ],
)
def test_g5_empty_ids_are_refused_naming_the_field(make: object, field: str) -> None:
    """G5: an empty id is a clear error at the boundary."""
    with pytest.raises(ValidationError) as raised:
        make()  # type: ignore[operator]
    assert raised.value.field == field


def test_activity_completed_before_created_is_refused() -> None:
    """Section 1: completed_at cannot precede created_at."""
    with pytest.raises(ValidationError, match="completed_at"):
        todo("a", "d1", completed_at=T0 - timedelta(minutes=1))


def test_c4_incoming_activity_cannot_have_a_deadline() -> None:
    """C4: an incoming activity has no deadline."""
    with pytest.raises(ValidationError, match="deadline") as raised:
        todo("a", "d1", incoming=True, deadline=T0)
    assert raised.value.field == "deadline"


def test_activity_bound_twice_to_the_same_item_is_refused() -> None:
    """C2: an activity bound to two items counts once per item, so each item once."""
    with pytest.raises(ValidationError, match="item_ids"):
        todo("a", "d1", "d1")


def test_g3_models_are_frozen_and_change_by_evolve() -> None:
    """G3: models are immutable; a change is a new value."""
    activity = todo("a", "d1")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        activity.completed_at = T0  # type: ignore[misc]
    done = attrs.evolve(activity, completed_at=T0)
    assert activity.is_open
    assert not done.is_open


def test_evolve_validates_too() -> None:
    """G3/G5: evolve goes through the same validators as construction."""
    with pytest.raises(ValidationError, match="deadline"):
        attrs.evolve(todo("a", "d1", incoming=True), deadline=T0)


def test_c4_lit_at_uses_the_largest_offset() -> None:
    """C4: lights at deadline minus the largest offset; default 15 minutes."""
    deadline = T0 + timedelta(hours=3)
    assert todo("a", "d1", deadline=deadline).lit_at() == deadline - timedelta(minutes=15)
    assert todo("a", "d1", deadline=deadline).lit_at(30) == deadline - timedelta(minutes=30)
    own = todo("a", "d1", deadline=deadline, reminder_offsets=(0, 60, 15))
    assert own.reminder_offsets == (60, 15, 0)
    assert own.lit_at() == deadline - timedelta(hours=1)
    assert todo("a", "d1", deadline=deadline, reminder_offsets=()).lit_at() == deadline
    assert todo("a", "d1").lit_at() is None


def test_unknown_time_zone_is_refused() -> None:
    """G4: users carry a real IANA zone."""
    with pytest.raises(ValidationError, match="time zone"):
        User(id="u", name="U", time_zone="Mars/Olympus")


@pytest.mark.parametrize("entity_type", ["order", "smart", "smart:", "smart:x", "Deal", ""])
def test_entity_type_must_be_known(entity_type: str) -> None:
    """Section 1: lead, deal, invoice, quote, contact, company or smart:<number>."""
    with pytest.raises(ValidationError, match="entity type"):
        deal("d", "u", entity_type=entity_type)


@pytest.mark.parametrize("entity_type", ["contact", "company"])
def test_c10_contacts_and_companies_are_items_without_pipeline_or_stage(entity_type: str) -> None:
    """Section 1, C10: contacts and companies have no pipeline or stage; quotes have both."""
    item = Item(id="c", entity_type=entity_type, responsible_id="u", created_at=T0)
    assert (item.pipeline_id, item.stage_id) == (None, None)
    with pytest.raises(ValidationError, match="pipeline_id"):
        Item(id="c", entity_type=entity_type, pipeline_id="p", responsible_id="u", created_at=T0)
    with pytest.raises(ValidationError, match="stage_id"):
        Item(id="c", entity_type=entity_type, stage_id="new", responsible_id="u", created_at=T0)
    with pytest.raises(ValidationError, match="no pipeline"):
        Pipeline(id="p", entity_type=entity_type, stages=(Stage(id="s", name="S"),))


def test_c10_a_quote_sits_in_a_pipeline_stage() -> None:
    """Section 1: a quote, like a deal, needs its pipeline and stage."""
    assert deal("q", "u", entity_type="quote").entity_type == "quote"
    with pytest.raises(ValidationError, match="pipeline_id"):
        Item(id="q", entity_type="quote", responsible_id="u", created_at=T0)


def test_smart_process_entity_type_is_accepted() -> None:
    """Section 1: smart processes are written smart:<number>."""
    assert deal("d", "u", entity_type="smart:128").entity_type == "smart:128"


def test_pipeline_needs_unique_stages() -> None:
    """Section 1: stage order defines previous/next, so ids are unique."""
    with pytest.raises(ValidationError, match="stages"):
        Pipeline(id="p", entity_type="deal", stages=())
    with pytest.raises(ValidationError, match=r"stages\[1\]"):
        Pipeline(
            id="p",
            entity_type="deal",
            stages=(Stage(id="a", name="A"), Stage(id="a", name="A again")),
        )


def test_pipeline_positions_follow_stage_order() -> None:
    """Section 1: stage order defines previous and next."""
    pipeline = Pipeline(
        id="p", entity_type="deal", stages=(Stage(id="a", name="A"), Stage(id="b", name="B"))
    )
    assert pipeline.position("a") < pipeline.position("b")
    assert not pipeline.stage("a").is_final


def test_item_amount_and_fields_are_normalised_and_frozen() -> None:
    """Section 1: amounts are exact decimals; custom fields are read-only."""
    item = deal("d", "u", amount="1500.50", fields={"source": "web", "priority": 2})
    assert item.amount == Decimal("1500.50")
    with pytest.raises(TypeError):
        item.fields["source"] = "call"  # type: ignore[index]
    with pytest.raises(ValidationError, match="amount"):
        deal("d", "u", amount=1.5)
    with pytest.raises(ValidationError, match="amount"):
        deal("d", "u", amount="NaN")
    with pytest.raises(ValidationError, match="fields"):
        deal("d", "u", fields={"x": [1, 2]})
    with pytest.raises(ValidationError, match="fields"):
        deal("d", "u", fields={"x": float("inf")})


def test_task_rule_origin_names_rule_and_stage_together() -> None:
    """R4: a rule-created task remembers both its rule and its stage."""
    with pytest.raises(ValidationError, match="rule_stage_id"):
        Task(id="t", item_id="d", title="x", responsible_id="u", created_at=T0, rule_id="r1")


def test_department_cannot_be_its_own_parent() -> None:
    """Section 1: departments form a tree."""
    with pytest.raises(ValidationError, match="parent_id"):
        Department(id="d", name="D", parent_id="d")


def test_public_classes_show_the_package_path_in_repr() -> None:
    """STYLE: reprs show crmcounters.Activity, not a private module path."""
    assert Activity.__module__ == "crmcounters"
    assert repr(todo("a", "d1")).startswith("Activity(")
