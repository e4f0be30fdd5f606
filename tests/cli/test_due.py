"""``run --due`` with a fake clock (``--now``): due, not due, a DST change, a busy export."""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

import ac_segment_export as acx

from .conftest import KEY, Program, write

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ac_segment_export.testing import ActiveCampaignEmulator

CSV = "Email,First\nana@example.org,Ana\nbruno@example.org,Bruno\n"


def schedule(program: Program, name: str, cron: str, zone: str, csv: str = CSV) -> None:
    if program("connection", "list", "--json").out.count('"name"') == 0:
        done = program("connection", "add", "AC", "--host", program.url, "--accept-privacy-terms")
        assert done.code == 0, done.err
    path = write(program.cwd / f"{name}.csv", csv)
    done = program(
        "destination",
        "add",
        name,
        "--connection",
        "AC",
        "--list-id",
        "1",
        "--map",
        "email=Email",
        "--map",
        "first_name=First",
        "--input",
        path,
        "--schedule",
        cron,
        "--timezone",
        zone,
    )
    assert done.code == 0, done.err


def due(program: Program, now: str) -> tuple[int, dict[str, Any]]:
    done = program("run", "--due", "--now", now, "--json")
    return done.code, json.loads(done.out)


def test_due_then_not_due_then_due_again(program: Program, emu: ActiveCampaignEmulator) -> None:
    schedule(program, "Morning", "0 6 * * *", "Europe/Rome")
    # Saved today: every 06:00 since then has passed by this (future) now — one run for all.
    code, out = due(program, "2027-01-05T04:30:00+00:00")  # 05:30 in Rome
    assert code == 0
    (run,) = out["runs"]
    assert run["outcome"] == "succeeded"
    assert run["fire_time"] == "2027-01-04T05:00:00+00:00"  # the latest 06:00 Rome
    assert run["counts"]["exported"] == 2
    assert due(program, "2027-01-05T04:59:00+00:00")[1]["runs"] == []
    table = program("run", "--due", "--now", "2027-01-05T04:59:00+00:00")
    assert table.code == 0
    assert "Nothing is due." in table.out
    code, out = due(program, "2027-01-05T05:00:00+00:00")  # 06:00 in Rome
    (run,) = out["runs"]
    assert run["counts"]["unchanged"] == 2  # incremental: nothing changed since
    history = json.loads(program("history", "Morning", "--json").out)["runs"]
    assert [r["status"] for r in history] == ["succeeded", "succeeded"]
    assert len(emu.list_members(1)) == 2


def test_the_fall_back_hour_runs_once(program: Program) -> None:
    # New York, 2027-11-07: 01:30 happens at 05:30 UTC (EDT) and again at 06:30 UTC (EST).
    schedule(program, "Night", "30 1 * * *", "America/New_York")
    code, out = due(program, "2027-11-07T05:31:00+00:00")
    assert code == 0
    assert [r["fire_time"] for r in out["runs"]] == ["2027-11-07T05:30:00+00:00"]
    assert due(program, "2027-11-07T06:31:00+00:00")[1]["runs"] == []  # not the second 01:30
    code, out = due(program, "2027-11-08T06:31:00+00:00")
    assert [r["fire_time"] for r in out["runs"]] == ["2027-11-08T06:30:00+00:00"]


def test_a_failed_run_makes_the_exit_status_non_zero(program: Program) -> None:
    schedule(program, "Good", "0 * * * *", "UTC")
    schedule(program, "Bad", "0 * * * *", "UTC", csv=CSV + "not-an-email,X\n")
    code, out = due(program, "2027-01-01T00:00:00+00:00")
    assert code == 1
    outcomes = {r["export"]: r["outcome"] for r in out["runs"]}
    assert outcomes == {"Good": "succeeded", "Bad": "failed_profiles"}
    assert out["ok"] is False


def test_a_missing_source_file_is_a_source_error(program: Program) -> None:
    schedule(program, "Gone", "0 * * * *", "UTC")
    (program.cwd / "Gone.csv").unlink()
    code, out = due(program, "2027-01-01T00:00:00+00:00")
    assert code == 2
    (run,) = out["runs"]
    assert run["outcome"] == "source_error"
    assert "No such file" in run["error"]


def test_a_schedule_needs_a_saved_source(program: Program) -> None:
    program("connection", "add", "AC", "--host", program.url, "--accept-privacy-terms")
    done = program(
        "destination",
        "add",
        "X",
        "--connection",
        "AC",
        "--list-id",
        "1",
        "--map",
        "email=Email",
        "--schedule",
        "0 6 * * *",
    )
    assert done.code == 2
    assert "no source" in done.err


def test_a_bad_cron_or_zone_is_refused(program: Program) -> None:
    program("connection", "add", "AC", "--host", program.url, "--accept-privacy-terms")
    path = write(program.cwd / "s.csv", CSV)
    base = (
        "destination",
        "add",
        "X",
        "--connection",
        "AC",
        "--list-id",
        "1",
        "--map",
        "email=Email",
        "--input",
        path,
    )
    bad_cron = program(*base, "--schedule", "0 25 * * *")
    assert bad_cron.code == 2
    assert "hour 25 is out of range" in bad_cron.err
    bad_zone = program(*base, "--schedule", "0 6 * * *", "--timezone", "Mars/Olympus")
    assert bad_zone.code == 2
    assert "Mars/Olympus" in bad_zone.err


def test_now_must_name_one_moment(program: Program) -> None:
    done = program("run", "--due", "--now", "2027-01-01T06:00:00")
    assert done.code == 2
    assert "UTC offset" in done.err


def test_an_export_already_running_is_busy_not_run_twice(
    program: Program, emu: ActiveCampaignEmulator
) -> None:
    schedule(program, "Busy", "0 * * * *", "UTC")
    release = threading.Event()
    started = threading.Event()

    def blocking() -> Iterator[dict[str, str]]:
        started.set()
        release.wait(60)
        yield {"Email": "held@example.org", "First": "Held"}

    ws = acx.Workspace(program.cwd / "workspace.db", environ={"AC_API_KEY": KEY})
    errors: list[BaseException] = []

    def hold() -> None:
        try:
            ws.run("Busy", blocking())
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert started.wait(30)
        code, out = due(program, "2027-01-01T00:00:00+00:00")
        assert code == 0  # busy is not a failure
        (run,) = out["runs"]
        assert run["outcome"] == "busy"
        assert run["run_id"] is None
    finally:
        release.set()
        thread.join(60)
        ws.close()
    assert errors == []
    code, out = due(program, "2027-01-01T00:00:00+00:00")  # still due once the lease is free
    assert code == 0
    assert [r["outcome"] for r in out["runs"]] == ["succeeded"]
    history = json.loads(program("history", "Busy", "--json").out)["runs"]
    assert len(history) == 2
