"""Sync modes (upsert, mirror, dry run), the re-subscribe rule, consent and permissions."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import pytest

from ac_segment_export import (
    Actor,
    AsyncExporter,
    Audience,
    ConsentRequiredError,
    ExportDestination,
    Exporter,
    ExportMode,
    OutcomeStatus,
    PermissionDeniedError,
)

from .conftest import MAPPING, fast, profile, writes

if TYPE_CHECKING:
    from ac_segment_export import AsyncClient, Client, Connection
    from ac_segment_export.testing import ActiveCampaignEmulator


def seed_members(emu: ActiveCampaignEmulator) -> None:
    """user0 and two leavers active, user1 (in the segment) and gone@ unsubscribed."""
    emu.add_contact("user0@example.com", lists={1: 1})
    emu.add_contact("leaver1@example.com", lists={1: 1})
    emu.add_contact("Leaver2@Example.com", lists={1: 1})
    emu.add_contact("user1@example.com", lists={1: 2})
    emu.add_contact("gone@example.com", lists={1: 2})


def test_mirror_unsubscribes_leavers_only(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client
) -> None:
    """Mirror: leavers unsubscribed, segment members kept, unsubscribed never re-subscribed."""
    seed_members(emu)
    mirror = attrs.evolve(destination, mode=ExportMode.MIRROR)
    rows = [profile(i) for i in range(30)]
    rows[0]["email"] = "USER0@example.com"
    report = Exporter(mirror, client=client, options=fast()).run(rows)
    assert report.unsubscribed == 2
    assert [o.position for o in report.by_status(OutcomeStatus.SKIPPED)] == [1]
    assert report.exported == 29
    members = emu.list_members(1)
    assert members["leaver1@example.com"] == 2
    assert members["Leaver2@Example.com"] == 2
    assert members["user0@example.com"] == 1
    assert members["user1@example.com"] == 2
    assert members["gone@example.com"] == 2
    assert sum(s == 1 for s in members.values()) == 29
    unsubscribes = [
        c
        for r in emu.requests
        if r.path == "/import/bulk_import"
        for c in r.json["contacts"]
        if "unsubscribe" in c
    ]
    assert sorted(c["email"].lower() for c in unsubscribes) == [
        "leaver1@example.com",
        "leaver2@example.com",
    ]


def test_mirror_is_skipped_when_the_segment_was_not_read_in_full(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client
) -> None:
    """A run stopped by max_profiles must not unsubscribe anyone (the segment is partial)."""
    seed_members(emu)
    mirror = attrs.evolve(destination, mode=ExportMode.MIRROR)
    report = Exporter(mirror, client=client, options=fast(max_profiles=5)).run(
        profile(i) for i in range(30)
    )
    assert report.stopped_early
    assert "mirror skipped" in (report.stop_reason or "")
    assert report.unsubscribed == 0
    assert emu.list_members(1)["leaver1@example.com"] == 1


def test_dry_run_writes_nothing_and_counts_the_changes(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client
) -> None:
    """Dry run of a mirror: only GETs reach the emulator; would-subscribe/unsubscribe counted."""
    seed_members(emu)
    mirror = attrs.evolve(destination, mode=ExportMode.MIRROR)
    rows = [*(profile(i) for i in range(20)), {"email": "bad"}, profile(3)]
    before = emu.list_members(1)
    report = Exporter(
        mirror, client=client, options=fast(dry_run=True, max_unsubscribe_fraction=1.0)
    ).run(rows)
    assert writes(emu) == []
    assert {r.method for r in emu.requests} == {"GET"}
    assert not any(r.path.startswith("/import") for r in emu.requests)
    assert emu.list_members(1) == before
    assert report.dry_run
    assert report.would_subscribe == 18  # 20 - user0 (already active) - user1 (unsubscribed)
    assert report.would_unsubscribe == 2
    assert report.counts["skipped"] == 1
    assert report.counts["rejected"] == 1
    assert report.counts["duplicate"] == 1
    assert report.balanced
    assert "would subscribe 18" in report.summary()


def test_upsert_skips_unsubscribed_contacts_and_leaves_others_alone(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client
) -> None:
    """Upsert: an unsubscribed contact is *skipped* (never sent); non-segment members stay."""
    seed_members(emu)
    report = Exporter(destination, client=client, options=fast()).run(
        [profile(i) for i in range(30)]
    )
    skipped = report.by_status(OutcomeStatus.SKIPPED)
    assert [(o.position, o.email) for o in skipped] == [(1, "user1@example.com")]
    assert "never re-subscribed" in (skipped[0].reason or "")
    sent = {
        c["email"]
        for r in emu.requests
        if r.path == "/import/bulk_import"
        for c in r.json["contacts"]
    }
    assert "user1@example.com" not in sent
    members = emu.list_members(1)
    assert members["user1@example.com"] == 2
    assert members["leaver1@example.com"] == 1
    assert report.unsubscribed == 0


def test_upsert_without_the_check_still_never_resubscribes(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client
) -> None:
    """check_unsubscribed=False sends the contact in bulk; the list status stays unsubscribed."""
    seed_members(emu)
    Exporter(destination, client=client, options=fast(check_unsubscribed=False)).run(
        [profile(i) for i in range(30)]
    )
    assert emu.list_members(1)["user1@example.com"] == 2


@pytest.mark.parametrize("revoke", [False, True])
def test_no_request_without_consent(
    emu: ActiveCampaignEmulator, connection: Connection, client: Client, revoke: bool
) -> None:
    """No consent, or revoked consent: ConsentRequiredError and not a single request."""
    if revoke:
        dest = ExportDestination(connection.revoke_consent("ana@contoso.com"), "VIP", 1, MAPPING)
    else:
        dest = ExportDestination(attrs.evolve(connection, consent=None), "VIP", 1, MAPPING)
    with pytest.raises(ConsentRequiredError):
        Exporter(dest, client=client, options=fast()).run([profile(0)])
    with pytest.raises(ConsentRequiredError):
        Exporter(dest, client=client, options=fast(dry_run=True)).run([profile(0)])
    assert emu.requests == []


@pytest.mark.anyio
async def test_no_request_without_consent_async(
    emu: ActiveCampaignEmulator, connection: Connection, aclient: AsyncClient
) -> None:
    """The async exporter checks consent before any request too."""
    dest = ExportDestination(attrs.evolve(connection, consent=None), "VIP", 1, MAPPING)
    with pytest.raises(ConsentRequiredError):
        await AsyncExporter(dest, client=aclient, options=fast()).run([profile(0)])
    assert emu.requests == []


def test_a_contributor_cannot_use_an_admins_only_connection(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client
) -> None:
    """A contributor on an admins-only connection: PermissionDeniedError, no request."""
    with pytest.raises(PermissionDeniedError):
        Exporter(
            destination, client=client, actor=Actor.contributor("c@example.com"), options=fast()
        ).run([profile(0)])
    assert emu.requests == []
    opened = destination.with_connection(
        attrs.evolve(destination.connection, usable_by=Audience.ADMINS_AND_CONTRIBUTORS)
    )
    report = Exporter(
        opened, client=client, actor=Actor.contributor("c@example.com"), options=fast()
    ).run([profile(0)])
    assert report.exported == 1
