"""The router of the emulated ``/api/3``: every endpoint, on one screen, and its handler.

Authentication, rate limiting, faults and recording happen in the emulator before a call gets
here; the caller holds the emulator's lock.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ac_segment_export.testing._api._base import BadJsonError, Call, Reply, json_reply, not_found
from ac_segment_export.testing._api._bulk import BulkImport
from ac_segment_export.testing._api._contacts import Contacts
from ac_segment_export.testing._api._fields import Fields
from ac_segment_export.testing._api._lists import Lists
from ac_segment_export.testing._api._memberships import Memberships
from ac_segment_export.testing._api._users import Users

if TYPE_CHECKING:
    from collections.abc import Callable

    from ac_segment_export.testing._config import EmulatorLimits, Readings
    from ac_segment_export.testing._state import Account, BatchOutcome

__all__ = ["Api"]


class Api:
    """The handlers of one emulated account, and the table that routes calls to them.

    Args:
        account: The account's state.
        limits: The emulator's limits (page sizes, bulk-import limits).
        readings: How the emulator reads the open questions about ActiveCampaign's answers.
        new_batch_id: Makes the ID of a bulk-import batch.
        batch_outcome: Decides how the next batch completes.
        bulk_rate_fault: Whether the next bulk import gets a scripted rate-limit answer.
    """

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
        users = Users(account, limits, readings)
        lists = Lists(account, limits, readings)
        contacts = Contacts(account, limits, readings)
        memberships = Memberships(account, limits, readings)
        fields = Fields(account, limits, readings)
        bulk = BulkImport(
            account,
            limits,
            readings,
            new_batch_id=new_batch_id,
            batch_outcome=batch_outcome,
            bulk_rate_fault=bulk_rate_fault,
        )
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., Reply]]] = [
            ("GET", re.compile(r"/users/me"), users.users_me),
            ("GET", re.compile(r"/lists"), lists.lists_index),
            ("POST", re.compile(r"/lists"), lists.lists_create),
            ("GET", re.compile(r"/lists/([^/]+)"), lists.lists_show),
            ("DELETE", re.compile(r"/lists/([^/]+)"), lists.lists_delete),
            ("GET", re.compile(r"/contacts"), contacts.contacts_index),
            ("POST", re.compile(r"/contacts"), contacts.contacts_create),
            ("POST", re.compile(r"/contact/sync"), contacts.contacts_sync),
            ("GET", re.compile(r"/contacts/([^/]+)"), contacts.contacts_show),
            ("PUT", re.compile(r"/contacts/([^/]+)"), contacts.contacts_update),
            ("DELETE", re.compile(r"/contacts/([^/]+)"), contacts.contacts_delete),
            ("GET", re.compile(r"/contacts/([^/]+)/contactLists"), memberships.contact_lists_of),
            ("GET", re.compile(r"/contacts/([^/]+)/fieldValues"), fields.field_values_of),
            ("POST", re.compile(r"/contactLists"), memberships.contact_lists_create),
            ("GET", re.compile(r"/fields"), fields.fields_index),
            ("POST", re.compile(r"/fields"), fields.fields_create),
            ("DELETE", re.compile(r"/fields/([^/]+)"), fields.fields_delete),
            ("POST", re.compile(r"/fieldValues"), fields.field_values_create),
            ("POST", re.compile(r"/import/bulk_import"), bulk.bulk_import),
            ("GET", re.compile(r"/import/bulk_import"), bulk.bulk_overview),
            ("GET", re.compile(r"/import/info"), bulk.bulk_info),
        ]

    def handle(self, call: Call, now: float) -> Reply:
        """Route a call to its handler."""
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(call.path)
            if match is not None and method == call.method:
                try:
                    return handler(call, now, *match.groups())
                except BadJsonError:
                    return json_reply(400, {})
        return not_found(f"No Result found for route {call.method} /api/3{call.path}")
