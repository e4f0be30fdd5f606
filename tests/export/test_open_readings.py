"""What ActiveCampaign's docs leave open, read both ways: the exporter is right under either."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import pytest

from ac_segment_export import AsyncExporter, Exporter, FieldValueInput, OutcomeStatus
from ac_segment_export.testing import Readings

from .conftest import fast, make_async_client, make_client, make_emulator, profile

if TYPE_CHECKING:
    from ac_segment_export import ExportDestination, FieldMapper
    from ac_segment_export.testing import ActiveCampaignEmulator

#: A custom field the account does not have: the importer refuses a contact that sets it,
#: and our checks cannot know (a field deleted while the export runs).
GONE_FIELD = 9999


def _emulator(**readings: Any) -> ActiveCampaignEmulator:
    emu = make_emulator(readings=Readings(**readings))
    emu.add_list("VIP customers")
    emu.add_field("Tier", perstag="TIER")
    return emu


class _SomeRefused:
    """The destination's mapper, writing a deleted custom field for the given profiles."""

    def __init__(self, inner: FieldMapper, refused: set[int]) -> None:
        self.inner = inner
        self.refused = refused

    def map(self, p: Any) -> Any:
        mapped = self.inner.map(p)
        if int(p["email"][4:].split("@")[0]) in self.refused:
            return mapped._replace(fields=(FieldValueInput(GONE_FIELD, "x"),))
        return mapped


def _bulk_posts(emu: ActiveCampaignEmulator) -> list[int]:
    """The contacts carried by each bulk-import request, in order."""
    return [
        len(r.json["contacts"])
        for r in emu.requests
        if r.method == "POST" and r.path == "/import/bulk_import"
    ]


@pytest.mark.parametrize("base", [0, 1])
def test_only_the_refused_contacts_are_rejected_whichever_the_index_base(
    destination: ExportDestination, base: int
) -> None:
    """On an account counting from 1, trusting 0 rejected 936 of 993 valid contacts."""
    emu = _emulator(failure_index_base=base)
    refused = {17, 300, 301, 640, 990}
    with make_client(emu) as client:
        mapper = _SomeRefused(destination.validate(client=client).mapper, refused)
        report = Exporter(destination, client=client, mapper=mapper, options=fast()).run(
            profile(i) for i in range(993)
        )
    assert report.balanced
    rejected = report.by_status(OutcomeStatus.REJECTED)
    assert {o.position for o in rejected} == refused
    assert all(f"id {GONE_FIELD} does not exist" in (o.reason or "") for o in rejected)
    assert report.exported == 993 - len(refused)
    assert len(emu.list_members(1)) == 993 - len(refused)
    # The base is learnt once, from one contact sent alone.
    assert _bulk_posts(emu).count(1) <= 1


@pytest.mark.anyio
@pytest.mark.parametrize("base", [0, 1])
async def test_the_index_base_is_learnt_by_the_async_exporter_too(
    destination: ExportDestination, base: int
) -> None:
    emu = _emulator(failure_index_base=base)
    refused = {1, 249, 400}
    with make_client(emu) as client:
        mapper = _SomeRefused(destination.validate(client=client).mapper, refused)
    async with make_async_client(emu) as aclient:
        report = await AsyncExporter(
            destination, client=aclient, mapper=mapper, options=fast()
        ).run([profile(i) for i in range(500)])
    assert {o.position for o in report.by_status(OutcomeStatus.REJECTED)} == refused
    assert report.exported == 497
    assert len(emu.list_members(1)) == 497


def test_a_first_contact_named_0_decides_the_base_without_a_probe(
    destination: ExportDestination,
) -> None:
    emu = _emulator(failure_index_base=0)
    with make_client(emu) as client:
        mapper = _SomeRefused(destination.validate(client=client).mapper, {0})
        report = Exporter(destination, client=client, mapper=mapper, options=fast()).run(
            [profile(i) for i in range(300)]
        )
    assert [o.position for o in report.by_status(OutcomeStatus.REJECTED)] == [0]
    assert 1 not in _bulk_posts(emu)


@pytest.mark.parametrize("reading", [False, True])
def test_contacts_not_imported_get_the_reason_that_applies(
    destination: ExportDestination, reading: bool
) -> None:
    """Excluded, unsubscribed and bounced contacts, whichever way import/info reports them."""
    emu = _emulator(unsubscribed_in_failure=reading)
    emu.add_contact("user3@example.com", lists={1: 2})  # unsubscribed from the list
    emu.add_contact("user4@example.com", lists={1: 1})
    emu.mark_bounced("user4@example.com")
    emu.exclude_email("user5@example.com")
    rows = [profile(i) for i in range(40)]
    with make_client(emu) as client:
        # The exporter does not read the unsubscribed members first: they are sent.
        report = Exporter(destination, client=client, options=fast(check_unsubscribed=False)).run(
            rows
        )
    assert report.balanced
    outcomes = {o.position: o for o in report.outcomes}
    excluded = outcomes[5]
    assert excluded.status is OutcomeStatus.FAILED
    assert "exclusion list" in (excluded.reason or "")
    members = emu.list_members(1)
    assert members["user3@example.com"] == 2  # never re-subscribed
    if reading:
        assert outcomes[3].status is OutcomeStatus.SKIPPED
        assert "unsubscribed" in (outcomes[3].reason or "")
        assert outcomes[4].status is OutcomeStatus.FAILED
        assert "bounced" in (outcomes[4].reason or "")
        assert report.exported == 37
    else:
        assert 5 in outcomes
        assert report.exported == 39 - (1 if 3 in outcomes else 0) - (1 if 4 in outcomes else 0)


def test_unsubscribers_known_from_the_list_are_skipped_before_sending(
    destination: ExportDestination,
) -> None:
    emu = _emulator(unsubscribed_in_failure=True)
    emu.add_contact("user7@example.com", lists={1: 2})
    with make_client(emu) as client:
        report = Exporter(destination, client=client, options=fast()).run(
            [profile(i) for i in range(30)]
        )
    assert {o.position: o.status for o in report.outcomes} == {7: OutcomeStatus.SKIPPED}
    sent = [
        c["email"]
        for r in emu.requests
        if r.method == "POST" and r.path == "/import/bulk_import"
        for c in r.json["contacts"]
    ]
    assert "user7@example.com" not in sent


def test_an_undocumented_batch_status_is_not_finished_yet(
    destination: ExportDestination,
) -> None:
    emu = _emulator(extra_batch_status="queued")
    with make_client(emu) as client:
        report = Exporter(destination, client=client, options=fast()).run(
            profile(i) for i in range(600)
        )
    assert report.balanced
    assert report.exported == 600
    assert len(emu.list_members(1)) == 600


def test_a_batch_that_never_ends_is_unknown_after_max_batch_wait(
    destination: ExportDestination,
) -> None:
    emu = _emulator()
    inner = emu.transport()

    class Stuck(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/import/info"):
                body = {"status": "queued", "success": [], "failure": []}
                return httpx.Response(200, json=body)
            return inner.handle_request(request)

    with make_client(emu, transport=Stuck()) as client:
        report = Exporter(destination, client=client, options=fast(max_batch_wait=0.05)).run(
            profile(i) for i in range(300)
        )
    assert report.balanced
    assert report.counts["unknown"] == 300
    reason = report.outcomes[0].reason or ""
    assert "had not ended" in reason
    assert "queued" in reason
