"""The emulated list memberships: ``/contactLists`` and one contact's ``contactLists``."""

from __future__ import annotations

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
from ac_segment_export.testing._render import render_contact, render_membership

__all__ = ["Memberships"]


class Memberships(Resource):
    """``POST /contactLists`` and ``GET /contacts/{id}/contactLists``."""

    def contact_lists_of(self, call: Call, _now: float, raw_id: str) -> Reply:
        """``GET /contacts/{id}/contactLists``."""
        contact = self.contact(raw_id)
        if contact is None:
            return no_subscriber(raw_id)
        rendered = [
            render_membership(self.account, m, contact, call.base) for m in contact.lists.values()
        ]
        return json_reply(200, {"contactLists": rendered})

    def contact_lists_create(self, call: Call, now: float) -> Reply:
        """``POST /contactLists``: status 1 subscribes (even after an unsubscribe), 2 unsubscribes.

        0 (unconfirmed) is accepted too. The response echoes ``status`` as it was sent.
        """
        body = self.envelope(call, "contactList")
        if body is None:
            return unprocessable(
                error("Contact list is required", "field_missing", "/data/attributes")
            )
        for key in ("contact", "list", "status"):
            if body.get(key) in (None, ""):
                return unprocessable(
                    error(f"The {key} is required", "field_missing", f"/data/attributes/{key}")
                )
        raw_status = body["status"]
        status = raw_status if isinstance(raw_status, int) else as_int(str(raw_status), -1)
        if isinstance(raw_status, bool) or status not in (0, 1, 2):
            return unprocessable(
                error(
                    "The contact list status is invalid",
                    "invalid",
                    "/data/attributes/status",
                    "Status must be 0 (unconfirmed), 1 (active) or 2 (unsubscribed)",
                )
            )
        contact = self.contact(body["contact"])
        if contact is None:
            return no_subscriber(body["contact"])
        list_id = as_id(body["list"])
        if list_id is None or list_id not in self.account.lists:
            return not_found(f"No Result found for _List with id {body['list']}")
        sourceid = as_int(as_text(body.get("sourceid")), 0)
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
