"""Every endpoint the client covers, as pure functions: arguments in, an :class:`Operation` out.

An operation is the request to send and the function that reads its answer; the sync and async
resource classes only hand it to their client.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs

from ac_segment_export._core.errors import ConfigurationError
from ac_segment_export._core.http import _SHAPE_ERRORS, RequestSpec, invalid_body, structure
from ac_segment_export._core.pagination import IdPager, OffsetPager
from ac_segment_export._core.wire import (
    BulkImportContact,
    BulkImportInfo,
    BulkImportOverview,
    BulkImportQueued,
    Contact,
    ContactInput,
    CustomField,
    FieldValue,
    FieldValueInput,
    ListMembership,
    MailingList,
    MembershipStatus,
    User,
    converter,
)

if TYPE_CHECKING:
    import httpx

T = TypeVar("T")

#: The most contacts one bulk-import request may carry.
BULK_MAX_CONTACTS = 250
#: The largest bulk-import body ActiveCampaign accepts, in bytes: its documentation says
#: "less than 400K bytes (399,999 bytes or less)".
BULK_MAX_BYTES = 399_999

Body = Mapping[str, Any]


@attrs.frozen
class Operation(Generic[T]):
    """A request and the reader of its answer."""

    spec: RequestSpec
    parse: Callable[[Body, httpx.Response], T]


def _one(key: str, cls: type[T], spec: RequestSpec) -> Operation[T]:
    def parse(body: Body, response: httpx.Response) -> T:
        if key not in body:
            return structure(None, cls, spec=spec, response=response, where=key)  # type: ignore[no-any-return]
        return structure(body[key], cls, spec=spec, response=response, where=key)  # type: ignore[no-any-return]

    return Operation(spec, parse)


def _many(key: str, cls: type[T]) -> Callable[[Body], Sequence[T]]:
    def parse(body: Body) -> Sequence[T]:
        items = body.get(key)
        if not isinstance(items, list):
            msg = f"the body has no {key!r} list"
            raise TypeError(msg)
        return converter.structure(items, list[cls])  # type: ignore[valid-type]

    return parse


def _positive_id(name: str, value: int) -> str:
    raw: object = value
    if isinstance(raw, bool) or not isinstance(raw, int) or raw <= 0:
        msg = f"{name} must be a positive integer, not {value!r}."
        raise ConfigurationError(msg)
    return str(value)


# -- users ------------------------------------------------------------------------------------


def users_me() -> Operation[User]:
    """``GET /users/me``: the user the key belongs to (the credential check)."""
    return _one("user", User, RequestSpec("GET", "users/me"))


# -- lists ------------------------------------------------------------------------------------


def lists_get(list_id: int) -> Operation[MailingList]:
    """``GET /lists/{id}``."""
    return _one(
        "list", MailingList, RequestSpec("GET", f"lists/{_positive_id('list_id', list_id)}")
    )


def lists_pager(*, name: str | None = None) -> OffsetPager[MailingList]:
    """``GET /lists``, all pages."""
    params = (("filters[name]", name),) if name is not None else ()
    return OffsetPager("lists", "lists", _many("lists", MailingList), params=params)


def lists_create(
    name: str, *, stringid: str | None = None, sender_url: str = "", sender_reminder: str = ""
) -> Operation[MailingList]:
    """``POST /lists`` (not idempotent: a retry after success would create a second list)."""
    if not name or not name.strip():
        msg = "A list needs a non-blank name."
        raise ConfigurationError(msg)
    slug = stringid or "-".join(name.lower().split())
    body = {
        "list": {
            "name": name,
            "stringid": slug,
            "sender_url": sender_url,
            "sender_reminder": sender_reminder,
        }
    }
    return _one("list", MailingList, RequestSpec("POST", "lists", json=body, idempotent=False))


# -- contacts ---------------------------------------------------------------------------------


def contacts_get(contact_id: int) -> Operation[Contact]:
    """``GET /contacts/{id}``."""
    path = f"contacts/{_positive_id('contact_id', contact_id)}"
    return _one("contact", Contact, RequestSpec("GET", path))


def _contact_filters(
    email: str | None, list_id: int | None, status: MembershipStatus | int | None
) -> tuple[tuple[str, str], ...]:
    params: list[tuple[str, str]] = []
    if email is not None:
        params.append(("email", email))
    if list_id is not None:
        params.append(("listid", _positive_id("list_id", list_id)))
    if status is not None:
        params.append(("status", str(int(status))))
    return tuple(params)


def contacts_pager(
    *,
    email: str | None = None,
    list_id: int | None = None,
    status: MembershipStatus | int | None = None,
    by_id: bool = True,
) -> OffsetPager[Contact] | IdPager[Contact]:
    """``GET /contacts`` with filters; ``by_id`` pages with ``id_greater`` (for big scans)."""
    params = _contact_filters(email, list_id, status)
    parse = _many("contacts", Contact)
    if by_id:
        return IdPager("contacts", "contacts", parse, lambda c: c.id, params=params)
    return OffsetPager("contacts", "contacts", parse, params=params)


def contacts_find(email: str) -> Operation[Contact | None]:
    """``GET /contacts?email=``: the contact with this email, or ``None``."""
    spec = RequestSpec("GET", "contacts", params=(("email", email), ("limit", "1")))

    def parse(body: Body, response: httpx.Response) -> Contact | None:
        found: list[Contact] = structure(
            body.get("contacts"), list[Contact], spec=spec, response=response, where="contacts"
        )
        return found[0] if found else None

    return Operation(spec, parse)


def _contact_body(contact: ContactInput, *, email_required: bool) -> dict[str, Any]:
    if email_required and not contact.email:
        msg = "This call needs the contact's email."
        raise ConfigurationError(msg)
    return {"contact": converter.unstructure(contact)}


def contacts_create(contact: ContactInput) -> Operation[Contact]:
    """``POST /contacts`` (not idempotent: never retried after it may have been processed)."""
    body = _contact_body(contact, email_required=True)
    return _one("contact", Contact, RequestSpec("POST", "contacts", json=body, idempotent=False))


def contacts_sync(contact: ContactInput) -> Operation[Contact]:
    """``POST /contact/sync``: create or update by email (safe to repeat)."""
    body = _contact_body(contact, email_required=True)
    return _one("contact", Contact, RequestSpec("POST", "contact/sync", json=body))


def contacts_update(contact_id: int, contact: ContactInput) -> Operation[Contact]:
    """``PUT /contacts/{id}``; fields left ``None`` are not sent."""
    path = f"contacts/{_positive_id('contact_id', contact_id)}"
    body = _contact_body(contact, email_required=False)
    return _one("contact", Contact, RequestSpec("PUT", path, json=body))


def contacts_delete(contact_id: int) -> Operation[None]:
    """``DELETE /contacts/{id}``."""
    path = f"contacts/{_positive_id('contact_id', contact_id)}"
    return Operation(RequestSpec("DELETE", path), lambda body, response: None)


def _listed(spec: RequestSpec, key: str, cls: type[T]) -> Operation[list[T]]:
    """An operation whose answer is the list under *key*, each item a *cls*."""

    def parse(body: Body, response: httpx.Response) -> list[T]:
        return structure(  # type: ignore[no-any-return]
            body.get(key),
            list[cls],  # type: ignore[valid-type]
            spec=spec,
            response=response,
            where=key,
        )

    return Operation(spec, parse)


def contacts_memberships(contact_id: int) -> Operation[list[ListMembership]]:
    """``GET /contacts/{id}/contactLists``: the contact's list statuses."""
    path = f"contacts/{_positive_id('contact_id', contact_id)}/contactLists"
    return _listed(RequestSpec("GET", path), "contactLists", ListMembership)


def contacts_field_values(contact_id: int) -> Operation[list[FieldValue]]:
    """``GET /contacts/{id}/fieldValues``."""
    path = f"contacts/{_positive_id('contact_id', contact_id)}/fieldValues"
    return _listed(RequestSpec("GET", path), "fieldValues", FieldValue)


# -- list membership --------------------------------------------------------------------------


def memberships_set(
    contact_id: int, list_id: int, status: MembershipStatus | int
) -> Operation[ListMembership]:
    """``POST /contactLists``: set one contact's status in one list (safe to repeat)."""
    status = MembershipStatus(int(status))
    body = {
        "contactList": {
            "list": int(_positive_id("list_id", list_id)),
            "contact": int(_positive_id("contact_id", contact_id)),
            "status": int(status),
        }
    }
    return _one("contactList", ListMembership, RequestSpec("POST", "contactLists", json=body))


# -- custom fields ----------------------------------------------------------------------------


def _fields_page(body: Body) -> Sequence[CustomField]:
    fields = _many("fields", CustomField)(body)
    options: dict[int, list[str]] = {}
    for option in body.get("fieldOptions") or ():
        if isinstance(option, Mapping) and option.get("field") is not None:
            value = option.get("value", option.get("label", ""))
            options.setdefault(int(option["field"]), []).append(str(value))
    if not options:
        return fields
    return [attrs.evolve(f, options=tuple(options.get(f.id, f.options))) for f in fields]


def fields_pager() -> OffsetPager[CustomField]:
    """``GET /fields``, all pages (tools that read only the first page miss fields)."""
    return OffsetPager("fields", "fields", _fields_page)


def fields_create(
    title: str,
    *,
    type: str = "text",
    perstag: str | None = None,
    description: str = "",
) -> Operation[CustomField]:
    """``POST /fields`` (not idempotent: a repeat after success is a duplicate title).

    ActiveCampaign documents the answer as ``{"fields": [...], "fieldOptions": [...]}``;
    ``{"field": {...}}`` is accepted too. From a list, the created field is the one whose
    ``perstag`` (when given) or title matches, or the only one listed.
    """
    if not title or not title.strip():
        msg = "A custom field needs a non-blank title."
        raise ConfigurationError(msg)
    field: dict[str, Any] = {"type": type, "title": title, "descript": description}
    if perstag is not None:
        field["perstag"] = perstag
    spec = RequestSpec("POST", "fields", json={"field": field}, idempotent=False)

    def parse(body: Body, response: httpx.Response) -> CustomField:
        if "field" in body or "fields" not in body:
            created: CustomField = structure(
                body.get("field"), CustomField, spec=spec, response=response, where="field"
            )
            return created
        try:
            return _created_field(_fields_page(body), title=title, perstag=perstag)
        except _SHAPE_ERRORS as exc:
            raise invalid_body(exc, spec=spec, response=response, where="fields") from exc

    return Operation(spec, parse)


def _created_field(
    fields: Sequence[CustomField], *, title: str, perstag: str | None
) -> CustomField:
    tests: list[Callable[[CustomField], bool]] = [lambda f: f.title == title]
    if perstag is not None:
        tests.insert(0, lambda f: f.perstag.upper() == perstag.upper())
    tests.append(lambda f: f.title.casefold() == title.casefold())
    for test in tests:
        matches = [f for f in fields if test(f)]
        if len(matches) == 1:
            return matches[0]
    if len(fields) == 1:
        return fields[0]
    msg = f"the body lists {len(fields)} fields and no single one is the field created ({title!r})"
    raise ValueError(msg)


def field_values_set(contact_id: int, field_id: int, value: str) -> Operation[FieldValue]:
    """``POST /fieldValues``: set one contact's value of one field (safe to repeat)."""
    body = {
        "fieldValue": {
            "contact": int(_positive_id("contact_id", contact_id)),
            "field": int(_positive_id("field_id", field_id)),
            "value": value,
        },
        "useDefaults": False,
    }
    return _one("fieldValue", FieldValue, RequestSpec("POST", "fieldValues", json=body))


# -- bulk import ------------------------------------------------------------------------------


_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
_string = json.encoder.encode_basestring  # what _json writes for a str (ensure_ascii=False)


class BulkContactEncoder:
    """Encodes the contacts of bulk-import bodies: the one encoder of that wire shape.

    The bytes are those of ``json.dumps(bulk_contact_to_wire(contact))`` (compact, UTF-8,
    the same key order), plus ``"exclude_automations": true`` when asked, written piece by
    piece: the part every contact of a run shares (its lists, the automations flag) is
    encoded once. Values must already be checked (strings, integer field IDs): this is the
    hot path of an export.

    Args:
        subscribe: The lists every contact is subscribed to.
        unsubscribe: The lists every contact is unsubscribed from.
        exclude_automations: Ask ActiveCampaign not to run automations for these contacts.
    """

    __slots__ = ("_tail",)

    def __init__(
        self,
        *,
        subscribe: Sequence[int] = (),
        unsubscribe: Sequence[int] = (),
        exclude_automations: bool = False,
    ) -> None:
        shared: dict[str, Any] = {}
        if subscribe:
            shared["subscribe"] = [{"listid": list_id} for list_id in subscribe]
        if unsubscribe:
            shared["unsubscribe"] = [{"listid": list_id} for list_id in unsubscribe]
        if exclude_automations:
            shared["exclude_automations"] = True
        self._tail = ("," + _json(shared)[1:]) if shared else "}"

    def encode(  # noqa: PLR0917 - the exporter passes one checked tuple: email, *values
        self,
        email: str,
        first_name: str | None = None,
        last_name: str | None = None,
        phone: str | None = None,
        tags: Sequence[str] = (),
        fields: Sequence[FieldValueInput] = (),
    ) -> bytes:
        """One contact, as the JSON object a bulk-import body carries.

        Raises:
            UnicodeEncodeError: A value holds a lone surrogate (it has no UTF-8 form).
        """
        parts = ['{"email":', _string(email)]
        if first_name is not None:
            parts += (',"first_name":', _string(first_name))
        if last_name is not None:
            parts += (',"last_name":', _string(last_name))
        if phone is not None:
            parts += (',"phone":', _string(phone))
        if tags:
            parts += (',"tags":[', ",".join(map(_string, tags)), "]")
        if fields:
            parts += (
                ',"fields":[',
                ",".join(f'{{"id":{fv.field},"value":{_string(fv.value)}}}' for fv in fields),
                "]",
            )
        parts.append(self._tail)
        return "".join(parts).encode()


def encode_bulk_contact(contact: BulkImportContact, *, exclude_automations: bool) -> bytes:
    """One contact of a bulk-import body, encoded as compact JSON (see BulkContactEncoder)."""
    encoder = BulkContactEncoder(
        subscribe=contact.subscribe,
        unsubscribe=contact.unsubscribe,
        exclude_automations=exclude_automations,
    )
    return encoder.encode(
        contact.email,
        contact.first_name,
        contact.last_name,
        contact.phone,
        contact.tags,
        contact.fields,
    )


_BODY_HEAD = b'{"contacts":['
_BODY_TAIL = b"]}"
#: Bytes a bulk-import body spends on its envelope, around the comma-joined contacts.
BULK_BODY_OVERHEAD = len(_BODY_HEAD) + len(_BODY_TAIL)


def bulk_body_size(encoded: Sequence[bytes]) -> int:
    """The size in bytes of a bulk-import body made of these encoded contacts."""
    return BULK_BODY_OVERHEAD + sum(map(len, encoded)) + max(0, len(encoded) - 1)


def bulk_import_submit_encoded(encoded: Sequence[bytes]) -> Operation[BulkImportQueued]:
    """``POST /import/bulk_import`` from contacts already encoded with :func:`encode_bulk_contact`.

    Raises:
        ConfigurationError: Before sending, when there are no contacts, more than 250, or
            the body would exceed :data:`BULK_MAX_BYTES` (399,999 bytes; split the batch, never
            trim it).
    """
    if not encoded:
        msg = "A bulk import needs at least one contact."
        raise ConfigurationError(msg)
    if len(encoded) > BULK_MAX_CONTACTS:
        msg = (
            f"A bulk import takes at most {BULK_MAX_CONTACTS} contacts, not {len(encoded)}; "
            "split the batch."
        )
        raise ConfigurationError(msg)
    content = _BODY_HEAD + b",".join(encoded) + _BODY_TAIL
    if len(content) > BULK_MAX_BYTES:
        msg = (
            f"A bulk-import body may be at most {BULK_MAX_BYTES:,} bytes; this one is "
            f"{len(content):,}. Split the batch."
        )
        raise ConfigurationError(msg)
    spec = RequestSpec("POST", "import/bulk_import", content=content, bulk_contacts=len(encoded))

    def parse(body: Body, response: httpx.Response) -> BulkImportQueued:
        lowered = {k.lower(): v for k, v in body.items()}
        if not lowered.get("success") or not lowered.get("batchid"):
            return structure(None, BulkImportQueued, spec=spec, response=response, where="batchId")  # type: ignore[no-any-return]
        data = {
            "batchId": lowered["batchid"],
            "queued_contacts": lowered.get("queued_contacts", len(encoded)),
            "message": lowered.get("message", ""),
        }
        return structure(data, BulkImportQueued, spec=spec, response=response, where="")  # type: ignore[no-any-return]

    return Operation(spec, parse)


def bulk_import_submit(
    contacts: Sequence[BulkImportContact], *, exclude_automations: bool = False
) -> Operation[BulkImportQueued]:
    """``POST /import/bulk_import``: queue up to 250 contacts (an upsert by email)."""
    encoded = [encode_bulk_contact(c, exclude_automations=exclude_automations) for c in contacts]
    return bulk_import_submit_encoded(encoded)


def bulk_import_info(batch_id: str, *, with_ids: bool = True) -> Operation[BulkImportInfo]:
    """``GET /import/info?batchId=``: one batch's status (``None`` right after a submit).

    With ``with_ids=False`` the created contacts' IDs are not read (``success`` stays empty):
    the exporter needs only the status and the failed emails, and a batch lists up to 250 IDs.
    """
    if not batch_id:
        msg = "batch_id must not be empty."
        raise ConfigurationError(msg)
    spec = RequestSpec("GET", "import/info", params=(("batchId", batch_id),))

    def parse(body: Body, response: httpx.Response) -> BulkImportInfo:
        data = {
            "status": body.get("status"),
            "success": (body.get("success") or []) if with_ids else [],
            "failure": body.get("failure") or [],
        }
        return structure(data, BulkImportInfo, spec=spec, response=response, where="")  # type: ignore[no-any-return]

    return Operation(spec, parse)


def bulk_import_overview() -> Operation[BulkImportOverview]:
    """``GET /import/bulk_import``: the account's outstanding and recent batches."""
    spec = RequestSpec("GET", "import/bulk_import")

    def parse(body: Body, response: httpx.Response) -> BulkImportOverview:
        return structure(body, BulkImportOverview, spec=spec, response=response, where="")  # type: ignore[no-any-return]

    return Operation(spec, parse)
