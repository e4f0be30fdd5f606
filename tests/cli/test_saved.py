"""Saved connections and destinations, ``run`` and ``history``: as subprocesses."""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING

from .conftest import KEY, Program, write

if TYPE_CHECKING:
    from ac_segment_export.testing import ActiveCampaignEmulator

CSV = "Email,First\nana@example.org,Ana\nbruno@example.org,Bruno\n"


def setup_saved(program: Program) -> None:
    done = program(
        "connection", "add", "Marketing AC", "--host", program.url, "--accept-privacy-terms"
    )
    assert done.code == 0, done.err
    done = program(
        "destination",
        "add",
        "Newsletter",
        "--connection",
        "Marketing AC",
        "--list-id",
        "1",
        "--map",
        "email=Email",
        "--map",
        "first_name=First",
    )
    assert done.code == 0, done.err


def test_connection_add_without_consent_saves_it_and_says_so(program: Program) -> None:
    done = program("connection", "add", "Marketing AC", "--host", program.url)
    assert done.code == 0
    assert "personal data" in done.err
    assert "without consent" in done.err
    listed = json.loads(program("connection", "list", "--json").out)
    (conn,) = listed["connections"]
    assert conn["consent"] is None
    assert conn["api_key_source"] == "env:AC_API_KEY"


def test_a_run_through_a_connection_without_consent_is_refused(
    program: Program, emu: ActiveCampaignEmulator
) -> None:
    program("connection", "add", "Marketing AC", "--host", program.url)
    program(
        "destination",
        "add",
        "Newsletter",
        "--connection",
        "Marketing AC",
        "--list-id",
        "1",
        "--map",
        "email=Email",
    )
    path = write(program.cwd / "segment.csv", CSV)
    done = program("run", "Newsletter", "--input", path)
    assert done.code == 3
    assert "consent" in done.err.lower()
    assert not any(r.path.endswith("/import/bulk_import") for r in emu.requests)


def test_connections_show_verify_remove(program: Program) -> None:
    setup_saved(program)
    shown = json.loads(program("connection", "show", "Marketing AC", "--json").out)
    assert shown["connection"]["host"] == program.url
    assert shown["connection"]["consent"]["accepted_by"] == "ana@contoso.com"
    verified = program("connection", "verify", "Marketing AC")
    assert verified.code == 0, verified.err
    assert "(user #1)" in verified.out
    busy = program("connection", "remove", "Marketing AC")
    assert busy.code == 2
    assert "Newsletter" in busy.err
    assert program("destination", "remove", "Newsletter").code == 0
    assert program("connection", "remove", "Marketing AC").code == 0
    assert json.loads(program("connection", "list", "--json").out)["connections"] == []


def test_the_workspace_never_holds_the_key(program: Program) -> None:
    setup_saved(program)
    path = write(program.cwd / "segment.csv", CSV)
    assert program("run", "Newsletter", "--input", path).code == 0
    raw = (program.cwd / "workspace.db").read_bytes()
    assert KEY.encode() not in raw
    db = sqlite3.connect(program.cwd / "workspace.db")
    try:
        for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            for row in db.execute(f"SELECT * FROM {table}"):
                assert KEY not in repr(row)
    finally:
        db.close()


def test_run_then_an_incremental_second_run(program: Program, emu: ActiveCampaignEmulator) -> None:
    setup_saved(program)
    path = write(program.cwd / "segment.csv", CSV)
    first = program("run", "Newsletter", "--input", path, "--json")
    assert first.code == 0, first.err
    assert json.loads(first.out)["report"]["counts"]["exported"] == 2
    write(program.cwd / "segment.csv", CSV + "chloe@example.org,Chloé\n")
    second = program("run", "Newsletter", "--input", path, "--json")
    assert second.code == 0, second.err
    counts = json.loads(second.out)["report"]["counts"]
    assert counts["unchanged"] == 2
    assert counts["exported"] == 1
    assert len(emu.list_members(1, status=1)) == 3
    full = program("run", "Newsletter", "--input", path, "--full-refresh", "--json")
    assert json.loads(full.out)["report"]["counts"]["exported"] == 3


def test_history_table_json_and_one_run_s_report(program: Program) -> None:
    setup_saved(program)
    path = write(program.cwd / "segment.csv", CSV + "not-an-email,X\n")
    assert program("run", "Newsletter", "--input", path).code == 1
    table = program("history")
    assert table.code == 0
    assert "Newsletter" in table.out
    assert "failed_profiles" in table.out
    assert "ana@contoso.com" in table.out
    runs = json.loads(program("history", "Newsletter", "--json").out)["runs"]
    (run,) = runs
    assert run["counts"]["exported"] == 2
    assert run["counts"]["rejected"] == 1
    report = program("history", "--run", str(run["id"]))
    assert report.code == 0
    assert "rejected" in report.out
    as_json = json.loads(program("history", "--run", str(run["id"]), "--json").out)
    assert as_json["report"]["counts"]["rejected"] == 1


def test_history_of_an_unknown_export_is_an_error(program: Program) -> None:
    setup_saved(program)
    done = program("history", "Nope")
    assert done.code == 2
    assert "Newsletter" in done.err  # the names that are saved


def test_run_with_a_missing_mapped_column_sends_nothing(
    program: Program, emu: ActiveCampaignEmulator
) -> None:
    setup_saved(program)
    path = write(program.cwd / "segment.csv", "Mail,First\nana@example.org,Ana\n")
    before = len(emu.requests)
    done = program("run", "Newsletter", "--input", path)
    assert done.code == 2
    assert "has no column 'Email'" in done.err
    assert len(emu.requests) == before


def test_run_in_the_sandbox_leaves_the_workspace_as_it_was(
    program: Program, emu: ActiveCampaignEmulator
) -> None:
    setup_saved(program)
    path = write(program.cwd / "segment.csv", CSV)
    done = program("run", "Newsletter", "--input", path, "--sandbox", "--json")
    assert done.code == 0, done.err
    payload = json.loads(done.out)
    assert payload["sandbox"] is True
    assert payload["report"]["counts"]["exported"] == 2
    assert emu.list_members(1) == {}  # the real (served) account was not touched
    assert json.loads(program("history", "--json").out)["runs"] == []


def test_a_destination_shows_its_mapping(program: Program) -> None:
    setup_saved(program)
    shown = json.loads(program("destination", "show", "Newsletter", "--json").out)
    assert shown["destination"]["mapping"]["email"] == "Email"
    assert shown["destination"]["mapping"]["first_name"] == "First"
    listed = program("destination", "list")
    assert "Newsletter" in listed.out
    assert "never" in listed.out
