"""Batching, whole-request rejection recovery, the small remainder, failures and resubmits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from ac_segment_export import (
    Client,
    ExportDestination,
    Exporter,
    FieldValueInput,
    MappedProfile,
    OutcomeStatus,
    RateLimits,
    Rejection,
    RetryPolicy,
)

from .conftest import HOST, fast, profile

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ac_segment_export.testing import ActiveCampaignEmulator


def bulk_requests(emu: ActiveCampaignEmulator) -> list[Any]:
    return [r for r in emu.requests if r.method == "POST" and r.path == "/import/bulk_import"]


class FieldIdMapper:
    """Writes field *field_id* for emails containing "bad" (the emulator has no such field)."""

    def __init__(self, field_id: int) -> None:
        self.field_id = field_id

    def map(self, row: Mapping[str, Any]) -> MappedProfile | Rejection:
        email = str(row["email"])
        fields = (FieldValueInput(self.field_id, "x"),) if "bad" in email else ()
        return MappedProfile(email, first_name="F", fields=fields)


def test_named_contacts_of_a_rejected_request_are_rejected_and_the_rest_resent(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client
) -> None:
    """A 400 naming contacts: those are rejected with the reason, the others are exported."""
    rows = [{"email": f"{'bad' if i % 7 == 0 else 'ok'}{i}@example.com"} for i in range(40)]
    report = Exporter(destination, client=client, mapper=FieldIdMapper(999), options=fast()).run(
        rows
    )
    rejected = report.by_status(OutcomeStatus.REJECTED)
    assert {o.position for o in rejected} == {i for i in range(40) if i % 7 == 0}
    assert all("Custom field with id 999 does not exist" in (o.reason or "") for o in rejected)
    assert report.exported == 40 - len(rejected)
    assert report.balanced
    assert len(bulk_requests(emu)) == 2  # the rejected request, then the rest
    assert len(emu.list_members(1)) == report.exported


class RejectUnnamed(httpx.BaseTransport):
    """Answers bulk imports holding *culprit* with a 400 that names no contact."""

    def __init__(self, inner: httpx.BaseTransport, culprit: str) -> None:
        self.inner = inner
        self.culprit = culprit.encode()
        self.rejected = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/import/bulk_import") and self.culprit in request.content:
            self.rejected += 1
            body = {"success": 0, "message": "not queued", "failureReasons": ["Bad contact"]}
            return httpx.Response(400, json=body, request=request)
        return self.inner.handle_request(request)


def test_a_rejection_naming_no_contact_is_bisected_to_the_culprit(
    emu: ActiveCampaignEmulator, destination: ExportDestination
) -> None:
    """No contact named: the batch is halved until the one bad contact is found and rejected."""
    transport = RejectUnnamed(emu.transport(), "user13@example.com")
    with Client(
        HOST,
        "test-key",
        transport=transport,
        retry=RetryPolicy.for_tests(),
        rate_limits=RateLimits.unlimited(),
    ) as client:
        report = Exporter(destination, client=client, options=fast()).run(
            [profile(i) for i in range(64)]
        )
    rejected = report.by_status(OutcomeStatus.REJECTED)
    assert [(o.position, o.email) for o in rejected] == [(13, "user13@example.com")]
    assert "Bad contact" in (rejected[0].reason or "")
    assert report.exported == 63
    assert transport.rejected == 7  # 64 → 32 → 16 → 8 → 4 → 2 → 1
    assert len(emu.list_members(1)) == 63


def test_batches_are_split_by_bytes_and_nothing_is_trimmed(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client
) -> None:
    """Big field values: requests of at most 399,999 bytes for < 250 contacts, values whole."""
    big = "x" * 30_000
    rows = [profile(i, tier=f"{i}:{big}") for i in range(40)]
    report = Exporter(destination, client=client, options=fast()).run(rows)
    assert report.exported == 40
    sent = bulk_requests(emu)
    assert len(sent) >= 3
    assert all(r.body_bytes <= 399_999 for r in sent)
    assert sum(len(r.json["contacts"]) for r in sent) + report.sync_requests == 40
    for i in (0, 17, 39):
        contact = emu.contact_by_email(f"user{i}@example.com")
        assert contact is not None
        assert contact.fields[1] == f"{i}:{big}"


def test_a_remainder_of_ten_or_fewer_goes_through_contact_sync(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client
) -> None:
    """255 profiles: one bulk request of 250, then 5 contact/sync + contactLists calls."""
    report = Exporter(destination, client=client, options=fast()).run(
        [profile(i) for i in range(255)]
    )
    assert report.exported == 255
    assert report.balanced
    assert len(bulk_requests(emu)) == 1
    assert report.sync_requests == 5
    synced = [r.json["contact"]["email"] for r in emu.requests if r.path == "/contact/sync"]
    assert synced == [f"user{i}@example.com" for i in range(250, 255)]
    assert sum(r.path == "/contactLists" for r in emu.requests) == 5
    assert len(emu.list_members(1, status=1)) == 255
    contact = emu.contact_by_email("user252@example.com")
    assert contact is not None
    assert contact.first_name == "First252"


def test_the_remainder_never_resubscribes_an_unsubscribed_contact(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client
) -> None:
    """Without the up-front check, the sync path reads the status and reports *skipped*."""
    emu.add_contact("user1@example.com", lists={1: 2})
    report = Exporter(destination, client=client, options=fast(check_unsubscribed=False)).run(
        [profile(i) for i in range(3)]
    )
    skipped = report.by_status(OutcomeStatus.SKIPPED)
    assert [o.position for o in skipped] == [1]
    assert "never re-subscribed" in (skipped[0].reason or "")
    assert report.exported == 2
    assert emu.list_members(1)["user1@example.com"] == 2
    assert not any(
        r.path == "/contactLists" and r.json["contactList"]["contact"] == 1
        for r in emu.requests
        if r.method == "POST"
    )


def test_emails_the_batch_lists_in_failure_are_failed(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client
) -> None:
    """An excluded email and an apostrophe the importer fails on end as *failed*."""
    emu.exclude_email("USER3@example.com")
    rows = [profile(i) for i in range(30)]
    report = Exporter(destination, client=client, options=fast()).run(rows)
    failed = report.by_status(OutcomeStatus.FAILED)
    assert [(o.position, o.email) for o in failed] == [(3, "user3@example.com")]
    assert "exclusion list" in (failed[0].reason or "")
    assert report.exported == 29
    assert "user3@example.com" not in emu.list_members(1)


def test_interrupted_and_failed_batches_are_resubmitted(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client
) -> None:
    """A batch that ends interrupted, then failed, is sent again and ends exported."""
    emu.queue_fault("interrupt_batch")
    emu.queue_fault("fail_batch")
    report = Exporter(destination, client=client, options=fast()).run(
        [profile(i) for i in range(100)]
    )
    assert report.exported == 100
    assert report.resubmitted_batches == 2
    assert len(bulk_requests(emu)) == 3
    assert len(emu.list_members(1, status=1)) == 100


def test_a_batch_failing_every_time_ends_failed(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client
) -> None:
    """After max_batch_resubmits resends the batch's contacts are reported *failed*."""
    emu.queue_fault("fail_batch", count=3)
    report = Exporter(destination, client=client, options=fast(max_batch_resubmits=2)).run(
        [profile(i) for i in range(260)]
    )
    failed = report.by_status(OutcomeStatus.FAILED)
    assert {o.position for o in failed} == set(range(250))
    assert "ended failed 3 times" in (failed[0].reason or "")
    assert report.exported == 10
    assert report.resubmitted_batches == 2
    assert report.balanced


class BigMapper:
    """Gives the profile with ``big`` set seven 60,000-character field values."""

    def map(self, row: Mapping[str, Any]) -> MappedProfile | Rejection:
        fields = tuple(FieldValueInput(1, "z" * 60_000) for _ in range(7)) if row.get("big") else ()
        return MappedProfile(str(row["email"]), fields=fields)


def test_a_contact_too_big_for_any_request_is_rejected(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client
) -> None:
    """A single contact over 399,999 bytes is rejected (naming the size), the rest exported."""
    rows = [profile(i, big=i == 5) for i in range(20)]
    report = Exporter(destination, client=client, mapper=BigMapper(), options=fast()).run(rows)
    rejected = report.by_status(OutcomeStatus.REJECTED)
    assert [o.position for o in rejected] == [5]
    assert "more than a bulk request may carry" in (rejected[0].reason or "")
    assert report.exported == 19
    assert "user5@example.com" not in emu.list_members(1)
