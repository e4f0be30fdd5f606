"""Every resource method of ``AsyncClient``, against the emulator's transport."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

import ac_segment_export as acx

if TYPE_CHECKING:
    from ac_segment_export.testing import ActiveCampaignEmulator

pytestmark = pytest.mark.anyio
ACTIVE = acx.MembershipStatus.ACTIVE
UNSUB = acx.MembershipStatus.UNSUBSCRIBED


async def test_users_me(aclient: acx.AsyncClient, emu: ActiveCampaignEmulator) -> None:
    """users.me returns the key's user."""
    user = await aclient.users.me()
    assert (user.id, user.username) == (1, "emulator")
    assert [r.path for r in emu.requests] == ["/users/me"]


async def test_lists(aclient: acx.AsyncClient, emu: ActiveCampaignEmulator) -> None:
    """create, get and iterate (past 100, by name) on lists."""
    ids = [emu.add_list(f"List {i:03}") for i in range(150)]
    created = await aclient.lists.create("Async VIP")
    assert created.stringid == "async-vip"
    assert await aclient.lists.get(created.id) == created
    emu.reset_requests()
    everything = [x.id async for x in aclient.lists.iterate()]
    assert everything == [*ids, created.id]
    assert [r.query["offset"] for r in emu.requests] == ["0", "100"]
    assert [x.name async for x in aclient.lists.iterate(name="Async VIP")] == ["Async VIP"]


async def test_contacts_crud(aclient: acx.AsyncClient, emu: ActiveCampaignEmulator) -> None:
    """create, get, find, sync, update and delete on contacts."""
    created = await aclient.contacts.create(
        acx.ContactInput(email="Ada@Example.com", first_name="Ada")
    )
    assert await aclient.contacts.get(created.id) == created
    assert await aclient.contacts.find("ada@EXAMPLE.com") == created
    assert await aclient.contacts.find("none@example.com") is None
    synced = await aclient.contacts.sync(
        acx.ContactInput(email="ADA@example.com", last_name="Lovelace")
    )
    assert synced.id == created.id
    assert emu.contact_count == 1
    updated = await aclient.contacts.update(created.id, acx.ContactInput(phone="555"))
    assert (updated.first_name, updated.last_name, updated.phone) == ("Ada", "Lovelace", "555")
    await aclient.contacts.delete(created.id)
    assert emu.contact_count == 0
    with pytest.raises(acx.NotFoundError):
        await aclient.contacts.get(created.id)


async def test_contacts_iterate(aclient: acx.AsyncClient, emu: ActiveCampaignEmulator) -> None:
    """iterate pages by id and by offset past 100, and filters by list, status and email."""
    list_id = emu.add_list("Crowd")
    ids = [
        emu.add_contact(f"u{i:03}@example.com", lists={list_id: 1 if i % 2 else 2})
        for i in range(205)
    ]
    emu.reset_requests()
    assert [c.id async for c in aclient.contacts.iterate()] == ids
    assert [r.query["id_greater"] for r in emu.requests] == ["0", str(ids[99]), str(ids[199])]
    assert [c.id async for c in aclient.contacts.iterate(by_id=False)] == ids
    active = [c async for c in aclient.contacts.iterate(list_id=list_id, status=ACTIVE)]
    assert len(active) == 102
    assert [c.email async for c in aclient.contacts.iterate(email="U004@example.com")] == [
        "u004@example.com"
    ]


async def test_memberships_and_values(
    aclient: acx.AsyncClient, emu: ActiveCampaignEmulator
) -> None:
    """subscribe, unsubscribe, set_status, contact memberships and field values."""
    list_id = emu.add_list("News")
    contact_id = emu.add_contact("m@example.com")
    assert (await aclient.memberships.subscribe(contact_id, list_id)).status is ACTIVE
    assert emu.list_members(list_id) == {"m@example.com": 1}
    assert (await aclient.memberships.unsubscribe(contact_id, list_id)).status is UNSUB
    assert emu.list_members(list_id) == {"m@example.com": 2}
    again = await aclient.memberships.set_status(contact_id, list_id, 1)
    assert again.status is ACTIVE
    [membership] = await aclient.contacts.memberships(contact_id)
    assert (membership.list, membership.status) == (list_id, ACTIVE)
    field = await aclient.fields.create("Tier")
    assert (field.title, field.perstag) == ("Tier", "TIER")
    value = await aclient.fields.set_value(contact_id, field.id, "gold")
    assert value.value == "gold"
    assert [(v.field, v.value) for v in await aclient.contacts.field_values(contact_id)] == [
        (field.id, "gold")
    ]


async def test_fields_iterate(aclient: acx.AsyncClient, emu: ActiveCampaignEmulator) -> None:
    """fields.iterate reads past the first page of 100."""
    ids = [emu.add_field(f"F{i:03}") for i in range(120)]
    assert [f.id async for f in aclient.fields.iterate()] == ids


async def test_bulk_import(aclient: acx.AsyncClient, emu: ActiveCampaignEmulator) -> None:
    """submit, info (None first, then completed), overview and submit_encoded."""
    queued = await aclient.bulk_import.submit(
        [acx.BulkImportContact(email=f"b{i}@example.com") for i in range(4)]
    )
    assert queued.queued_contacts == 4
    assert (await aclient.bulk_import.info(queued.batch_id)).status is None
    emu.advance(5)
    info = await aclient.bulk_import.info(queued.batch_id)
    assert info.status is acx.BatchStatus.COMPLETED
    assert len(info.success) == 4
    overview = await aclient.bulk_import.overview()
    assert sum(d.contacts for d in overview.recently_completed) == 4
    encoded = [
        acx.client.encode_bulk_contact(
            acx.BulkImportContact(email="e@example.com"), exclude_automations=True
        )
    ]
    assert (await aclient.bulk_import.submit_encoded(encoded)).queued_contacts == 1


async def test_bulk_limits_refused_before_sending(
    aclient: acx.AsyncClient, emu: ActiveCampaignEmulator
) -> None:
    """251 contacts, an oversized body or no contacts never reach the emulator."""
    too_many = [acx.BulkImportContact(email=f"p{i}@example.com") for i in range(251)]
    too_big = [
        acx.BulkImportContact(email=f"p{i}@example.com", last_name="y" * 3000) for i in range(150)
    ]
    for contacts, message in (
        (too_many, "not 251"),
        (too_big, "399,999 bytes"),
        ([], "at least one"),
    ):
        with pytest.raises(acx.ConfigurationError, match=message):
            await aclient.bulk_import.submit(contacts)
    assert emu.requests == []


async def test_request_escape_hatch(aclient: acx.AsyncClient, emu: ActiveCampaignEmulator) -> None:
    """AsyncClient.request returns the decoded JSON object."""
    emu.add_contact("r@example.com")
    body = await aclient.request("GET", "contacts", params={"email": "r@example.com"})
    assert body["contacts"][0]["email"] == "r@example.com"


async def test_async_fields_create_reads_the_documented_list() -> None:
    """Async: the documented `{"fields": [...]}` answer to POST /fields is read too."""

    def handler(request: httpx.Request) -> httpx.Response:
        field = {"id": "5", "title": "Tier", "perstag": "TIER", "type": "text"}
        return httpx.Response(200, json={"fields": [field], "fieldOptions": []})

    transport = httpx.MockTransport(handler)
    async with acx.AsyncClient("acme.api-us1.com", "key", transport=transport) as mocked:
        field = await mocked.fields.create("Tier")
    assert (field.id, field.perstag) == (5, "TIER")
