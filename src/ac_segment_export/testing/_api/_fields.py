"""The emulated custom fields and their values: ``/fields`` and ``/fieldValues``.

Also one contact's values (``GET /contacts/{id}/fieldValues``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ac_segment_export.testing._api._base import (
    Call,
    Reply,
    Resource,
    as_id,
    as_text,
    error,
    json_reply,
    no_subscriber,
    not_found,
    unprocessable,
)
from ac_segment_export.testing._render import (
    render_contact,
    render_field,
    render_field_options,
    render_field_rels,
    render_field_value,
)
from ac_segment_export.testing._state import derive_perstag, normalize_perstag

if TYPE_CHECKING:
    from ac_segment_export.testing._state import _Field

__all__ = ["Fields"]


FIELD_TYPES = frozenset(
    {"text", "textarea", "date", "datetime", "dropdown", "listbox", "radio", "checkbox"}
    | {"hidden", "number"}
)
"""The custom-field types ``POST /fields`` accepts."""


class Fields(Resource):
    """``/fields``, ``/fields/{id}``, ``/fieldValues`` and a contact's ``fieldValues``."""

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
        limit, offset = self.page(call)
        return self._fields_reply(200, fields[offset : offset + limit], len(fields), call.base)

    def fields_delete(self, _call: Call, _now: float, raw_id: str) -> Reply:
        """``DELETE /fields/{id}``: 200 ``{}``; the field's values go with it."""
        field_id = as_id(raw_id)
        field = None if field_id is None else self.account.fields.get(field_id)
        if field is None:
            return not_found(f"No Result found for Field with id {raw_id}")
        self.account.delete_field(field)
        return json_reply(200, {})

    def fields_create(self, call: Call, now: float) -> Reply:
        """``POST /fields``: 201 in the shape ``Readings.fields_create_shape`` names.

        A duplicate title or perstag is a 422.
        """
        body = self.envelope(call, "field")
        if body is None:
            return unprocessable(error("Field is required", "field_missing", "/data/attributes"))
        title = body.get("title")
        if not isinstance(title, str) or not title.strip():
            return unprocessable(
                error("Field title is required", "field_missing", "/data/attributes/title")
            )
        kind = body.get("type")
        if kind in (None, ""):
            return unprocessable(
                error("Field type is required", "field_missing", "/data/attributes/type")
            )
        if kind not in FIELD_TYPES:
            return unprocessable(
                error(
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
            return unprocessable(
                error(
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
            descript=as_text(body["descript"]) if body.get("descript") is not None else None,
            defval=as_text(body["defval"]) if body.get("defval") is not None else None,
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
        body = self.envelope(call, "fieldValue")
        if body is None:
            return unprocessable(
                error("Field value is required", "field_missing", "/data/attributes")
            )
        for key in ("contact", "field"):
            if body.get(key) in (None, ""):
                return unprocessable(
                    error(f"The {key} is required", "field_missing", f"/data/attributes/{key}")
                )
        if "value" not in body:
            return unprocessable(
                error("The value is required", "field_missing", "/data/attributes/value")
            )
        contact = self.contact(body["contact"])
        if contact is None:
            return no_subscriber(body["contact"])
        field_id = as_id(body["field"])
        if field_id is None or field_id not in self.account.fields:
            return not_found(f"No Result found for Field with id {body['field']}")
        value = self.account.set_field_value(contact, field_id, as_text(body["value"]), now)
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

    def field_values_of(self, call: Call, _now: float, raw_id: str) -> Reply:
        """``GET /contacts/{id}/fieldValues``."""
        contact = self.contact(raw_id)
        if contact is None:
            return no_subscriber(raw_id)
        rendered = [
            render_field_value(self.account, v, contact.id, call.base)
            for v in contact.fields.values()
        ]
        return json_reply(200, {"fieldValues": rendered})
