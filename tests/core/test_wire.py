"""The private converter on ActiveCampaign-shaped JSON (strings for IDs, odd dates, flags)."""

from __future__ import annotations

import datetime as dt
import json

import cattrs
import httpx
import pytest

import ac_segment_export as acx
from ac_segment_export._core import ops
from ac_segment_export._core.wire import bulk_contact_to_wire, converter

CONTACT = {
    "cdate": "2024-03-05T10:11:12-05:00",
    "email": "ada@example.com",
    "phone": "",
    "firstName": "Ada",
    "lastName": "Lovelace",
    "orgid": "0",
    "udate": "0000-00-00 00:00:00",
    "bounced_date": "0000-00-00",
    "links": {"contactLists": "https://acme.api-us1.com/api/3/contacts/113/contactLists"},
    "id": "113",
    "organization": None,
}


def test_contact_from_ac_json() -> None:
    """String IDs become ints, camelCase names map, 0000-00-00 stamps become None."""
    contact = converter.structure(CONTACT, acx.Contact)
    assert contact == acx.Contact(
        id=113,
        email="ada@example.com",
        first_name="Ada",
        last_name="Lovelace",
        phone="",
        created=dt.datetime(2024, 3, 5, 10, 11, 12, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
        updated=None,
    )


def test_null_text_becomes_empty_string() -> None:
    """A null text attribute is '' (text is never None in the models)."""
    contact = converter.structure({**CONTACT, "firstName": None, "phone": None}, acx.Contact)
    assert contact.first_name == ""
    assert contact.phone == ""


def test_space_separated_and_zulu_stamps() -> None:
    """'2024-01-02 03:04:05' and '...Z' both parse."""
    a = converter.structure({**CONTACT, "udate": "2024-01-02 03:04:05"}, acx.Contact)
    b = converter.structure({**CONTACT, "udate": "2024-01-02T03:04:05Z"}, acx.Contact)
    assert a.updated == dt.datetime(2024, 1, 2, 3, 4, 5)
    assert b.updated == dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("bad_id", ["abc", "", None, True, 1.5])
def test_bad_ids_are_refused(bad_id: object) -> None:
    """An ID that is not an integer (or digits) is a validation error, not a silent 0."""
    with pytest.raises(cattrs.BaseValidationError):
        converter.structure({**CONTACT, "id": bad_id}, acx.Contact)


def test_membership_status_is_the_enum() -> None:
    """contactList.status '2' becomes MembershipStatus.UNSUBSCRIBED, not a bare int."""
    membership = converter.structure(
        {"contact": "7", "list": "3", "status": "2", "id": "12"}, acx.ListMembership
    )
    assert membership == acx.ListMembership(7, 3, acx.MembershipStatus.UNSUBSCRIBED, 12)
    assert type(membership.status) is acx.MembershipStatus


def test_unknown_membership_status_is_refused() -> None:
    """A status outside the documented codes is a validation error."""
    with pytest.raises(cattrs.BaseValidationError):
        converter.structure({"contact": "7", "list": "3", "status": "9"}, acx.ListMembership)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (False, None),
        (None, None),
        ("", None),
        ("waiting", acx.BatchStatus.WAITING),
        ("COMPLETED", acx.BatchStatus.COMPLETED),
        ("interrupted", acx.BatchStatus.INTERRUPTED),
    ],
)
def test_batch_status(status: object, expected: acx.BatchStatus | None) -> None:
    """import/info's `status: false` means no status yet; names are case-insensitive."""
    info = converter.structure(
        {"status": status, "success": ["4", 5], "failure": ["x@y.z"]}, acx.BulkImportInfo
    )
    assert info.status is expected
    assert info.success == (4, 5)
    assert info.failure == ("x@y.z",)
    assert info.is_final is (expected is not None and expected.is_final)


@pytest.mark.parametrize(
    ("status", "raw"),
    [("exploded", "exploded"), ("Processing ", "Processing "), (3, "3"), (True, "true")],
)
def test_undocumented_batch_status_is_not_finished(status: object, raw: str) -> None:
    """A status outside the documented six is "not finished yet", its text kept as raw_status."""
    info = converter.structure({"status": status, "failure": []}, acx.BulkImportInfo)
    assert info.status is None
    assert not info.is_final
    assert info.raw_status == raw


def test_documented_batch_status_keeps_its_raw_text() -> None:
    """raw_status is the text as sent; None for `status: false`."""
    info = converter.structure({"status": "Completed"}, acx.BulkImportInfo)
    assert (info.status, info.raw_status) == (acx.BatchStatus.COMPLETED, "Completed")
    assert converter.structure({"status": False}, acx.BulkImportInfo).raw_status is None


@pytest.mark.parametrize("status", [{"state": "active"}, ["active"]])
def test_batch_status_of_the_wrong_shape_is_refused(status: object) -> None:
    """An object or a list where the status belongs is still a validation error."""
    with pytest.raises(cattrs.BaseValidationError):
        converter.structure({"status": status}, acx.BulkImportInfo)


def test_custom_field_flags_and_options() -> None:
    """isrequired '1' is True, defval maps, option objects become their values."""
    field = converter.structure(
        {
            "id": "4",
            "title": "Tier",
            "type": "dropdown",
            "perstag": "TIER",
            "defval": None,
            "isrequired": "1",
            "options": [{"value": "gold"}, {"label": "silver"}, "bronze"],
        },
        acx.CustomField,
    )
    assert field == acx.CustomField(
        4, "Tier", "dropdown", "TIER", "", True, ("gold", "silver", "bronze")
    )


@pytest.mark.parametrize("flag", ["yes", 2, "true"])
def test_bad_flags_are_refused(flag: object) -> None:
    """A flag other than 0/1 (or a bool) is a validation error."""
    with pytest.raises(cattrs.BaseValidationError):
        converter.structure({"id": "4", "title": "T", "isrequired": flag}, acx.CustomField)


def test_overview_structures_string_counts() -> None:
    """The aggregate status has string counts and camelCase keys."""
    overview = converter.structure(
        {
            "outstanding": [{"forDate": "2024-01-01", "batches": "2", "contacts": "300"}],
            "recentlyCompleted": [],
        },
        acx.BulkImportOverview,
    )
    assert overview.outstanding == (acx.DailyImportCount("2024-01-01", 2, 300),)
    assert overview.recently_completed == ()


def test_contact_input_unstructures_camel_case_and_skips_none() -> None:
    """ContactInput leaves None fields out and sends camelCase with string field IDs."""
    wire = converter.unstructure(
        acx.ContactInput(
            email="a@b.co", first_name="A", field_values=(acx.FieldValueInput(3, "gold"),)
        )
    )
    assert wire == {
        "email": "a@b.co",
        "firstName": "A",
        "fieldValues": [{"field": "3", "value": "gold"}],
    }


def test_bulk_contact_is_snake_case_without_empty_parts() -> None:
    """Bulk contacts use snake_case and leave out None and empty collections."""
    assert bulk_contact_to_wire(acx.BulkImportContact(email="a@b.co")) == {"email": "a@b.co"}
    assert bulk_contact_to_wire(
        acx.BulkImportContact(
            email="a@b.co",
            first_name="A",
            last_name="",
            tags=("vip",),
            fields=(acx.FieldValueInput(2, "x"),),
            subscribe=(5,),
            unsubscribe=(6,),
        )
    ) == {
        "email": "a@b.co",
        "first_name": "A",
        "last_name": "",
        "tags": ["vip"],
        "fields": [{"id": 2, "value": "x"}],
        "subscribe": [{"listid": 5}],
        "unsubscribe": [{"listid": 6}],
    }


def _parse(op: ops.Operation[object], body: object) -> object:
    request = httpx.Request(op.spec.method, "https://acme.api-us1.com/api/3/" + op.spec.path)
    response = httpx.Response(200, json=body, request=request)
    return op.parse(body, response)  # type: ignore[arg-type]


def test_wrong_shape_is_a_validation_error_with_a_path() -> None:
    """A 2xx body of the wrong shape raises APIResponseValidationError naming the path."""
    with pytest.raises(acx.APIResponseValidationError) as caught:
        _parse(ops.contacts_get(1), {"contact": {**CONTACT, "id": "x"}})
    assert any("$.contact" in p and "id" in p for p in caught.value.problems)
    with pytest.raises(acx.APIResponseValidationError):
        _parse(ops.users_me(), {"nothing": "here"})


def test_bulk_submit_parse_accepts_either_success_spelling() -> None:
    """The submit answer's 'Success' / 'success' and batchId are read case-insensitively."""
    op = ops.bulk_import_submit([acx.BulkImportContact(email="a@b.co")])
    assert _parse(
        op,
        {"Success": 1, "queued_contacts": 1, "batchId": "b-1", "message": "Contact import queued"},
    ) == acx.BulkImportQueued("b-1", 1, "Contact import queued")
    with pytest.raises(acx.APIResponseValidationError):
        _parse(op, {"success": 0, "message": "?"})


def test_bulk_body_size_matches_the_encoded_body() -> None:
    """bulk_body_size predicts the exact length of the body the submit would send."""
    encoded = [
        ops.encode_bulk_contact(
            acx.BulkImportContact(email=f"u{i}@ex.com"), exclude_automations=i % 2 == 0
        )
        for i in range(5)
    ]
    op = ops.bulk_import_submit_encoded(encoded)
    assert op.spec.content is not None
    assert ops.bulk_body_size(encoded) == len(op.spec.content)
    body = json.loads(op.spec.content)
    assert body["contacts"][0] == {"email": "u0@ex.com", "exclude_automations": True}
