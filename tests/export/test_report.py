"""ExportReport on its own: recording outcomes, the sink, the accounting and its renderings."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from ac_segment_export import ExportReport, OutcomeStatus, RecordOutcome

S = OutcomeStatus
STARTED = dt.datetime(2026, 5, 1, 9, 30, tzinfo=dt.timezone.utc)


def report(**kwargs: object) -> ExportReport:
    values: dict[str, object] = {
        "destination": "VIP export",
        "list_id": 3,
        "list_name": "VIP <customers>",
        "export_user": "exporter@example.com",
        "mode": "upsert",
        "started_at": STARTED,
    }
    values.update(kwargs)
    return ExportReport(**values)  # type: ignore[arg-type]


def outcome(position: int, status: OutcomeStatus = S.EXPORTED, **kw: str) -> RecordOutcome:
    return RecordOutcome(position, f"u{position}@example.com", status, **kw)


def test_a_new_report_is_empty_and_balanced() -> None:
    """No input, no outcomes: the counts are all zero and add up."""
    r = report()
    assert r.counts == dict.fromkeys([s.value for s in S], 0)
    assert r.accounted == 0
    assert r.balanced
    assert r.outcomes == []
    assert not r.has_sink


def test_record_counts_every_outcome_and_keeps_all_but_exports() -> None:
    """Exported outcomes are only counted (a million rows stay out of memory); others kept."""
    r = report(input_count=3)
    r.record(outcome(0))
    r.record(outcome(1, S.REJECTED, reason="email is missing", field="email"))
    r.record(outcome(2, S.DUPLICATE, reason="same email as profile 0"))
    assert r.exported == 1
    assert r.counts["rejected"] == 1
    assert r.counts["duplicate"] == 1
    assert [o.position for o in r.outcomes] == [1, 2]
    assert r.by_status(S.REJECTED) == [
        outcome(1, S.REJECTED, reason="email is missing", field="email")
    ]
    assert r.by_status(S.EXPORTED) == []
    assert r.balanced


def test_a_sink_takes_exported_outcomes_and_the_report_keeps_the_rest() -> None:
    """Exported outcomes go to the sink, not into memory; other outcomes are kept."""
    sunk: list[RecordOutcome] = []
    r = report(input_count=3, sink=sunk.append)
    assert r.has_sink
    r.record(outcome(0))
    r.record(outcome(1, S.FAILED, reason="not imported"))
    r.record(outcome(2))
    assert [o.position for o in sunk] == [0, 2]
    assert [o.position for o in r.outcomes] == [1]
    assert r.exported == 2
    assert r.sink_error is None


def test_a_sink_that_raises_is_kept_as_sink_error_and_outcomes_are_kept_from_then() -> None:
    """The sink's exception is stored (not raised); later exported outcomes stay in memory."""
    calls: list[int] = []
    boom = RuntimeError("disk full")

    def sink(o: RecordOutcome) -> None:
        calls.append(o.position)
        if o.position == 1:
            raise boom

    r = report(input_count=4, sink=sink)
    for i in range(4):
        r.record(outcome(i))
    assert calls == [0, 1]  # never called again after it raised
    assert r.sink_error is boom
    assert [o.position for o in r.outcomes] == [1, 2, 3]  # what the sink did not get
    assert r.exported == 4
    assert "sink_error" not in repr(r)


def test_count_only_counts_without_records() -> None:
    """Profiles never read are counted in bulk and have no outcome record."""
    r = report(input_count=10)
    r.record(outcome(0))
    r.count_only(S.NOT_ATTEMPTED, 9)
    assert r.counts["not_attempted"] == 9
    assert r.by_status(S.NOT_ATTEMPTED) == []
    assert r.accounted == 10
    assert r.balanced


def test_the_equation_says_when_the_counts_do_not_add_up() -> None:
    """``=`` when balanced, ``!=`` when not, with every status written out in order."""
    r = report(input_count=3)
    r.record(outcome(0))
    r.record(outcome(1, S.REJECTED))
    assert not r.balanced
    terms = (
        "exported 1 + rejected 1 + duplicate 0 + skipped 0 + failed 0 + unknown 0 + not_attempted 0"
    )
    assert r.equation == f"input 3 != {terms}"
    r.count_only(S.NOT_ATTEMPTED, 1)
    assert r.balanced
    assert r.equation == f"input 3 = {terms[:-1]}1"


def test_to_dict_and_to_json() -> None:
    """The dict is JSON-able, holds every count and field, and the JSON round-trips to it."""
    r = report(
        input_count=2,
        finished_at=STARTED + dt.timedelta(seconds=2),
        elapsed_seconds=2.00049,
        batches=1,
        requests=5,
    )
    r.record(outcome(0))
    r.record(outcome(1, S.REJECTED, reason="bad", field="phone"))
    d = r.to_dict()
    assert d["started_at"] == "2026-05-01T09:30:00+00:00"
    assert d["finished_at"] == "2026-05-01T09:30:02+00:00"
    assert d["elapsed_seconds"] == 2.0
    assert d["input"] == 2
    assert d["counts"]["exported"] == 1
    assert d["balanced"] is True
    assert (d["batches"], d["requests"], d["leavers"], d["stop_reason"]) == (1, 5, None, None)
    assert d["outcomes"] == [
        {
            "position": 1,
            "email": "u1@example.com",
            "status": "rejected",
            "reason": "bad",
            "field": "phone",
        }
    ]
    assert json.loads(r.to_json()) == d
    assert r.to_json(indent=2).startswith('{\n  "destination": "VIP export"')


def test_an_unfinished_report_has_no_finish_time() -> None:
    """``finished_at`` is None until the run ends."""
    assert report().to_dict()["finished_at"] is None


def test_summary_of_a_plain_run() -> None:
    """Destination, mode and user, the equation, and the request counts with the rate."""
    r = report(input_count=4, elapsed_seconds=2.0, batches=1, requests=3, retries=1)
    for i in range(4):
        r.record(outcome(i))
    assert r.summary().splitlines() == [
        "Export 'VIP export' -> list 3 (VIP <customers>), upsert, as exporter@example.com",
        r.equation,
        "1 batches, 3 requests, 1 retries, 0 rate-limited, 2.0 s (2 exported/s, real time)",
    ]


def test_summary_of_a_mirror_run_with_leavers_left() -> None:
    """A mirror run says how many leavers were unsubscribed, remain, or are unknown, and why."""
    r = report(
        mode="mirror",
        export_user=None,
        leavers=10,
        unsubscribed=6,
        leavers_remaining=3,
        leavers_unknown=1,
        mirror_problem="a batch failed",
        stopped_early=True,
        stop_reason="cancelled",
    )
    lines = r.summary().splitlines()
    assert lines[0].endswith("mirror, as unknown user")
    assert lines[2].endswith("0.0 s (0 exported/s, real time)")  # no division by zero
    assert lines[3:] == [
        "mirror: 10 leavers, 6 unsubscribed, 3 still subscribed, 1 unknown (a batch failed)",
        "stopped early: cancelled",
    ]


def test_summary_of_a_complete_mirror_run() -> None:
    """With every leaver handled the mirror line is just the two counts."""
    lines = report(mode="mirror", leavers=2, unsubscribed=2).summary().splitlines()
    assert lines[3:] == ["mirror: 2 leavers, 2 unsubscribed"]


def test_summary_with_unsubscribes_but_no_leaver_count() -> None:
    """Unsubscribes without a leaver count (an interrupted mirror) still get a line."""
    lines = report(mode="mirror", unsubscribed=4).summary().splitlines()
    assert lines[3:] == ["mirror: 4 leavers unsubscribed"]


def test_summary_of_a_dry_run() -> None:
    """A dry run says what it would have done, and no mirror line for its leaver count."""
    r = report(mode="mirror", dry_run=True, leavers=5, would_subscribe=7, would_unsubscribe=None)
    lines = r.summary().splitlines()
    assert "mirror (dry run: nothing was written)" in lines[0]
    assert lines[3:] == ["dry run: would subscribe 7, would unsubscribe 0"]


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (False, "input=0, empty, balanced=True)"),
        (True, "input=2, exported=1, rejected=1, balanced=True)"),
    ],
)
def test_repr_shows_the_nonzero_counts(record: bool, expected: str) -> None:
    """The repr names the destination and list and only the counts that are not zero."""
    r = report()
    if record:
        r.input_count = 2
        r.record(outcome(0))
        r.record(outcome(1, S.REJECTED))
    assert repr(r) == f"ExportReport(destination='VIP export', list_id=3, {expected}"


def test_repr_html_escapes_and_lists_every_count() -> None:
    """The notebook rendering escapes the names and has one legend entry per status."""
    r = report(destination="<b>x</b>", input_count=1234)
    r.count_only(S.EXPORTED, 1234)
    page = r._repr_html_()
    assert "&lt;b&gt;x&lt;/b&gt; → list 3 (VIP &lt;customers&gt;)" in page
    assert "<b>" not in page
    assert page.count("class='acx-count'") == len(S)
    assert "exported <strong>1,234</strong>" in page
    assert f"<code>{r.equation}</code>" in page
