"""``ac-segment-export export``: end to end, as a subprocess against the emulator on loopback."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import pytest

from .conftest import KEY, Program, clean_env, write

if TYPE_CHECKING:
    from pathlib import Path

    from ac_segment_export.testing import ActiveCampaignEmulator

CSV = (
    "Email,First,Tier\n"
    "ana@example.org,Ana,Gold\n"
    "bruno@example.org,Bruno,Silver\n"
    "chloe@example.org,Chloé,Gold\n"
)
MAPS = ("--map", "email=Email", "--map", "first_name=First", "--map", "field:LOYALTY_TIER=Tier")


def export(program: Program, path: str, *extra: str, **env: str) -> tuple[int, str, str]:
    done = program(
        "export", "--input", path, "--list-id", "1", *MAPS, "--accept-privacy-terms", *extra, **env
    )
    return done.code, done.out, done.err


def bulk_requests(emu: ActiveCampaignEmulator) -> int:
    return sum(1 for r in emu.requests if r.path.endswith("/import/bulk_import"))


def test_an_upsert_export_of_a_csv_file(program: Program, emu: ActiveCampaignEmulator) -> None:
    path = write(program.cwd / "segment.csv", CSV)
    code, out, err = export(program, path, "--tag", "cli")
    assert code == 0, err
    assert "exported" in out
    assert "3" in out
    members = emu.list_members(1, status=1)
    assert set(members) == {"ana@example.org", "bruno@example.org", "chloe@example.org"}
    ana = next(c for c in emu.contacts if c.email == "ana@example.org")
    assert ana.first_name == "Ana"
    assert "cli" in ana.tags
    assert "Gold" in ana.fields.values()


def test_mirror_unsubscribes_members_not_in_the_file(
    program: Program, emu: ActiveCampaignEmulator
) -> None:
    for i in range(6):
        emu.add_contact(f"old{i}@example.org", lists={1: 1})
    emu.add_contact("ana@example.org", lists={1: 1})
    path = write(program.cwd / "segment.csv", CSV)
    code, _, err = export(program, path, "--mode", "mirror")
    assert code == 4  # 6 of 9 is more than the default fraction: nobody is unsubscribed
    assert "--max-unsubscribe-fraction" in err
    assert len(emu.list_members(1, status=1)) == 9
    code, _, err = export(program, path, "--mode", "mirror", "--max-unsubscribe-fraction", "0.7")
    assert code == 0, err
    active = set(emu.list_members(1, status=1))
    assert active == {"ana@example.org", "bruno@example.org", "chloe@example.org"}


def test_a_dry_run_writes_nothing(program: Program, emu: ActiveCampaignEmulator) -> None:
    path = write(program.cwd / "segment.csv", CSV)
    code, out, err = export(program, path, "--dry-run")
    assert code == 0, err
    assert "would export" in out
    assert emu.list_members(1) == {}
    assert bulk_requests(emu) == 0


def test_the_report_file_and_json_output(program: Program, emu: ActiveCampaignEmulator) -> None:
    path = write(program.cwd / "segment.csv", CSV + "not-an-email,Dan,Gold\n")
    report_path = program.cwd / "out" / "report.json"
    report_path.parent.mkdir()
    code, out, _ = export(program, path, "--report", str(report_path), "--json")
    assert code == 1  # one profile rejected
    payload = json.loads(out)
    assert payload["ok"] is False
    assert payload["exit_code"] == 1
    assert payload["status"] == "failed_profiles"
    assert payload["report"]["counts"]["exported"] == 3
    assert payload["report"]["counts"]["rejected"] == 1
    saved = json.loads(report_path.read_text(encoding="utf-8"))
    assert saved["counts"] == payload["report"]["counts"]
    assert KEY not in report_path.read_text(encoding="utf-8")


def test_without_consent_it_prints_the_terms_and_sends_nothing(
    program: Program, emu: ActiveCampaignEmulator
) -> None:
    path = write(program.cwd / "segment.csv", CSV)
    done = program("export", "--input", path, "--list-id", "1", *MAPS)
    assert done.code == 3
    assert "personal data" in done.err
    assert "--accept-privacy-terms" in done.err
    assert emu.requests == []


def test_the_key_is_never_an_option(program: Program) -> None:
    done = program("export", "--api-key", KEY, "--list-id", "1")
    assert done.code == 2
    assert "No such option" in done.err


def test_a_missing_key_is_a_usage_error(program: Program, emu: ActiveCampaignEmulator) -> None:
    path = write(program.cwd / "segment.csv", CSV)
    code, _, err = export(program, path, AC_API_KEY="")
    assert code == 2
    assert "set AC_API_KEY" in err
    code, _, err = export(program, path, "--api-key-env", "MY_AC_KEY")
    assert code == 2
    assert "set MY_AC_KEY" in err
    code, _, err = export(program, path, "--api-key-env", "MY_AC_KEY", MY_AC_KEY=KEY)
    assert code == 0, err
    assert emu.requests  # only the last one sent anything


def test_a_refused_key_aborts(program: Program, emu: ActiveCampaignEmulator) -> None:
    path = write(program.cwd / "segment.csv", CSV)
    code, _, err = export(program, path, AC_API_KEY="a-wrong-key")
    assert code == 4
    assert err.startswith("error:")
    assert "Traceback" not in err
    assert bulk_requests(emu) == 0


def test_profiles_that_fail_make_exit_code_1(program: Program) -> None:
    path = write(program.cwd / "segment.csv", CSV + "dan.example.org,Dan,Gold\n")
    code, out, err = export(program, path)
    assert code == 1
    assert "rejected" in out
    assert "is not a valid" in out or "not a valid" in out
    assert "--report" in err


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "No such file"),
        ("", "is empty"),
        ("Email,First\nana@example.org,Ana\n", "has no column 'Tier'"),
        (b"Email,First,Tier\nana@example.org,\xe9ric,Gold\n", "is not utf-8 text"),
        (b"\x00\x01\x02PK\x03\x04binary", "NUL bytes"),
    ],
)
def test_bad_files_are_one_clear_line_and_send_nothing(
    program: Program, emu: ActiveCampaignEmulator, content: str | bytes | None, expected: str
) -> None:
    path = program.cwd / "segment.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    code, _, err = export(program, str(path))
    assert code == 2
    assert expected in err
    assert err.count("\n") == 1, err
    assert emu.requests == []


def test_a_missing_column_names_the_columns_the_file_has(program: Program) -> None:
    path = write(program.cwd / "segment.csv", "E-mail,First,Tier\nana@example.org,Ana,Gold\n")
    code, _, err = export(program, path)
    assert code == 2
    assert "has no column 'Email'" in err
    assert "E-mail, First, Tier" in err
    assert "Did you mean 'E-mail'?" in err


def test_a_latin1_file_reads_with_its_encoding(
    program: Program, emu: ActiveCampaignEmulator
) -> None:
    path = program.cwd / "segment.csv"
    path.write_bytes("Email,First,Tier\neric@example.org,Éric,Gold\n".encode("latin-1"))
    code, _, err = export(program, str(path), "--encoding", "latin-1")
    assert code == 0, err
    (contact,) = emu.contacts
    assert contact.first_name == "Éric"


def test_malformed_csv_lines_are_rejected_with_their_line_number(
    program: Program, emu: ActiveCampaignEmulator
) -> None:
    text = CSV + "dan@example.org,Dan,Gold,extra\n" + 'eve@example.org,"Eve,Gold\n'
    path = write(program.cwd / "segment.csv", text)
    report_path = program.cwd / "report.json"
    code, _, _ = export(program, path, "--report", str(report_path))
    assert code == 1
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert report["counts"]["exported"] == 3
    assert report["counts"]["rejected"] == 2
    reasons = sorted(o["reason"] for o in report["outcomes"])
    assert reasons[0] == "line 5: 4 fields, the header has 3"
    assert reasons[1].startswith("line 6: ")
    assert len(emu.list_members(1)) == 3


def test_json_lines_with_a_bad_line(program: Program, emu: ActiveCampaignEmulator) -> None:
    lines = [
        json.dumps({"Email": "ana@example.org", "First": "Ana", "Tier": "Gold"}),
        "{not json",
        "[1, 2]",
        json.dumps({"Email": "bruno@example.org", "First": "Bruno", "Tier": "Silver"}),
    ]
    path = write(program.cwd / "segment.jsonl", "\n".join(lines) + "\n")
    report_path = program.cwd / "report.json"
    code, _, _ = export(program, path, "--report", str(report_path))
    assert code == 1
    report = json.loads(report_path.read_text(encoding="utf-8"))
    reasons = sorted(o["reason"] for o in report["outcomes"])
    assert reasons[0].startswith("line 2: not JSON")
    assert reasons[1] == "line 3: a list, not an object"
    assert set(emu.list_members(1)) == {"ana@example.org", "bruno@example.org"}


def test_standard_input(program: Program, emu: ActiveCampaignEmulator) -> None:
    done = program(
        "export", "--input", "-", "--list-id", "1", *MAPS, "--accept-privacy-terms", stdin=CSV
    )
    assert done.code == 0, done.err
    assert len(emu.list_members(1)) == 3


def test_parquet(program: Program, emu: ActiveCampaignEmulator) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "Email": ["ana@example.org", "bruno@example.org"],
            "First": ["Ana", None],
            "Tier": ["Gold", "Silver"],
        }
    )
    path = program.cwd / "segment.parquet"
    pq.write_table(table, path)
    code, _, err = export(program, str(path))
    assert code == 0, err
    assert set(emu.list_members(1)) == {"ana@example.org", "bruno@example.org"}


def test_a_duckdb_query_over_a_file(program: Program, emu: ActiveCampaignEmulator) -> None:
    write(program.cwd / "customers.csv", CSV)
    done = program(
        "export",
        "--sql",
        "SELECT * FROM 'customers.csv' WHERE Tier = 'Gold'",
        "--list-id",
        "1",
        *MAPS,
        "--accept-privacy-terms",
    )
    assert done.code == 0, done.err
    assert set(emu.list_members(1)) == {"ana@example.org", "chloe@example.org"}


def test_a_failing_query_is_a_usage_error(program: Program, emu: ActiveCampaignEmulator) -> None:
    done = program(
        "export",
        "--sql",
        "SELECT * FROM 'nowhere.csv'",
        "--list-id",
        "1",
        *MAPS,
        "--accept-privacy-terms",
    )
    assert done.code == 2
    assert done.err.startswith("error: The query failed")
    assert emu.requests == []


@pytest.mark.parametrize(
    ("maps", "expected"),
    [
        (("--map", "email"), "expected TARGET=COLUMN"),
        (("--map", "nickname=First"), "unknown target 'nickname'"),
        (("--map", "email=Email", "--map", "email=First"), "email is mapped twice"),
        (("--map", 'field:"Loyalty tier=Tier'), "closing quote"),
    ],
)
def test_bad_maps(program: Program, maps: tuple[str, ...], expected: str) -> None:
    path = write(program.cwd / "segment.csv", CSV)
    done = program("export", "--input", path, "--list-id", "1", *maps, "--accept-privacy-terms")
    assert done.code == 2
    assert expected in done.err


def test_a_field_by_its_quoted_title(program: Program, emu: ActiveCampaignEmulator) -> None:
    path = write(program.cwd / "segment.csv", CSV)
    done = program(
        "export",
        "--input",
        path,
        "--list-id",
        "1",
        "--map",
        "email=Email",
        "--map",
        'field:"Loyalty tier"=Tier',
        "--accept-privacy-terms",
    )
    assert done.code == 0, done.err
    assert sorted(v for c in emu.contacts for v in c.fields.values()) == [
        "Gold",
        "Gold",
        "Silver",
    ]


def test_ctrl_c_aborts_with_a_balanced_report(tmp_path: Path) -> None:
    """SIGINT mid-export: exit code 4, and a report that accounts for every profile read."""
    from ac_segment_export.testing import ActiveCampaignEmulator

    emu = ActiveCampaignEmulator(api_key=KEY, time_scale=1.0)
    emu.add_list("Customers")
    rows = "".join(f"p{i}@example.org\n" for i in range(5000))
    path = write(tmp_path / "big.csv", "email\n" + rows)
    report_path = tmp_path / "report.json"
    with emu.serve() as url:
        env = {**clean_env(), "AC_API_KEY": KEY, "AC_API_URL": url}
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ac_segment_export",
                "export",
                "--input",
                path,
                "--list-id",
                "1",
                "--accept-privacy-terms",
                "--report",
                str(report_path),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(
            r.path.endswith("/import/bulk_import") for r in emu.requests
        ):
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=90)
    assert proc.returncode == 4, err
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert sum(report["counts"].values()) == report["input"]
    assert "interrupted" in err.decode()
    assert b"Traceback" not in err


def test_the_shipped_sample_into_the_sandbox(tmp_path: Path) -> None:
    """The README's main command: no account, no file, a few seconds."""
    started = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ac_segment_export",
            "export",
            "--sandbox",
            "--accept-privacy-terms",
        ],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 10
    assert "exported" in done.stdout
    assert "978" in done.stdout
    assert "The sandbox list 1 now has 978 active members." in done.stdout


def test_the_sandbox_creates_the_list_and_the_mapped_fields(tmp_path: Path) -> None:
    path = write(tmp_path / "segment.csv", CSV)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ac_segment_export",
            "export",
            "--sandbox",
            "--input",
            path,
            "--list-id",
            "3",
            *MAPS,
            "--accept-privacy-terms",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["sandbox"] is True
    assert payload["report"]["counts"]["exported"] == 3


def test_debug_logs_hold_no_key(program: Program) -> None:
    path = write(program.cwd / "segment.csv", CSV)
    done = program(
        "--debug", "export", "--input", path, "--list-id", "1", *MAPS, "--accept-privacy-terms"
    )
    assert done.code == 0, done.err
    assert "DEBUG" in done.err  # the Program fixture asserts the key is in neither stream


def test_progress_lines_when_not_a_terminal_and_none_with_no_progress(program: Program) -> None:
    path = write(program.cwd / "segment.csv", CSV)
    code, _, err = export(program, path)
    assert code == 0
    assert "progress: read 3 of ~3" in err
    code, _, err = export(program, path, "--no-progress")
    assert code == 0
    assert "progress:" not in err


def test_a_live_bar_on_a_terminal(program: Program) -> None:
    import os
    import pty

    path = write(program.cwd / "segment.csv", CSV)
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ac_segment_export",
                "export",
                "--input",
                path,
                "--list-id",
                "1",
                *MAPS,
                "--accept-privacy-terms",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=slave,
            env={**program.env, "TERM": "xterm-256color"},
            cwd=program.cwd,
        )
        os.close(slave)
        chunks = []
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert proc.wait(timeout=60) == 0
    finally:
        os.close(master)
    screen = b"".join(chunks).decode("utf-8", "replace")
    assert "exporting" in screen
    assert "exported 3" in screen
    assert "3/3" in screen


def test_max_profiles_sends_the_first_n(program: Program, emu: ActiveCampaignEmulator) -> None:
    path = write(program.cwd / "segment.csv", CSV)
    code, out, _ = export(program, path, "--max-profiles", "2")
    assert code == 1
    assert "--max-profiles (2) reached" in out
    assert set(emu.list_members(1)) == {"ana@example.org", "bruno@example.org"}


def test_json_usage_errors_are_objects_too(program: Program) -> None:
    done = program(
        "export", "--input", "missing.csv", "--list-id", "1", "--accept-privacy-terms", "--json"
    )
    assert done.code == 2
    payload = json.loads(done.out)
    assert payload == {
        "ok": False,
        "exit_code": 2,
        "error": {"type": "InputError", "message": "No such file: 'missing.csv'."},
    }


def test_a_query_over_an_attached_duckdb_database(
    program: Program, emu: ActiveCampaignEmulator
) -> None:
    import duckdb

    db = program.cwd / "crm.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE vip AS SELECT 'ana@example.org' AS Email, 'Ana' AS First")
    con.close()
    done = program(
        "export",
        "--sql",
        "SELECT * FROM crm.vip",
        "--attach",
        f"crm={db}",
        "--list-id",
        "1",
        "--map",
        "email=Email",
        "--map",
        "first_name=First",
        "--accept-privacy-terms",
    )
    assert done.code == 0, done.err
    assert set(emu.list_members(1)) == {"ana@example.org"}
    missing = program(
        "export",
        "--sql",
        "SELECT 1",
        "--attach",
        "nowhere.sqlite",
        "--list-id",
        "1",
        "--accept-privacy-terms",
    )
    assert missing.code == 2
    assert "no such database file 'nowhere.sqlite'" in missing.err


def test_a_quote_left_open_costs_one_profile_not_the_rest_of_the_file(
    program: Program, emu: ActiveCampaignEmulator
) -> None:
    text = (
        "Email,First,Tier\n"
        'ana@example.org,"Ana,Gold\n'  # the quote is never closed
        "bruno@example.org,Bruno,Silver\n"
        'chloe@example.org,"Chloé\nde la Tour",Gold\n'  # a quoted field on two lines: fine
    )
    path = write(program.cwd / "segment.csv", text)
    report_path = program.cwd / "report.json"
    code, _, _ = export(program, path, "--report", str(report_path))
    assert code == 1
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert report["counts"] == {**report["counts"], "exported": 2, "rejected": 1}
    (bad,) = report["outcomes"]
    assert bad["reason"].startswith("line 2: ")
    assert "quote left open" in bad["reason"]
    assert set(emu.list_members(1)) == {"bruno@example.org", "chloe@example.org"}
    chloe = next(c for c in emu.contacts if c.email == "chloe@example.org")
    assert chloe.first_name == "Chloé\nde la Tour"
