"""Rows read back from the library's own tables (issue 15): equal to the checked records.

`SqlStorage` decodes items and activities without running their constructors'
checks again (the library checked every value on the way in): a page of cards
decodes hundreds of rows. These tests hold each decoded record equal to what
was written, derived private fields (the UTC deadline, the own lit time, the
several-items flag that the counters read, C4, C8) included, on SQLite and
PostgreSQL; and a value the library never writes is refused naming its column.
"""

from __future__ import annotations

from datetime import UTC

import attrs
import pytest
from hypothesis import HealthCheck, given, settings

from _sql_backends import BACKENDS, copy_into, run_statements, sql_examples, sql_storage
from crmcounters import Activity, DataFormatError, Item, Portal, TimelineEvent, ValidationError
from crmcounters.testing.strategies import portals


def _every_field(record: Item | Activity | TimelineEvent) -> dict[str, object]:
    """Every slot of the record, private derived ones too (attrs.asdict lists them)."""
    return attrs.asdict(record, recurse=False)


def _checked_twin(record: Item | Activity | TimelineEvent) -> Item | Activity | TimelineEvent:
    """The record rebuilt through its constructor: every converter and check run again."""
    return attrs.evolve(record)


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=sql_examples(), suppress_health_check=[HealthCheck.too_slow])
@given(portal=portals())
def test_decoded_records_equal_what_was_written(backend: str, portal: Portal) -> None:
    """Issue 15, C4, C8, F3: trusted decoding gives the written items, activities and events,
    slot for slot, in UTC."""
    written = portal.storage
    with sql_storage(backend, written.settings) as storage:
        try:
            copy_into(written, storage)  # type: ignore[arg-type]
        except ValidationError:  # PostgreSQL text refuses NUL: tested in test_sql_storage
            if backend == "sqlite":
                raise
            return
        records = (*written.items(), *written.activities(), *written.events())
        originals = {(type(record), record.id): record for record in records}
        decoded = [*storage.items(), *storage.activities(), *storage.events()]
        assert sorted((type(one).__name__, one.id) for one in decoded) == sorted(
            (kind.__name__, record_id) for kind, record_id in originals
        )
        for record in decoded:
            assert type(record) is type(originals[(type(record), record.id)])
            assert record == originals[(type(record), record.id)]
            assert _every_field(record) == _every_field(originals[(type(record), record.id)])
            assert _every_field(record) == _every_field(_checked_twin(record))
            for value in _every_field(record).values():
                if hasattr(value, "tzinfo") and value.tzinfo is not None:
                    assert value.tzinfo is UTC  # G4: instants are kept in UTC


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_value_the_library_never_writes_is_refused_naming_its_column(backend: str) -> None:
    """A hand-edited row (an unknown activity kind) gives a DataFormatError, not a traceback."""
    from crmcounters import sample_portal

    sample = sample_portal().storage
    with sql_storage(backend, sample.settings) as storage:
        copy_into(sample, storage)  # type: ignore[arg-type]
        activity = next(iter(sample.activities()))
        run_statements(storage, ["UPDATE crm_activities SET kind = 'fax'"])
        with pytest.raises(DataFormatError, match=r"crm_activities\.kind.*'fax'"):
            storage.activity(activity.id)


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_event_value_the_library_never_writes_is_refused_naming_its_column(
    backend: str,
) -> None:
    """F3: an event row with a channel or type the library never writes is a DataFormatError."""
    from crmcounters import sample_portal

    sample = sample_portal().storage
    with sql_storage(backend, sample.settings) as storage:
        copy_into(sample, storage)  # type: ignore[arg-type]
        run_statements(
            storage, ["UPDATE crm_events SET channel = 'pigeon' WHERE type = 'incoming'"]
        )
        with pytest.raises(DataFormatError, match=r"crm_events\.channel.*'pigeon'"):
            storage.events()
    # The table's CHECK refuses an unknown type; a row from elsewhere is refused on decoding.
    from crmcounters.sql._rows import EVENTS

    row = list(EVENTS.to_row(next(iter(sample.events())), 1))
    row[2] = "telegram"
    with pytest.raises(DataFormatError, match=r"crm_events\.type.*'telegram'"):
        EVENTS.from_row(row)
    with pytest.raises(DataFormatError, match=r"crm_events\.type.*'telegram'"):
        EVENTS.decoder(trusted=False)(row)  # a row of your own tables: the same error


def test_rows_of_your_own_tables_are_decoded_with_every_check() -> None:
    """G5: rows behind `create_views` were written by the host, not by the library, so they
    go through the constructors: other JSON spellings are read (PostgreSQL's `json_agg`
    writes `["d-1", "d-2"]`, with a space) and a value the constructor refuses is refused
    naming its field."""
    from datetime import datetime

    from crmcounters.sql._rows import ACTIVITIES

    activity = Activity(
        id="a-1",
        item_ids=("d-1", "d-2"),
        kind="call",
        responsible_id="anna",
        created_at=datetime(2026, 12, 7, 9, 0, tzinfo=UTC),
    )
    row = list(ACTIVITIES.to_row(activity, 15))
    row[1] = '["d-1", "d-2"]'
    assert ACTIVITIES.decoder(trusted=False)(row) == activity
    row[2] = "fax"
    with pytest.raises(ValidationError, match="kind"):
        ACTIVITIES.decoder(trusted=False)(row)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_event_kind_decodes_to_what_was_written(backend: str) -> None:
    """F3, R4: each event kind with every field filled (texts, stages, rule, entry type, a
    zone other than UTC) reads back slot for slot, as its checked twin, `at` in UTC."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from _build_focus import item, portal
    from crmcounters import (
        CommentAdded,
        HistoryEntryAdded,
        IncomingChannel,
        IncomingMessage,
        ItemViewed,
        StageChanged,
    )

    at = datetime(2026, 3, 29, 2, 30, tzinfo=ZoneInfo("Pacific/Kiritimati"))
    written = portal()
    written.add(item("d-1"))
    events = [
        CommentAdded(id="e-1", item_id="d-1", at=at, author_id="anna", text="called back"),
        IncomingMessage(
            id="e-2", item_id="d-1", at=at, channel=IncomingChannel.CHAT, text='a "quoted" word'
        ),
        StageChanged(
            id="e-3",
            item_id="d-1",
            at=at,
            by_user_id="anna",
            from_stage_id="p-deal-new",
            to_stage_id="p-deal-won",
        ),
        HistoryEntryAdded(
            id="e-4",
            item_id="d-1",
            at=at,
            author_id="anna",
            text="moved by a rule",
            entry_type="audit",
            rule_id="r-1",
        ),
        ItemViewed(id="e-5", item_id="d-1", at=at, user_id="anna"),
    ]
    written.add(*events)
    with sql_storage(backend, written.settings) as storage:
        copy_into(written, storage)
        decoded = {event.id: event for event in storage.events_of_item("d-1")}
        for event in events:
            assert type(decoded[event.id]) is type(event)
            assert _every_field(decoded[event.id]) == _every_field(event)
            assert _every_field(decoded[event.id]) == _every_field(_checked_twin(event))
            assert decoded[event.id].at.tzinfo is UTC
