"""The one encoder of the bulk-import contact shape equals ``json.dumps`` of the wire model."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ac_segment_export import BulkImportContact, FieldValueInput
from ac_segment_export._core.ops import BulkContactEncoder, encode_bulk_contact
from ac_segment_export._core.wire import bulk_contact_to_wire

# Any text that has a UTF-8 form (no lone surrogates): quotes, backslashes, controls, emoji.
text = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
ids = st.integers(min_value=1, max_value=10**9)

contacts = st.builds(
    BulkImportContact,
    email=text,
    first_name=st.none() | text,
    last_name=st.none() | text,
    phone=st.none() | text,
    tags=st.lists(text, max_size=4).map(tuple),
    fields=st.lists(st.builds(FieldValueInput, ids, text), max_size=4).map(tuple),
    subscribe=st.lists(ids, max_size=2).map(tuple),
    unsubscribe=st.lists(ids, max_size=2).map(tuple),
)


def _dumps(contact: BulkImportContact, *, exclude_automations: bool) -> bytes:
    wire = bulk_contact_to_wire(contact)
    if exclude_automations:
        wire["exclude_automations"] = True
    return json.dumps(wire, ensure_ascii=False, separators=(",", ":")).encode()


@given(contacts, st.booleans())
def test_the_encoder_writes_what_json_dumps_writes(
    contact: BulkImportContact, exclude_automations: bool
) -> None:
    encoded = encode_bulk_contact(contact, exclude_automations=exclude_automations)
    assert encoded == _dumps(contact, exclude_automations=exclude_automations)
    assert json.loads(encoded)["email"] == contact.email


@given(contacts)
def test_a_shared_encoder_gives_the_same_bytes_for_every_contact(
    contact: BulkImportContact,
) -> None:
    encoder = BulkContactEncoder(subscribe=(7,), exclude_automations=True)
    shared = BulkImportContact(
        contact.email,
        contact.first_name,
        contact.last_name,
        contact.phone,
        contact.tags,
        contact.fields,
        subscribe=(7,),
    )
    encoded = encoder.encode(
        contact.email,
        contact.first_name,
        contact.last_name,
        contact.phone,
        contact.tags,
        contact.fields,
    )
    assert encoded == _dumps(shared, exclude_automations=True)


def test_a_lone_surrogate_cannot_be_encoded() -> None:
    with pytest.raises(UnicodeEncodeError):
        BulkContactEncoder().encode("a@x.io", first_name="\ud800")
