"""An offline, stateful emulator of the ActiveCampaign v3 API.

The emulator reproduces the parts of the API an export pipeline touches: contacts, lists,
custom fields and values, list memberships and bulk import with its asynchronous batches.
It keeps ActiveCampaign's shapes (string IDs, string totals, envelopes, varied error
bodies), its validation, its limits (5 requests a second per account; 100 multi-contact
and 20 single-contact bulk imports a minute; 250 contacts and 399,999 bytes per bulk
request) and its quirks (``status: false`` right after a submit, bulk import never
re-subscribing an unsubscribed contact, HTML login pages on a 200), and injects faults on
demand. It shares no code with the package's client.

Example:
    >>> import httpx
    >>> from ac_segment_export.testing import ActiveCampaignEmulator
    >>> emu = ActiveCampaignEmulator(api_key="test-key")
    >>> list_id = emu.add_list("VIP customers")
    >>> with httpx.Client(transport=emu.transport(), base_url="https://acme.api-us1.com",
    ...                   headers={"Api-Token": "test-key"}) as http:
    ...     http.get("/api/3/lists").json()["meta"]["total"]
    '1'

Run it as a server with ``python -m ac_segment_export.testing --port 8080``.

Where ActiveCampaign's documentation leaves a behaviour open, the emulator picks one:

* A queued bulk import answers 200 with ``Success`` (capital S, as in the docs' example),
  ``queued_contacts``, ``batchId`` and ``message``; every error body uses ``success``.
* ``failureReasons[].contact`` is the 0-based index into ``contacts``; every bad contact
  gets one entry (its first problem). Rejections of the request as a whole (too many
  contacts, too many bytes, no contacts) carry one explanatory string instead.
* Every bulk import request that is not itself rate limited counts against its bulk
  window (multi-contact or single-contact), even when it is then rejected.
* ``GET /import/info`` answers ``{"status": false, "success": [], "failure": []}`` for the
  first emulated second, then ``waiting``, ``claimed``, ``active`` and an end status; see
  `ActiveCampaignEmulator` for the timing. ``success`` lists only newly created contacts.
* ``Retry-After`` is in real seconds: a whole number (at least 1) at ``time_scale=1``, a
  decimal with millisecond precision (``0.013``) when time is scaled.
* Bulk import sets every given attribute, empty strings included, and leaves omitted ones
  alone; duplicate emails within one request are applied in order. ``POST /contact/sync``
  answers 201 on create and 200 on update; ``PUT /contacts/{id}`` is a partial update.
* ``POST /fields`` answers 201 ``{"field": {...}}``.
* The email check is described in `is_valid_email`.
"""

from __future__ import annotations

from ._config import EmulatorLimits, FaultKind, Faults
from ._email import is_valid_email
from ._emulator import ActiveCampaignEmulator, RecordedRequest
from ._state import EmulatedBatch, EmulatedContact, EmulatedField, EmulatedList
from ._transport import EmulatorTransport

__all__ = [
    "ActiveCampaignEmulator",
    "EmulatedBatch",
    "EmulatedContact",
    "EmulatedField",
    "EmulatedList",
    "EmulatorLimits",
    "EmulatorTransport",
    "FaultKind",
    "Faults",
    "RecordedRequest",
    "is_valid_email",
]
