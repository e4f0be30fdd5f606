"""JSON shapes of the emulated resources, following ActiveCampaign's documented examples.

IDs, totals and flags are strings, as the API sends them; timestamps are ISO 8601 with an
offset. ``base`` is the request's own ``scheme://host`` so that ``links`` point back at the
emulator.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._state import Account, _Contact, _Field, _FieldValue, _List, _Membership

__all__ = [
    "render_contact",
    "render_field",
    "render_field_options",
    "render_field_rels",
    "render_field_value",
    "render_list",
    "render_membership",
    "render_user",
]

_CONTACT_LINKS = (
    "bounceLogs",
    "contactAutomations",
    "contactData",
    "contactGoals",
    "contactLists",
    "contactLogs",
    "contactTags",
    "contactDeals",
    "deals",
    "fieldValues",
    "geoIps",
    "notes",
    "organization",
    "plusAppend",
    "trackingLogs",
    "scoreValues",
)
_MEMBER_LINKS = (
    "automation",
    "list",
    "contact",
    "form",
    "autosyncLog",
    "campaign",
    "unsubscribeAutomation",
    "message",
)


def render_user(base: str) -> dict[str, Any]:
    """Render the logged-in user."""
    root = f"{base}/api/3/users/1"
    return {
        "username": "emulator",
        "firstName": "Emulated",
        "lastName": "User",
        "email": "emulator@example.com",
        "phone": "",
        "signature": None,
        "links": {
            name: f"{root}/{name}"
            for name in ("lists", "userGroup", "dealGroupTotals", "dealGroupUsers", "configs")
        },
        "id": "1",
    }


def render_contact(account: Account, contact: _Contact, base: str) -> dict[str, Any]:
    """Render a contact as the contact endpoints return it."""
    root = f"{base}/api/3/contacts/{contact.id}"
    cdate = account.iso(contact.cdate)
    udate = account.iso(contact.udate)
    email = contact.email
    local, _, domain = email.partition("@")
    return {
        "cdate": cdate,
        "email": email,
        "phone": contact.phone,
        "firstName": contact.first_name,
        "lastName": contact.last_name,
        "orgid": "0",
        "orgname": "",
        "segmentio_id": "",
        "bounced_hard": "1" if contact.bounced else "0",
        "bounced_soft": "0",
        "bounced_date": None,
        "ip": "0",
        "ua": None,
        "hash": hashlib.md5(email.lower().encode(), usedforsecurity=False).hexdigest(),
        "socialdata_lastcheck": None,
        "email_local": local,
        "email_domain": domain,
        "sentcnt": "0",
        "rating_tstamp": None,
        "gravatar": "0",
        "deleted": "0",
        "anonymized": "0",
        "adate": None,
        "udate": udate,
        "edate": None,
        "deleted_at": None,
        "created_utc_timestamp": cdate[:19].replace("T", " "),
        "updated_utc_timestamp": udate[:19].replace("T", " "),
        "email_empty": False,
        "links": {name: f"{root}/{name}" for name in _CONTACT_LINKS},
        "id": str(contact.id),
        "organization": None,
    }


def render_membership(
    account: Account,
    member: _Membership,
    contact: _Contact,
    base: str,
    *,
    status: object = None,
) -> dict[str, Any]:
    """Render a contact-list membership (``status`` overrides the string status)."""
    root = f"{base}/api/3/contactLists/{member.id}"
    return {
        "contact": str(member.contact_id),
        "list": str(member.list_id),
        "form": None,
        "seriesid": "0",
        "sdate": account.iso(member.sdate),
        "udate": account.iso(member.udate),
        "status": str(member.status) if status is None else status,
        "responder": "1",
        "sync": "0",
        "unsubreason": None,
        "campaign": None,
        "message": None,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "ip4Sub": "0",
        "sourceid": str(member.sourceid),
        "autosyncLog": None,
        "ip4_last": "0",
        "ip4Unsub": "0",
        "unsubscribeAutomation": None,
        "links": {name: f"{root}/{name}" for name in _MEMBER_LINKS},
        "id": str(member.id),
        "automation": None,
    }


def render_field_value(
    account: Account,
    value: _FieldValue,
    contact_id: int,
    base: str,
    *,
    contact: object = None,
    field: object = None,
) -> dict[str, Any]:
    """Render a custom field value (``contact``/``field`` override the string IDs)."""
    root = f"{base}/api/3/fieldValues/{value.id}"
    return {
        "contact": str(contact_id) if contact is None else contact,
        "field": str(value.field_id) if field is None else field,
        "value": value.value,
        "cdate": account.iso(value.cdate),
        "udate": account.iso(value.udate),
        "created_by": None,
        "updated_by": None,
        "links": {"owner": f"{root}/owner", "field": f"{root}/field"},
        "id": str(value.id),
        "owner": str(contact_id) if contact is None else contact,
    }


def render_list(account: Account, lst: _List, base: str) -> dict[str, Any]:
    """Render a list."""
    root = f"{base}/api/3/lists/{lst.id}"
    return {
        "stringid": lst.stringid,
        "userid": "1",
        "name": lst.name,
        "cdate": account.iso(lst.cdate),
        "p_use_tracking": "1",
        "p_use_analytics_read": "0",
        "p_use_analytics_link": "0",
        "p_use_twitter": "0",
        "p_use_facebook": "0",
        "p_embed_image": "1",
        "p_use_captcha": "1",
        "send_last_broadcast": "0",
        "private": "0",
        "analytics_domains": None,
        "analytics_source": "",
        "analytics_ua": "",
        "twitter_token": "",
        "twitter_token_secret": "",
        "facebook_session": None,
        "carboncopy": None,
        "subscription_notify": None,
        "unsubscription_notify": None,
        "require_name": "0",
        "get_unsubscribe_reason": "0",
        "to_name": "Subscriber",
        "optinoptout": "1",
        "sender_name": "",
        "sender_addr1": "",
        "sender_addr2": "",
        "sender_city": "",
        "sender_state": "",
        "sender_zip": "",
        "sender_country": "",
        "sender_phone": "",
        "sender_url": lst.sender_url,
        "sender_reminder": lst.sender_reminder,
        "fulladdress": "",
        "optinmessageid": "0",
        "optoutconf": "0",
        "deletestamp": None,
        "udate": None,
        "links": {name: f"{root}/{name}" for name in ("contactGoalLists", "user", "addressLists")},
        "id": str(lst.id),
        "user": "1",
    }


def render_field(account: Account, field: _Field, base: str) -> dict[str, Any]:
    """Render a custom field."""
    root = f"{base}/api/3/fields/{field.id}"
    stamp = account.iso(field.cdate)
    return {
        "title": field.title,
        "descript": field.descript,
        "type": field.type,
        "isrequired": "0",
        "perstag": field.perstag,
        "defval": field.defval,
        "show_in_list": "0",
        "rows": "0",
        "cols": "0",
        "visible": field.visible,
        "service": "",
        "ordernum": str(field.ordernum),
        "cdate": stamp,
        "udate": stamp,
        "options": [str(option_id) for option_id, _ in field.options],
        "relations": [str(field.id)],
        "links": {"options": f"{root}/options", "relations": f"{root}/relations"},
        "id": str(field.id),
    }


def render_field_options(field: _Field) -> list[dict[str, Any]]:
    """Render the option objects of a choice field (side-loaded as ``fieldOptions``)."""
    return [
        {
            "field": str(field.id),
            "orderid": str(position),
            "value": label,
            "label": label,
            "isdefault": "0",
            "id": str(option_id),
        }
        for position, (option_id, label) in enumerate(field.options, start=1)
    ]


def render_field_rels(field: _Field) -> list[dict[str, Any]]:
    """Render a field's relation to all lists (``relid`` 0), side-loaded as ``fieldRels``."""
    return [{"field": str(field.id), "relid": "0", "dorder": "0", "id": str(field.id)}]
