"""What a person reads of a run: dry-run wording, reasons, frames, rates, the export user.

Each test drives a real export into the emulator (through its transport) unless it is about
the report's rendering alone. The HTML as a browser shows it is tested in
``test_report_browser.py``.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from typing import TYPE_CHECKING, Any

import pandas as pd
import polars as pl
import pytest

import ac_segment_export as acx
from ac_segment_export import ExportReport, OutcomeStatus, RecordOutcome

from .conftest import TIME_SCALE, fast, make_client, profile

if TYPE_CHECKING:
    from ac_segment_export.testing import ActiveCampaignEmulator

S = OutcomeStatus


def run(
    destination: acx.ExportDestination,
    client: acx.Client,
    rows: Any,
    **kwargs: Any,
) -> ExportReport:
    options = kwargs.pop("options", fast())
    return acx.Exporter(destination, client=client, options=options, **kwargs).run(rows)


# -- a dry run never reads as an export ------------------------------------------------------------


def test_a_dry_run_never_says_exported(
    destination: acx.ExportDestination, client: acx.Client, emu: ActiveCampaignEmulator
) -> None:
    """Before: ``repr`` said ``exported=30`` and the HTML ``exported 30`` for a dry run."""
    report = run(destination, client, [profile(i) for i in range(30)], options=fast(dry_run=True))
    assert report.counts["exported"] == 30  # the count keeps its key: profiles that would go
    assert emu.list_members(1) == {}  # nothing was written
    text = repr(report)
    assert "dry_run=True" in text
    assert "would_export=30" in text
    assert "exported=30" not in text.replace("would_export=30", "")
    summary = report.summary()
    assert "(dry run: nothing was written)" in summary.splitlines()[0]
    assert "input 30 = would_export 30 + rejected 0" in summary
    assert not re.search(r"(?<!would_)exported \d", summary)
    assert "profiles checked/s, real time" in summary
    page = report._repr_html_()
    assert "DRY RUN: nothing written" in page
    assert "would export <strong>30</strong>" in page
    assert not re.search(r"(?<!would )export(ed)? <strong>", page)
    assert "data-dry-run='true'" in page
    assert "Every profile would be exported." in page


def test_a_real_run_says_exported(destination: acx.ExportDestination, client: acx.Client) -> None:
    report = run(destination, client, [profile(i) for i in range(3)])
    assert "exported=3" in repr(report)
    assert "dry_run" not in repr(report)
    assert "input 3 = exported 3" in report.summary()
    page = report._repr_html_()
    assert "exported <strong>3</strong>" in page
    assert "DRY RUN" not in page
    assert "Every profile was exported." in page


# -- rejected profiles keep their email ------------------------------------------------------------


def test_a_profile_rejected_for_a_bad_value_keeps_its_email(
    emu: ActiveCampaignEmulator, connection: acx.Connection, client: acx.Client
) -> None:
    """Before: a bad field value gave the outcome ``email=None``."""
    emu.add_field("Birthday", type="date", perstag="BIRTHDAY")
    mapping = acx.FieldMapping(email="email", fields={"BIRTHDAY": "birthday"})
    dest = acx.ExportDestination(connection, "VIP", 1, mapping)
    rows = [
        {"email": "ok@example.com", "birthday": "1990-01-31"},
        {"email": " Ana@Example.COM ", "birthday": "next tuesday"},
        {"email": "not-an-email", "birthday": "1990-01-31"},
    ]
    report = run(dest, client, rows)
    assert report.exported == 1
    by_position = {o.position: o for o in report.outcomes}
    assert by_position[1].status is S.REJECTED
    assert by_position[1].field == "Birthday"
    assert by_position[1].email == "Ana@example.com"  # normalised, as exported ones are
    assert by_position[2].email == "not-an-email"  # rejected for its email: as read
    assert sorted(by_position) == [1, 2]  # positions count from 0: the first row is 0


# -- reasons: one line a reason, with a count ------------------------------------------------------


def test_a_thousand_rejections_for_one_reason_are_one_reason(
    destination: acx.ExportDestination, client: acx.Client
) -> None:
    rows = [{**profile(i), "email": f"user{i}.example.com"} for i in range(1000)]
    rows += [profile(i) for i in range(5)]
    rows += [profile(0), profile(1)]  # two duplicates
    report = run(destination, client, rows)
    reasons = report.reasons()
    assert reasons == {
        "email '…' is not a valid address (it must contain exactly one @)": 1000,
        "an earlier profile has the same email": 2,
    }
    assert sum(reasons.values()) == report.input_count - report.exported
    page = report._repr_html_()
    assert page.count("class='acx-reason'") == 2
    assert "<strong>1,000</strong>" in page
    assert page.count("class='acx-sample'") == 3 + 2  # a few samples a reason, not 1,000
    assert "user0.example.com" in page
    assert "user999.example.com" not in page


def test_reasons_keep_the_names_of_fields_and_count_profiles_never_read(
    emu: ActiveCampaignEmulator, connection: acx.Connection, client: acx.Client
) -> None:
    emu.add_field("Birthday", type="date", perstag="BIRTHDAY")
    mapping = acx.FieldMapping(email="email", fields={"BIRTHDAY": "dob"})
    dest = acx.ExportDestination(connection, "VIP", 1, mapping)

    def rows() -> Any:
        for i in range(30):
            yield {"email": f"u{i}@example.com", "dob": "soon" if i % 3 == 0 else "2000-01-01"}

    report = run(dest, client, rows(), options=fast(max_profiles=20))
    reasons = report.reasons()
    field_reason = next(r for r in reasons if r.startswith("field 'Birthday' (attribute 'dob')"))
    assert reasons[field_reason] == 7  # 0, 3, ..., 18
    assert "'soon'" not in field_reason
    assert reasons["not read from the source: the run stopped before reaching them"] == 1
    assert sum(reasons.values()) == report.input_count - report.exported
    page = report._repr_html_()
    assert "stop reason" in page
    assert "max_profiles (20) reached" in page
    assert "stopped early" in page


# -- frames ----------------------------------------------------------------------------------------


def test_to_pandas_and_to_polars_hold_the_outcomes(
    destination: acx.ExportDestination, client: acx.Client
) -> None:
    rows = [profile(0), {"email": "bad"}, profile(0), {"email": "b@example.com", "phone": {"x": 1}}]
    report = run(destination, client, rows)
    frame = report.to_pandas()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == ["position", "email", "status", "reason", "field"]
    assert frame["position"].tolist() == [1, 2, 3]
    assert str(frame["position"].dtype) == "int64"
    assert frame["status"].tolist() == ["rejected", "duplicate", "rejected"]
    assert list(frame["status"].cat.categories) == [s.value for s in S]
    assert frame["email"].tolist() == ["bad", "user0@example.com", "b@example.com"]
    assert frame["field"].tolist() == ["email", None, "phone"]
    assert frame.groupby("status", observed=True).size().to_dict() == {
        "rejected": 2,
        "duplicate": 1,
    }
    polars = report.to_polars()
    assert isinstance(polars, pl.DataFrame)
    assert polars.columns == ["position", "email", "status", "reason", "field"]
    assert polars.schema["position"] == pl.Int64
    assert polars.schema["status"] == pl.Enum([s.value for s in S])
    assert polars.to_dicts() == [
        {
            "position": o.position,
            "email": o.email,
            "status": o.status.value,
            "reason": o.reason,
            "field": o.field,
        }
        for o in report.outcomes
    ]


def test_empty_frames_keep_their_columns_and_types() -> None:
    report = ExportReport("d", 1, "L", None, "upsert")
    assert report.to_pandas().empty
    assert str(report.to_pandas()["position"].dtype) == "int64"
    assert report.to_polars().schema["position"] == pl.Int64
    assert report.to_polars().height == 0


@pytest.mark.parametrize(("method", "library"), [("to_pandas", "pandas"), ("to_polars", "polars")])
def test_a_missing_frame_library_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, method: str, library: str
) -> None:
    monkeypatch.setitem(sys.modules, library, None)  # what an uninstalled package looks like
    report = ExportReport("d", 1, "L", None, "upsert")
    with pytest.raises(ImportError) as caught:
        getattr(report, method)()
    assert str(caught.value) == (
        f"report.{method}() needs {library}, an optional extra: "
        f"pip install 'ac-segment-export[{library}]'"
    )


# -- rates in real time, and the emulator's scale --------------------------------------------------


def test_the_summary_states_real_time_and_the_emulators_scale(
    destination: acx.ExportDestination, client: acx.Client
) -> None:
    """The conftest's emulator runs 1000x faster than real time: the report says so."""
    report = run(destination, client, [profile(i) for i in range(40)])
    assert report.time_scale == TIME_SCALE
    assert report.to_dict()["time_scale"] == TIME_SCALE
    lines = report.summary().splitlines()
    assert re.fullmatch(r".* s \([\d,]+ exported/s, real time\)", lines[2])
    assert lines[3] == (
        "time scale: against an emulator running 1000x faster than real time: its rate "
        "limits and batch times are 1000x shorter than the real API's"
    )
    assert "1000x faster than real time" in report._repr_html_()


def test_a_run_at_real_time_does_not_mention_a_scale(
    destination: acx.ExportDestination,
) -> None:
    from ac_segment_export.testing import ActiveCampaignEmulator, EmulatorLimits

    emu = ActiveCampaignEmulator(api_key="test-key", limits=EmulatorLimits.unlimited())
    emu.add_list("VIP customers")
    emu.add_field("Tier", perstag="TIER")
    with make_client(emu) as client:
        report = run(destination, client, [profile(0)], options=fast(first_poll_delay=0.01))
    assert report.time_scale == 1.0
    assert "time scale" not in report.summary()
    assert "time scale" not in report._repr_html_()


def test_the_rate_is_exported_profiles_per_real_second() -> None:
    report = ExportReport("d", 1, "L", None, "upsert", elapsed_seconds=4.0, input_count=10)
    report.count_only(S.EXPORTED, 8)
    report.count_only(S.REJECTED, 2)
    assert "4.0 s (2 exported/s, real time)" in report.summary()
    report.dry_run = True
    assert "4.0 s (2 profiles checked/s, real time)" in report.summary()


# -- the export user -------------------------------------------------------------------------------


def test_the_actor_is_the_export_user_unless_the_connection_names_one(
    emu: ActiveCampaignEmulator, client: acx.Client
) -> None:
    """Before: the report said "unknown user" unless ``with_export_user()`` was called."""
    conn = acx.Connection("Acme", "acme.api-us1.com", "test-key").accept_data_privacy_terms(
        "admin@example.com"
    )
    dest = acx.ExportDestination(conn, "VIP export", 1, acx.FieldMapping(email="email"))
    actor = acx.Actor.admin("ana@contoso.com")
    report = run(dest, client, [profile(0)], actor=actor)
    assert report.export_user == "ana@contoso.com"
    assert "as ana@contoso.com" in report.summary()
    assert "ana@contoso.com" in report._repr_html_()
    named = dest.with_connection(conn.with_export_user("etl@contoso.com"))
    assert run(named, client, [profile(1)], actor=actor).export_user == "etl@contoso.com"
    assert run(dest, client, [profile(2)]).export_user is None


@pytest.mark.anyio
async def test_the_async_exporter_records_the_actor_too(
    emu: ActiveCampaignEmulator, aclient: acx.AsyncClient
) -> None:
    conn = acx.Connection(
        "Acme", "acme.api-us1.com", "test-key", usable_by="admins_and_contributors"
    ).accept_data_privacy_terms("admin@example.com")
    dest = acx.ExportDestination(conn, "VIP export", 1, acx.FieldMapping(email="email"))
    exporter = acx.AsyncExporter(
        dest, client=aclient, actor=acx.Actor.contributor("bo@contoso.com"), options=fast()
    )
    report = await exporter.run([profile(0)])
    assert report.export_user == "bo@contoso.com"


# -- the HTML holds no markup from the data --------------------------------------------------------


def test_every_value_in_the_html_is_escaped() -> None:
    evil = "<script>alert(1)</script>"
    report = ExportReport(
        destination=f"d{evil}",
        list_id=1,
        list_name=f"L{evil}",
        export_user=f"u{evil}",
        mode=f"upsert{evil}",
        started_at=dt.datetime(2026, 5, 1, 9, 30, tzinfo=dt.timezone.utc),
        input_count=3,
        stopped_early=True,
        stop_reason=f"stop{evil}",
        leavers=1,
        mirror_problem=f"mirror{evil}",
    )
    report.record(RecordOutcome(0, f"e{evil}@x", S.REJECTED, f"reason {evil}", f"f{evil}"))
    report.record(RecordOutcome(1, "a@example.com", S.FAILED, f"'{evil}'", None))
    report.count_only(S.EXPORTED, 1)
    page = report._repr_html_()
    assert "<script" not in page.lower()
    assert "alert(1)" in page  # shown, as text
    assert page.count("&lt;script&gt;") >= 8
    assert " on" not in re.sub(r"'[^']*'", "", page)  # no event-handler attribute anywhere


# -- why a run stopped, and reports that are not the usual ----------------------------------------


def test_the_html_says_why_a_mirror_was_skipped(
    connection: acx.Connection, client: acx.Client
) -> None:
    """A mirror run stopped by max_profiles skips the mirror step; the view says both."""
    dest = acx.ExportDestination(
        connection, "VIP export", 1, acx.FieldMapping(email="email"), mode="mirror"
    )
    rows = (profile(i) for i in range(30))
    report = run(dest, client, rows, options=fast(max_profiles=20))
    page = report._repr_html_()
    assert "stopped early" in page
    assert "max_profiles (20) reached" in page
    assert "mirror skipped: the segment was not read in full" in page


def test_the_html_says_a_run_was_cancelled(
    destination: acx.ExportDestination, client: acx.Client
) -> None:
    token = acx.CancelToken()

    def rows() -> Any:
        for i in range(1200):
            if i == 900:  # after the first 500, which the column check reads up front
                token.cancel()
            yield profile(i)

    report = acx.Exporter(destination, client=client, cancel=token, options=fast()).run(rows())
    assert report.stop_reason == "cancelled"
    assert report.reasons() == {"not sent: cancelled": report.counts["not_attempted"]}
    page = report._repr_html_()
    assert "stopped early" in page
    assert (
        "<th style='font-weight:600;white-space:nowrap'>stop reason</th><td>cancelled</td>" in page
    )
    assert "not sent: cancelled" in page


def test_an_empty_report_and_one_that_does_not_add_up() -> None:
    empty = ExportReport("d", 1, "L", None, "upsert")
    page = empty._repr_html_()
    assert "no profiles" in page
    assert "Every profile was exported." in page
    assert empty.reasons() == {}
    broken = ExportReport("d", 1, "L", None, "upsert", input_count=5)
    broken.count_only(S.EXPORTED, 3)
    assert "counts do not add up" in broken._repr_html_()
    assert "input 5 != exported 3" in broken._repr_html_()


def test_the_html_shows_a_mirrors_leavers_and_a_resumed_run() -> None:
    report = ExportReport(
        "d",
        1,
        "L",
        None,
        "mirror",
        input_count=1,
        leavers=10,
        unsubscribed=6,
        leavers_remaining=3,
        leavers_unknown=1,
        mirror_problem="a batch failed",
        resumed_from=1200,
    )
    report.count_only(S.EXPORTED, 1)
    page = report._repr_html_()
    assert "10 leavers, 6 unsubscribed, 3 still subscribed, 1 unknown (a batch failed)" in page
    assert "from position 1,200" in page
