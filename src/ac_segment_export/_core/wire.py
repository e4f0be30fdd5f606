"""Typed models of ActiveCampaign's wire shapes, and the one private converter for them.

ActiveCampaign's JSON is loose: IDs and counts arrive as strings (``"id": "113"``,
``"meta": {"total": "6"}``), flags as ``"0"``/``"1"``, names in camelCase on the contact
endpoints (``firstName``) but in snake_case in bulk import (``first_name``), and dates may be
``0000-00-00`` placeholders. The models below are what users see: ints for IDs, ``str`` for
text (never ``None``), ``datetime | None`` for stamps. The converter maps between the two.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, override

__all__ = [
    "BatchStatus",
    "BulkImportContact",
    "BulkImportInfo",
    "BulkImportOverview",
    "BulkImportQueued",
    "Contact",
    "ContactInput",
    "CustomField",
    "DailyImportCount",
    "FieldValue",
    "FieldValueInput",
    "ListMembership",
    "MailingList",
    "MembershipStatus",
    "User",
    "bulk_contact_to_wire",
    "converter",
]

T = TypeVar("T")


class MembershipStatus(enum.IntEnum):
    """A contact's status in one list (``contactList.status``)."""

    UNCONFIRMED = 0
    ACTIVE = 1
    UNSUBSCRIBED = 2
    BOUNCED = 3


class BatchStatus(str, enum.Enum):
    """The lifecycle of one bulk-import batch (``import/info``), as ActiveCampaign documents it.

    A status outside these six is not an error: :class:`BulkImportInfo` reads it as "not
    finished yet" and keeps the text in :attr:`BulkImportInfo.raw_status`.
    """

    WAITING = "waiting"
    CLAIMED = "claimed"
    ACTIVE = "active"
    COMPLETED = "completed"
    FAILED = "failed"
    INTERRUPTED = "interrupted"

    @property
    def is_final(self) -> bool:
        """Whether the batch will not change any more."""
        return self in {BatchStatus.COMPLETED, BatchStatus.FAILED, BatchStatus.INTERRUPTED}


@attrs.frozen
class User:
    """The ActiveCampaign user an API key belongs to (``users/me``)."""

    id: int
    username: str = ""
    first_name: str = ""
    last_name: str = ""
    email: str = ""


@attrs.frozen
class MailingList:
    """A list of the account (named so as not to shadow :class:`typing.List`)."""

    id: int
    name: str
    stringid: str = ""
    sender_url: str = ""
    sender_reminder: str = ""


@attrs.frozen
class Contact:
    """A contact as ActiveCampaign returns it."""

    id: int
    email: str
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    created: dt.datetime | None = None
    updated: dt.datetime | None = None


@attrs.frozen
class FieldValueInput:
    """A custom-field value to write: the field's ID and the value formatted for its type."""

    field: int
    value: str


@attrs.frozen
class ContactInput:
    """What to create, sync or update: ``None`` leaves a standard field unsent (untouched)."""

    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    field_values: tuple[FieldValueInput, ...] = ()


@attrs.frozen
class ListMembership:
    """A contact's subscription to one list (AC's ``contactList``).

    Attributes:
        updated: When the membership last changed (its ``udate``), when the answer has it.
    """

    contact: int
    list: int
    status: MembershipStatus
    id: int | None = None
    updated: dt.datetime | None = None


@attrs.frozen
class CustomField:
    """A custom contact field (``/fields``).

    Attributes:
        type: ``text``, ``textarea``, ``date``, ``datetime``, ``dropdown``, ``listbox``,
            ``radio``, ``checkbox``, ``hidden`` or ``number``.
        perstag: The personalization tag, e.g. ``LOYALTY_TIER``.
        options: The allowed values of a dropdown, listbox, radio or checkbox field, when the
            response side-loads them.
    """

    id: int
    title: str
    type: str = "text"
    perstag: str = ""
    default_value: str = ""
    is_required: bool = False
    options: tuple[str, ...] = ()


@attrs.frozen
class FieldValue:
    """One contact's value of one custom field."""

    id: int
    contact: int
    field: int
    value: str = ""


@attrs.frozen
class BulkImportContact:
    """One contact of a bulk-import request (``import/bulk_import``).

    ``None`` and empty tuples are left out of the request, so they never blank a value.
    """

    email: str
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    tags: tuple[str, ...] = ()
    fields: tuple[FieldValueInput, ...] = ()
    subscribe: tuple[int, ...] = ()
    unsubscribe: tuple[int, ...] = ()


@attrs.frozen
class BulkImportQueued:
    """ActiveCampaign accepted a bulk-import request: the batch is queued, not yet done."""

    batch_id: str
    queued_contacts: int
    message: str = ""


@attrs.frozen
class BulkImportInfo:
    """Where one batch stands.

    Attributes:
        status: The batch status, or ``None`` while ActiveCampaign has none yet (it answers
            ``status: false`` for about a second after a submit) or when it answers a status
            it does not document: both mean "not finished yet", so :attr:`is_final` is false.
        success: IDs of the contacts the batch created.
        failure: Emails the batch did not import.
        raw_status: The status exactly as ActiveCampaign sent it (a number as its text), or
            ``None`` for ``false``/no status; tells an undocumented status apart from none.
    """

    status: BatchStatus | None
    success: tuple[int, ...] = ()
    failure: tuple[str, ...] = ()
    raw_status: str | None = None

    @property
    def is_final(self) -> bool:
        """Whether the batch has ended."""
        return self.status is not None and self.status.is_final


@attrs.frozen
class DailyImportCount:
    """Batches and contacts for one day in the aggregate bulk-import status."""

    for_date: str
    batches: int
    contacts: int


@attrs.frozen
class BulkImportOverview:
    """The account's aggregate bulk-import status."""

    outstanding: tuple[DailyImportCount, ...] = ()
    recently_completed: tuple[DailyImportCount, ...] = ()


def _structure_str(value: object, _: object) -> str:
    if value is None:
        return ""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    msg = f"expected a string, got {type(value).__name__}"
    raise ValueError(msg)


def _structure_int(value: object, _: object) -> int:
    if isinstance(value, bool):
        msg = "expected an integer, got a boolean"
        raise TypeError(msg)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    msg = f"expected an integer, got {value!r}"
    raise ValueError(msg)


def _structure_bool(value: object, _: object) -> bool:
    if isinstance(value, bool):
        return value
    if value in (0, 1, "0", "1", "", None):
        return value in (1, "1")
    msg = f"expected a flag, got {value!r}"
    raise ValueError(msg)


def _structure_datetime(value: object, _: object) -> dt.datetime | None:
    if value is None or value == "" or (isinstance(value, str) and value.startswith("0000")):
        return None
    if not isinstance(value, str):
        msg = f"expected a timestamp, got {value!r}"
        raise TypeError(msg)
    text = value.replace("Z", "+00:00").replace(" ", "T", 1)
    return dt.datetime.fromisoformat(text)


def _raw_batch_status(value: object) -> str | None:
    if value is False or value is None or value == "":
        return None
    if value is True:
        return "true"
    if isinstance(value, str | int | float):
        return str(value)
    msg = f"expected a batch status, got {value!r}"
    raise ValueError(msg)


def _structure_batch_status(value: object, _: object) -> BatchStatus | None:
    raw = _raw_batch_status(value)
    if raw is None:
        return None
    try:
        return BatchStatus(raw.strip().lower())
    except ValueError:
        return None  # undocumented: as far as we can tell, the batch has not finished


def _structure_membership_status(value: object, _: object) -> MembershipStatus:
    # Registered explicitly: MembershipStatus is an int, so the int hook would otherwise
    # claim it and hand back a bare int (and accept any number).
    return MembershipStatus(_structure_int(value, int))


def _structure_options(value: object, _: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        msg = f"expected a list of options, got {value!r}"
        raise TypeError(msg)
    out = []
    for item in value:
        if isinstance(item, Mapping):
            out.append(str(item.get("value", item.get("label", ""))))
        else:
            out.append(str(item))
    return tuple(out)


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(detailed_validation=True)
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_structure_hook(dt.datetime | None, _structure_datetime)
    conv.register_structure_hook(BatchStatus | None, _structure_batch_status)
    conv.register_structure_hook(MembershipStatus, _structure_membership_status)

    def structure_as(cls: type[Any], **renames: str) -> None:
        # Any: the function's other keyword parameters are typed flags, not overrides.
        overrides: dict[str, Any] = {attr: override(rename=wire) for attr, wire in renames.items()}
        conv.register_structure_hook(cls, make_dict_structure_fn(cls, conv, **overrides))

    structure_as(User, first_name="firstName", last_name="lastName")
    structure_as(
        Contact, first_name="firstName", last_name="lastName", created="cdate", updated="udate"
    )
    structure_as(BulkImportQueued, batch_id="batchId")
    structure_as(ListMembership, updated="udate")

    info_fn = make_dict_structure_fn(BulkImportInfo, conv, raw_status=override(omit=True))

    def structure_info(value: Any, cls: type[BulkImportInfo]) -> BulkImportInfo:
        info = info_fn(value, cls)
        return attrs.evolve(info, raw_status=_raw_batch_status(value.get("status")))

    conv.register_structure_hook(BulkImportInfo, structure_info)
    structure_as(DailyImportCount, for_date="forDate")
    structure_as(BulkImportOverview, recently_completed="recentlyCompleted")

    field_fn = make_dict_structure_fn(
        CustomField,
        conv,
        default_value=override(rename="defval"),
        is_required=override(rename="isrequired"),
        options=override(struct_hook=_structure_options),
    )
    conv.register_structure_hook(CustomField, field_fn)

    def unstructure_contact_input(value: ContactInput) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, wire in (
            ("email", "email"),
            ("first_name", "firstName"),
            ("last_name", "lastName"),
            ("phone", "phone"),
        ):
            item = getattr(value, key)
            if item is not None:
                out[wire] = item
        if value.field_values:
            out["fieldValues"] = [
                {"field": str(fv.field), "value": fv.value} for fv in value.field_values
            ]
        return out

    conv.register_unstructure_hook(ContactInput, unstructure_contact_input)
    return conv


converter = _make_converter()


def bulk_contact_to_wire(contact: BulkImportContact) -> dict[str, Any]:
    """The JSON object of one bulk-import contact (snake_case; empty parts left out)."""
    out: dict[str, Any] = {"email": contact.email}
    if contact.first_name is not None:
        out["first_name"] = contact.first_name
    if contact.last_name is not None:
        out["last_name"] = contact.last_name
    if contact.phone is not None:
        out["phone"] = contact.phone
    if contact.tags:
        out["tags"] = list(contact.tags)
    if contact.fields:
        out["fields"] = [{"id": fv.field, "value": fv.value} for fv in contact.fields]
    if contact.subscribe:
        out["subscribe"] = [{"listid": list_id} for list_id in contact.subscribe]
    if contact.unsubscribe:
        out["unsubscribe"] = [{"listid": list_id} for list_id in contact.unsubscribe]
    return out
