"""Opening a database from one string, closing it, and copying a whole portal in and out.

SPEC G1 (the database answers as the portal file does), G5 (an import is all or
nothing), C7 (the access policy travels with the portal), P5 (WAL and timeouts).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from _sql_backends import BACKENDS, PG_DSN, PG_SKIP_REASON, fresh_database
from crmcounters import (
    AccessLevel,
    InMemoryStorage,
    Portal,
    PortalStorage,
    User,
    ValidationError,
    counters_of,
    dump_portal,
    sample_portal,
    sample_rules,
)
from crmcounters.sql import SqlStorage, export_portal, import_portal, open_storage
from crmcounters.sql._rows import _id_list, _ids_of, dump_json

AT = sample_portal().as_of


def test_sample_portal_and_rules_are_public_and_fresh_each_call() -> None:
    """The docs' sample: a new in-memory copy per call, rules checked against its pipeline."""
    first, second = sample_portal(), sample_portal()
    assert first.storage is not second.storage
    first.storage.add(User(id="u-new", name="New", time_zone="UTC"))
    assert "u-new" not in {user.id for user in second.storage.users()}
    assert AT is not None
    assert len(second.storage.activities()) == 200
    rules = sample_rules()
    assert rules.rules
    assert {rule.pipeline_id for rule in rules.rules} == {"p-sales"}


@pytest.mark.parametrize("backend", BACKENDS)
def test_g1_g5_import_then_export_gives_the_same_portal_document(
    backend: str, tmp_path: Path
) -> None:
    """JSON -> database -> JSON unchanged: records in order, settings, description, access."""
    portal = sample_portal()
    with fresh_database(backend, tmp_path) as url:
        with open_storage(url, create=True) as storage:
            assert import_portal(portal, storage) == len(portal.storage)
        with open_storage(url) as storage:
            assert dump_portal(export_portal(storage)) == dump_portal(portal)
            live = storage.portal()
            assert live.storage is storage
            assert isinstance(live.storage, PortalStorage)
            assert dump_portal(live) == dump_portal(portal)  # reads straight through SQL too
            assert (live.description, live.as_of, live.access) == (
                portal.description,
                portal.as_of,
                portal.access,
            )


@pytest.mark.parametrize("backend", BACKENDS)
def test_c7_a_database_portal_answers_as_the_file_with_its_access_policy(
    backend: str, tmp_path: Path
) -> None:
    """Counters read through the database equal the file's; the access levels came along."""
    portal = sample_portal()
    assert portal.access.level_of("u-marek") is AccessLevel.ALL
    with fresh_database(backend, tmp_path) as url, open_storage(url, create=True) as storage:
        import_portal(portal, storage)
        live = storage.portal()
        assert AT is not None
        for user in portal.storage.users():
            assert counters_of(
                live.storage, user.id, AT, viewer_id="u-marek", policy=live.access
            ) == counters_of(portal.storage, user.id, AT, viewer_id="u-marek", policy=portal.access)


@pytest.mark.parametrize("backend", BACKENDS)
def test_g5_an_import_failing_midway_leaves_the_database_empty(
    backend: str, tmp_path: Path
) -> None:
    """A fault in the last records (a NUL PostgreSQL refuses, a trigger on SQLite) undoes all."""
    portal = sample_portal()
    with fresh_database(backend, tmp_path) as url, open_storage(url, create=True) as storage:
        with storage.transaction() as connection:
            if backend == "sqlite":
                connection.execute(
                    "CREATE TRIGGER boom BEFORE INSERT ON crm_events "
                    "WHEN NEW.id = 'ev-060-comment' "
                    "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
                )
            else:
                connection.execute(
                    "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    "IF NEW.id = 'ev-060-comment' THEN RAISE EXCEPTION 'injected failure'; END IF; "
                    "RETURN NEW; END $$"
                )
                connection.execute(
                    "CREATE TRIGGER boom BEFORE INSERT ON crm_events "
                    "FOR EACH ROW EXECUTE FUNCTION boom()"
                )
        assert portal.storage.event("ev-060-comment")
        with pytest.raises(Exception, match="injected failure"):
            import_portal(portal, storage)
        assert len(storage) == 0
        assert storage.portal().description == ""
        assert storage.settings == InMemoryStorage().settings


def test_g5_import_refuses_a_database_that_holds_records(tmp_path: Path) -> None:
    """Import fills an empty database; one already holding records is left as it was."""
    with open_storage(tmp_path / "p.db", create=True) as storage:
        storage.add(User(id="someone", name="S", time_zone="UTC"))
        with pytest.raises(ValidationError, match="already holds 1 records"):
            import_portal(sample_portal(), storage)
        assert [user.id for user in storage.users()] == ["someone"]


@pytest.mark.skipif(not PG_DSN, reason=PG_SKIP_REASON)
@pytest.mark.parametrize("inside_a_transaction", [False, True])
def test_an_import_into_postgresql_leaves_its_tables_vacuumed(
    tmp_path: Path, inside_a_transaction: bool
) -> None:
    """G1, issue 15: pages right after a bulk load read table pages until the visibility map is
    set; the import vacuums once committed, or leaves it to autovacuum inside the host's
    own transaction (VACUUM cannot run in one), and answers the same either way."""
    with fresh_database("postgres", tmp_path) as url, open_storage(url, create=True) as storage:
        if inside_a_transaction:
            with storage.transaction():
                import_portal(sample_portal(), storage)
        else:
            import_portal(sample_portal(), storage)
        with storage.transaction() as connection:
            vacuumed = connection.execute(
                "SELECT relname FROM pg_stat_user_tables WHERE last_vacuum IS NOT NULL "
                "AND schemaname = current_schema() AND relname LIKE 'crm_focus_%'"
            ).fetchall()
        assert sorted(row[0] for row in vacuumed) == (
            []
            if inside_a_transaction
            else ["crm_focus_columns", "crm_focus_instants", "crm_focus_items"]
        )
        for user in sample_portal().storage.users():
            assert counters_of(storage, user.id, AT) == counters_of(
                sample_portal().storage, user.id, AT
            )


def test_open_storage_takes_a_path_a_sqlite_url_or_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A path, sqlite:///relative, sqlite:////absolute and :memory: all open a storage."""
    monkeypatch.chdir(tmp_path)
    with open_storage("rel.db", create=True) as storage:
        storage.add(User(id="u", name="U", time_zone="UTC"))
    with open_storage("sqlite:///rel.db") as storage:
        assert [user.id for user in storage.users()] == ["u"]
    with open_storage(f"sqlite:///{tmp_path / 'rel.db'}") as storage:  # four slashes: absolute
        assert storage.dialect == "sqlite"
        assert len(storage) == 1
    for memory in (":memory:", "sqlite://", "sqlite:///:memory:"):
        with open_storage(memory) as storage:
            assert len(storage) == 0  # a fresh private database, schema created


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("nothere.db", "no SQLite database at nothere.db"),
        ("mysql://db/x", "unknown database scheme 'mysql'"),
        ("sqlite://host/x.db", "a sqlite URL has no host"),
        ("sqlite:///x.db?cache=shared", "unknown sqlite URL option 'cache'"),
        ("sqlite:///x.db?journal_mode=fast", "journal_mode: expected one of wal"),
        ("sqlite:///x.db?timeout=soon", "timeout: expected seconds"),
        ("sqlite:///x.db?timeout=-1", "timeout: expected 0 to 86400 seconds"),
        ("sqlite:///x.db?max_connections=0", "max_connections: expected a whole number >= 1"),
        ("  ", "url: expected a SQLite path"),
    ],
)
def test_open_storage_refuses_what_it_cannot_open_naming_the_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, words: str
) -> None:
    """Every refusal is a ValidationError naming the field; nothing is created by mistake."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValidationError, match=words):
        open_storage(url, create="x.db" in url)
    assert not (tmp_path / "nothere.db").exists()


def test_open_storage_refuses_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    """A portal JSON file given as --db is a clear error, not a driver traceback."""
    (tmp_path / "portal.json").write_text('{"format": "crmcounters.portal"}', encoding="utf-8")
    with pytest.raises(ValidationError, match="not a SQLite database"):
        open_storage(tmp_path / "portal.json")


def test_p5_sqlite_files_use_wal_unless_told_otherwise(tmp_path: Path) -> None:
    """WAL by default (readers never block the writer); journal_mode overrides, in URL or call."""
    with open_storage(tmp_path / "wal.db", create=True):
        pass
    with open_storage(f"sqlite:///{tmp_path / 'rollback.db'}?journal_mode=delete", create=True):
        pass
    with open_storage(tmp_path / "truncate.db", create=True, journal_mode="TRUNCATE"):
        pass
    for name, mode in (("wal", "wal"), ("rollback", "delete"), ("truncate", "truncate")):
        storage = open_storage(tmp_path / f"{name}.db", journal_mode=mode)
        with storage, storage.transaction() as connection:  # the mode each connection runs in
            assert connection.execute("PRAGMA journal_mode").fetchone()[0] == mode
        if mode != "wal":  # only WAL is kept in the file itself
            connection = sqlite3.connect(tmp_path / f"{name}.db")
            assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
            connection.close()


def test_a_closed_storage_refuses_further_use_and_closing_twice_is_harmless(
    tmp_path: Path,
) -> None:
    """close() (or leaving the with block) closes the pooled connections; a call after it fails."""
    storage = open_storage(tmp_path / "c.db", create=True)
    with storage:
        storage.add(User(id="u", name="U", time_zone="UTC"))
    with pytest.raises(ValidationError, match="closed"):
        storage.user("u")
    storage.close()
    memory = open_storage(":memory:")
    memory.close()
    with pytest.raises(ValidationError, match="closed"):
        len(memory)


def test_a_connection_passed_in_stays_open_after_close() -> None:
    """close() on a storage over the caller's connection leaves that connection to the caller."""
    connection = sqlite3.connect(":memory:")
    with SqlStorage.create(connection) as storage:
        storage.add(User(id="u", name="U", time_zone="UTC"))
    assert connection.execute("SELECT COUNT(*) FROM crm_users").fetchone()[0] == 1
    connection.close()  # the caller's to close


def test_in_memory_copy_of_any_portal_storage_keeps_order_and_reports_progress(
    tmp_path: Path,
) -> None:
    """InMemoryStorage.copy_of reads a database portal back, kind by kind, telling progress."""
    portal = sample_portal()
    seen: list[tuple[int, int]] = []
    with open_storage(tmp_path / "p.db", create=True) as storage:
        import_portal(portal, storage, progress=lambda done, total: seen.append((done, total)))
        assert seen[-1] == (len(portal.storage), len(portal.storage))
        seen.clear()
        copy = InMemoryStorage.copy_of(storage, progress=lambda d, t: seen.append((d, t)))
    assert dump_portal(attrs.evolve(portal, storage=copy)) == dump_portal(portal)
    assert len(seen) == 5
    assert seen[-1] == (len(portal.storage), len(portal.storage))
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_a_portal_is_any_portal_storage() -> None:
    """Portal.storage may be a database: a Portal over SqlStorage dumps like the file."""
    portal = sample_portal()
    with open_storage(":memory:") as storage:
        import_portal(portal, storage)
        assert dump_portal(Portal(storage=storage, as_of=portal.as_of, access=portal.access)) == (
            dump_portal(attrs.evolve(portal, description=""))
        )


@given(
    ids=st.lists(
        st.text(min_size=1) | st.sampled_from(['","', '"', "\\", ",", "[", "]", 'a"b']),
        max_size=4,
    )
)
def test_g5_id_lists_are_written_as_the_json_encoder_writes_them(ids: list[str]) -> None:
    """The bulk writer's list of item ids is byte for byte json.dumps' (quotes, NUL, U+2028),
    and the reader's split gives them back (issue 15), separators and quotes in ids too."""
    assert _id_list(ids) == dump_json(ids)
    assert json.loads(_id_list(ids)) == ids
    assert _ids_of(_id_list(ids)) == tuple(ids)
