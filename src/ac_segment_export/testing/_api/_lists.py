"""The emulated ``/lists`` endpoints: list, show, create and delete lists."""

from __future__ import annotations

from ac_segment_export.testing._api._base import (
    Call,
    Reply,
    Resource,
    as_id,
    as_text,
    error,
    json_reply,
    not_found,
    unprocessable,
)
from ac_segment_export.testing._render import render_list

__all__ = ["Lists"]


class Lists(Resource):
    """``/lists`` and ``/lists/{id}``."""

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
        limit, offset = self.page(call)
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
        list_id = as_id(raw_id)
        lst = None if list_id is None else self.account.lists.get(list_id)
        if lst is None:
            return not_found(f"No Result found for _List with id {raw_id}")
        return json_reply(200, {"list": render_list(self.account, lst, call.base)})

    def lists_delete(self, _call: Call, _now: float, raw_id: str) -> Reply:
        """``DELETE /lists/{id}``: 200 ``{}``; the list's memberships go with it."""
        list_id = as_id(raw_id)
        lst = None if list_id is None else self.account.lists.get(list_id)
        if lst is None:
            return not_found(f"No Result found for _List with id {raw_id}")
        self.account.delete_list(lst)
        return json_reply(200, {})

    def lists_create(self, call: Call, now: float) -> Reply:
        """``POST /lists``; ``name`` is required, ``stringid`` is derived when absent."""
        body = self.envelope(call, "list")
        if body is None:
            return unprocessable(error("List is required", "field_missing", "/data/attributes"))
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            return unprocessable(
                error("List name is required", "field_missing", "/data/attributes/name")
            )
        stringid = body.get("stringid")
        lst = self.account.add_list(
            name,
            now,
            stringid=stringid if isinstance(stringid, str) and stringid else None,
            sender_url=as_text(body.get("sender_url")),
            sender_reminder=as_text(body.get("sender_reminder")),
        )
        return json_reply(200, {"list": render_list(self.account, lst, call.base)})
