"""Schedule fire times (croniter, in the schedule's zone): DST right, UTC out, aware in."""

from __future__ import annotations

import datetime as dt
import itertools
import subprocess
import sys
import zoneinfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ac_segment_export import ConfigurationError, SavedSource, Schedule

UTC = dt.timezone.utc
NY = zoneinfo.ZoneInfo("America/New_York")
ROME = zoneinfo.ZoneInfo("Europe/Rome")


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def fires(schedule: Schedule, after: dt.datetime, until: dt.datetime) -> list[dt.datetime]:
    out: list[dt.datetime] = []
    at: dt.datetime | None = after
    while True:
        at = schedule.next_fire(at) if at is not None else None
        if at is None or at > until:
            return out
        out.append(at)


def test_fire_times_are_read_in_the_zone_and_returned_in_utc() -> None:
    weekdays = Schedule("0 6 * * mon-fri", "Europe/Rome")
    friday_late = dt.datetime(2026, 1, 9, 7, 0, tzinfo=ROME)
    monday = weekdays.next_fire(friday_late)
    assert monday == utc(2026, 1, 12, 5, 0)  # 06:00 CET
    assert monday is not None
    assert monday.tzinfo is UTC
    summer = weekdays.next_fire(utc(2026, 7, 1, 12, 0))
    assert summer == utc(2026, 7, 2, 4, 0)  # 06:00 CEST
    assert weekdays.last_fire(monday) == monday  # at or before: inclusive
    assert weekdays.last_fire(monday - dt.timedelta(seconds=1)) == utc(2026, 1, 9, 5, 0)
    assert weekdays.next_fire(monday) == utc(2026, 1, 13, 5, 0)  # after: strict


def test_spring_forward_a_skipped_time_fires_once_right_after_the_gap() -> None:
    # 2026-03-08, New York: 02:00 EST becomes 03:00 EDT; 02:30 does not exist that day.
    # croniter moves it to the first instant after the gap (03:00 EDT): kept, pinned here.
    schedule = Schedule("30 2 * * *", "America/New_York")
    got = fires(schedule, utc(2026, 3, 6, 12, 0), utc(2026, 3, 10, 12, 0))
    local = [t.astimezone(NY).strftime("%m-%d %H:%M %Z") for t in got]
    assert local == ["03-07 02:30 EST", "03-08 03:00 EDT", "03-09 02:30 EDT", "03-10 02:30 EDT"]
    assert schedule.last_fire(utc(2026, 3, 8, 12, 0)) == utc(2026, 3, 8, 7, 0)
    # every hour at :30 just goes on in the new hour: no extra run at 03:00
    hourly = Schedule("30 * * * *", "America/New_York")
    got = fires(hourly, utc(2026, 3, 8, 5, 0), utc(2026, 3, 8, 8, 0))
    local = [t.astimezone(NY).strftime("%H:%M %Z") for t in got]
    assert local == ["00:30 EST", "01:30 EST", "03:30 EDT"]


def test_spring_forward_in_rome() -> None:
    # 2026-03-29: 02:00 CET becomes 03:00 CEST.
    schedule = Schedule("30 2 * * *", "Europe/Rome")
    got = fires(schedule, utc(2026, 3, 28, 12, 0), utc(2026, 3, 30, 12, 0))
    assert got == [utc(2026, 3, 29, 1, 0), utc(2026, 3, 30, 0, 30)]  # 03:00 CEST, 02:30 CEST


def test_fall_back_a_repeated_time_fires_once_at_its_first_showing() -> None:
    # 2026-11-01, New York: 02:00 EDT becomes 01:00 EST; 01:30 happens twice.
    schedule = Schedule("30 1 * * *", "America/New_York")
    got = fires(schedule, utc(2026, 10, 31, 12, 0), utc(2026, 11, 2, 12, 0))
    assert got == [utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)]  # 01:30 EDT, then EST
    # the second 01:30 (EST, 06:30 UTC) is no fire time: the last one is still the first
    assert schedule.last_fire(utc(2026, 11, 1, 6, 45)) == utc(2026, 11, 1, 5, 30)
    # from inside the repeated hour, the next is the next day's
    assert schedule.next_fire(utc(2026, 11, 1, 5, 45)) == utc(2026, 11, 2, 6, 30)


def test_fall_back_in_rome() -> None:
    # 2026-10-25: 03:00 CEST becomes 02:00 CET; 02:30 happens twice.
    schedule = Schedule("30 2 * * *", "Europe/Rome")
    got = fires(schedule, utc(2026, 10, 24, 12, 0), utc(2026, 10, 26, 12, 0))
    assert got == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]


def test_an_interval_keeps_its_pace_through_the_repeated_hour() -> None:
    hourly = Schedule("0 * * * *", "America/New_York")
    got = fires(hourly, utc(2026, 11, 1, 4, 30), utc(2026, 11, 1, 8, 0))
    assert got == [utc(2026, 11, 1, h, 0) for h in (5, 6, 7, 8)]  # 01:00 EDT, 01:00 EST, ...
    quarter = Schedule("*/15 * * * *", "America/New_York")
    got = fires(quarter, utc(2026, 11, 1, 5, 0), utc(2026, 11, 1, 7, 0))
    assert [b - a for a, b in itertools.pairwise(got)] == [dt.timedelta(minutes=15)] * 7
    assert len(got) == 8


ZONES = ["America/New_York", "Europe/Rome", "UTC", "Australia/Sydney"]
CRONS = ["30 2 * * *", "30 1 * * *", "0 * * * *", "*/20 * * * *", "0,30 1-3 * * *", "0 6 * * 1-5"]


@given(
    cron=st.sampled_from(CRONS),
    zone=st.sampled_from(ZONES),
    instant=st.datetimes(
        min_value=dt.datetime(2026, 1, 1),
        max_value=dt.datetime(2027, 12, 31),
        timezones=st.just(UTC),
    ),
)
def test_next_and_last_agree_everywhere(cron: str, zone: str, instant: dt.datetime) -> None:
    schedule = Schedule(cron, zone)
    last = schedule.last_fire(instant)
    following = schedule.next_fire(instant)
    assert last is not None
    assert following is not None
    assert last <= instant < following
    assert schedule.next_fire(last) == following  # nothing fires in (last, instant]
    assert schedule.last_fire(following) == following
    assert schedule.last_fire(following - dt.timedelta(seconds=1)) == last
    if "*" not in cron.split()[1]:  # a fixed time never fires twice on one wall clock
        wall = ROME if zone == "Europe/Rome" else zoneinfo.ZoneInfo(zone)
        assert last.astimezone(wall).replace(tzinfo=None) != following.astimezone(wall).replace(
            tzinfo=None
        )


def test_naive_or_wrong_times_are_refused() -> None:
    schedule = Schedule("@daily")
    with pytest.raises(ConfigurationError, match="aware datetime"):
        schedule.next_fire(dt.datetime(2026, 1, 1))
    with pytest.raises(ConfigurationError, match="aware datetime"):
        schedule.last_fire(dt.datetime(2026, 1, 1))
    with pytest.raises(ConfigurationError, match="not str"):
        schedule.next_fire("2026-01-01")  # type: ignore[arg-type]


def test_an_expression_that_never_fires_has_no_fire_time() -> None:
    never = Schedule("0 0 30 2 *")  # February 30th
    assert never.next_fire(utc(2026, 1, 1)) is None
    assert never.last_fire(utc(2026, 1, 1)) is None


def test_croniter_is_imported_only_to_evaluate_and_its_absence_says_what_to_install() -> None:
    script = """
import sys, datetime as dt
import ac_segment_export as acx
s = acx.Schedule("0 6 * * *", "Europe/Rome")
assert "croniter" not in sys.modules, "imported eagerly"
sys.modules["croniter"] = None  # as if it were not installed
try:
    s.next_fire(dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
except acx.ConfigurationError as exc:
    print(exc)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert "pip install 'ac-segment-export[schedule]'" in done.stdout


def test_saved_sources_are_a_file_or_a_query() -> None:
    csv = SavedSource(input="/data/vip.csv", delimiter=";")
    assert csv.kind == "file"
    assert SavedSource.from_dict(csv.to_dict()) == csv
    assert csv.to_dict() == {"input": "/data/vip.csv", "delimiter": ";"}
    query = SavedSource(sql="SELECT * FROM 'vip.parquet'", database="/data/crm.duckdb")
    assert query.kind == "query"
    assert SavedSource.from_dict(query.to_dict()) == query
    assert SavedSource(input="x.data", format="JSONL").format == "jsonl"
    for bad, match in [
        ({}, "exactly one"),
        ({"input": "a.csv", "sql": "SELECT 1"}, "exactly one"),
        ({"input": "-"}, "standard input"),
        ({"input": "   "}, "non-empty"),
        ({"input": "a.csv", "format": "xlsx"}, "csv, jsonl, parquet"),
        ({"sql": "SELECT 1", "format": "csv"}, "no format"),
        ({"input": "a.csv", "database": "x.duckdb"}, "goes with sql"),
        ({"input": "a.parquet", "format": "parquet", "delimiter": ","}, "for CSV"),
        ({"input": "a.csv", "encoding": "klingon-8"}, "Unknown encoding"),
        ({"input": "a.csv", "delimiter": ",,"}, "one character"),
    ]:
        with pytest.raises(ConfigurationError, match=match):
            SavedSource(**bad)
    with pytest.raises(ConfigurationError, match="keys among"):
        SavedSource.from_dict({"path": "a.csv"})
