"""The typed ActiveCampaign v3 client (sync and async) and its resources."""

from ac_segment_export._client._client import AsyncClient, Client, ClientStats
from ac_segment_export._core.ops import (
    BULK_MAX_BYTES,
    BULK_MAX_CONTACTS,
    bulk_body_size,
    encode_bulk_contact,
)

__all__ = [
    "BULK_MAX_BYTES",
    "BULK_MAX_CONTACTS",
    "AsyncClient",
    "Client",
    "ClientStats",
    "bulk_body_size",
    "encode_bulk_contact",
]
