"""InMemoryStorage: indexed reads, all-or-nothing writes, clear errors (SPEC G5, section 1)."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from _build import T0, deal, small_storage, todo
from crmcounters import (
    CommentAdded,
    DanglingReferenceError,
    Department,
    DuplicateIdError,
    InMemoryStorage,
    IntegrityError,
    Pipeline,
    Portal,
    Stage,
    Storage,
    UnknownIdError,
    User,
    ValidationError,
    dump_portal,
)


def snapshot(storage: InMemoryStorage) -> str:
    """Everything stored, as text: equal snapshots mean nothing changed."""
    return dump_portal(Portal(storage=storage))


def test_in_memory_storage_implements_the_protocol() -> None:
    """G1: the core talks to the Storage protocol only."""
    assert isinstance(small_storage(), Storage)


def test_g5_duplicate_id_is_refused_and_nothing_changes() -> None:
    """G5: duplicate ids are a clear error; the batch is not applied."""
    storage = small_storage()
    before = snapshot(storage)
    with pytest.raises(DuplicateIdError, match="duplicate item id 'd1'"):
        storage.add(deal("d3", "rep"), deal("d1", "rep"))
    assert snapshot(storage) == before
    with pytest.raises(DuplicateIdError, match="activity id 'a'"):
        storage.add(todo("a", "d1"), todo("a", "d2"))
    assert snapshot(storage) == before


def test_g5_activity_bound_to_a_missing_item_is_refused_and_nothing_changes() -> None:
    """G5: a dangling reference names the record, the field and the missing id."""
    storage = small_storage()
    before = snapshot(storage)
    with pytest.raises(DanglingReferenceError) as raised:
        storage.add(todo("a1", "d1"), todo("a2", "d1", "ghost"))
    error = raised.value
    assert (error.record_kind, error.record_id, error.field) == ("activity", "a2", "item_ids[1]")
    assert (error.kind, error.target_id) == ("item", "ghost")
    assert "refers to unknown item id 'ghost'" in str(error)
    assert snapshot(storage) == before
    assert storage.open_activities_of_item("d1") == []


@pytest.mark.parametrize(
    ("record", "field"),
    [
        (lambda: deal("d9", "nobody"), "responsible_id"),
        (lambda: todo("a", "d1", responsible_id="nobody"), "responsible_id"),
        (lambda: todo("a", "d1", author_id="nobody"), "author_id"),
        (lambda: User(id="x", name="X", time_zone="UTC", department_id="nowhere"), "department_id"),
        (lambda: Department(id="x", name="X", head_id="nobody"), "head_id"),
        (lambda: deal("d9", "rep", pipeline_id="nope"), "pipeline_id"),
        (lambda: deal("d9", "rep", stage_id="nope"), "stage_id"),
    ],
)
def test_g5_unknown_users_and_references_are_refused(record: object, field: str) -> None:
    """G5: every reference is checked where it enters."""
    storage = small_storage()
    before = snapshot(storage)
    with pytest.raises(DanglingReferenceError) as raised:
        storage.add(record())  # type: ignore[operator]
    assert raised.value.field == field
    assert snapshot(storage) == before


def test_item_pipeline_must_be_of_its_entity_type() -> None:
    """Section 1: a pipeline belongs to one entity type."""
    storage = small_storage()
    with pytest.raises(IntegrityError, match="is for deal, not lead"):
        storage.add(deal("l1", "rep", entity_type="lead"))


def test_a_batch_may_refer_to_records_inside_it() -> None:
    """Users and departments refer to each other: one batch settles it."""
    storage = InMemoryStorage()
    storage.add(
        Department(id="d", name="D", head_id="u"),
        User(id="u", name="U", time_zone="UTC", department_id="d"),
    )
    assert storage.supervisor_of("u") is None


def test_department_cycles_are_refused() -> None:
    """Section 1: departments form a tree."""
    storage = small_storage()
    before = snapshot(storage)
    with pytest.raises(IntegrityError, match="loop"):
        storage.replace(Department(id="hq", name="HQ", head_id="boss", parent_id="sales"))
    assert snapshot(storage) == before


def test_supervisor_climbs_the_department_tree() -> None:
    """Section 1: head of own department; for the head, the parent's head; none at the root."""
    storage = small_storage()
    supervisor_of = storage.supervisor_of
    assert supervisor_of("rep") == storage.user("lead")
    assert supervisor_of("lead") == storage.user("boss")
    assert supervisor_of("boss") is None
    storage.replace(Department(id="sales", name="Sales", parent_id="hq"))  # no head
    assert supervisor_of("rep") == storage.user("boss")


def test_indexes_follow_completion_reassignment_and_rescheduling() -> None:
    """Per-user and per-item reads stay right after every kind of change."""
    storage = small_storage()
    storage.add(todo("a1", "d1"), todo("a2", "d1", "d2", responsible_id="lead"))
    assert [a.id for a in storage.open_activities_of_item("d1")] == ["a1", "a2"]
    assert [a.id for a in storage.open_activities_of_item("d2")] == ["a2"]
    assert [a.id for a in storage.open_activities_of_user("rep")] == ["a1"]
    storage.replace(attrs.evolve(storage.activity("a1"), completed_at=T0 + timedelta(hours=1)))
    assert [a.id for a in storage.open_activities_of_item("d1")] == ["a2"]
    assert sorted(a.id for a in storage.activities_of_item("d1")) == ["a1", "a2"]
    assert storage.open_activities_of_user("rep") == []
    storage.replace(attrs.evolve(storage.item("d1"), responsible_id="lead"))
    assert {i.id for i in storage.items_of("lead")} == {"d1", "d2"}
    assert storage.items_of("rep") == []
    moved = attrs.evolve(storage.activity("a2"), deadline=T0 + timedelta(days=2))
    storage.replace(moved)
    assert storage.activity("a2").deadline == T0 + timedelta(days=2)


def test_replace_requires_an_existing_record() -> None:
    """Replacing an unknown id is an error, not an insert."""
    storage = small_storage()
    with pytest.raises(UnknownIdError, match="unknown item id 'd9'"):
        storage.replace(deal("d9", "rep"))


def test_remove_item_cascades_and_unbinds_shared_activities() -> None:
    """Deleting an item removes what is only its own and unbinds shared activities."""
    storage = small_storage()
    storage.add(todo("solo", "d1"), todo("shared", "d1", "d2"))
    storage.remove_item("d1")
    assert storage.activity("shared").item_ids == ("d2",)
    with pytest.raises(UnknownIdError):
        storage.activity("solo")
    assert storage.items_of("rep") == []
    assert [a.id for a in storage.open_activities_of_user("rep")] == ["shared"]


def test_remove_activity_stops_it_counting() -> None:
    """A deleted activity is no longer open anywhere."""
    storage = small_storage()
    storage.add(todo("a1", "d1"))
    storage.remove_activity("a1")
    assert storage.open_activities_of_item("d1") == []
    assert storage.open_activities_of_user("rep") == []


def test_pipeline_cannot_drop_a_stage_in_use() -> None:
    """G5: replacing a pipeline keeps every stage its items sit in."""
    storage = small_storage()
    before = snapshot(storage)
    with pytest.raises(IntegrityError, match="would drop stage 'new'"):
        storage.replace(Pipeline(id="p", entity_type="deal", stages=(Stage(id="won", name="Won"),)))
    assert snapshot(storage) == before


def test_unknown_lookups_raise_unknown_id() -> None:
    """Lookups by id never answer None for a missing record."""
    storage = small_storage()
    for lookup in (storage.user, storage.item, storage.activity, storage.task, storage.pipeline):
        with pytest.raises(UnknownIdError, match="'zz'"):
            lookup("zz")
    with pytest.raises(UnknownIdError):
        storage.supervisor_of("zz")


def test_events_are_history_and_cannot_be_replaced() -> None:
    """Timeline events are appended, never rewritten."""
    storage = small_storage()
    event = CommentAdded(id="e1", item_id="d1", at=T0, author_id="lead")
    storage.add(event)
    with pytest.raises(ValidationError, match="never replace"):
        storage.replace(event)


def test_storing_something_else_is_refused() -> None:
    """Only the library's records can be stored."""
    with pytest.raises(ValidationError, match="cannot store a str"):
        small_storage().add("d1")  # type: ignore[arg-type]
