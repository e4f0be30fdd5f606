"""Routing and handlers of the emulated ``/api/3`` endpoints.

A handler receives a parsed `Call` and returns a `Reply`. Authentication, rate limiting,
faults and recording happen in the emulator before a call gets here; the caller holds the
emulator's lock.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from typing import TYPE_CHECKING, Any

import attrs

from ._clock import SlidingWindow
from ._email import is_valid_email
from ._render import (
    render_contact,
    render_field,
    render_field_options,
    render_field_rels,
    render_field_value,
    render_list,
    render_membership,
    render_user,
)
from ._state import Account, BatchOutcome, _Contact, _Field, derive_perstag, normalize_perstag

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from ._config import EmulatorLimits, Readings

__all__ = ["Api", "Call", "Reply", "json_reply"]

NOT_QUEUED = (
    "JSON payload did not pass validation. Please fix failure Reasons and retry. "
    "The import was not queued for processing."
)
FIELD_TYPES = frozenset(
    {"text", "textarea", "date", "datetime", "dropdown", "listbox", "radio", "checkbox"}
    | {"hidden", "number"}
)
_SEVEN_DAYS = 7 * 24 * 3600.0


@attrs.frozen
class Call:
    """One parsed request.

    Attributes:
        method: Upper-case HTTP method.
        path: Path relative to ``/api/3``, without a trailing slash (``/contacts/5``).
        query: Query parameters (the last value wins for repeated keys).
        pairs: All query parameters in order, repeats included.
        body: The raw request body.
        base: ``scheme://host[:port]`` of the request, used for ``links``.
        data: The body parsed as JSON (None when it is empty or not JSON).
        valid_json: Whether the body parsed as JSON.
    """

    method: str
    path: str
    query: dict[str, str]
    pairs: list[tuple[str, str]]
    body: bytes
    base: str
    data: Any = None
    valid_json: bool = False


@attrs.frozen
class Reply:
    """One response to send.

    Attributes:
        status: HTTP status code.
        body: Response body bytes.
        content_type: ``Content-Type`` header value.
        headers: Further headers.
        batch_id: The ID of the bulk batch this request queued (not sent on the wire).
    """

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    batch_id: str | None = None


def json_reply(status: int, payload: object, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    """Build a JSON reply."""
    return Reply(status, json.dumps(payload, separators=(",", ":")).encode(), headers=headers)


class _BadJsonError(Exception):
    pass


def _as_id(value: object) -> int | None:
    """Parse an ID given as an int or a string of digits; None when it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
        return number if number > 0 else None
    return None


def _as_int(value: str | None, default: int) -> int:
    if value is None:
        return default
    try:
        return int(value.strip())
    except ValueError:
        return default


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return value if isinstance(value, str) else str(value)


def _error(title: str, code: str, pointer: str, detail: str = "") -> dict[str, Any]:
    return {"title": title, "detail": detail, "code": code, "source": {"pointer": pointer}}


def _unprocessable(*errors: dict[str, Any]) -> Reply:
    return json_reply(422, {"errors": list(errors)})


def _not_found(message: str) -> Reply:
    return json_reply(404, {"message": message})


def _no_subscriber(raw: object) -> Reply:
    return _not_found(f"No Result found for Subscriber with id {raw}")


class Api:
    """The handlers of one emulated account."""

    def __init__(
        self,
        account: Account,
        limits: EmulatorLimits,
        readings: Readings,
        *,
        new_batch_id: Callable[[], str],
        batch_outcome: Callable[[], BatchOutcome],
        bulk_rate_fault: Callable[[], bool],
    ) -> None:
        self.account = account
        self.limits = limits
        self.readings = readings
        self._new_batch_id = new_batch_id
        self._batch_outcome = batch_outcome
        self._bulk_rate_fault = bulk_rate_fault
        self.bulk_multi = SlidingWindow(limits.bulk_multi_per_minute, 60.0)
        self.bulk_single = SlidingWindow(limits.bulk_single_per_minute, 60.0)
        self._sorted_ids: list[int] = []
        self._sorted_for = -1
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., Reply]]] = [
            ("GET", re.compile(r"/users/me"), self.users_me),
            ("GET", re.compile(r"/lists"), self.lists_index),
            ("POST", re.compile(r"/lists"), self.lists_create),
            ("GET", re.compile(r"/lists/([^/]+)"), self.lists_show),
            ("DELETE", re.compile(r"/lists/([^/]+)"), self.lists_delete),
            ("GET", re.compile(r"/contacts"), self.contacts_index),
            ("POST", re.compile(r"/contacts"), self.contacts_create),
            ("POST", re.compile(r"/contact/sync"), self.contacts_sync),
            ("GET", re.compile(r"/contacts/([^/]+)"), self.contacts_show),
            ("PUT", re.compile(r"/contacts/([^/]+)"), self.contacts_update),
            ("DELETE", re.compile(r"/contacts/([^/]+)"), self.contacts_delete),
            ("GET", re.compile(r"/contacts/([^/]+)/contactLists"), self.contact_lists_of),
            ("GET", re.compile(r"/contacts/([^/]+)/fieldValues"), self.field_values_of),
            ("POST", re.compile(r"/contactLists"), self.contact_lists_create),
            ("GET", re.compile(r"/fields"), self.fields_index),
            ("POST", re.compile(r"/fields"), self.fields_create),
            ("DELETE", re.compile(r"/fields/([^/]+)"), self.fields_delete),
            ("POST", re.compile(r"/fieldValues"), self.field_values_create),
            ("POST", re.compile(r"/import/bulk_import"), self.bulk_import),
            ("GET", re.compile(r"/import/bulk_import"), self.bulk_overview),
            ("GET", re.compile(r"/import/info"), self.bulk_info),
        ]

    # ------------------------------------------------------------------ routing

    def handle(self, call: Call, now: float) -> Reply:
        """Route a call to its handler."""
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(call.path)
            if match is not None and method == call.method:
                try:
                    return handler(call, now, *match.groups())
                except _BadJsonError:
                    return json_reply(400, {})
        return _not_found(f"No Result found for route {call.method} /api/3{call.path}")

    @staticmethod
    def _json(call: Call) -> Any:
        if not call.valid_json:
            raise _BadJsonError
        return call.data

    def _envelope(self, call: Call, key: str) -> dict[str, Any] | None:
        body = self._json(call)
        if not isinstance(body, dict):
            raise _BadJsonError
        inner = body.get(key)
        return inner if isinstance(inner, dict) else None

    def _page(self, call: Call) -> tuple[int, int]:
        limit = _as_int(call.query.get("limit"), self.limits.page_default)
        if limit < 1:
            limit = self.limits.page_default
        offset = max(0, _as_int(call.query.get("offset"), 0))
        return min(limit, self.limits.page_max), offset

    def _contact(self, raw: object) -> _Contact | None:
        contact_id = _as_id(raw)
        return None if contact_id is None else self.account.contacts.get(contact_id)

    # ------------------------------------------------------------------- users

    def users_me(self, call: Call, _now: float) -> Reply:
        """``GET /users/me``."""
        return json_reply(200, {"user": render_user(call.base)})

    # ------------------------------------------------------------------- lists

    def lists_index(self, call: Call, _now: float) -> Reply:
        """``GET /lists`` with ``filters[name]`` (and its operators) and ``orders[name]``."""
        lists = list(self.account.lists.values())
        for key, value in call.query.items():
            if key in {"filters[name]", "filters[name][eq]"}:
                lists = [x for x in lists if x.name.casefold() == value.casefold()]
            elif key == "filters[name][neq]":
                lists = [x for x in lists if x.name.casefold() != value.casefold()]
            elif key == "filters[name][contains]":
                lists = [x for x in lists if value.casefold() in x.name.casefold()]
            elif key == "filters[name][starts_with]":
                lists = [x for x in lists if x.name.casefold().startswith(value.casefold())]
        order = call.query.get("orders[name]", "").upper()
        if order in ("ASC", "DESC"):
            lists.sort(key=lambda x: x.name.casefold(), reverse=order == "DESC")
        limit, offset = self._page(call)
        page = lists[offset : offset + limit]
        return json_reply(
            200,
            {
                "lists": [render_list(self.account, x, call.base) for x in page],
                "meta": {"total": str(len(lists))},
            },
        )

    def lists_show(self, call: Call, _now: float, raw_id: str) -> Reply:
        """``GET /lists/{id}``."""
        list_id = _as_id(raw_id)
        lst = None if list_id is None else self.account.lists.get(list_id)
        if lst is None:
            return _not_found(f"No Result found for _List with id {raw_id}")
        return json_reply(200, {"list": render_list(self.account, lst, call.base)})

    def lists_delete(self, _call: Call, _now: float, raw_id: str) -> Reply:
        """``DELETE /lists/{id}``: 200 ``{}``; the list's memberships go with it."""
        list_id = _as_id(raw_id)
        lst = None if list_id is None else self.account.lists.get(list_id)
        if lst is None:
            return _not_found(f"No Result found for _List with id {raw_id}")
        self.account.delete_list(lst)
        return json_reply(200, {})

    def lists_create(self, call: Call, now: float) -> Reply:
        """``POST /lists``; ``name`` is required, ``stringid`` is derived when absent."""
        body = self._envelope(call, "list")
        if body is None:
            return _unprocessable(_error("List is required", "field_missing", "/data/attributes"))
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            return _unprocessable(
                _error("List name is required", "field_missing", "/data/attributes/name")
            )
        stringid = body.get("stringid")
        lst = self.account.add_list(
            name,
            now,
            stringid=stringid if isinstance(stringid, str) and stringid else None,
            sender_url=_text(body.get("sender_url")),
            sender_reminder=_text(body.get("sender_reminder")),
        )
        return json_reply(200, {"list": render_list(self.account, lst, call.base)})

    # ---------------------------------------------------------------- contacts

    def _ids_ascending(self) -> list[int]:
        version = self.account.version
        if self._sorted_for != version:
            self._sorted_ids = sorted(self.account.contacts)
            self._sorted_for = version
        return self._sorted_ids

    def _plain_page(
        self, id_greater: int, limit: int, offset: int, *, descending: bool
    ) -> tuple[int, list[_Contact]]:
        """Page all contacts by ID without scanning them (the ``id_greater`` fast path)."""
        ordered = self._ids_ascending()
        start = bisect_right(ordered, id_greater) if id_greater else 0
        if descending:
            stop = len(ordered) - offset
            chosen = ordered[max(start, stop - limit) : max(start, stop)][::-1]
        else:
            chosen = ordered[start + offset : start + offset + limit]
        contacts = self.account.contacts
        return len(ordered) - start, [contacts[i] for i in chosen]

    def _filtered(  # noqa: PLR0917
        self,
        call: Call,
        list_id: int,
        status: int,
        ids: list[str],
        id_greater: int,
        id_less: int,
    ) -> list[_Contact]:
        query = call.query
        account = self.account
        candidates: Iterable[_Contact]
        if "email" in query:
            found = account.by_email.get(query["email"].strip().lower())
            candidates = [] if found is None else [found]
        elif list_id:
            lst = account.lists.get(list_id)
            members = [] if lst is None else lst.members.values()
            candidates = [
                account.contacts[m.contact_id] for m in members if status in (-1, m.status)
            ]
        else:
            candidates = account.contacts.values()
            if status != -1:
                candidates = [
                    c for c in candidates if any(m.status == status for m in c.lists.values())
                ]
        if ids:
            wanted = {_as_id(i) for i in ids}
            candidates = [c for c in candidates if c.id in wanted]
        if "email_like" in query:
            needle = query["email_like"].lower()
            candidates = [c for c in candidates if needle in c.email.lower()]
        if id_greater:
            candidates = [c for c in candidates if c.id > id_greater]
        if id_less:
            candidates = [c for c in candidates if c.id < id_less]
        return list(candidates)

    def contacts_index(self, call: Call, _now: float) -> Reply:
        """``GET /contacts`` with the filters an exporter uses.

        Supported: ``email`` (case-insensitive exact), ``email_like``, ``listid``,
        ``status`` (with ``listid``: that list's membership status; without: any list),
        ``id_greater``, ``id_less``, ``ids``/``ids[]``, ``orders[id]``, ``orders[email]``,
        ``limit``/``offset``. Other parameters are ignored.
        """
        query = call.query
        account = self.account
        limit, offset = self._page(call)
        status = _as_int(query.get("status"), -1)
        list_id = _as_int(query.get("listid"), 0)
        id_greater = _as_int(query.get("id_greater"), 0)
        id_less = _as_int(query.get("id_less"), 0)
        id_order = query.get("orders[id]", "").upper()
        email_order = query.get("orders[email]", "").upper()
        ids = [v for k, v in call.pairs if k in ("ids", "ids[]")]
        plain = not (
            ids or "email" in query or "email_like" in query or list_id or status != -1 or id_less
        )
        if plain and email_order not in ("ASC", "DESC"):
            total, page = self._plain_page(id_greater, limit, offset, descending=id_order == "DESC")
        else:
            matched = self._filtered(call, list_id, status, ids, id_greater, id_less)
            if email_order in ("ASC", "DESC"):
                matched.sort(key=lambda c: c.email.lower(), reverse=email_order == "DESC")
            else:
                matched.sort(key=lambda c: c.id, reverse=id_order == "DESC")
            total = len(matched)
            page = matched[offset : offset + limit]
        return json_reply(
            200,
            {
                "scoreValues": [],
                "contacts": [render_contact(account, c, call.base) for c in page],
                "meta": {
                    "total": str(total),
                    "page_input": {
                        "segmentid": 0,
                        "formid": 0,
                        "listid": list_id,
                        "tagid": 0,
                        "limit": limit,
                        "offset": offset,
                        "search": None,
                        "sort": None,
                        "seriesid": 0,
                        "waitid": 0,
                        "status": status,
                        "forceQuery": 0,
                        "cacheid": "",
                    },
                },
            },
        )

    def _check_field_values(self, body: dict[str, Any]) -> list[tuple[int, str]] | Reply:
        raw = body.get("fieldValues")
        if raw is None:
            return []
        pointer = "/data/attributes/fieldValues"
        if not isinstance(raw, list):
            return _unprocessable(_error("Field values must be an array", "invalid", pointer))
        values: list[tuple[int, str]] = []
        for entry in raw:
            field_id = _as_id(entry.get("field")) if isinstance(entry, dict) else None
            if not isinstance(entry, dict) or field_id is None:
                return _unprocessable(_error("Field value is invalid", "invalid", pointer))
            if field_id not in self.account.fields:
                return _unprocessable(
                    _error(
                        "Field not found",
                        "field_invalid",
                        pointer,
                        f"No custom field with id {entry.get('field')}",
                    )
                )
            values.append((field_id, _text(entry.get("value"))))
        return values

    def _contact_body(self, call: Call) -> dict[str, Any] | Reply:
        body = self._envelope(call, "contact")
        if body is None:
            return _unprocessable(
                _error("Contact is required", "field_missing", "/data/attributes")
            )
        return body

    @staticmethod
    def _email_problem(email: object) -> Reply | None:
        pointer = "/data/attributes/email"
        if email is None or email == "":
            return _unprocessable(_error("Email address is required", "field_missing", pointer))
        if not is_valid_email(email):
            return _unprocessable(
                _error("Contact Email Address is not valid.", "email_invalid", pointer)
            )
        return None

    def _apply_contact(
        self, contact: _Contact, body: dict[str, Any], values: list[tuple[int, str]], now: float
    ) -> None:
        for key, attribute in (
            ("firstName", "first_name"),
            ("lastName", "last_name"),
            ("phone", "phone"),
        ):
            if body.get(key) is not None:
                setattr(contact, attribute, _text(body[key]))
        for field_id, value in values:
            self.account.set_field_value(contact, field_id, value, now)
        contact.udate = now

    def _contact_reply(self, status: int, contact: _Contact, base: str) -> Reply:
        account = self.account
        rendered = render_contact(account, contact, base)
        values = [render_field_value(account, v, contact.id, base) for v in contact.fields.values()]
        rendered["fieldValues"] = [v["id"] for v in values]
        return json_reply(status, {"fieldValues": values, "contact": rendered})

    def contacts_create(self, call: Call, now: float) -> Reply:
        """``POST /contacts``; an existing email is a 422 ``duplicate``."""
        body = self._contact_body(call)
        if isinstance(body, Reply):
            return body
        email = body.get("email")
        problem = self._email_problem(email)
        if problem is not None:
            return problem
        assert isinstance(email, str)
        if email.lower() in self.account.by_email:
            return _unprocessable(
                _error(
                    "Email address already exists in the system",
                    "duplicate",
                    "/data/attributes/email",
                )
            )
        values = self._check_field_values(body)
        if isinstance(values, Reply):
            return values
        contact = self.account.add_contact(email, now)
        self._apply_contact(contact, body, values, now)
        return self._contact_reply(201, contact, call.base)

    def contacts_sync(self, call: Call, now: float) -> Reply:
        """``POST /contact/sync``: upsert by email; 201 on create, 200 on update."""
        body = self._contact_body(call)
        if isinstance(body, Reply):
            return body
        email = body.get("email")
        problem = self._email_problem(email)
        if problem is not None:
            return problem
        assert isinstance(email, str)
        values = self._check_field_values(body)
        if isinstance(values, Reply):
            return values
        contact = self.account.by_email.get(email.lower())
        status = 200
        if contact is None:
            contact = self.account.add_contact(email, now)
            status = 201
        self._apply_contact(contact, body, values, now)
        return self._contact_reply(status, contact, call.base)

    def contacts_show(self, call: Call, _now: float, raw_id: str) -> Reply:
        """``GET /contacts/{id}`` with its side-loaded related objects."""
        contact = self._contact(raw_id)
        if contact is None:
            return _no_subscriber(raw_id)
        account = self.account
        base = call.base
        memberships = [render_membership(account, m, contact, base) for m in contact.lists.values()]
        values = [render_field_value(account, v, contact.id, base) for v in contact.fields.values()]
        rendered = render_contact(account, contact, base)
        rendered.update(
            contactAutomations=[],
            contactLists=[m["id"] for m in memberships],
            fieldValues=[v["id"] for v in values],
            geoIps=[],
            deals=[],
            accountContacts=[],
        )
        return json_reply(
            200,
            {
                "contactAutomations": [],
                "contactLists": memberships,
                "deals": [],
                "fieldValues": values,
                "geoIps": [],
                "contact": rendered,
            },
        )

    def contacts_update(self, call: Call, now: float, raw_id: str) -> Reply:
        """``PUT /contacts/{id}``: a partial update; omitted attributes are left untouched."""
        contact = self._contact(raw_id)
        if contact is None:
            return _no_subscriber(raw_id)
        body = self._contact_body(call)
        if isinstance(body, Reply):
            return body
        email = body.get("email")
        if email is not None:
            problem = self._email_problem(email)
            if problem is not None:
                return problem
            assert isinstance(email, str)
            other = self.account.by_email.get(email.lower())
            if other is not None and other is not contact:
                return _unprocessable(
                    _error(
                        "Email address already exists in the system",
                        "duplicate",
                        "/data/attributes/email",
                    )
                )
        values = self._check_field_values(body)
        if isinstance(values, Reply):
            return values
        if isinstance(email, str) and email != contact.email:
            self.account.change_email(contact, email)
        self._apply_contact(contact, body, values, now)
        return self._contact_reply(200, contact, call.base)

    def contacts_delete(self, _call: Call, _now: float, raw_id: str) -> Reply:
        """``DELETE /contacts/{id}``."""
        contact = self._contact(raw_id)
        if contact is None:
            return _not_found(f"No result found for contact with id {raw_id}")
        self.account.delete_contact(contact)
        return json_reply(200, {})

    def contact_lists_of(self, call: Call, _now: float, raw_id: str) -> Reply:
        """``GET /contacts/{id}/contactLists``."""
        contact = self._contact(raw_id)
        if contact is None:
            return _no_subscriber(raw_id)
        rendered = [
            render_membership(self.account, m, contact, call.base) for m in contact.lists.values()
        ]
        return json_reply(200, {"contactLists": rendered})

    def field_values_of(self, call: Call, _now: float, raw_id: str) -> Reply:
        """``GET /contacts/{id}/fieldValues``."""
        contact = self._contact(raw_id)
        if contact is None:
            return _no_subscriber(raw_id)
        rendered = [
            render_field_value(self.account, v, contact.id, call.base)
            for v in contact.fields.values()
        ]
        return json_reply(200, {"fieldValues": rendered})

    # ------------------------------------------------------------ contactLists

    def contact_lists_create(self, call: Call, now: float) -> Reply:
        """``POST /contactLists``: status 1 subscribes (even after an unsubscribe), 2 unsubscribes.

        0 (unconfirmed) is accepted too. The response echoes ``status`` as it was sent.
        """
        body = self._envelope(call, "contactList")
        if body is None:
            return _unprocessable(
                _error("Contact list is required", "field_missing", "/data/attributes")
            )
        for key in ("contact", "list", "status"):
            if body.get(key) in (None, ""):
                return _unprocessable(
                    _error(f"The {key} is required", "field_missing", f"/data/attributes/{key}")
                )
        raw_status = body["status"]
        status = raw_status if isinstance(raw_status, int) else _as_int(str(raw_status), -1)
        if isinstance(raw_status, bool) or status not in (0, 1, 2):
            return _unprocessable(
                _error(
                    "The contact list status is invalid",
                    "invalid",
                    "/data/attributes/status",
                    "Status must be 0 (unconfirmed), 1 (active) or 2 (unsubscribed)",
                )
            )
        contact = self._contact(body["contact"])
        if contact is None:
            return _no_subscriber(body["contact"])
        list_id = _as_id(body["list"])
        if list_id is None or list_id not in self.account.lists:
            return _not_found(f"No Result found for _List with id {body['list']}")
        sourceid = _as_int(_text(body.get("sourceid")), 0)
        member = self.account.set_membership(contact, list_id, status, now, sourceid=sourceid)
        contact.udate = now
        return json_reply(
            200,
            {
                "contacts": [render_contact(self.account, contact, call.base)],
                "contactList": render_membership(
                    self.account, member, contact, call.base, status=raw_status
                ),
            },
        )

    # ------------------------------------------------------------------ fields

    def _fields_reply(self, status: int, fields: list[_Field], total: int, base: str) -> Reply:
        return json_reply(
            status,
            {
                "fieldOptions": [o for f in fields for o in render_field_options(f)],
                "fieldRels": [r for f in fields for r in render_field_rels(f)],
                "fields": [render_field(self.account, f, base) for f in fields],
                "meta": {"total": str(total)},
            },
        )

    def fields_index(self, call: Call, _now: float) -> Reply:
        """``GET /fields`` with ``filters[perstag]`` and paging."""
        fields = list(self.account.fields.values())
        perstag = call.query.get("filters[perstag]")
        if perstag is not None:
            fields = [f for f in fields if f.perstag == perstag.upper()]
        limit, offset = self._page(call)
        return self._fields_reply(200, fields[offset : offset + limit], len(fields), call.base)

    def fields_delete(self, _call: Call, _now: float, raw_id: str) -> Reply:
        """``DELETE /fields/{id}``: 200 ``{}``; the field's values go with it."""
        field_id = _as_id(raw_id)
        field = None if field_id is None else self.account.fields.get(field_id)
        if field is None:
            return _not_found(f"No Result found for Field with id {raw_id}")
        self.account.delete_field(field)
        return json_reply(200, {})

    def fields_create(self, call: Call, now: float) -> Reply:
        """``POST /fields``: 201 in the shape ``Readings.fields_create_shape`` names.

        A duplicate title or perstag is a 422.
        """
        body = self._envelope(call, "field")
        if body is None:
            return _unprocessable(_error("Field is required", "field_missing", "/data/attributes"))
        title = body.get("title")
        if not isinstance(title, str) or not title.strip():
            return _unprocessable(
                _error("Field title is required", "field_missing", "/data/attributes/title")
            )
        kind = body.get("type")
        if kind in (None, ""):
            return _unprocessable(
                _error("Field type is required", "field_missing", "/data/attributes/type")
            )
        if kind not in FIELD_TYPES:
            return _unprocessable(
                _error(
                    "Field type is invalid",
                    "invalid",
                    "/data/attributes/type",
                    f"Unknown field type {kind!r}",
                )
            )
        if self.account.field_by_title(title) is not None:
            return json_reply(
                422,
                {
                    "errors": [
                        {
                            "title": "There is already a field with this title",
                            "detail": f"There is already a field named '{title}' "
                            "-- choose another name",
                            "code": "duplicate",
                        }
                    ]
                },
            )
        raw_tag = body.get("perstag")
        perstag = (
            normalize_perstag(raw_tag) if isinstance(raw_tag, str) and raw_tag else None
        ) or derive_perstag(title)
        if any(f.perstag == perstag for f in self.account.fields.values()):
            return _unprocessable(
                _error(
                    "There is already a field with this personalization tag",
                    "duplicate",
                    "/data/attributes/perstag",
                    f"The personalization tag %{perstag}% is already in use",
                )
            )
        field = self.account.add_field(
            title,
            now,
            type=str(kind),
            perstag=perstag,
            descript=_text(body["descript"]) if body.get("descript") is not None else None,
            defval=_text(body["defval"]) if body.get("defval") is not None else None,
            visible="0" if body.get("visible") in (0, "0", False) else "1",
        )
        rendered = render_field(self.account, field, call.base)
        if self.readings.fields_create_shape == "fields":
            return json_reply(
                201,
                {
                    "fieldOptions": render_field_options(field),
                    "fieldRels": render_field_rels(field),
                    "fields": [rendered],
                    "meta": {"total": "1"},
                },
            )
        return json_reply(201, {"field": rendered})

    def field_values_create(self, call: Call, now: float) -> Reply:
        """``POST /fieldValues``; the response echoes ``contact`` and ``field`` as sent."""
        body = self._envelope(call, "fieldValue")
        if body is None:
            return _unprocessable(
                _error("Field value is required", "field_missing", "/data/attributes")
            )
        for key in ("contact", "field"):
            if body.get(key) in (None, ""):
                return _unprocessable(
                    _error(f"The {key} is required", "field_missing", f"/data/attributes/{key}")
                )
        if "value" not in body:
            return _unprocessable(
                _error("The value is required", "field_missing", "/data/attributes/value")
            )
        contact = self._contact(body["contact"])
        if contact is None:
            return _no_subscriber(body["contact"])
        field_id = _as_id(body["field"])
        if field_id is None or field_id not in self.account.fields:
            return _not_found(f"No Result found for Field with id {body['field']}")
        value = self.account.set_field_value(contact, field_id, _text(body["value"]), now)
        return json_reply(
            200,
            {
                "contacts": [render_contact(self.account, contact, call.base)],
                "fieldValue": render_field_value(
                    self.account,
                    value,
                    contact.id,
                    call.base,
                    contact=body["contact"],
                    field=body["field"],
                ),
            },
        )

    # ------------------------------------------------------------- bulk import

    def _bulk_rejection(self, *reasons: object) -> Reply:
        return json_reply(
            400, {"success": 0, "message": NOT_QUEUED, "failureReasons": list(reasons)}
        )

    def _bulk_rate_limited(self, single: bool) -> Reply:  # noqa: FBT001
        if single:
            reason = (
                f"Up to {self.limits.bulk_single_per_minute} single-contact imports may be "
                "requested per minute. Please batch contacts into larger requests, or retry "
                "this request in a minute."
            )
        else:
            reason = (
                f"Up to {self.limits.bulk_multi_per_minute} imports may be requested per "
                "minute. Please batch contacts into larger requests, or retry this request "
                "in a minute."
            )
        return json_reply(
            self.limits.bulk_rate_limit_status,
            {"success": 0, "message": "Rate limit exceeded.", "failureReasons": [reason]},
        )

    def _check_bulk_item(self, item: object) -> str | None:
        if not isinstance(item, dict):
            return "Contact must be a JSON object"
        email = item.get("email")
        if email is None or email == "":
            return "Field 'email' is required"
        if not is_valid_email(email):
            return "Field 'email' incorrect format"
        for key in ("first_name", "last_name", "phone", "customer_acct_name"):
            value = item.get(key)
            if value is not None and not isinstance(value, str):
                return f"Field '{key}' incorrect format"
        tags = item.get("tags")
        if tags is not None and (
            not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)
        ):
            return "Field 'tags' incorrect format"
        fields = item.get("fields")
        if fields is not None:
            if not isinstance(fields, list):
                return "Field 'fields' incorrect format"
            for entry in fields:
                if not isinstance(entry, dict) or "value" not in entry:
                    return "Field 'fields' incorrect format"
                field_id = _as_id(entry.get("id"))
                if field_id is None:
                    return "Field 'fields' incorrect format"
                if field_id not in self.account.fields:
                    return f"Custom field with id {entry.get('id')} does not exist"
        for key in ("subscribe", "unsubscribe"):
            entries = item.get(key)
            if entries is None:
                continue
            if not isinstance(entries, list):
                return f"Field '{key}' incorrect format"
            for entry in entries:
                list_id = _as_id(entry.get("listid")) if isinstance(entry, dict) else None
                if list_id is None:
                    return f"Field '{key}' incorrect format"
                if list_id not in self.account.lists:
                    return f"List with id {entry.get('listid')} does not exist"
        return None

    def bulk_import(self, call: Call, now: float) -> Reply:
        """``POST /import/bulk_import``: validate the whole request, then queue a batch."""
        body = call.data if call.valid_json else None
        contacts = body.get("contacts") if isinstance(body, dict) else None
        single = isinstance(contacts, list) and len(contacts) == 1
        if self._bulk_rate_fault():
            return self._bulk_rate_limited(single)
        window = self.bulk_single if single else self.bulk_multi
        if self.limits.enforce_rate_limits and window.wait(now) > 0:
            return self._bulk_rate_limited(single)
        window.hit(now)
        if body is None:
            return self._bulk_rejection("The request body is not valid JSON.")
        if not isinstance(contacts, list):
            return self._bulk_rejection("Field 'contacts' is required and must be an array.")
        if not contacts:
            return self._bulk_rejection("At least one contact is required.")
        if len(contacts) > self.limits.bulk_max_contacts:
            return self._bulk_rejection(
                f"Up to {self.limits.bulk_max_contacts} contacts may be included in a single "
                f"request; this request holds {len(contacts)}."
            )
        if len(call.body) > self.limits.bulk_max_bytes:
            return self._bulk_rejection(
                f"The request body is {len(call.body)} bytes; at most "
                f"{self.limits.bulk_max_bytes} bytes are accepted."
            )
        reasons = []
        for index, item in enumerate(contacts, start=self.readings.failure_index_base):
            problem = self._check_bulk_item(item)
            if problem is not None:
                reasons.append({"contact": index, "failureReason": problem})
        if reasons:
            return self._bulk_rejection(*reasons)
        batch_id = self._new_batch_id()
        self.account.submit_batch(batch_id, contacts, now, self._batch_outcome())
        reply = json_reply(
            200,
            {
                "Success": 1,
                "queued_contacts": len(contacts),
                "batchId": batch_id,
                "message": "Contact import queued",
            },
        )
        return attrs.evolve(reply, batch_id=batch_id)

    def bulk_info(self, call: Call, now: float) -> Reply:
        """``GET /import/info?batchId=...``."""
        batch_id = call.query.get("batchId", "").strip()
        if not batch_id:
            return json_reply(400, {"success": 0, "message": "'batchId' is a required field."})
        batch = self.account.batches.get(batch_id)
        if batch is None:
            return _not_found(f"No Result found for Batch with id {batch_id}")
        batch.attempts += 1
        return json_reply(
            200,
            {
                "status": self.account.info_status(batch, now),
                "success": list(batch.success),
                "failure": list(batch.failure),
            },
        )

    def bulk_overview(self, _call: Call, now: float) -> Reply:
        """``GET /import/bulk_import``: outstanding and recently (7 days) completed batches."""
        account = self.account
        outstanding: dict[str, list[int]] = {}
        completed: dict[str, list[int]] = {}
        for batch in account.batches.values():
            if not batch.done:
                counts = outstanding.setdefault(account.date(batch.submitted), [0, 0])
            elif batch.ends >= now - _SEVEN_DAYS:
                counts = completed.setdefault(account.date(batch.ends), [0, 0])
            else:
                continue
            counts[0] += 1
            counts[1] += batch.size

        def rows(groups: dict[str, list[int]]) -> list[dict[str, str]]:
            return [
                {"forDate": day, "batches": str(n), "contacts": str(size)}
                for day, (n, size) in sorted(groups.items())
            ]

        return json_reply(
            200, {"outstanding": rows(outstanding), "recentlyCompleted": rows(completed)}
        )
