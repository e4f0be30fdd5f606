"""The emulated contacts: ``/contacts``, ``/contacts/{id}`` and ``/contact/sync``.

Listing (with the filters and orders an exporter uses, and a fast path that pages by ID),
creating, upserting by email, showing with side-loaded objects, updating and deleting.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import TYPE_CHECKING, Any

from ac_segment_export.testing._api._base import (
    Call,
    Reply,
    Resource,
    as_id,
    as_int,
    as_text,
    error,
    json_reply,
    no_subscriber,
    not_found,
    unprocessable,
)
from ac_segment_export.testing._email import is_valid_email
from ac_segment_export.testing._render import render_contact, render_field_value, render_membership

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ac_segment_export.testing._config import EmulatorLimits, Readings
    from ac_segment_export.testing._state import Account, _Contact

__all__ = ["Contacts"]


class Contacts(Resource):
    """``/contacts``, ``/contacts/{id}`` and ``/contact/sync``."""

    def __init__(self, account: Account, limits: EmulatorLimits, readings: Readings) -> None:
        super().__init__(account, limits, readings)
        self._sorted_ids: list[int] = []
        self._sorted_for = -1

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
            wanted = {as_id(i) for i in ids}
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
        limit, offset = self.page(call)
        status = as_int(query.get("status"), -1)
        list_id = as_int(query.get("listid"), 0)
        id_greater = as_int(query.get("id_greater"), 0)
        id_less = as_int(query.get("id_less"), 0)
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
            return unprocessable(error("Field values must be an array", "invalid", pointer))
        values: list[tuple[int, str]] = []
        for entry in raw:
            field_id = as_id(entry.get("field")) if isinstance(entry, dict) else None
            if not isinstance(entry, dict) or field_id is None:
                return unprocessable(error("Field value is invalid", "invalid", pointer))
            if field_id not in self.account.fields:
                return unprocessable(
                    error(
                        "Field not found",
                        "field_invalid",
                        pointer,
                        f"No custom field with id {entry.get('field')}",
                    )
                )
            values.append((field_id, as_text(entry.get("value"))))
        return values

    def _contact_body(self, call: Call) -> dict[str, Any] | Reply:
        body = self.envelope(call, "contact")
        if body is None:
            return unprocessable(error("Contact is required", "field_missing", "/data/attributes"))
        return body

    @staticmethod
    def _email_problem(email: object) -> Reply | None:
        pointer = "/data/attributes/email"
        if email is None or email == "":
            return unprocessable(error("Email address is required", "field_missing", pointer))
        if not is_valid_email(email):
            return unprocessable(
                error("Contact Email Address is not valid.", "email_invalid", pointer)
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
                setattr(contact, attribute, as_text(body[key]))
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
            return unprocessable(
                error(
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
        contact = self.contact(raw_id)
        if contact is None:
            return no_subscriber(raw_id)
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
        contact = self.contact(raw_id)
        if contact is None:
            return no_subscriber(raw_id)
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
                return unprocessable(
                    error(
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
        contact = self.contact(raw_id)
        if contact is None:
            return not_found(f"No result found for contact with id {raw_id}")
        self.account.delete_contact(contact)
        return json_reply(200, {})
