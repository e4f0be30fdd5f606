"""Every resource method of the sync ``Client``, against the emulator's transport."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

import ac_segment_export as acx

if TYPE_CHECKING:
    from ac_segment_export.testing import ActiveCampaignEmulator

UNSUB = acx.MembershipStatus.UNSUBSCRIBED
ACTIVE = acx.MembershipStatus.ACTIVE


def test_users_me(client: acx.Client, emu: ActiveCampaignEmulator) -> None:
    """users.me returns the key's user, sending the key in Api-Token."""
    user = client.users.me()
    assert user == acx.User(
        id=1,
        username="emulator",
        first_name="Emulated",
        last_name="User",
        email="emulator@example.com",
    )
    assert [(r.method, r.path, r.status) for r in emu.requests] == [("GET", "/users/me", 200)]


def test_lists_get_and_create(client: acx.Client, emu: ActiveCampaignEmulator) -> None:
    """lists.create makes a list the emulator holds; lists.get reads it back."""
    created = client.lists.create("VIP Customers", sender_url="https://shop.example")
    assert created.name == "VIP Customers"
    assert created.stringid == "vip-customers"
    assert created.sender_url == "https://shop.example"
    assert [(x.id, x.name) for x in emu.lists] == [(created.id, "VIP Customers")]
    assert client.lists.get(created.id) == created


def test_lists_iterate_pages_past_100(client: acx.Client, emu: ActiveCampaignEmulator) -> None:
    """lists.iterate walks every page of 100 and stops at the total."""
    ids = [emu.add_list(f"List {i:03}") for i in range(230)]
    emu.reset_requests()
    lists = list(client.lists.iterate())
    assert [x.id for x in lists] == ids
    offsets = [r.query["offset"] for r in emu.requests]
    assert offsets == ["0", "100", "200"]
    assert {r.query["limit"] for r in emu.requests} == {"100"}


def test_lists_iterate_by_name(client: acx.Client, emu: ActiveCampaignEmulator) -> None:
    """The name filter is passed through."""
    emu.add_list("Alpha")
    beta = emu.add_list("Beta")
    assert [x.id for x in client.lists.iterate(name="Beta")] == [beta]


def test_lists_iterate_exactly_100(client: acx.Client, emu: ActiveCampaignEmulator) -> None:
    """A collection of exactly one full page needs no empty second request (meta.total ends it)."""
    for i in range(100):
        emu.add_list(f"L{i}")
    emu.reset_requests()
    assert len(list(client.lists.iterate())) == 100
    assert len(emu.requests) == 1


def test_contacts_create_get_find(client: acx.Client, emu: ActiveCampaignEmulator) -> None:
    """contacts.create makes the contact; get and find (case-insensitive) read it back."""
    created = client.contacts.create(
        acx.ContactInput(email="Ada@Example.com", first_name="Ada", phone="+44 20 7946 0000")
    )
    stored = emu.contact_by_email("ada@example.com")
    assert stored is not None
    assert (stored.id, stored.first_name, stored.phone) == (created.id, "Ada", "+44 20 7946 0000")
    assert client.contacts.get(created.id) == created
    assert client.contacts.find("ADA@example.com") == created
    assert client.contacts.find("nobody@example.com") is None


def test_contacts_create_with_field_values(client: acx.Client, emu: ActiveCampaignEmulator) -> None:
    """Field values given on create are stored."""
    field = emu.add_field("Tier")
    created = client.contacts.create(
        acx.ContactInput(email="b@example.com", field_values=(acx.FieldValueInput(field, "gold"),))
    )
    assert emu.field_values(created.id) == {field: "gold"}


def test_contacts_sync_upserts_case_insensitively(
    client: acx.Client, emu: ActiveCampaignEmulator
) -> None:
    """contacts.sync creates, then updates the same contact whatever the email's case."""
    first = client.contacts.sync(acx.ContactInput(email="grace@example.com", first_name="Grace"))
    second = client.contacts.sync(acx.ContactInput(email="GRACE@Example.COM", last_name="Hopper"))
    assert second.id == first.id
    assert emu.contact_count == 1
    stored = emu.contact(first.id)
    assert stored is not None
    assert (stored.first_name, stored.last_name) == ("Grace", "Hopper")


def test_contacts_update_leaves_unsent_fields(
    client: acx.Client, emu: ActiveCampaignEmulator
) -> None:
    """contacts.update changes what is given and leaves None fields untouched."""
    contact_id = emu.add_contact("c@example.com", first_name="Cee", last_name="Old")
    updated = client.contacts.update(contact_id, acx.ContactInput(last_name="New"))
    assert (updated.first_name, updated.last_name) == ("Cee", "New")
    sent = emu.requests[-1].json
    assert sent == {"contact": {"lastName": "New"}}


def test_contacts_delete(client: acx.Client, emu: ActiveCampaignEmulator) -> None:
    """contacts.delete removes the contact; reading it then is a NotFoundError."""
    contact_id = emu.add_contact("d@example.com")
    assert client.contacts.delete(contact_id) is None
    assert emu.contact(contact_id) is None
    with pytest.raises(acx.NotFoundError):
        client.contacts.get(contact_id)


def test_contacts_memberships_and_field_values(
    client: acx.Client, emu: ActiveCampaignEmulator
) -> None:
    """memberships and field_values read a contact's lists and custom values."""
    a, b = emu.add_list("A"), emu.add_list("B")
    field = emu.add_field("Colour")
    contact_id = emu.add_contact("e@example.com", lists={a: 1, b: 2})
    client.fields.set_value(contact_id, field, "teal")
    memberships = sorted(client.contacts.memberships(contact_id), key=lambda m: m.list)
    assert [(m.contact, m.list, m.status) for m in memberships] == [
        (contact_id, a, ACTIVE),
        (contact_id, b, UNSUB),
    ]
    values = client.contacts.field_values(contact_id)
    assert [(v.contact, v.field, v.value) for v in values] == [(contact_id, field, "teal")]


@pytest.fixture
def crowd(emu: ActiveCampaignEmulator) -> dict[str, object]:
    """250 contacts, some in a list (active or unsubscribed)."""
    list_id = emu.add_list("Crowd")
    other = emu.add_list("Other")
    ids = []
    for i in range(250):
        lists = {list_id: 1 if i % 3 else 2} if i < 210 else {other: 1}
        ids.append(emu.add_contact(f"user{i:03}@example.com", lists=lists))
    emu.reset_requests()
    return {"list": list_id, "ids": ids}


def test_contacts_iterate_by_id(
    client: acx.Client, emu: ActiveCampaignEmulator, crowd: dict[str, list[int]]
) -> None:
    """The default scan pages with id_greater in ascending ID order, each contact once."""
    contacts = list(client.contacts.iterate())
    assert [c.id for c in contacts] == crowd["ids"]
    ids = crowd["ids"]
    assert [r.query.get("id_greater") for r in emu.requests] == ["0", str(ids[99]), str(ids[199])]
    assert all(r.query["orders[id]"] == "ASC" for r in emu.requests)


def test_contacts_iterate_by_offset(
    client: acx.Client, emu: ActiveCampaignEmulator, crowd: dict[str, list[int]]
) -> None:
    """by_id=False pages with limit/offset."""
    contacts = list(client.contacts.iterate(by_id=False))
    assert [c.id for c in contacts] == crowd["ids"]
    assert [r.query["offset"] for r in emu.requests] == ["0", "100", "200"]


def test_contacts_iterate_filters(client: acx.Client, crowd: dict[str, object]) -> None:
    """email, list_id and status filter what comes back, across pages."""
    list_id = crowd["list"]
    assert isinstance(list_id, int)
    in_list = list(client.contacts.iterate(list_id=list_id))
    assert len(in_list) == 210
    active = list(client.contacts.iterate(list_id=list_id, status=ACTIVE))
    unsub = list(client.contacts.iterate(list_id=list_id, status=UNSUB))
    assert len(active) == 140
    assert len(unsub) == 70
    assert {c.email for c in unsub} == {f"user{i:03}@example.com" for i in range(0, 210, 3)}
    by_email = list(client.contacts.iterate(email="USER007@example.com"))
    assert [c.email for c in by_email] == ["user007@example.com"]


def test_memberships_subscribe_unsubscribe_set_status(
    client: acx.Client, emu: ActiveCampaignEmulator
) -> None:
    """subscribe sets 1, unsubscribe 2, set_status any documented code."""
    list_id = emu.add_list("News")
    contact_id = emu.add_contact("f@example.com")
    sub = client.memberships.subscribe(contact_id, list_id)
    assert (sub.contact, sub.list, sub.status) == (contact_id, list_id, ACTIVE)
    assert emu.list_members(list_id) == {"f@example.com": 1}
    unsub = client.memberships.unsubscribe(contact_id, list_id)
    assert unsub.status is UNSUB
    assert emu.list_members(list_id) == {"f@example.com": 2}
    pending = client.memberships.set_status(contact_id, list_id, acx.MembershipStatus.UNCONFIRMED)
    assert pending.status is acx.MembershipStatus.UNCONFIRMED
    assert emu.list_members(list_id) == {"f@example.com": 0}
    assert emu.requests[-1].json == {
        "contactList": {"list": list_id, "contact": contact_id, "status": 0}
    }


def test_fields_iterate_pages_past_100(client: acx.Client, emu: ActiveCampaignEmulator) -> None:
    """fields.iterate reads every page (a tool reading only the first misses fields)."""
    ids = [emu.add_field(f"Field {i:03}") for i in range(130)]
    emu.add_field("Size", type="dropdown", options=("S", "M", "L"))
    fields = list(client.fields.iterate())
    assert [f.id for f in fields][:130] == ids
    assert len(fields) == 131
    assert fields[-1].type == "dropdown"
    assert fields[-1].options == ("S", "M", "L")


def test_fields_create_and_set_value(client: acx.Client, emu: ActiveCampaignEmulator) -> None:
    """fields.create makes a field; set_value stores a contact's value of it."""
    field = client.fields.create("Loyalty Tier", type="dropdown", perstag="LOYALTY_TIER")
    assert (field.title, field.type, field.perstag) == ("Loyalty Tier", "dropdown", "LOYALTY_TIER")
    assert [f.id for f in emu.fields] == [field.id]
    contact_id = emu.add_contact("g@example.com")
    value = client.fields.set_value(contact_id, field.id, "gold")
    assert (value.contact, value.field, value.value) == (contact_id, field.id, "gold")
    assert emu.field_values(contact_id) == {field.id: "gold"}


def test_bulk_import_lifecycle(client: acx.Client, emu: ActiveCampaignEmulator) -> None:
    """submit queues a batch; info has no status at first, then completes; overview counts it."""
    list_id = emu.add_list("Imported")
    contacts = [
        acx.BulkImportContact(
            email=f"bulk{i}@example.com", first_name=f"B{i}", subscribe=(list_id,)
        )
        for i in range(3)
    ]
    queued = client.bulk_import.submit(contacts, exclude_automations=True)
    assert queued.queued_contacts == 3
    assert [b.id for b in emu.batches] == [queued.batch_id]
    assert emu.requests[-1].json["contacts"][0] == {
        "email": "bulk0@example.com",
        "first_name": "B0",
        "subscribe": [{"listid": list_id}],
        "exclude_automations": True,
    }
    info = client.bulk_import.info(queued.batch_id)
    assert info.status is None
    assert not info.is_final
    outstanding = client.bulk_import.overview()
    assert sum(d.contacts for d in outstanding.outstanding) == 3
    emu.advance(5)
    info = client.bulk_import.info(queued.batch_id)
    assert info.status is acx.BatchStatus.COMPLETED
    assert info.is_final
    assert len(info.success) == 3
    assert emu.list_members(list_id) == {f"bulk{i}@example.com": 1 for i in range(3)}
    done = client.bulk_import.overview()
    assert done.outstanding == ()
    assert sum(d.batches for d in done.recently_completed) == 1


def test_bulk_import_reports_excluded_emails(
    client: acx.Client, emu: ActiveCampaignEmulator
) -> None:
    """An excluded email is skipped by the batch and listed in `failure`."""
    emu.exclude_email("blocked@example.com")
    queued = client.bulk_import.submit(
        [
            acx.BulkImportContact(email="ok@example.com"),
            acx.BulkImportContact(email="blocked@example.com"),
        ]
    )
    emu.advance(5)
    info = client.bulk_import.info(queued.batch_id)
    assert info.failure == ("blocked@example.com",)
    assert emu.contact_by_email("blocked@example.com") is None


def test_bulk_submit_encoded(client: acx.Client, emu: ActiveCampaignEmulator) -> None:
    """submit_encoded sends contacts encoded beforehand, byte for byte."""
    encoded = [
        acx.client.encode_bulk_contact(
            acx.BulkImportContact(email=f"x{i}@example.com"), exclude_automations=False
        )
        for i in range(2)
    ]
    queued = client.bulk_import.submit_encoded(encoded)
    assert queued.queued_contacts == 2
    assert emu.requests[-1].body_bytes == acx.client.bulk_body_size(encoded)


def _sized(total: int) -> list[bytes]:
    """One encoded contact that makes a bulk body of exactly *total* bytes."""
    head = b'{"email":"big@example.com","first_name":"'
    tail = b'"}'
    pad = total - acx.client.bulk_body_size([head + tail])
    return [head + b"x" * pad + tail]


def test_bulk_body_limit_is_399_999_bytes(client: acx.Client, emu: ActiveCampaignEmulator) -> None:
    """ActiveCampaign documents "399,999 bytes or less": that body goes, one byte more does not."""
    assert acx.client.BULK_MAX_BYTES == 399_999
    at_limit = _sized(399_999)
    assert acx.client.bulk_body_size(at_limit) == 399_999
    assert client.bulk_import.submit_encoded(at_limit).queued_contacts == 1
    assert emu.requests[-1].body_bytes == 399_999
    sent = len(emu.requests)
    with pytest.raises(acx.ConfigurationError, match="at most 399,999 bytes; this one is 400,000"):
        client.bulk_import.submit_encoded(_sized(400_000))
    assert len(emu.requests) == sent


def _many(n: int, *, pad: int = 0) -> list[acx.BulkImportContact]:
    return [
        acx.BulkImportContact(email=f"p{i}@example.com", first_name="x" * pad) for i in range(n)
    ]


@pytest.mark.parametrize(
    ("contacts", "message"),
    [
        (_many(251), "at most 250 contacts, not 251"),
        (_many(200, pad=2000), "at most 399,999 bytes"),
        ([], "at least one contact"),
    ],
)
def test_bulk_submit_limits_are_refused_before_sending(
    client: acx.Client,
    emu: ActiveCampaignEmulator,
    contacts: list[acx.BulkImportContact],
    message: str,
) -> None:
    """Too many contacts, too big a body or none at all: ConfigurationError, nothing sent."""
    with pytest.raises(acx.ConfigurationError, match=message):
        client.bulk_import.submit(contacts)
    assert emu.requests == []


def test_bulk_submit_at_the_limits_is_sent(client: acx.Client, emu: ActiveCampaignEmulator) -> None:
    """Exactly 250 contacts is allowed."""
    assert client.bulk_import.submit(_many(250)).queued_contacts == 250
    assert len(emu.requests) == 1


def test_bad_ids_are_refused_before_sending(
    client: acx.Client, emu: ActiveCampaignEmulator
) -> None:
    """Zero, negative or non-int IDs are configuration errors; nothing is sent."""
    for call in (
        lambda: client.contacts.get(0),
        lambda: client.lists.get(-1),
        lambda: client.memberships.subscribe(True, 1),  # type: ignore[arg-type]
        lambda: client.contacts.create(acx.ContactInput(first_name="no email")),
        lambda: client.lists.create("  "),
        lambda: client.bulk_import.info(""),
    ):
        with pytest.raises(acx.ConfigurationError):
            call()
    assert emu.requests == []


def test_request_escape_hatch(client: acx.Client, emu: ActiveCampaignEmulator) -> None:
    """client.request calls any path and returns the decoded JSON object."""
    emu.add_list("Raw")
    body = client.request("GET", "/lists", params={"limit": "5"})
    assert body["meta"]["total"] == "1"
    assert emu.requests[-1].query == {"limit": "5"}


@pytest.mark.parametrize(
    ("kind", "status"),
    [("interrupt_batch", acx.BatchStatus.INTERRUPTED), ("fail_batch", acx.BatchStatus.FAILED)],
)
def test_bulk_batches_that_do_not_complete(
    client: acx.Client, emu: ActiveCampaignEmulator, kind: str, status: acx.BatchStatus
) -> None:
    """A batch can end interrupted or failed; info reports it as final."""
    emu.queue_fault(kind)  # type: ignore[arg-type]
    queued = client.bulk_import.submit(
        [acx.BulkImportContact(email=f"i{i}@example.com") for i in range(4)]
    )
    emu.settle()
    info = client.bulk_import.info(queued.batch_id)
    assert info.status is status
    assert info.is_final
    expected = 2 if status is acx.BatchStatus.INTERRUPTED else 0
    assert emu.contact_count == expected


def test_bulk_info_unknown_batch_is_not_found(client: acx.Client) -> None:
    """Asking about a batch that does not exist is a NotFoundError."""
    with pytest.raises(acx.NotFoundError):
        client.bulk_import.info("00000000-0000-4000-8000-000000000000")


def _field_json(id_: int, title: str, perstag: str) -> dict[str, object]:
    return {"id": str(id_), "title": title, "type": "dropdown", "perstag": perstag}


FIELD_ANSWERS = {
    "documented list": {
        "fields": [_field_json(7, "Loyalty Tier", "LOYALTY_TIER")],
        "fieldOptions": [{"field": "7", "value": "gold"}, {"field": "7", "value": "silver"}],
    },
    "emulator object": {"field": _field_json(7, "Loyalty Tier", "LOYALTY_TIER")},
    "list of several": {
        "fields": [
            _field_json(3, "Other", "OTHER"),
            _field_json(7, "Loyalty Tier", "LOYALTY_TIER"),
            _field_json(9, "loyalty tier", "LOYALTY_TIER_2"),
        ],
        "fieldOptions": [],
    },
}


def _answering(body: object, seen: list[httpx.Request]) -> acx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=body)

    return acx.Client("acme.api-us1.com", "key", transport=httpx.MockTransport(handler))


@pytest.mark.parametrize("shape", list(FIELD_ANSWERS))
def test_fields_create_reads_both_answer_shapes(shape: str) -> None:
    """POST /fields answers `{"fields": [...]}` (documented) or `{"field": {...}}`: both work."""
    seen: list[httpx.Request] = []
    with _answering(FIELD_ANSWERS[shape], seen) as mocked:
        field = mocked.fields.create("Loyalty Tier", type="dropdown", perstag="LOYALTY_TIER")
    assert (field.id, field.title, field.perstag) == (7, "Loyalty Tier", "LOYALTY_TIER")
    if shape == "documented list":
        assert field.options == ("gold", "silver")
    [request] = seen
    assert (request.method, request.url.path) == ("POST", "/api/3/fields")


def test_fields_create_without_perstag_matches_the_title_or_takes_the_only_one() -> None:
    """Without a perstag the title decides; a single listed field is taken whatever its title."""
    with _answering(FIELD_ANSWERS["list of several"], []) as mocked:
        assert mocked.fields.create("Loyalty Tier").id == 7
    only = {"fields": [_field_json(4, "Tier (2)", "TIER_2")]}
    with _answering(only, []) as mocked:
        assert mocked.fields.create("Tier").id == 4


@pytest.mark.parametrize(
    "body",
    [
        {"fields": [_field_json(3, "Other", "OTHER"), _field_json(4, "Else", "ELSE")]},
        {"fields": []},
        {"fields": "nope"},
        {"message": "created"},
    ],
)
def test_fields_create_without_the_created_field_is_a_validation_error(body: object) -> None:
    """An answer that does not name the created field is never taken for it."""
    with _answering(body, []) as mocked, pytest.raises(acx.APIResponseValidationError):
        mocked.fields.create("Loyalty Tier")
