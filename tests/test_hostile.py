"""The hostile-input corpus of issue 12 (G5, docs/reliability.md).

Every case the issue lists, each refused with a library error (a
`CrmCountersError` subclass) that names the field or the JSON path: through
the loaders, the public constructors and the command line, where the refusal
is one line on standard error, exit 1, no traceback and no install path.
`test_hostile_fuzz.py` mutates the sample portal and rule set at random.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import crmcounters
from crmcounters import (
    Activity,
    BusinessCalendar,
    CalendarSettings,
    CrmCountersError,
    DataFormatError,
    IncomingMessage,
    Item,
    NoSuggestion,
    Pipeline,
    Settings,
    SmartActivitySettings,
    Stage,
    Task,
    User,
    ValidationError,
    dump_portal,
    load_portal,
    sample_portal,
)
from crmcounters._cli import main
from crmcounters._limits import (
    MAX_ID_LENGTH,
    MAX_JSON_DEPTH,
    MAX_REMINDER_OFFSETS,
    MAX_RENDERED_LENGTH,
    MAX_TEMPLATE_LENGTH,
    MAX_TEXT_LENGTH,
)
from crmcounters._sample import SAMPLE_RULES, sample_bytes
from crmcounters.focus import FocusSource
from crmcounters.rules import (
    Comparison,
    Delay,
    RuleSetError,
    ScheduleActivity,
    TaskStatusChanged,
    Template,
    Trigger,
    load_rule_set,
)
from crmcounters.sql import OwnTables, TableMapping, Timestamp

NOW = datetime(2026, 12, 14, 9, 0, tzinfo=UTC)
PORTAL = sample_portal()
PORTAL_TEXT = dump_portal(PORTAL)
RULES_TEXT = sample_bytes(SAMPLE_RULES).decode()
USER_IDS = {user.id for user in PORTAL.storage.users()}
#: The directory the time-zone database is installed in: no message may show it.
TZDATA = str(Path(__import__("tzdata").__file__).parent)


def _portal() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(PORTAL_TEXT)
    return data


def _rules() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(RULES_TEXT)
    return data


def _edited(edit: Callable[[dict[str, Any]], object]) -> str:
    data = _portal()
    edit(data)
    return json.dumps(data)


def _first(kind: str, **where: object) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def pick(data: dict[str, Any]) -> dict[str, Any]:
        for record in data[kind]:
            if all(record.get(key) == value for key, value in where.items()):
                found: dict[str, Any] = record
                return found
        raise AssertionError(f"no {kind} with {where}")  # pragma: no cover - sample changed

    return pick


_ITEM = _first("items", id="deal-001")
_USER = _first("users", id="u-piotr")
_STAGE_CHANGE = _first("events", type="stage_changed")
_DEAL_ACTIVITY = _first("activities")


def _set(pick: Callable[[dict[str, Any]], dict[str, Any]], key: str, value: object) -> str:
    return _edited(lambda data: pick(data).__setitem__(key, value))


def _settings(key: str, value: object) -> str:
    return _edited(lambda data: data["settings"].__setitem__(key, value))


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


#: Portal documents of the issue: (text, JSON path named, words in the message).
PORTAL_CASES: dict[str, tuple[str, str, str]] = {
    "nested 100,000 levels": (_deep(100_000), "$", f"deeper than {MAX_JSON_DEPTH} levels"),
    "nested inside a record": (
        _set(_ITEM, "fields", json.loads("{}")).replace(
            '"fields": {}', '"fields": {"x": ' + _deep(5_000) + "}", 1
        ),
        "$",
        "deeper than",
    ),
    "5,000-digit integer": (
        _settings("open_activity_cap", 0).replace(
            '"open_activity_cap": 0', '"open_activity_cap": ' + "9" * 5_000
        ),
        "$.settings.open_activity_cap",
        "at most 100 characters",
    ),
    "1e400": (
        PORTAL_TEXT.replace('"version": 1', '"version": 1e400', 1),
        "$.version",
        "too large for a float",
    ),
    "NaN": (_settings("open_activity_cap", 0).replace(": 0,", ": NaN,", 1), "$", "NaN"),
    "lone surrogate in a title": (
        _set(_ITEM, "title", "Deal \ud800"),
        "].title",
        "lone surrogate",
    ),
    "lone surrogate in a user name": (_set(_USER, "name", "\udfff"), "].name", "surrogate"),
    "lone surrogate in an id": (_set(_ITEM, "id", "deal-\ud800"), "].id", "surrogate"),
    "lone surrogate in a key": (
        _set(_ITEM, "fields", {"\ud800": 1}),
        ".fields[",
        "key: a lone surrogate",
    ),
    "527,041 focus reminder offsets": (
        _settings("focus_reminder_offsets", list(range(527_041))),
        "$.settings.focus_reminder_offsets",
        f"527,041 offsets; at most {MAX_REMINDER_OFFSETS}",
    ),
    "an activity's 101 reminder offsets": (
        _set(_DEAL_ACTIVITY, "reminder_offsets", list(range(101))),
        "].reminder_offsets",
        "at most 100",
    ),
    "duplicate key": (
        PORTAL_TEXT.replace('"version": 1', '"version": 1, "version": 1', 1),
        "$.version",
        "repeated key",
    ),
    "duplicate key in a record": (
        PORTAL_TEXT.replace('"id": "u-piotr"', '"id": "u-piotr", "id": "u-x"', 1),
        "$.users[2].id",
        "repeated key",
    ),
    "stage change to an unknown stage": (
        _set(_STAGE_CHANGE, "to_stage_id", "nowhere"),
        "].to_stage_id",
        "unknown stage id 'nowhere'",
    ),
    "stage change from an unknown stage": (
        _set(_STAGE_CHANGE, "from_stage_id", "nowhere"),
        "].from_stage_id",
        "unknown stage id 'nowhere'",
    ),
    "amount with an underscore": (_set(_ITEM, "amount", "1_000"), "].amount", "plain decimal"),
    "amount in Arabic-Indic digits": (_set(_ITEM, "amount", "١٢٣"), "].amount", "ASCII"),
    "amount with an exponent": (_set(_ITEM, "amount", "1e9999999"), "].amount", "plain"),
    "10,000-character zone name": (
        _set(_USER, "time_zone", "A" * 10_000),
        "].time_zone",
        "IANA names are at most",
    ),
    "zone name of a tzdata directory": (
        _set(_USER, "time_zone", "Europe"),
        "].time_zone",
        "unknown IANA time zone",
    ),
    "zone name with a path": (
        _set(_USER, "time_zone", "../../../etc/passwd"),
        "].time_zone",
        "unknown IANA time zone",
    ),
    "id too long": (_set(_USER, "id", "u" * 1_000), "].id", f"at most {MAX_ID_LENGTH}"),
    "title too long": (
        _set(_ITEM, "title", "t" * (MAX_TEXT_LENGTH + 1)),
        "].title",
        f"at most {MAX_TEXT_LENGTH:,}",
    ),
    "key too long": (
        _set(_ITEM, "x" * 10_000, 1),
        "[",
        "unknown key",
    ),
    "calendar days off as a string": (
        _edited(lambda data: data["settings"]["calendar"].__setitem__("company_days_off", "x")),
        "$.settings.calendar.company_days_off",
        "expected an array",
    ),
    "not UTF-8": ('{"a": "\xff"}', "$", "not"),
}


def _portal_source(text: str) -> str | bytes:
    return text.encode("latin-1") if text.startswith('{"a": "\xff') else text


@pytest.mark.parametrize("case", PORTAL_CASES)
def test_g5_hostile_portals_are_refused_naming_the_json_path(case: str) -> None:
    text, path, words = PORTAL_CASES[case]
    with pytest.raises(DataFormatError) as caught:
        load_portal(_portal_source(text))
    assert caught.value.path.startswith("$")
    assert path in caught.value.path, str(caught.value)
    assert words in str(caught.value)
    assert TZDATA not in str(caught.value)
    assert len(str(caught.value)) < 400, "messages stay short"


@pytest.mark.parametrize("case", PORTAL_CASES)
def test_g5_the_cli_refuses_each_hostile_portal_in_one_line(case: str, tmp_path: Path) -> None:
    text, path, _words = PORTAL_CASES[case]
    file = tmp_path / "portal.json"
    source = _portal_source(text)
    file.write_bytes(
        source if isinstance(source, bytes) else source.encode("utf-8", "surrogatepass")
    )
    code, out, err = _cli("view", str(file), "--user", "u-piotr")
    assert (code, out) == (1, "")
    assert err.startswith(f"crmcounters: error: portal {file}: $")
    assert path in err
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert TZDATA not in err


#: Rule sets of the issue: (text, JSON path named, words in the message).
RULES_CASES: dict[str, tuple[str, str, str]] = {
    "nested 100,000 levels": (_deep(100_000), "$", "deeper than"),
    "a condition nested 100 groups deep": (
        json.dumps(
            {
                **_rules(),
                "rules": [
                    {
                        **_rules()["rules"][0],
                        "condition": json.loads(
                            '{"all": [' * 100
                            + '{"field": "amount", "op": "gt", "value": 1}'
                            + "]}" * 100
                        ),
                    }
                ],
            }
        ),
        "$",
        "deeper than",
    ),
    "template of 100,000 placeholders": (
        RULES_TEXT.replace('"{{Title}} stayed in', '"' + "{{Title}}" * 100_000 + " stayed in", 1),
        "$.rules[1].action.text",
        f"at most {MAX_TEMPLATE_LENGTH:,}",
    ),
    "lone surrogate in a rule's text": (
        RULES_TEXT.replace("stayed in", "stayed \\ud800 in", 1),
        "$.rules[1].action.text",
        "lone surrogate",
    ),
    "duplicate key": (
        RULES_TEXT.replace('"version": 1', '"version": 1, "version": 1', 1),
        "$.version",
        "repeated key",
    ),
    "a key of superscript digits": (
        RULES_TEXT.replace('"version": 1', '"version": 1, "x³": 1', 1),
        "$['x³']",
        "unknown key",
    ),
    "5,000-digit delay": (
        RULES_TEXT.replace('"after": 24', '"after": ' + "1" * 5_000, 1),
        "$.rules[0].timing.after",
        "at most 100 characters",
    ),
}


@pytest.mark.parametrize("case", RULES_CASES)
def test_r7_hostile_rule_sets_are_refused_naming_the_json_path(case: str) -> None:
    text, path, words = RULES_CASES[case]
    with pytest.raises(RuleSetError) as caught:
        load_rule_set(text, pipelines=PORTAL.storage.pipelines(), user_ids=USER_IDS)
    assert any(
        problem.path.startswith(path) and words in problem.message
        for problem in caught.value.problems
    ), str(caught.value)


@pytest.mark.parametrize("case", ["nested 100,000 levels", "lone surrogate in a rule's text"])
def test_r7_the_cli_refuses_a_hostile_rule_set_in_one_line(case: str, tmp_path: Path) -> None:
    file = tmp_path / "rules.json"
    file.write_text(RULES_CASES[case][0], encoding="utf-8")
    portal = tmp_path / "portal.json"
    portal.write_text(PORTAL_TEXT, encoding="utf-8")
    code, _out, err = _cli(
        "simulate",
        str(portal),
        "--rules",
        str(file),
        "--from",
        "2026-12-14T08:00Z",
        "--to",
        "2026-12-14T09:00Z",
    )
    assert code == 1
    assert err.startswith(f"crmcounters: error: rules {file}: 1 problem: $")
    assert err.count("\n") == 1


def _activity(**changes: object) -> Activity:
    fields: dict[str, Any] = {
        "id": "a1",
        "item_ids": ("i1",),
        "kind": "call",
        "responsible_id": "u1",
        "created_at": NOW,
    }
    return Activity(**{**fields, **changes})


def _task(**changes: object) -> Task:
    fields: dict[str, Any] = {
        "id": "t1",
        "item_id": "i1",
        "title": "T",
        "responsible_id": "u1",
        "created_at": NOW,
    }
    return Task(**{**fields, **changes})


def _item(**changes: object) -> Item:
    fields: dict[str, Any] = {
        "id": "i1",
        "entity_type": "deal",
        "pipeline_id": "p",
        "stage_id": "s",
        "responsible_id": "u1",
        "created_at": NOW,
    }
    return Item(**{**fields, **changes})


def _user(**changes: object) -> User:
    return User(**{"id": "u1", "name": "U", "time_zone": "Europe/Warsaw", **changes})  # type: ignore[arg-type]


_STAGE = Stage(id="s", name="S")
_BAD_COLLECTIONS: dict[str, object] = {
    "an int": 5,
    "bytes": b"x",
    "a mapping": {"k": "v"},
    "a string": "abc",
    "None": None,
}

#: Constructor calls of the issue: (call, field named, words in the message).
#: A well-formed mapping for the own-tables cases (the host's SQL, issue 13).
_MAPPING = TableMapping(source="app_deal", columns={"id": "id"})

CONSTRUCTOR_CASES: dict[str, tuple[Callable[[], object], str, str]] = {
    "Activity kind fax": (lambda: _activity(kind="fax"), "kind", "expected one of call, email"),
    "Activity kind as a list": (lambda: _activity(kind=["call"]), "kind", "expected one of"),
    "Activity direction": (lambda: _activity(direction="sideways"), "direction", "incoming"),
    "Task status": (lambda: _task(status="done"), "status", "in_progress"),
    "IncomingMessage channel": (
        lambda: IncomingMessage(id="e", item_id="i", at=NOW, channel="fax"),
        "channel",
        "missed_call",
    ),
    "Stage semantics": (lambda: Stage(id="s", name="S", semantics="won"), "semantics", "success"),
    "Settings planned_rule": (lambda: Settings(planned_rule="x"), "planned_rule", "due_today"),
    "Settings counter_mode": (lambda: Settings(counter_mode=1), "counter_mode", "item_responsible"),
    "Delay unit": (lambda: Delay(after=1, unit="weeks"), "unit", "business_days"),
    "Comparison op": (lambda: Comparison(field="amount", op="like", value=1), "op", "contains"),
    "ScheduleActivity kind": (
        lambda: ScheduleActivity(description="x", kind="fax"),
        "kind",
        "expected one of",
    ),
    "Trigger status": (
        lambda: Trigger(id="t", entity_type="deal", pipeline_id="p", stage_id="s", status="x"),
        "status",
        "completed",
    ),
    "NoSuggestion reason": (
        lambda: NoSuggestion(item_id="i", user_id="u", reason="busy", detail=""),
        "reason",
        "at_cap",
    ),
    "NoSuggestion open_activity_ids as an int": (
        lambda: NoSuggestion(
            item_id="i", user_id="u", reason="at_cap", detail="", open_activity_ids=5
        ),
        "open_activity_ids",
        "collection",
    ),
    "FocusSource reason": (
        lambda: FocusSource(item_id="i", at=NOW, reason="luck"),
        "reason",
        "reminder",
    ),
    "TaskStatusChanged to_status": (
        lambda: TaskStatusChanged(id="e", task_id="t", item_id="i", at=NOW, to_status="x"),
        "to_status",
        "completed",
    ),
    **{
        f"Activity item_ids as {name}": (lambda bad=bad: _activity(item_ids=bad), "item_ids", "")
        for name, bad in _BAD_COLLECTIONS.items()
    },
    **{
        f"Task observer_ids as {name}": (
            lambda bad=bad: _task(observer_ids=bad),
            "observer_ids",
            "",
        )
        for name, bad in _BAD_COLLECTIONS.items()
    },
    **{
        f"Pipeline stages as {name}": (
            lambda bad=bad: Pipeline(id="p", entity_type="deal", stages=bad),
            "stages",
            "",
        )
        for name, bad in _BAD_COLLECTIONS.items()
    },
    **{
        f"Activity reminder_offsets as {name}": (
            lambda bad=bad: _activity(deadline=NOW, reminder_offsets=bad),
            "reminder_offsets",
            "",
        )
        for name, bad in _BAD_COLLECTIONS.items()
        if bad is not None  # None means the portal's defaults
    },
    **{
        f"CalendarSettings company_days_off as {name}": (
            lambda bad=bad: CalendarSettings(company_days_off=bad),
            "company_days_off",
            "",
        )
        for name, bad in _BAD_COLLECTIONS.items()
    },
    **{
        f"CalendarSettings weekend_days as {name}": (
            lambda bad=bad: CalendarSettings(weekend_days=bad),
            "weekend_days",
            "",
        )
        for name, bad in _BAD_COLLECTIONS.items()
        if bad is not None  # None means the country's own weekend
    },
    **{
        f"BusinessCalendar weekend_days as {name}": (
            lambda bad=bad: BusinessCalendar(weekend_days=bad),
            "weekend_days",
            "",
        )
        for name, bad in _BAD_COLLECTIONS.items()
    },
    **{
        f"BusinessCalendar days_off as {name}": (
            lambda bad=bad: BusinessCalendar(days_off=bad),
            "days_off",
            "",
        )
        for name, bad in _BAD_COLLECTIONS.items()
    },
    **{
        f"SmartActivitySettings switched_off as {name}": (
            lambda bad=bad: SmartActivitySettings(switched_off=bad),
            "switched_off",
            "",
        )
        for name, bad in _BAD_COLLECTIONS.items()
    },
    "focus offsets, 527,041 of them": (
        lambda: Settings(focus_reminder_offsets=range(527_041)),
        "focus_reminder_offsets",
        "527,041 offsets",
    ),
    "offsets from an endless iterator": (
        lambda: _activity(deadline=NOW, reminder_offsets=iter(int, 1)),
        "reminder_offsets",
        "more than 100 offsets",
    ),
    "calendar date of the wrong type": (
        lambda: CalendarSettings(extra_working_days=[date(2026, 1, 1), "2026-01-02"]),
        "extra_working_days[1]",
        "expected a date",
    ),
    "weekend day out of range": (
        lambda: CalendarSettings(weekend_days=[5, 9]),
        "weekend_days[1]",
        "0 (Monday) to 6",
    ),
    "amount as a list": (lambda: _item(amount=[1]), "amount", "use Decimal, int or str"),
    "amount 1_000": (lambda: _item(amount="1_000"), "amount", "plain decimal"),
    "amount ١٢٣": (lambda: _item(amount="١٢٣"), "amount", "ASCII digits"),
    "amount NaN": (lambda: _item(amount=Decimal("NaN")), "amount", "finite"),
    "amount of 10**100": (lambda: _item(amount=10**100), "amount", "digits"),
    "amount of 1E+99 as a Decimal": (lambda: _item(amount=Decimal("1E+99")), "amount", "large"),
    "10,000-character zone name": (lambda: _user(time_zone="A" * 10_000), "time_zone", "IANA"),
    "zone name of a tzdata directory": (
        lambda: _user(time_zone="America/Argentina"),
        "time_zone",
        "unknown IANA time zone",
    ),
    "zone name with a NUL": (lambda: _user(time_zone="Europe/\0"), "time_zone", "unknown"),
    "zone name of a package file": (lambda: _user(time_zone="__init__.py"), "time_zone", "IANA"),
    "id of 1,000 characters": (lambda: _user(id="u" * 1_000), "id", f"at most {MAX_ID_LENGTH}"),
    "id with a lone surrogate": (lambda: _user(id="u\ud800"), "id", "lone surrogate"),
    "name with a lone surrogate": (lambda: _user(name="\udc80"), "name", "lone surrogate"),
    "title too long": (
        lambda: _item(title="t" * (MAX_TEXT_LENGTH + 1)),
        "title",
        f"at most {MAX_TEXT_LENGTH:,}",
    ),
    "custom field value too long": (
        lambda: _item(fields={"note": "n" * (MAX_TEXT_LENGTH + 1)}),
        "fields['note']",
        "at most",
    ),
    "template of 100,000 placeholders": (
        lambda: Template(source="{{Title}}" * 100_000),
        "text",
        f"at most {MAX_TEMPLATE_LENGTH:,}",
    ),
    "Timestamp column not text": (lambda: Timestamp(5), "column", "expected text"),  # type: ignore[arg-type]
    "TableMapping columns not a mapping": (
        lambda: TableMapping(source="app_deal", columns=5),  # type: ignore[arg-type]
        "columns",
        "expected a mapping",
    ),
    "TableMapping column expression not text": (
        lambda: TableMapping(source="app_deal", columns={"id": 5}),  # type: ignore[dict-item]
        "columns['id']",
        "expected text",
    ),
    "OwnTables users not a mapping": (
        lambda: OwnTables(
            users=None,  # type: ignore[arg-type]
            items=_MAPPING,
            activities=_MAPPING,
            bindings=_MAPPING,
            pipelines=(),
        ),
        "users",
        "expected a TableMapping",
    ),
    "OwnTables items one int": (
        lambda: OwnTables(
            users=_MAPPING,
            items=5,  # type: ignore[arg-type]
            activities=_MAPPING,
            bindings=_MAPPING,
            pipelines=(),
        ),
        "items",
        "expected a collection",
    ),
}


@pytest.mark.parametrize("case", CONSTRUCTOR_CASES)
def test_g5_hostile_constructor_calls_raise_a_validation_error_naming_the_field(
    case: str,
) -> None:
    call, field, words = CONSTRUCTOR_CASES[case]
    with pytest.raises(ValidationError) as caught:
        call()
    assert caught.value.field == field, str(caught.value)
    assert words in caught.value.problem
    assert TZDATA not in str(caught.value)
    assert len(str(caught.value)) < 400, "messages stay short"


def test_g5_bytes_and_mappings_never_become_collections_silently() -> None:
    """b"x" used to become (120,) and {"k": "v"} ("k",): both are refused now."""
    with pytest.raises(ValidationError, match="reminder_offsets: expected a collection"):
        _activity(deadline=NOW, reminder_offsets=b"x")
    with pytest.raises(ValidationError, match="item_ids: expected a collection"):
        _activity(item_ids={"k": "v"})


def test_r3_a_rendered_template_is_cut_at_the_limit() -> None:
    template = Template(source="{{Title}} " * 100)
    rendered = template.render({"Title": "t" * 50_000}, {})
    assert len(rendered) == MAX_RENDERED_LENGTH
    assert rendered.endswith("…")
    assert Template(source="{{Title}}!").render({"Title": "Deal"}, {}) == "Deal!"


def test_g5_values_within_the_limits_are_accepted() -> None:
    """The limits refuse only what no real portal holds."""
    assert _activity(deadline=NOW, reminder_offsets=range(0, 1000, 10)).reminder_offsets
    assert _item(amount="-1250.50").amount == Decimal("-1250.50")
    assert _item(amount=".5").amount == Decimal("0.5")
    assert _user(id="u" * MAX_ID_LENGTH, time_zone="America/Argentina/ComodRivadavia")
    assert _item(title="t" * MAX_TEXT_LENGTH, fields={"emoji": "🙂"}).fields["emoji"] == "🙂"
    assert load_portal(PORTAL_TEXT.replace('"Marek Nowak"', '"Marek \\ud83d\\ude00"'))


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    "argv",
    [
        ["counters", "--user", "u-piotr", "--viewer", ""],
        ["view", "--user", " "],
        ["kanban", "--entity", "deal", "--pipeline", ""],
        ["explain", "--item", ""],
    ],
)
def test_c7_empty_ids_on_the_command_line_are_refused(argv: list[str], tmp_path: Path) -> None:
    """`--viewer ''` used to read as no viewer at all, i.e. the user themself."""
    file = tmp_path / "portal.json"
    file.write_text(PORTAL_TEXT, encoding="utf-8")
    code, out, err = _cli(argv[0], str(file), *argv[1:])
    assert (code, out) == (1, "")
    assert err.startswith("crmcounters: error: --")
    assert "expected an id" in err


#: Text no terminal encoding may crash the output on: emoji, CJK, RTL override, combining.
ODD = "Zoë 🙂 漢字 \u202eevil\u202c e\u0301"
#: An item id of the odd portal: `explain` shows ids, not titles.
ODD_ID = "deal-015-🙂"


def _odd_portal(tmp_path: Path) -> Path:
    data = _portal()
    for user in data["users"]:
        user["name"] = f"{user['name']} {ODD}"
    for item in data["items"]:
        item["title"] = f"{item['title']} {ODD}"
        item["client"] = ODD
    data["pipelines"][0]["stages"][0]["name"] = ODD
    file = tmp_path / "odd.json"
    text = json.dumps(data, ensure_ascii=False).replace('"deal-015"', f'"{ODD_ID}"')
    file.write_text(text, encoding="utf-8")
    return file


def _odd_rules(tmp_path: Path) -> Path:
    file = tmp_path / "rules.json"
    file.write_text(RULES_TEXT.replace("stayed in", f"stayed {ODD} in"), encoding="utf-8")
    return file


def _commands(portal: Path, rules: Path) -> dict[str, list[str]]:
    return {
        "counters": ["counters", str(portal), "--user", "u-piotr"],
        "view": ["view", str(portal), "--user", "u-piotr"],
        "kanban": ["kanban", str(portal), "--entity", "deal", "--pipeline", "p-sales"],
        "explain": ["explain", str(portal), "--item", ODD_ID],
        "simulate": [
            "simulate",
            str(portal),
            "--rules",
            str(rules),
            "--from",
            "2026-12-14T08:00+01:00",
            "--to",
            "2026-12-16T18:00+01:00",
        ],
        "demo": ["demo", str(portal), "--rules", str(rules)],
    }


@pytest.mark.parametrize("command", ["counters", "view", "kanban", "explain", "simulate", "demo"])
def test_g5_odd_text_is_escaped_on_an_ascii_terminal_never_a_crash(
    command: str, tmp_path: Path
) -> None:
    """A terminal that cannot show a character gets a backslash escape (docs/reliability.md)."""
    argv = _commands(_odd_portal(tmp_path), _odd_rules(tmp_path))[command]
    raw = io.BytesIO()
    stdout = io.TextIOWrapper(raw, encoding="ascii", errors="strict", write_through=True)
    err = io.StringIO()
    plain = ["--no-color"] if command in ("counters", "view", "kanban", "explain") else []
    assert main([*argv, *plain], stdout=stdout, stderr=err) == 0
    text = raw.getvalue().decode("ascii")
    assert err.getvalue() == ""
    assert "\\U0001f642" in text or "\\u" in text, "escaped, not dropped"


@pytest.mark.parametrize("command", ["counters", "view", "kanban", "explain", "simulate", "demo"])
def test_g5_a_lone_surrogate_is_refused_at_load_by_every_command(
    command: str, tmp_path: Path
) -> None:
    portal = tmp_path / "portal.json"
    portal.write_text(_set(_ITEM, "title", "x\ud800"), encoding="utf-8", errors="surrogatepass")
    rules = tmp_path / "rules.json"
    rules.write_text(RULES_TEXT, encoding="utf-8")
    code, out, err = _cli(*_commands(portal, rules)[command])
    assert (code, out) == (1, "")
    assert "].title: a lone surrogate" in err
    assert err.count("\n") == 1


def test_g5_an_ascii_terminal_in_a_real_process_shows_escapes(tmp_path: Path) -> None:
    """End to end: PYTHONIOENCODING=ascii, the console script's own streams."""
    argv = _commands(_odd_portal(tmp_path), _odd_rules(tmp_path))["view"]
    done = subprocess.run(
        [sys.executable, "-m", "crmcounters", *argv],
        capture_output=True,
        env={"PYTHONIOENCODING": "ascii:strict", "PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert b"\\U0001f642" in done.stdout
    assert done.stderr == b""


def test_g5_the_limits_live_in_one_module() -> None:
    """The numbers docs/reliability.md lists are the module's constants."""
    limits = crmcounters._limits
    names = [name for name in limits.__all__ if name.isupper()]
    assert len(names) >= 10
    page = (Path(__file__).parent.parent / "docs" / "reliability.md").read_text(encoding="utf-8")
    for name in names:
        assert f"`{name}`" in page, f"docs/reliability.md does not list {name}"
        value = getattr(limits, name)
        assert f"{value:,}" in page, f"docs/reliability.md does not give {name} = {value:,}"


def test_g5_every_refusal_in_the_corpus_is_a_library_error() -> None:
    """The corpus above is all CrmCountersError: a host catches one class."""
    for call, _field, _words in CONSTRUCTOR_CASES.values():
        with pytest.raises(CrmCountersError):
            call()


@pytest.mark.parametrize(
    "argv",
    [
        ["counters", "--user", "u" * 10_000],
        ["counters", "--user", "u-piotr", "--at", "x" * 10_000],
        ["kanban", "--entity", "e" * 10_000, "--pipeline", "p-sales"],
        ["explain", "--item", "i" * 10_000],
    ],
)
def test_g5_a_10000_character_option_gives_a_short_error_line(
    argv: list[str], tmp_path: Path
) -> None:
    """The value is named, cut short: the error stays one readable line."""
    file = tmp_path / "portal.json"
    file.write_text(PORTAL_TEXT, encoding="utf-8")
    code, _out, err = _cli(argv[0], str(file), *argv[1:])
    assert code == 1
    assert err.startswith("crmcounters: error: ")
    assert len(err) < 300
    assert "(10,000 characters)" in err
