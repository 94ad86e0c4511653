"""The portal data format: round trips, the sample portal, errors with JSON paths."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from crmcounters import (
    AccessLevel,
    ActivityKind,
    DataFormatError,
    Portal,
    dump_portal,
    load_portal,
    read_portal,
    write_portal,
)
from crmcounters.testing.strategies import portals

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "src" / "crmcounters" / "_sample" / "sample_portal.json"


def test_sample_portal_round_trips_unchanged() -> None:
    """The shipped sample reads and writes back byte for byte."""
    text = SAMPLE.read_text(encoding="utf-8")
    assert dump_portal(load_portal(text)) == text


def test_sample_portal_is_what_the_generator_writes(tmp_path: Path) -> None:
    """tools/make_sample_portal.py is the source of the sample; the file must match it."""
    target = tmp_path / "sample.json"
    subprocess.run(
        [sys.executable, str(ROOT / "tools" / "make_sample_portal.py"), str(target)],
        check=True,
        capture_output=True,
    )
    assert target.read_text(encoding="utf-8") == SAMPLE.read_text(encoding="utf-8")


def test_sample_portal_has_every_case_the_docs_promise() -> None:
    """6+ users in 3+ departments (UTC-negative and Asian zones), 2 deal pipelines, 60 items
    across deals, leads, an invoice and a smart process, 200 activities of every kind with
    overdue, today, future, incoming and no-deadline cases."""
    portal = read_portal(SAMPLE)
    storage = portal.storage
    assert portal.as_of is not None
    users = list(storage.users())
    assert len(users) >= 6
    assert len(list(storage.departments())) >= 3
    offsets = {portal.as_of.astimezone(u.zone).utcoffset() for u in users}
    assert any(offset is not None and offset < timedelta(0) for offset in offsets)
    assert any(u.time_zone.startswith("Asia/") for u in users)
    assert sum(p.entity_type == "deal" for p in storage.pipelines()) >= 2
    items = list(storage.items())
    assert len(items) == 60
    types = Counter(i.entity_type for i in items)
    assert types["deal"]
    assert types["lead"]
    assert types["invoice"]
    assert any(t.startswith("smart:") for t in types)
    activities = list(storage.activities())
    assert len(activities) == 200
    assert {a.kind for a in activities} == set(ActivityKind)
    open_ = [a for a in activities if a.is_open]
    now = portal.as_of
    assert any(a.incoming for a in open_)
    assert any(not a.incoming and a.deadline is None for a in open_)
    assert any(a.deadline is not None and a.deadline < now - timedelta(days=1) for a in open_)
    assert any(a.deadline is not None and a.deadline > now + timedelta(days=7) for a in open_)
    assert any(
        a.deadline is not None
        and a.deadline.astimezone(
            storage.user(storage.item(a.item_ids[0]).responsible_id).zone
        ).date()
        == now.astimezone(storage.user(storage.item(a.item_ids[0]).responsible_id).zone).date()
        for a in open_
    )
    assert any(not a.is_open for a in activities)
    assert any(len(a.item_ids) > 1 for a in activities)
    assert any(not storage.open_activities_of_item(i.id) for i in items)


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(portal=portals())
def test_generated_portals_round_trip(portal: Portal) -> None:
    """Any valid portal survives dump → load → dump unchanged, record for record."""
    text = dump_portal(portal)
    again = load_portal(text)
    assert dump_portal(again) == text
    assert list(again.storage.activities()) == list(portal.storage.activities())
    assert list(again.storage.items()) == list(portal.storage.items())
    assert again.storage.settings == portal.storage.settings


def test_write_and_read_a_file(tmp_path: Path) -> None:
    """write_portal and read_portal are inverse."""
    portal = read_portal(SAMPLE)
    target = tmp_path / "copy.json"
    write_portal(portal, target)
    assert target.read_text(encoding="utf-8") == SAMPLE.read_text(encoding="utf-8")


def _sample_document() -> dict[str, Any]:
    return json.loads(SAMPLE.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _error_of(document: dict[str, Any]) -> DataFormatError:
    with pytest.raises(DataFormatError) as raised:
        load_portal(json.dumps(document))
    return raised.value


def test_naive_datetime_is_reported_with_its_path() -> None:
    """G2: the JSON path and the fix are in the message."""
    document = _sample_document()
    document["activities"][3]["deadline"] = "2026-12-14T10:00:00"
    error = _error_of(document)
    assert error.path == "$.activities[3].deadline"
    assert "naive datetime" in str(error)


def test_dangling_reference_is_reported_with_its_path() -> None:
    """G5: an activity bound to a missing item names where."""
    document = _sample_document()
    document["activities"][7]["item_ids"] = ["deal-999"]
    error = _error_of(document)
    assert error.path == "$.activities[7].item_ids[0]"
    assert "unknown item id 'deal-999'" in str(error)


def test_duplicate_id_is_reported_with_both_paths() -> None:
    """G5: the second occurrence is the error; the first is named."""
    document = _sample_document()
    document["items"][5]["id"] = document["items"][2]["id"]
    error = _error_of(document)
    assert error.path == "$.items[5].id"
    assert "first at $.items[2]" in str(error)


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        (lambda d: d.update(format="other"), "$.format", "crmcounters.portal"),
        (lambda d: d.update(version=99), "$.version", "version 1"),
        (lambda d: d.update(extra=1), "$.extra", "unknown key"),
        (
            lambda d: d["users"][0].update(time_zone="Mars/Base"),
            "$.users[0].time_zone",
            "unknown IANA",
        ),
        (lambda d: d["users"][0].pop("id"), "$.users[0].id", "missing"),
        (lambda d: d["items"][0].update(amount=12.5), "$.items[0].amount", "expected a string"),
        (
            lambda d: d["items"][0].update(entity_type="order"),
            "$.items[0].entity_type",
            "entity type",
        ),
        (
            lambda d: d["activities"][0].update(kind="fax"),
            "$.activities[0].kind",
            "expected one of",
        ),
        (
            lambda d: d["activities"][0].update(reminder_offsets=[-5]),
            "$.activities[0].reminder_offsets",
            ">= 0",
        ),
        (
            lambda d: d["activities"][0].update(incoming="yes"),
            "$.activities[0].incoming",
            "true or false",
        ),
        (lambda d: d["settings"].update(week_start=9), "$.settings.week_start", "0 (Monday)"),
        (
            lambda d: d["settings"]["calendar"].update(country="XX"),
            "$.settings.calendar.country",
            "XX",
        ),
        (lambda d: d["events"][0].update(type="party"), "$.events[0].type", "expected one of"),
        (lambda d: d["access"].update(default="boss"), "$.access.default", "unknown access level"),
        (
            lambda d: d["access"]["levels"].update(ghost="all"),
            "$.access.levels.ghost",
            "unknown user",
        ),
        (
            lambda d: d["access"]["levels"].update({"u-anna": "most"}),
            "$.access.levels['u-anna']",
            "most",
        ),
        (lambda d: d.update(users={}), "$.users", "an array"),
        (
            lambda d: d["departments"][0].update(parent_id="d-apac"),
            "$.departments[0].parent_id",
            "loop",
        ),
    ],
)
def test_each_format_error_names_its_path(change: Any, path: str, words: str) -> None:
    """Every fault in a document is reported at its JSON path."""
    document = _sample_document()
    change(document)
    error = _error_of(document)
    assert error.path == path, str(error)
    assert words in str(error)


def test_invalid_json_reports_line_and_column() -> None:
    """A syntax error says where."""
    with pytest.raises(DataFormatError, match="line 1 column"):
        load_portal('{"format": ')


def test_a_failed_load_leaves_nothing_behind() -> None:
    """G5: loading is all or nothing (a new storage per load)."""
    document = _sample_document()
    document["tasks"][0]["item_id"] = "missing"
    with pytest.raises(DataFormatError, match=r"\$\.tasks\[0\]\.item_id"):
        load_portal(json.dumps(document))


def test_c7_access_policy_round_trips_with_the_portal() -> None:
    """C7: the sample grants the CEO all and department heads their sub-departments."""
    portal = read_portal(SAMPLE)
    assert portal.access.level_of("u-marek") == AccessLevel.ALL
    assert portal.access.level_of("u-piotr") == AccessLevel.OWN
    assert load_portal(dump_portal(portal)).access == portal.access
