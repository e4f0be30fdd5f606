"""The outcome ledger on its own: one outcome a position, the mark, the checkpoint state."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from ac_segment_export import ExportReport, OutcomeStatus, RecordOutcome
from ac_segment_export._export._checkpoint import Digest
from ac_segment_export._export._ledger import Ledger, printable


def _report(*, sink: list[RecordOutcome] | None = None) -> ExportReport:
    return ExportReport(
        destination="d",
        list_id=1,
        list_name="l",
        export_user=None,
        mode="upsert",
        sink=None if sink is None else sink.append,
    )


def test_the_mark_moves_past_positions_settled_out_of_order() -> None:
    ledger = Ledger(_report())
    ledger.exported([2, 3], ["c@x.io", "d@x.io"])
    assert ledger.mark == 0
    assert ledger.ahead == {2, 3}
    ledger.record(0, None, OutcomeStatus.REJECTED, "bad")
    assert ledger.mark == 1
    ledger.exported([1], ["b@x.io"])
    assert ledger.mark == 4
    assert not ledger.ahead
    assert all(ledger.has(p) for p in range(4))
    assert not ledger.has(4)


@given(st.permutations(list(range(60))))
def test_any_order_of_settling_ends_with_the_mark_past_all(order: list[int]) -> None:
    ledger = Ledger(_report())
    for position in order:
        ledger.exported([position], [f"u{position}@x.io"])
    assert ledger.mark == 60
    assert not ledger.ahead
    assert ledger.report.exported == 60


def test_rest_gives_only_the_positions_without_an_outcome() -> None:
    report = _report()
    ledger = Ledger(report)
    ledger.exported([0], ["a@x.io"])
    ledger.rest([0, 1, 2], ["a@x.io", "b@x.io", "c@x.io"], OutcomeStatus.UNKNOWN, "in flight")
    assert report.counts["exported"] == 1
    assert report.counts["unknown"] == 2
    assert [o.position for o in report.outcomes] == [1, 2]


def test_exported_outcomes_go_to_the_sink_not_the_report() -> None:
    got: list[RecordOutcome] = []
    report = _report(sink=got)
    Ledger(report).exported([0, 1], ["a@x.io", "b@x.io"])
    assert [o.email for o in got] == ["a@x.io", "b@x.io"]
    assert report.outcomes == []
    assert report.exported == 2


def test_the_journal_keeps_non_exported_outcomes_and_what_to_send_again() -> None:
    ledger = Ledger(_report(), journaling=True)
    ledger.record(0, "a@x.io", OutcomeStatus.REJECTED, "bad")
    ledger.exported([1], ["b@x.io"])
    ledger.record(2, "c@x.io", OutcomeStatus.UNKNOWN, "lost")
    ledger.record(3, "d@x.io", OutcomeStatus.NOT_ATTEMPTED, "stopped")
    assert [o.position for o in ledger.journal] == [0, 2, 3]
    assert ledger.unsure == {2, 3}
    assert ledger.mark == 4
    assert ledger.low_water_mark() == 2  # 2 and 3 are sent again


def test_the_checkpoint_state_covers_confirmed_positions_only() -> None:
    ledger = Ledger(_report(), journaling=True)
    digest = Digest()
    for i in range(1000):
        digest.push(f"u{i}@x.io")
    ledger.exported(list(range(250)), [f"u{i}@x.io" for i in range(250)])
    ledger.record(250, "u250@x.io", OutcomeStatus.UNKNOWN, "lost")
    ledger.exported(list(range(251, 300)), [f"u{i}@x.io" for i in range(251, 300)])
    ledger.exported(list(range(500, 750)), [f"u{i}@x.io" for i in range(500, 750)])
    state = ledger.state("export-1", digest)
    assert state.position == 250
    assert state.settled == ((251, 300), (500, 750))
    assert state.extent == 750
    assert not state.covers(250)
    assert state.covers(260)
    assert not state.covers(400)
    assert state.covers(749)
    again = Digest()
    for i in range(750):
        again.push(f"u{i}@x.io")
    assert state.digest == again.at(750)


def test_restored_outcomes_open_the_journal_and_are_counted_when_read() -> None:
    restored = [RecordOutcome(1, "b@x.io", OutcomeStatus.REJECTED, "bad")]
    report = _report()
    ledger = Ledger(report, journaling=True, restored=restored)
    assert ledger.journal == restored
    assert report.accounted == 0
    ledger.restore(0, None, "a@x.io")
    ledger.restore(1, restored[0], None)
    assert report.counts["exported"] == 1
    assert report.counts["rejected"] == 1
    assert ledger.mark == 2
    assert ledger.journal == restored  # not added twice


def test_reasons_and_emails_never_carry_lone_surrogates() -> None:
    report = _report()
    Ledger(report).record(0, "a\ud800@x.io", OutcomeStatus.REJECTED, "bad \udfff value", "f\ud800")
    outcome = report.outcomes[0]
    for text in (outcome.email, outcome.reason, outcome.field):
        assert text is not None
        text.encode()  # would raise on a lone surrogate
    assert outcome.reason == "bad \\udfff value"
    assert printable("plain") == "plain"
    assert printable(None) is None
    assert printable("Chloé") == "Chloé"


def test_a_random_mix_always_balances() -> None:
    rng = random.Random(7)
    report = _report()
    ledger = Ledger(report, journaling=True)
    positions = list(range(500))
    rng.shuffle(positions)
    statuses = list(OutcomeStatus)
    for p in positions:
        status = rng.choice(statuses)
        if status is OutcomeStatus.EXPORTED:
            ledger.exported([p], [f"u{p}@x.io"])
        else:
            ledger.record(p, f"u{p}@x.io", status, "why")
    report.input_count = 500
    assert report.balanced
    assert ledger.mark == 500
