"""An offline, stateful emulator of the ActiveCampaign v3 API.

The emulator reproduces the parts of the API an export pipeline touches: contacts, lists,
custom fields and values, list memberships and bulk import with its asynchronous batches.
It keeps ActiveCampaign's shapes (string IDs, string totals, envelopes, varied error
bodies), its validation, its limits (5 requests a second per account; 100 multi-contact
and 20 single-contact bulk imports a minute; 250 contacts and 400,000 bytes per bulk
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
