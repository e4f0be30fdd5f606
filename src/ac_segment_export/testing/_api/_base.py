"""What every emulated endpoint shares: the parsed call, the reply, and the small parsers.

A handler receives a parsed :class:`Call` and returns a :class:`Reply`. Each resource module
holds the handlers of one part of ``/api/3`` as methods of a :class:`Resource`, which gives
them the account, the limits and the readings, and the helpers for request envelopes, paging
and contact look-ups. Nothing here is shared with the client: the emulator reads and writes
ActiveCampaign's JSON by its own code, so a misreading in one cannot hide in the other.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from ac_segment_export.testing._config import EmulatorLimits, Readings
    from ac_segment_export.testing._state import Account, _Contact

__all__ = [
    "BadJsonError",
    "Call",
    "Reply",
    "Resource",
    "as_id",
    "as_int",
    "as_text",
    "error",
    "json_reply",
    "no_subscriber",
    "not_found",
    "unprocessable",
]


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


class BadJsonError(Exception):
    """The request's body is not the JSON the endpoint needs; the router answers a bare 400."""


def as_id(value: object) -> int | None:
    """Parse an ID given as an int or a string of digits; None when it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
        return number if number > 0 else None
    return None


def as_int(value: str | None, default: int) -> int:
    """Parse a query parameter as an int; *default* when it is absent or not a number."""
    if value is None:
        return default
    try:
        return int(value.strip())
    except ValueError:
        return default


def as_text(value: object) -> str:
    """A JSON value as the text ActiveCampaign stores (``None`` is empty, booleans ``1``/``0``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return value if isinstance(value, str) else str(value)


def error(title: str, code: str, pointer: str, detail: str = "") -> dict[str, Any]:
    """One entry of a 422's ``errors``, pointing at the attribute it is about."""
    return {"title": title, "detail": detail, "code": code, "source": {"pointer": pointer}}


def unprocessable(*errors: dict[str, Any]) -> Reply:
    """A 422 with these ``errors``."""
    return json_reply(422, {"errors": list(errors)})


def not_found(message: str) -> Reply:
    """A 404 with ActiveCampaign's ``message``."""
    return json_reply(404, {"message": message})


def no_subscriber(raw: object) -> Reply:
    """The 404 of a contact ID that names no contact."""
    return not_found(f"No Result found for Subscriber with id {raw}")


class Resource:
    """The handlers of one resource of an emulated account, and what they all need."""

    def __init__(self, account: Account, limits: EmulatorLimits, readings: Readings) -> None:
        self.account = account
        self.limits = limits
        self.readings = readings

    @staticmethod
    def json_body(call: Call) -> Any:
        """The call's body as JSON; :class:`BadJsonError` when it is not JSON."""
        if not call.valid_json:
            raise BadJsonError
        return call.data

    def envelope(self, call: Call, key: str) -> dict[str, Any] | None:
        """The object under *key* of a JSON object body, ``None`` when it is not an object.

        Raises:
            BadJsonError: The body is not a JSON object.
        """
        body = self.json_body(call)
        if not isinstance(body, dict):
            raise BadJsonError
        inner = body.get(key)
        return inner if isinstance(inner, dict) else None

    def page(self, call: Call) -> tuple[int, int]:
        """The call's ``limit`` and ``offset``, defaulted and capped as the account does."""
        limit = as_int(call.query.get("limit"), self.limits.page_default)
        if limit < 1:
            limit = self.limits.page_default
        offset = max(0, as_int(call.query.get("offset"), 0))
        return min(limit, self.limits.page_max), offset

    def contact(self, raw: object) -> _Contact | None:
        """The contact an ID names (an int or a string of digits), or ``None``."""
        contact_id = as_id(raw)
        return None if contact_id is None else self.account.contacts.get(contact_id)
