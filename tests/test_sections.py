"""Counters per section (C10), the "due today" rule (C11) and access per section (C7)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _build_counters import MONDAY, incoming, item, minutes, planned, portal
from crmcounters import (
    AccessDeniedError,
    AccessLevel,
    AccessPolicy,
    BadgeColour,
    CounterIndex,
    CounterResult,
    InMemoryStorage,
    PlannedRule,
    Portal,
    SectionAccess,
    Settings,
    UnknownIdError,
    ValidationError,
    activities_view,
    counters_of,
    explain,
    item_badge,
    kanban_board,
    summed_counters,
)
from crmcounters.testing.strategies import portals

ALICE = ("alice", "Europe/Warsaw")
BOB = ("bob", "Europe/Warsaw")
PARIS = ZoneInfo("Europe/Paris")
OVERDUE = MONDAY - timedelta(hours=3)


def _numbers(result: CounterResult) -> tuple[int | None, ...]:
    return (
        result.incoming,
        result.planned,
        result.incoming_items,
        result.planned_items,
        result.items,
    )


def _mixed_portal() -> tuple[InMemoryStorage, list[tuple[str, str | None]]]:
    """Alice: 3 deals x 2 lit activities in p-deal, a VIP deal, a lead, an invoice, a contact."""
    storage = portal(ALICE)
    for _ in range(3):
        deal = item(storage, "alice")
        planned(storage, deal, OVERDUE)
        planned(storage, deal, OVERDUE)
    vip = item(storage, "alice", pipeline_id="p-vip")
    planned(storage, vip, OVERDUE)
    lead = item(storage, "alice", entity_type="lead", pipeline_id="p-lead")
    planned(storage, lead, MONDAY + minutes(10))  # lit: due within 15 minutes
    invoice = item(storage, "alice", entity_type="invoice", pipeline_id="p-invoice")
    incoming(storage, invoice)
    contact = item(storage, "alice", entity_type="contact")
    planned(storage, contact, OVERDUE)
    incoming(storage, contact)
    sections = [
        ("deal", "p-deal"),
        ("deal", "p-vip"),
        ("lead", "p-lead"),
        ("invoice", "p-invoice"),
        ("contact", None),
    ]
    return storage, sections


# -- C10: per section --------------------------------------------------------------------------


def test_c10_c5_seed_000_three_deals_with_two_activities_give_six_in_their_section() -> None:
    """C10, C5 (seed 000: "3 deale i każdy ma 2 aktywności, licznik wyświetli wartość 6"),
    in the header of the deal pipeline, while the left menu adds every section."""
    storage, _ = _mixed_portal()
    section = counters_of(storage, "alice", MONDAY, entity_type="deal", pipeline_id="p-deal")
    assert (section.planned, section.planned_items) == (6, 3)
    assert (section.entity_type, section.pipeline_id) == ("deal", "p-deal")
    deals = counters_of(storage, "alice", MONDAY, entity_type="deal")
    assert (deals.planned, deals.planned_items) == (7, 4)
    everything = counters_of(storage, "alice", MONDAY)
    assert (everything.incoming, everything.planned) == (2, 9)
    assert (everything.entity_type, everything.pipeline_id) == (None, None)


def test_c10_contacts_companies_and_quotes_have_their_own_counters() -> None:
    """C10: activities bound to a contact, a company or a quote count in its section."""
    storage = portal(ALICE)
    contact = item(storage, "alice", entity_type="contact")
    company = item(storage, "alice", entity_type="company")
    quote = item(storage, "alice", entity_type="quote", pipeline_id="p-quote")
    incoming(storage, contact)
    planned(storage, (company, quote), OVERDUE)  # bound to both: counts once in each (C2)
    assert counters_of(storage, "alice", MONDAY, entity_type="contact").incoming == 1
    assert counters_of(storage, "alice", MONDAY, entity_type="company").planned == 1
    assert counters_of(storage, "alice", MONDAY, pipeline_id="p-quote").planned == 1
    assert counters_of(storage, "alice", MONDAY).planned == 2


def test_c10_the_unfiltered_counters_are_the_sum_over_sections_in_the_example() -> None:
    """C10: the left-menu total equals the sum of the section headers."""
    storage, sections = _mixed_portal()
    parts = [
        counters_of(storage, "alice", MONDAY, entity_type=et, pipeline_id=pid)
        for et, pid in sections
    ]
    total = counters_of(storage, "alice", MONDAY)
    assert _numbers(total) == tuple(
        sum(part or 0 for part in column) for column in zip(*map(_numbers, parts), strict=True)
    )
    index = CounterIndex.build(storage, MONDAY)
    for (et, pid), part in zip(sections, parts, strict=True):
        assert index.counters("alice", entity_type=et, pipeline_id=pid) == part
    assert index.counters("alice") == total


def test_c10_a_section_read_is_checked() -> None:
    """C10, G5: an unknown pipeline, a pipeline of another type or for contacts is refused."""
    storage, _ = _mixed_portal()
    with pytest.raises(UnknownIdError, match="p-none"):
        counters_of(storage, "alice", MONDAY, pipeline_id="p-none")
    with pytest.raises(ValidationError, match="pipeline 'p-lead' is for lead"):
        counters_of(storage, "alice", MONDAY, entity_type="deal", pipeline_id="p-lead")
    with pytest.raises(ValidationError, match="contact items have no pipeline"):
        counters_of(storage, "alice", MONDAY, entity_type="contact", pipeline_id="p-deal")
    with pytest.raises(ValidationError, match="entity_type"):
        counters_of(storage, "alice", MONDAY, entity_type="spaceship")
    index = CounterIndex.build(storage, MONDAY)
    with pytest.raises(ValidationError, match="entity_type"):
        index.counters("alice", entity_type="spaceship")
    assert counters_of(storage, "alice", MONDAY, pipeline_id="p-lead").entity_type == "lead"


def test_c10_c8_a_blocked_user_is_blocked_in_every_section() -> None:
    """C8, C10: the cap counts every section; each section's answer says blocked."""
    storage = portal(ALICE, settings=Settings(open_activity_cap=2))
    planned(storage, item(storage, "alice"), OVERDUE)
    planned(storage, item(storage, "alice", entity_type="lead", pipeline_id="p-lead"), OVERDUE)
    planned(storage, item(storage, "alice", entity_type="contact"), OVERDUE)
    result = counters_of(storage, "alice", MONDAY, entity_type="lead")
    assert (result.blocked, result.open_activities, result.planned) == (True, 3, None)
    assert CounterIndex.build(storage, MONDAY).counters("alice", entity_type="lead") == result


def _sections_of(portal_: Portal) -> list[tuple[str, str | None]]:
    return sorted({(i.entity_type, i.pipeline_id) for i in portal_.storage.items()}, key=str)


@settings(max_examples=max(10, settings.default.max_examples // 2))
@given(portal_=portals(max_items=8, max_activities=16), minutes_on=st.integers(-720, 720))
def test_c10_unfiltered_counters_equal_the_sum_over_sections(
    portal_: Portal, minutes_on: int
) -> None:
    """C10 (property): for every user and rule, the total is the sum of its sections' counters,
    in the calculator and in the index alike."""
    storage = portal_.storage
    now = datetime(2026, 12, 14, 9, 0, tzinfo=ZoneInfo("UTC")) + minutes(minutes_on)
    index = CounterIndex.build(storage, now)
    for user in storage.users():
        total = counters_of(storage, user.id, now)
        assert index.counters(user.id) == total
        parts = []
        for et, pid in _sections_of(portal_):
            part = counters_of(storage, user.id, now, entity_type=et, pipeline_id=pid)
            assert index.counters(user.id, entity_type=et, pipeline_id=pid) == part
            parts.append(part)
        if total.blocked:
            assert all(part.blocked for part in parts)
            continue
        assert (
            _numbers(total)
            == tuple(
                sum(one or 0 for one in column)
                for column in zip(*map(_numbers, parts), strict=True)
            )
            or not parts
        )
        changes = [part.valid_until for part in parts if part.valid_until is not None]
        assert total.valid_until == min(changes, default=None)


# -- C11: the "due today" rule -----------------------------------------------------------------


def _claire(rule: PlannedRule) -> tuple[InMemoryStorage, datetime]:
    """Claire in Paris, Monday 09:00: a test drive at 15:00, a call tomorrow, one overdue."""
    storage = portal(("claire", "Europe/Paris"), settings=Settings(planned_rule=rule))
    deal = item(storage, "claire")
    nine = datetime(2026, 12, 14, 9, 0, tzinfo=PARIS)
    planned(storage, deal, datetime(2026, 12, 14, 15, 0, tzinfo=PARIS), activity_id="drive")
    planned(storage, deal, datetime(2026, 12, 15, 10, 0, tzinfo=PARIS), activity_id="call")
    planned(storage, deal, datetime(2026, 12, 13, 17, 0, tzinfo=PARIS), activity_id="late")
    return storage, nine


def test_c11_seed_001_planned_counts_overdue_and_due_today() -> None:
    """C11 (seed 001: "le compteur Prévu comprend les éléments dans lesquels les activités sont
    en retard ou l'activité a une date limite d'aujourd'hui"): at 09:00 the 15:00 test drive
    counts, and tomorrow's call counts from Claire's midnight."""
    storage, nine = _claire(PlannedRule.DUE_TODAY)
    result = counters_of(storage, "claire", nine)
    assert result.planned == 2  # overdue + due today
    assert result.valid_until == datetime(2026, 12, 15, 0, 0, tzinfo=PARIS)  # a midnight
    assert counters_of(storage, "claire", result.valid_until).planned == 3
    before = result.valid_until - timedelta(microseconds=1)
    assert counters_of(storage, "claire", before).planned == 2
    index = CounterIndex.build(storage, nine)
    assert index.counters("claire") == result
    index.advance_to(result.valid_until)
    assert index.counters("claire").planned == 3
    assert item_badge(storage, _only_item(storage), "claire", nine).planned == 2  # red: C6


def _only_item(storage: InMemoryStorage) -> str:
    [one] = storage.items()
    return one.id


def test_c11_the_default_stays_c4_seed_000() -> None:
    """C4 (seed 000, the default): only overdue and due within 15 minutes; the drive at 14:45."""
    storage, nine = _claire(PlannedRule.LIT)
    assert Settings().planned_rule is PlannedRule.LIT
    result = counters_of(storage, "claire", nine)
    assert result.planned == 1
    assert result.valid_until == datetime(2026, 12, 14, 14, 45, tzinfo=PARIS)


def test_c11_today_is_the_responsible_users_own_day() -> None:
    """C11, G4, X3: one deadline is today in Kiritimati (UTC+14) and tomorrow in Honolulu."""
    storage = portal(
        ("tama", "Pacific/Kiritimati"),
        ("keala", "Pacific/Honolulu"),
        settings=Settings(planned_rule=PlannedRule.DUE_TODAY),
    )
    at = datetime(2026, 12, 14, 20, 0, tzinfo=ZoneInfo("UTC"))  # Tue 10:00 / Mon 10:00
    deadline = datetime(2026, 12, 15, 20, 0, tzinfo=ZoneInfo("UTC"))  # Wed 10:00 / Tue 10:00
    planned(storage, item(storage, "tama"), deadline)
    planned(storage, item(storage, "keala"), deadline)
    assert counters_of(storage, "tama", at).planned == 0
    assert counters_of(storage, "keala", at).planned == 0
    tama_midnight = datetime(2026, 12, 16, 0, 0, tzinfo=ZoneInfo("Pacific/Kiritimati"))
    keala_midnight = datetime(2026, 12, 15, 0, 0, tzinfo=ZoneInfo("Pacific/Honolulu"))
    assert counters_of(storage, "tama", at).valid_until == tama_midnight
    assert counters_of(storage, "keala", at).valid_until == keala_midnight


def test_c11_valid_until_is_the_first_instant_of_a_day_whose_midnight_was_skipped() -> None:
    """C11, G4: Santiago skipped 00:00-00:59 on 2026-09-06; that day starts at 01:00."""
    santiago = ZoneInfo("America/Santiago")
    storage = portal(("ana", "America/Santiago"), settings=Settings(planned_rule="due_today"))
    planned(storage, item(storage, "ana"), datetime(2026, 9, 6, 18, 0, tzinfo=santiago))
    at = datetime(2026, 9, 5, 12, 0, tzinfo=santiago)
    until = counters_of(storage, "ana", at).valid_until
    assert until == datetime(2026, 9, 6, 4, 0, tzinfo=ZoneInfo("UTC"))  # 01:00 -03:00
    assert until.astimezone(santiago).hour == 1


def test_c11_explain_names_the_rule() -> None:
    """X1, C11: the reason for a due-today activity cites C11."""
    storage, nine = _claire(PlannedRule.DUE_TODAY)
    reasons = explain(storage, _only_item(storage), nine).reasons
    [drive] = [r for r in reasons if r.activity_id == "drive"]
    assert drive.rule == "C11"
    assert "counts in Planned" in drive.text


# -- C7: access per section --------------------------------------------------------------------

#: "All deals, own leads": everyone may read everyone's deals, only their own other items.
ALL_DEALS = AccessPolicy(sections=[SectionAccess(entity_type="deal", default="all")])


def _two_sellers() -> InMemoryStorage:
    storage = portal(ALICE, BOB)
    planned(storage, item(storage, "alice"), OVERDUE)
    planned(storage, item(storage, "alice", pipeline_id="p-vip"), OVERDUE)
    incoming(storage, item(storage, "alice", entity_type="lead", pipeline_id="p-lead"))
    planned(storage, item(storage, "bob"), OVERDUE)
    return storage


def test_c7_c10_all_deals_own_leads() -> None:
    """C7, C10: Bob reads Alice's deal counters, not her leads; her total shows deals only."""
    storage = _two_sellers()
    deals = counters_of(storage, "alice", MONDAY, entity_type="deal", viewer_id="bob",
                        policy=ALL_DEALS)  # fmt: skip
    assert deals.planned == 2
    with pytest.raises(AccessDeniedError, match="lead"):
        counters_of(storage, "alice", MONDAY, entity_type="lead", viewer_id="bob", policy=ALL_DEALS)
    total = counters_of(storage, "alice", MONDAY, viewer_id="bob", policy=ALL_DEALS)
    assert (total.planned, total.incoming) == (2, 0)  # her lead's e-mail is not Bob's to see
    own = counters_of(storage, "alice", MONDAY, viewer_id="alice", policy=ALL_DEALS)
    assert (own.planned, own.incoming) == (2, 1)
    index = CounterIndex.build(storage, MONDAY)
    assert index.counters("alice", viewer_id="bob", policy=ALL_DEALS) == total
    assert index.counters("alice", entity_type="deal", viewer_id="bob", policy=ALL_DEALS) == deals


def test_c7_c10_a_pipeline_rule_narrows_its_entity_type() -> None:
    """C7: deals for all, except pipeline p-vip, which only its owners read."""
    policy = AccessPolicy(
        sections=[
            SectionAccess(entity_type="deal", default="all"),
            SectionAccess(entity_type="deal", pipeline_id="p-vip", default="own"),
        ]
    )
    storage = _two_sellers()
    deals = counters_of(
        storage, "alice", MONDAY, entity_type="deal", viewer_id="bob", policy=policy
    )
    assert deals.planned == 1
    with pytest.raises(AccessDeniedError):
        counters_of(storage, "alice", MONDAY, pipeline_id="p-vip", viewer_id="bob", policy=policy)
    assert (
        CounterIndex.build(storage, MONDAY).counters(
            "alice", entity_type="deal", viewer_id="bob", policy=policy
        )
        == deals
    )


def test_c7_c10_a_viewer_listed_in_a_section_gets_their_own_level_there() -> None:
    """C7: a section's own list of viewers comes before its default and the policy's."""
    policy = AccessPolicy(
        default="all",
        sections=[SectionAccess(entity_type="lead", levels={"bob": "none"})],
    )
    assert policy.level_of("bob", "lead") is AccessLevel.NONE
    assert policy.level_of("bob", "deal") is AccessLevel.ALL
    assert policy.level_of("alice", "lead", "p-lead") is AccessLevel.ALL
    storage = _two_sellers()
    total = counters_of(storage, "alice", MONDAY, viewer_id="bob", policy=policy)
    assert total.incoming == 0


def test_c7_c10_summed_counters_follow_the_sections() -> None:
    """C7: the team's lead counters, as Bob may read them, are his own only."""
    storage = _two_sellers()
    leads = summed_counters(storage, MONDAY, viewer_id="bob", entity_type="lead", policy=ALL_DEALS)
    assert leads.user_ids == ("bob",)
    deals = summed_counters(storage, MONDAY, viewer_id="bob", entity_type="deal", policy=ALL_DEALS)
    assert (deals.user_ids, deals.planned) == (("alice", "bob"), 3)
    with pytest.raises(AccessDeniedError):
        summed_counters(
            storage, MONDAY, viewer_id="bob", user_ids=["alice"], entity_type="lead",
            policy=ALL_DEALS,
        )  # fmt: skip
    index = CounterIndex.build(storage, MONDAY)
    assert index.summed(viewer_id="bob", entity_type="deal", policy=ALL_DEALS) == deals


def test_c7_c10_badges_kanban_and_view_follow_the_sections() -> None:
    """C6, C7, F4, V1: Bob sees the badge of Alice's deal, not of her lead."""
    storage = _two_sellers()
    deal = next(i.id for i in storage.items_of("alice") if i.pipeline_id == "p-deal")
    lead = next(i.id for i in storage.items_of("alice") if i.entity_type == "lead")
    assert item_badge(storage, deal, "bob", MONDAY, policy=ALL_DEALS).colour is BadgeColour.GREY
    with pytest.raises(AccessDeniedError):
        item_badge(storage, lead, "bob", MONDAY, policy=ALL_DEALS)
    board = kanban_board(storage, "lead", "p-lead", "bob", MONDAY, policy=ALL_DEALS)
    assert [card.badge for card in board.column("new").cards] == [None]
    view = activities_view(storage, "alice", MONDAY, viewer_id="bob", policy=ALL_DEALS)
    assert lead not in {i for ids in view.columns.values() for i in ids}
    assert deal in {i for ids in view.columns.values() for i in ids}


def test_c7_section_rules_are_checked() -> None:
    """G5: a repeated section, contacts with a pipeline, an unknown level are refused."""
    with pytest.raises(ValidationError, match="sections\\[1\\]"):
        AccessPolicy(
            sections=[SectionAccess(entity_type="deal"), SectionAccess(entity_type="deal")]
        )
    with pytest.raises(ValidationError, match="pipeline_id"):
        SectionAccess(entity_type="contact", pipeline_id="p")
    with pytest.raises(ValidationError, match="unknown access level"):
        SectionAccess(entity_type="deal", default="most")
    with pytest.raises(ValidationError, match="sections\\[0\\]"):
        AccessPolicy(sections=["deal"])  # type: ignore[list-item]
