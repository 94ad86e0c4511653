"""The fast loading path (issue 15): the same portal as the validated path, or a hand-over.

`load_portal` first checks each item and activity value once and builds them
with private constructors (`_loading`); at any doubt the validated path reads
the document and names the fault (G2, G5). These tests hold the two paths to
identical records, and check that hostile or odd documents are handed over.
"""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings

from crmcounters import (
    Activity,
    DataFormatError,
    Item,
    Portal,
    _loading,
    _portal,
    dump_portal,
    load_portal,
)
from crmcounters import _msgspec_decode as msgspec_decode  # msgspec: in the dev and fast extras
from crmcounters._activities import trusted_activity
from crmcounters._items import trusted_item
from crmcounters._sample import SAMPLE_PORTAL, sample_bytes
from crmcounters.testing.strategies import portals

SAMPLE = sample_bytes(SAMPLE_PORTAL).decode()

#: The two decoders of the fast path: msgspec's (the `fast` extra) and the standard library's.
DECODERS: dict[str, Callable[[str | bytes], _loading.Decoded]] = {
    "msgspec": msgspec_decode.decode_with_msgspec,
    "json": _loading._decode_with_json,
}


@pytest.fixture(params=sorted(DECODERS))
def decoder(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test with each decoder in turn."""
    monkeypatch.setattr(_portal, "decode", DECODERS[request.param])
    return str(request.param)


def _fast(text: str | bytes) -> Portal | None:
    """The fast path's portal, or None when it hands the document over."""
    return _portal._load_checked_once(lambda: text, None)


def _validated(text: str | bytes, monkeypatch: pytest.MonkeyPatch) -> Portal:
    """The portal as the validated path alone reads it."""
    with monkeypatch.context() as patch:
        patch.setattr(_portal, "_load_checked_once", lambda read, progress: None)
        return load_portal(text)


def _records(portal: Portal) -> list[tuple[str, ...]]:
    """Every record with every attribute (derived ones too) and the repr of each value."""
    storage = portal.storage
    rows = []
    for record in (
        *storage.users(),
        *storage.departments(),
        *storage.pipelines(),
        *storage.items(),
        *storage.activities(),
        *storage.tasks(),
        *storage.events(),
    ):
        rows.append(
            (
                type(record).__name__,
                *(
                    f"{field.name}={getattr(record, field.name)!r}"
                    for field in attrs.fields(type(record))
                ),
            )
        )
    return rows


def _same(one: Portal, other: Portal) -> None:
    assert _records(one) == _records(other)
    assert list(one.storage.activities()) == list(other.storage.activities())
    assert one.storage.settings == other.storage.settings
    assert (one.description, one.as_of, one.access) == (
        other.description,
        other.as_of,
        other.access,
    )
    for user in one.storage.users():
        assert list(one.storage.items_of(user.id)) == list(other.storage.items_of(user.id))
        assert list(one.storage.open_activities_of_user(user.id)) == list(
            other.storage.open_activities_of_user(user.id)
        )
    assert dump_portal(one) == dump_portal(other)


def test_g5_the_sample_portal_loads_by_the_fast_path_as_by_the_validated_one(
    decoder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """G5: the sample portal is accepted by the fast path, with the same records."""
    fast = _fast(SAMPLE)
    assert fast is not None
    _same(fast, _validated(SAMPLE, monkeypatch))


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], max_examples=40)
@given(portal=portals())
def test_g5_any_valid_portal_round_trips_through_both_paths_alike(portal: Portal) -> None:
    """G2, G5: dump -> fast load equals dump -> validated load, for both decoders."""
    text = dump_portal(portal)
    with pytest.MonkeyPatch.context() as monkeypatch:
        validated = _validated(text, monkeypatch)
        for name, decode in DECODERS.items():
            monkeypatch.setattr(_portal, "decode", decode)
            fast = _fast(text)
            if fast is None:  # only where msgspec's key count cannot be sure (see below)
                assert name == "msgspec"
                assert _KEY_END_IN_A_STRING.search(text), text
                continue
            _same(fast, validated)
            assert dump_portal(fast) == text


#: A string holding `\":`, or beginning with a colon: each adds a `":` to the text that is
#: not the end of a key, so the fast path cannot tell it from a repeated key.
_KEY_END_IN_A_STRING = re.compile(r'\\":|[\[,:]\s*":')


def test_the_trusted_constructors_set_every_field() -> None:
    """A field added to Activity or Item must be set by its trusted constructor too."""
    fast = _fast(SAMPLE)
    assert fast is not None
    for record in (*fast.storage.items(), *fast.storage.activities()):
        for field in attrs.fields(type(record)):
            getattr(record, field.name)  # an unset slot raises AttributeError
    given = [field for field in attrs.fields(Activity) if field.init]  # less the derived ones
    assert trusted_activity.__code__.co_argcount == len(given)
    assert trusted_item.__code__.co_argcount == len(attrs.fields(Item))


def test_the_msgspec_records_list_keys_in_the_builders_order() -> None:
    """The typed records' fields are in ITEM_FIELDS / ACTIVITY_FIELDS order (astuple needs it)."""
    fields = msgspec_decode.msgspec.structs.fields
    assert tuple(f.name for f in fields(msgspec_decode._Item)) == _loading.ITEM_FIELDS
    assert tuple(f.name for f in fields(msgspec_decode._Activity)) == _loading.ACTIVITY_FIELDS


def _document() -> dict[str, Any]:
    return json.loads(SAMPLE)  # type: ignore[no-any-return]


#: Faults in items and activities, each refused by the validated path at this JSON path.
FAULTS: list[tuple[Callable[[dict[str, Any]], object], str]] = [
    (
        lambda d: d["activities"][3].update(deadline="2026-12-14T10:00:00"),
        "$.activities[3].deadline",
    ),
    (lambda d: d["activities"][3].update(deadline="0001-01-01T00:00:00+00:00"), "$.activities[3]"),
    (lambda d: d["activities"][3].update(created_at=None), "$.activities[3].created_at"),
    (lambda d: d["activities"][3].update(id=" "), "$.activities[3].id"),
    (lambda d: d["activities"][3].update(id=7), "$.activities[3].id"),
    (lambda d: d["activities"][3].update(item_ids=[]), "$.activities[3].item_ids"),
    (lambda d: d["activities"][3].update(item_ids=["deal-001", "deal-001"]), "$.activities[3]"),
    (lambda d: d["activities"][3].update(item_ids=["deal-999"]), "$.activities[3].item_ids[0]"),
    (lambda d: d["activities"][3].update(kind="fax"), "$.activities[3].kind"),
    (lambda d: d["activities"][3].update(kind=None), "$.activities[3].kind"),
    (lambda d: d["activities"][3].update(direction="up"), "$.activities[3].direction"),
    (lambda d: d["activities"][3].update(responsible_id="ghost"), "$.activities[3]"),
    (lambda d: d["activities"][3].update(author_id=""), "$.activities[3].author_id"),
    (lambda d: d["activities"][3].update(subject=5), "$.activities[3].subject"),
    (lambda d: d["activities"][3].update(reminder_offsets=[True]), "$.activities[3]"),
    (lambda d: d["activities"][3].update(reminder_offsets=[10**7]), "$.activities[3]"),
    (lambda d: d["activities"][3].update(incoming=1), "$.activities[3].incoming"),
    (lambda d: d["activities"][3].update(colour="red"), "$.activities[3].colour"),
    (
        lambda d: d["activities"][3].update(completed_at="2000-01-01T00:00:00+00:00"),
        "$.activities[3].completed_at",
    ),
    (lambda d: d["activities"][4].update(id=d["activities"][3]["id"]), "$.activities[4].id"),
    (lambda d: d["items"][2].update(amount="NaN"), "$.items[2].amount"),
    (lambda d: d["items"][2].update(amount="lots"), "$.items[2].amount"),
    (lambda d: d["items"][2].update(stage_id="nowhere"), "$.items[2]"),
    (lambda d: d["items"][2].update(pipeline_id=None), "$.items[2].pipeline_id"),
    (lambda d: d["items"][2].update(entity_type="lead"), "$.items[2]"),
    (lambda d: d["items"][2].update(fields={"x": [1]}), "$.items[2].fields"),
    (lambda d: d["items"][2].update(fields={"x": 1e400}), "$.items[2]"),
    (lambda d: d["items"][2].update(created_at="yesterday"), "$.items[2].created_at"),
    (lambda d: d["items"][3].update(id=d["items"][2]["id"]), "$.items[3].id"),
    (lambda d: d.update(items={}), "$.items"),
]


@pytest.mark.parametrize(("change", "path"), FAULTS)
def test_g5_a_fault_is_handed_to_the_validated_path_which_names_it(
    decoder: str, change: Callable[[dict[str, Any]], object], path: str
) -> None:
    """G2, G5: the fast path declines; load_portal raises what the validated path raises."""
    document = _document()
    change(document)
    text = json.dumps(document, indent=2)
    assert _fast(text) is None
    with pytest.raises(DataFormatError) as raised:
        load_portal(text)
    assert raised.value.path.startswith(path), str(raised.value)


@pytest.mark.parametrize(
    "text",
    [
        '{"format": "crmcounters.portal", "format": "crmcounters.portal", "version": 1}',
        SAMPLE.replace('"subject": ', '"subject": "x", "subject": ', 1),
        SAMPLE.replace('"id": "deal-001"', '"id": "deal-001", "id" : "deal-001"', 1),
        SAMPLE.replace('"time_zone": ', '"time_zone": "UTC", "time_zone": ', 1),
    ],
)
def test_g5_msgspec_never_keeps_the_last_of_repeated_keys(text: str) -> None:
    """G5: msgspec would keep the last of two equal keys; the fast path hands the text over."""
    assert msgspec_decode.decode_with_msgspec is DECODERS["msgspec"]
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(_portal, "decode", DECODERS["msgspec"])
        assert _fast(text) is None


def test_a_string_that_looks_like_a_key_end_is_handed_over_and_still_loads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A subject holding `\\":` makes the key count unsure: the validated path reads it."""
    document = _document()
    document["activities"][3]["subject"] = 'say ":" twice'
    text = json.dumps(document, indent=2)
    monkeypatch.setattr(_portal, "decode", DECODERS["msgspec"])
    assert _fast(text) is None
    assert load_portal(text).storage.activity(document["activities"][3]["id"]).subject == (
        'say ":" twice'
    )


def test_progress_is_told_the_same_on_both_paths(
    decoder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command line's progress line sees the same counts whichever path loads."""
    document = _document()
    base = document["activities"][0]
    document["activities"].extend({**base, "id": f"extra-{n}"} for n in range(2_500))
    text = json.dumps(document)
    calls: dict[str, list[tuple[int, int]]] = {"fast": [], "validated": []}
    load_portal(text, progress=lambda done, total: calls["fast"].append((done, total)))
    monkeypatch.setattr(_portal, "_load_checked_once", lambda read, progress: None)
    load_portal(text, progress=lambda done, total: calls["validated"].append((done, total)))
    assert calls["fast"] == calls["validated"]
    assert len(calls["fast"]) == 3


@pytest.mark.parametrize("enabled", [True, False])
def test_the_garbage_collector_is_left_as_it_was_found(enabled: bool) -> None:
    """The fast path pauses the cyclic collector while it builds, and restores it, fault or not."""
    broken = _document()
    broken["activities"][0]["kind"] = "fax"
    was = gc.isenabled()
    try:
        if not enabled:
            gc.disable()
        for text in (SAMPLE, json.dumps(broken)):
            _fast(text)
            assert gc.isenabled() is enabled
    finally:
        if was:
            gc.enable()


def _typed_and_recurring() -> dict[str, Any]:
    """The sample with an activity type (A1) and one weekly activity (A2)."""
    document = _document()
    document["settings"]["activity_types"] = [{"id": "t-call", "name": "Call", "kind": "call"}]
    planned = next(a for a in document["activities"] if a.get("deadline") and not a["incoming"])
    planned.update(
        type_id="t-call",
        recurrence="rrule:freq=weekly;byday=mo",
        recurrence_start=planned["deadline"],
    )
    return document


def test_a1_a2_types_and_recurrence_load_alike(
    decoder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A1, A2: type ids and canonical recurrences come out of the fast path as validated."""
    text = json.dumps(_typed_and_recurring(), indent=2)
    fast = _fast(text)
    assert fast is not None
    assert any(a.recurrence == "FREQ=WEEKLY;BYDAY=MO" for a in fast.storage.activities())
    _same(fast, _validated(text, monkeypatch))


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda a: a.update(type_id="t-fax"), "type_id"),
        (lambda a: a.update(recurrence="FREQ=SOMETIMES"), "recurrence"),
        (lambda a: a.update(deadline=None, recurrence_start=None), "recurrence"),
        (lambda a: a.update(recurrence=None), "recurrence_start"),
    ],
)
def test_a1_a2_faults_are_handed_over(
    decoder: str, change: Callable[[dict[str, Any]], object], path: str
) -> None:
    """A1, A2: an unknown type, a bad rule, a series without its deadline: the validated path."""
    document = _typed_and_recurring()
    change(next(a for a in document["activities"] if a.get("type_id")))
    text = json.dumps(document, indent=2)
    assert _fast(text) is None
    with pytest.raises(DataFormatError) as raised:
        load_portal(text)
    assert path in raised.value.path, str(raised.value)


@pytest.mark.parametrize(
    "values",
    [
        (1, 2, "u"),
        (1, "U", 2, "U", "U"),
        (1, "U", "U"),
        ("U",) * 6,
        ("U", 1, 2),
    ],
)
def test_absent_keys_become_none_wherever_they_are(values: tuple[Any, ...]) -> None:
    """msgspec marks an absent key UNSET: every one becomes None (null means absent too)."""
    unset = msgspec_decode.UNSET
    marked = tuple(unset if one == "U" else one for one in values)
    expected = tuple(None if one == "U" else one for one in values)
    absent = marked.count(unset)
    got = msgspec_decode._unset_to_none(marked, absent) if absent else marked
    assert got == expected
