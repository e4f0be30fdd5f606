"""A request whose effect could not be learnt gives ``unknown``, never ``failed``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import pytest

from ac_segment_export import ExportAbortedError, Exporter, ExportMode, OutcomeStatus, RetryPolicy

from .conftest import fast, make_client, profile

if TYPE_CHECKING:
    from ac_segment_export import Client, ExportDestination
    from ac_segment_export.testing import ActiveCampaignEmulator

BULK = "/import/bulk_import"
#: These tests script a sequence of faults for one request's attempts: one request at a time.
ONE_AT_A_TIME = fast(max_requests_in_flight=1)


def test_a_bulk_request_applied_then_lost_is_unknown_not_failed(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client
) -> None:
    """The answer is lost after the write, then every retry fails: the list holds them."""
    emu.queue_fault("drop_after_write", path=BULK)
    emu.queue_fault("500", count=5, path=BULK)  # the other five attempts
    report = Exporter(destination, client=client, options=ONE_AT_A_TIME).run(
        [profile(i) for i in range(500)]
    )
    assert report.balanced
    assert report.counts["failed"] == 0
    unknown = report.by_status(OutcomeStatus.UNKNOWN)
    assert len(unknown) == 250
    assert "may have been carried out" in (unknown[0].reason or "")
    emu.settle()
    members = emu.list_members(1)
    assert len(members) == 500  # the lost batch was imported: unknown was the truth
    assert {o.email for o in unknown} <= set(members)


def test_a_dropped_connection_is_unknown_the_client_cannot_tell_before_from_after(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client
) -> None:
    emu.queue_fault("drop", count=6, path=BULK)
    report = Exporter(destination, client=client, options=ONE_AT_A_TIME).run(
        [profile(i) for i in range(500)]
    )
    assert report.counts["failed"] == 0
    assert report.counts["unknown"] == 250
    assert report.exported == 250


def test_a_bulk_request_refused_every_time_is_failed(
    emu: ActiveCampaignEmulator, destination: ExportDestination
) -> None:
    """Only when no attempt can have been carried out (here: rate limited past the budget of
    rate-limit waiting) is a batch failed."""
    emu.queue_fault("429", count=10, path=BULK)
    retry = RetryPolicy(backoff=False, max_rate_limit_wait=2.0)
    with make_client(emu, retry=retry) as client:
        report = Exporter(destination, client=client, options=ONE_AT_A_TIME).run(
            [profile(i) for i in range(250)]
        )
    assert report.counts["unknown"] == 0
    failed = report.by_status(OutcomeStatus.FAILED)
    assert len(failed) == 250
    assert "failed after retries" in (failed[0].reason or "")
    assert not emu.list_members(1)


def test_contact_sync_applied_then_lost_is_unknown(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client
) -> None:
    """The small remainder goes through contact/sync: a lost answer there is unknown too."""
    emu.queue_fault("drop_after_write", path="/contact/sync")
    emu.queue_fault("502", count=5, path="/contact/sync")
    report = Exporter(destination, client=client, options=ONE_AT_A_TIME).run(
        [profile(i) for i in range(3)]
    )
    assert report.balanced
    statuses = [o.status for o in report.outcomes]
    assert statuses == [OutcomeStatus.UNKNOWN]
    assert report.exported == 2
    assert report.counts["failed"] == 0


def test_mirror_unsubscribes_applied_then_lost_are_unknown_leavers(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client
) -> None:
    for i in range(20):
        emu.add_contact(f"leaver{i}@example.com", lists={1: 1})
    mirror = attrs.evolve(destination, mode=ExportMode.MIRROR)
    rows = [profile(i) for i in range(10)]  # 10 go through contact/sync: no bulk request
    emu.queue_fault("drop_after_write", path=BULK)  # so these hit the unsubscribe request
    emu.queue_fault("500", count=5, path=BULK)
    with pytest.raises(ExportAbortedError) as caught:
        Exporter(mirror, client=client, options=fast(max_unsubscribe_fraction=1.0)).run(rows)
    report = caught.value.report
    assert report.leavers == 20
    assert report.leavers_unknown == 20
    assert report.leavers_remaining == 0
    assert "may or may not be" in (report.stop_reason or "")
