"""An offline, stateful emulator of the ActiveCampaign v3 API.

The emulator reproduces the parts of the API an export pipeline touches: contacts, lists,
custom fields and values, list memberships and bulk import with its asynchronous batches.
It keeps ActiveCampaign's shapes (string IDs, string totals, envelopes, varied error
bodies), its validation, its limits (5 requests a second per account; 100 multi-contact
and 20 single-contact bulk imports a minute; 250 contacts and 399,999 bytes per bulk
request) and its quirks (``status: false`` right after a submit, bulk import never
re-subscribing an unsubscribed contact, HTML login pages on a 200), and injects faults on
demand. It shares no code with the package's client.

Examples:
    >>> import httpx
    >>> from ac_segment_export.testing import ActiveCampaignEmulator
    >>> emu = ActiveCampaignEmulator(api_key="test-key")
    >>> list_id = emu.add_list("VIP customers")
    >>> with httpx.Client(transport=emu.transport(), base_url="https://acme.api-us1.com",
    ...                   headers={"Api-Token": "test-key"}) as http:
    ...     http.get("/api/3/lists").json()["meta"]["total"]
    '1'

``emu.connection()``, ``emu.client()`` and ``emu.async_client()`` give the library's own
objects already wired to the emulator: its transport, its limits on its clock and its
``time_scale`` (from which the exporter takes its poll timing).

Run it as a server with ``python -m ac_segment_export.testing --port 8080`` (or ``serve
--port 8080``); ``python -m ac_segment_export.testing probe`` checks on a real account which
reading of each open behaviour ActiveCampaign plays.

Where ActiveCampaign's documentation leaves a behaviour open, the emulator picks one by
default, and `Readings` (``ActiveCampaignEmulator(readings=...)``) plays the other where
marked "(Readings: ...)":

* A queued bulk import answers 200 with ``Success`` (capital S, as in the docs' example),
  ``queued_contacts``, ``batchId`` and ``message``; every error body uses ``success``.
* ``failureReasons[].contact`` is the 0-based index into ``contacts`` (Readings:
  ``failure_index_base=1``); every bad contact gets one entry (its first problem).
  Rejections of the request as a whole (too many contacts, too many bytes, no contacts)
  carry one explanatory string instead.
* Every bulk import request that is not itself rate limited counts against its bulk
  window (multi-contact or single-contact), even when it is then rejected.
* ``GET /import/info`` answers ``{"status": false, "success": [], "failure": []}`` for the
  first emulated second, then ``waiting``, ``claimed``, ``active`` and an end status; see
  `ActiveCampaignEmulator` for the timing (Readings: ``extra_batch_status="queued"`` adds an
  undocumented status between ``claimed`` and ``active``). ``success`` lists only newly
  created contacts; ``failure`` lists excluded emails and emails that fail processing.
* A bulk-imported contact who unsubscribed from (or bounced on) a list it is to be
  subscribed to, or who bounced (`ActiveCampaignEmulator.mark_bounced`), is updated but
  not subscribed, and is listed in neither ``success`` nor ``failure`` (Readings:
  ``unsubscribed_in_failure=True`` skips it and lists it in ``failure``).
* Beyond 5 requests a second the answer is 429 (Readings: ``throttle_status=503``); an
  unknown ``batchId`` is a 404 ``{"message": ...}``.
* ``Retry-After`` is in real seconds: a whole number (at least 1) at ``time_scale=1``, a
  decimal with millisecond precision (``0.013``) when time is scaled.
* Bulk import sets every given attribute, empty strings included, and leaves omitted ones
  alone; duplicate emails within one request are applied in order. ``POST /contact/sync``
  answers 201 on create and 200 on update; ``PUT /contacts/{id}`` is a partial update.
* ``POST /fields`` answers 201 ``{"field": {...}}`` (Readings:
  ``fields_create_shape="fields"`` answers the documented ``{"fieldOptions": [],
  "fieldRels": [], "fields": [{...}], "meta": {...}}``).
* A ``"drop"`` fault drops the connection before the request is processed; a
  ``"drop_after_write"`` fault processes it in full first.
* The email check is described in `is_valid_email`.
"""

from __future__ import annotations

from ._config import EmulatorLimits, FaultKind, Faults, Readings
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
    "Readings",
    "RecordedRequest",
    "is_valid_email",
]
