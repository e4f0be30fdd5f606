"""Saved connections and exports: round trips, unique names, schedules, the key never stored."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from ac_segment_export import (
    Actor,
    Attribute,
    Audience,
    ConfigurationError,
    Connection,
    ExportDestination,
    ExportMode,
    ExportOptions,
    FieldMapping,
    PermissionDeniedError,
    SavedSource,
    Schedule,
    SecretNotFoundError,
    Workspace,
    WorkspaceError,
)

from .conftest import API_KEY, FAST, HOST, KEY_ENV, MAPPING, NAME, client_options, rows

if TYPE_CHECKING:
    from pathlib import Path

    from ac_segment_export.testing import ActiveCampaignEmulator

ADMIN = Actor.admin("ada@example.com")
CONTRIBUTOR = Actor.contributor("carl@example.com")


def test_a_new_workspace_is_created_in_wal_mode_at_the_latest_schema(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "ws.db"
    with Workspace(path) as ws:
        assert path.exists()
        assert ws.schema_version == 3
        mode = ws._db.execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal"
        assert ws.connections() == []
        assert ws.exports() == []
        assert ws.history() == []


def test_connections_round_trip_without_their_key(ws: Workspace, connection: Connection) -> None:
    (saved,) = ws.connections()
    assert saved.name == "Acme"
    assert saved.host == HOST
    assert saved.usable_by is Audience.ADMINS
    assert saved.consent == connection.consent
    assert saved.api_key_source == f"env:{KEY_ENV}"
    assert API_KEY not in repr(saved)
    loaded = ws.connection("Acme")
    assert loaded == connection
    assert loaded.api_key.reveal() == API_KEY


def test_saving_a_connection_again_updates_it(ws: Workspace, connection: Connection) -> None:
    revoked = connection.revoke_consent("dpo@example.com")
    ws.save_connection(revoked, api_key_ref="vault:acme")
    (saved,) = ws.connections()
    assert saved.consent is not None
    assert saved.consent.revoked
    assert saved.api_key_source == "ref:vault:acme"
    assert saved.updated_at >= saved.created_at


def test_the_key_is_in_no_byte_of_the_workspace_files(
    tmp_path: Path, ws: Workspace, emu: ActiveCampaignEmulator
) -> None:
    ws.run(NAME, rows(30))
    ws.run(NAME, rows(30))
    ws.save_connection(ws.connection("Acme"), api_key_env=KEY_ENV)
    files = list(tmp_path.glob("ws.db*"))
    assert {f.name for f in files} >= {"ws.db", "ws.db-wal"}
    ws.close()
    files = list(tmp_path.glob("ws.db*"))
    data = b"".join(f.read_bytes() for f in files)
    assert b"user1@example.com" not in data  # no profile data either: emails are hashed
    assert KEY_ENV.encode() in data  # the reference is there
    for form in (API_KEY, API_KEY.upper(), API_KEY[:16]):
        assert form.encode() not in data
        assert form.encode("utf-16-le") not in data


def test_a_connection_needs_exactly_one_key_reference(
    tmp_path: Path, connection: Connection
) -> None:
    with Workspace(tmp_path / "ws.db") as ws:
        with pytest.raises(ConfigurationError, match="never stores an API key"):
            ws.save_connection(connection)
        with pytest.raises(ConfigurationError, match="exactly one"):
            ws.save_connection(connection, api_key_env="A", api_key_ref="b")
        assert ws.connections() == []


def test_a_missing_key_variable_is_a_typed_error_naming_it(
    tmp_path: Path, connection: Connection
) -> None:
    with Workspace(tmp_path / "ws.db", environ={}) as ws:
        ws.save_connection(connection, api_key_env=KEY_ENV)
        with pytest.raises(SecretNotFoundError, match=KEY_ENV) as caught:
            ws.connection("Acme")
        assert caught.value.reference == f"env:{KEY_ENV}"


def test_exports_round_trip_with_options_and_schedule(
    ws: Workspace, connection: Connection
) -> None:
    options = ExportOptions(
        batch_size=100, full_refresh_every=86400.0, max_unsubscribe_fraction=0.2
    )
    destination = ExportDestination(
        connection, "Churn risk", 1, MAPPING, tags=("churn",), mode=ExportMode.MIRROR
    )
    schedule = Schedule("0 6 * * mon-fri", "Europe/Rome")
    source = SavedSource(sql="SELECT * FROM 'churn.parquet'")
    saved = ws.save_export(
        destination, options=options, schedule=schedule, source=source, actor=ADMIN
    )
    assert saved == ws.get_export("Churn risk")
    assert saved.connection == "Acme"
    assert saved.list_id == 1
    assert saved.mapping == MAPPING
    assert saved.tags == ("churn",)
    assert saved.mode is ExportMode.MIRROR
    assert saved.options == options
    assert saved.schedule == schedule
    assert saved.source == source
    assert saved.created_by == ADMIN.user
    assert [e.name for e in ws.exports()] == ["Churn risk", NAME]
    ws.remove_export("Churn risk")
    assert [e.name for e in ws.exports()] == [NAME]
    with pytest.raises(ConfigurationError, match="No saved export is named 'Churn risk'"):
        ws.get_export("Churn risk")


def test_export_names_are_unique_unless_replaced(ws: Workspace, connection: Connection) -> None:
    other = ExportDestination(connection, NAME, 1, FieldMapping(email="email"))
    with pytest.raises(ConfigurationError, match="already named"):
        ws.save_export(other)
    assert ws.get_export(NAME).mapping == MAPPING
    ws.save_export(other, replace=True)
    assert ws.get_export(NAME).mapping == FieldMapping(email="email")
    assert len(ws.exports()) == 1


def test_saving_an_export_needs_its_connection_saved(
    tmp_path: Path, connection: Connection
) -> None:
    with Workspace(tmp_path / "ws.db") as ws:
        with pytest.raises(ConfigurationError, match="No saved connection is named 'Acme'"):
            ws.save_export(ExportDestination(connection, NAME, 1, MAPPING))
        ws.save_connection(connection, api_key_env=KEY_ENV)
        moved = Connection("Acme", "other.api-us1.com", API_KEY)
        with pytest.raises(ConfigurationError, match="save the connection first"):
            ws.save_export(ExportDestination(moved, NAME, 1, MAPPING))


def test_saving_never_runs(
    ws: Workspace, emu: ActiveCampaignEmulator, connection: Connection
) -> None:
    ws.save_export(ExportDestination(connection, "Other", 1, MAPPING))
    assert emu.requests == []
    assert ws.history() == []


def test_a_mapping_with_an_unnamed_transform_is_refused(
    ws: Workspace, connection: Connection
) -> None:
    mapping = FieldMapping(email="email", first_name=Attribute("first", transform=str.title))
    with pytest.raises(ConfigurationError, match="cannot be serialized"):
        ws.save_export(ExportDestination(connection, "Titled", 1, mapping))


def test_named_transforms_round_trip(tmp_path: Path, connection: Connection) -> None:
    transforms = {"title": str.title}
    with Workspace(tmp_path / "ws.db", transforms=transforms) as ws:
        ws.save_connection(connection, api_key_env=KEY_ENV)
        mapping = FieldMapping(email="email", first_name=Attribute("first", transform=str.title))
        ws.save_export(ExportDestination(connection, "Titled", 1, mapping))
        assert ws.get_export("Titled").mapping == mapping


@pytest.mark.parametrize(
    ("cron", "problem"),
    [
        ("0 6 * *", "has 4 fields"),
        ("60 * * * *", "out of range"),
        ("* 24 * * *", "out of range"),
        ("* * 0 * *", "out of range"),
        ("* * * 13 *", "out of range"),
        ("* * * * 8", "out of range"),
        ("*/0 * * * *", "at least 1"),
        ("5/10 * * * *", "a step needs"),
        ("10-5 * * * *", "ends before"),
        ("* * * foo *", "not a month"),
        ("1,,2 * * * *", "not a valid minute"),
        ("@often", "has 1 fields"),
    ],
)
def test_schedules_are_checked_strictly(cron: str, problem: str) -> None:
    with pytest.raises(ConfigurationError, match=problem):
        Schedule(cron)


def test_schedules_normalise_and_read_time_zones() -> None:
    assert Schedule("  0  6 * * 1-5 ").cron == "0 6 * * 1-5"
    assert Schedule("@daily").cron == "0 0 * * *"
    assert Schedule("*/15 8-18 1,15 JAN-jun sun", "America/New_York").timezone == (
        "America/New_York"
    )
    with pytest.raises(ConfigurationError, match="not a time zone"):
        Schedule("0 6 * * *", "Mars/Olympus")
    with pytest.raises(ConfigurationError, match="IANA name"):
        Schedule("0 6 * * *", "")


def test_only_admins_save_or_remove_connections_or_read_keys(
    ws: Workspace, connection: Connection
) -> None:
    with pytest.raises(PermissionDeniedError, match="Only admins may save"):
        ws.save_connection(connection, api_key_env=KEY_ENV, actor=CONTRIBUTOR)
    with pytest.raises(PermissionDeniedError, match="read the API key"):
        ws.connection("Acme", actor=CONTRIBUTOR)
    assert ws.connection("Acme", actor=ADMIN).api_key.reveal() == API_KEY
    with pytest.raises(PermissionDeniedError, match="Only admins may remove"):
        ws.remove_connection("Acme", actor=CONTRIBUTOR)
    with pytest.raises(ConfigurationError, match="used by saved exports 'VIP customers'"):
        ws.remove_connection("Acme", actor=ADMIN)
    ws.remove_export(NAME, actor=ADMIN)
    ws.remove_connection("Acme", actor=ADMIN)
    assert ws.connections() == []


def test_contributors_use_only_connections_open_to_them(
    ws: Workspace, connection: Connection
) -> None:
    destination = ExportDestination(connection, "Theirs", 1, MAPPING)
    with pytest.raises(PermissionDeniedError, match="usable by admins only"):
        ws.save_export(destination, actor=CONTRIBUTOR)
    with pytest.raises(PermissionDeniedError, match="usable by admins only"):
        ws.remove_export(NAME, actor=CONTRIBUTOR)
    opened = connection.edit(ADMIN, usable_by=Audience.ADMINS_AND_CONTRIBUTORS)
    ws.save_connection(opened, api_key_env=KEY_ENV, actor=ADMIN)
    ws.save_export(destination.with_connection(opened), actor=CONTRIBUTOR)
    report = ws.run("Theirs", rows(3), actor=CONTRIBUTOR)
    assert report.exported == 3
    assert ws.history("Theirs")[0].actor == CONTRIBUTOR.user


def test_a_file_that_is_not_a_workspace_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all, just some bytes" * 100)
    with pytest.raises(WorkspaceError):
        Workspace(junk)
    import sqlite3

    other = tmp_path / "other.db"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    with pytest.raises(WorkspaceError, match="not a workspace"):
        Workspace(other)


def test_a_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "ws.db"
    Workspace(path).close()
    import sqlite3

    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.commit()
    db.close()
    with pytest.raises(WorkspaceError, match="newer than this library's"):
        Workspace(path)


def test_workspaces_reopen_with_their_content(
    tmp_path: Path, ws: Workspace, emu: ActiveCampaignEmulator, environ: dict[str, str]
) -> None:
    ws.run(NAME, rows(5))
    ws.close()
    with Workspace(
        tmp_path / "ws.db", environ=environ, client_options=client_options(emu)
    ) as again:
        assert [e.name for e in again.exports()] == [NAME]
        assert again.get_export(NAME).options == FAST
        assert again.history()[0].exported == 5
        assert again.run(NAME, rows(5)).counts["unchanged"] == 5
