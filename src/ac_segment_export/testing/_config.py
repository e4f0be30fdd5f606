"""Emulator configuration: limits, faults, and readings of what the docs leave open."""

from __future__ import annotations

from typing import Literal, get_args

import attrs

__all__ = [
    "DOCUMENTED_BATCH_STATUSES",
    "FAULT_KINDS",
    "EmulatorLimits",
    "FaultKind",
    "Faults",
    "Readings",
]

FaultKind = Literal[
    "500",
    "502",
    "503",
    "429",
    "drop",
    "drop_after_write",
    "html_200",
    "empty_200",
    "bulk_rate_limit",
    "interrupt_batch",
    "fail_batch",
]
"""The kinds of scripted fault accepted by `ActiveCampaignEmulator.queue_fault`."""

FAULT_KINDS: frozenset[str] = frozenset(get_args(FaultKind))

DOCUMENTED_BATCH_STATUSES: frozenset[str] = frozenset(
    {"waiting", "claimed", "active", "completed", "failed", "interrupted"}
)
"""The six batch statuses the ``bulk-import-status-info`` page documents."""


def _positive(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 1:
        msg = f"{attribute.name} must be at least 1, got {value!r}"
        raise ValueError(msg)


def _rate_limit_status(_instance: object, _attribute: attrs.Attribute[int], value: int) -> None:
    if value not in (400, 429):
        msg = f"bulk_rate_limit_status must be 400 or 429, got {value!r}"
        raise ValueError(msg)


@attrs.frozen(kw_only=True)
class EmulatorLimits:
    """The limits the emulated account enforces.

    The defaults are ActiveCampaign's published limits. Windows are measured in emulated
    time, so a ``time_scale`` above 1 shortens them in real time.

    Attributes:
        requests_per_second: Account-wide request budget per (sliding) second; beyond it
            every request is answered ``429 Too Many Requests``.
        bulk_multi_per_minute: Bulk import requests holding two or more contacts allowed
            per sliding 60-second window.
        bulk_single_per_minute: Bulk import requests holding exactly one contact allowed per
            sliding 60-second window.
        bulk_max_contacts: Most contacts one bulk import request may hold.
        bulk_max_bytes: Largest accepted bulk import request body, in bytes ("less than
            400K bytes (399,999 bytes or less)", says ``bulk-import-contacts``).
        enforce_rate_limits: When false, no request is ever rate limited (the
            ``RateLimit-*`` headers are still sent); size limits stay in force.
        bulk_rate_limit_status: HTTP status of the bulk "Rate limit exceeded." answer. The
            docs show the body under 400; 429 is allowed for clients that want to test both.
        page_max: Largest page size a collection endpoint returns (larger ``limit`` values
            are capped).
        page_default: Page size used when ``limit`` is absent or invalid.
    """

    requests_per_second: int = attrs.field(default=5, validator=_positive)
    bulk_multi_per_minute: int = attrs.field(default=100, validator=_positive)
    bulk_single_per_minute: int = attrs.field(default=20, validator=_positive)
    bulk_max_contacts: int = attrs.field(default=250, validator=_positive)
    bulk_max_bytes: int = attrs.field(default=399_999, validator=_positive)
    enforce_rate_limits: bool = True
    bulk_rate_limit_status: int = attrs.field(default=400, validator=_rate_limit_status)
    page_max: int = attrs.field(default=100, validator=_positive)
    page_default: int = attrs.field(default=20, validator=_positive)

    @classmethod
    def unlimited(cls) -> EmulatorLimits:
        """Return limits with rate limiting switched off and the size limits kept.

        Returns:
            The default limits with ``enforce_rate_limits=False``.
        """
        return cls(enforce_rate_limits=False)


def _rate(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        msg = f"{attribute.name} must be between 0 and 1, got {value!r}"
        raise ValueError(msg)


def _non_negative(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value < 0:
        msg = f"{attribute.name} must not be negative, got {value!r}"
        raise ValueError(msg)


@attrs.frozen(kw_only=True)
class Faults:
    """Random faults the emulator injects, drawn from an RNG seeded by the emulator's seed.

    Attributes:
        server_error_rate: Probability that a request is answered 500, 502 or 503 (chosen
            uniformly) before it reaches the API.
        drop_connection_rate: Probability that a request is dropped with no response
            *before* it is processed (nothing it asked for happens).
        latency: Real seconds added to every answer, divided by the emulator's
            ``time_scale``: the request is counted and carried out when it arrives (as
            ActiveCampaign's rate limits count it), and its answer comes back this much later.
        latency_jitter: Each request's latency varies by up to this many seconds either way
            (uniformly, seeded; never below 0), divided by ``time_scale`` like ``latency``:
            answers then arrive out of order, as on a real network.
        interrupted_batch_rate: Probability that an accepted bulk batch ends ``interrupted``.
        failed_batch_rate: Probability that an accepted bulk batch ends ``failed``.
        drop_after_write_rate: Probability that a request is processed in full (its
            effects applied: a bulk batch queued, a contact written) and the connection is
            then dropped with no response, so the client cannot tell that it succeeded.
    """

    server_error_rate: float = attrs.field(default=0.0, validator=_rate)
    drop_connection_rate: float = attrs.field(default=0.0, validator=_rate)
    latency: float = attrs.field(default=0.0, validator=_non_negative)
    latency_jitter: float = attrs.field(default=0.0, validator=_non_negative)
    interrupted_batch_rate: float = attrs.field(default=0.0, validator=_rate)
    failed_batch_rate: float = attrs.field(default=0.0, validator=_rate)
    drop_after_write_rate: float = attrs.field(default=0.0, validator=_rate)


def _index_base(_instance: object, _attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or value not in (0, 1):
        msg = f"failure_index_base must be 0 or 1, got {value!r}"
        raise ValueError(msg)


def _throttle_status(_instance: object, _attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or value not in (429, 503):
        msg = f"throttle_status must be 429 or 503, got {value!r}"
        raise ValueError(msg)


def _fields_shape(_instance: object, _attribute: attrs.Attribute[str], value: str) -> None:
    if value not in ("field", "fields"):
        msg = f'fields_create_shape must be "field" or "fields", got {value!r}'
        raise ValueError(msg)


def _extra_status(
    _instance: object, _attribute: attrs.Attribute[str | None], value: object
) -> None:
    if value is None:
        return
    if not isinstance(value, str) or not value.strip():
        msg = f"extra_batch_status must be a non-empty string or None, got {value!r}"
        raise ValueError(msg)
    if value in DOCUMENTED_BATCH_STATUSES:
        msg = f"extra_batch_status must not be a documented status, got {value!r}"
        raise ValueError(msg)


@attrs.frozen(kw_only=True)
class Readings:
    """Which reading the emulator plays where ActiveCampaign's documentation is silent.

    Each field names one behaviour the docs leave open. Its default is the emulator's own
    choice (the behaviour of earlier releases); the other value plays the other reading, so
    a pipeline can be tested against both. `alternative` switches every one at once.
    ``python -m ac_segment_export.testing probe`` tells which reading a real account plays.

    Attributes:
        failure_index_base: Whether ``failureReasons[].contact`` of a rejected bulk import
            counts the request's ``contacts`` from 0 (the default) or from 1.
        unsubscribed_in_failure: When false (the default), a bulk-imported contact who had
            unsubscribed from a list the item subscribes it to, or who bounced, is updated
            but not (re-)subscribed, and is listed in neither ``success`` nor ``failure`` of
            ``GET /import/info``. When true, such a contact is not imported at all (nothing
            about it changes) and its email is listed in ``failure``, as excluded emails
            always are.
        throttle_status: The status of the answer to a request beyond the account's
            requests-per-second budget: 429 (as the ``rate-limits`` page documents) or 503
            (as a user reports), with the same ``Retry-After`` and ``RateLimit-*`` headers
            and the same body. Scripted ``"429"`` faults stay 429.
        fields_create_shape: The body of a successful ``POST /fields``: ``"field"`` answers
            ``{"field": {...}}`` (the default); ``"fields"`` answers the shape of the
            documented example, ``{"fieldOptions": [], "fieldRels": [], "fields": [{...}],
            "meta": {"total": "1"}}``. Both are 201.
        extra_batch_status: When set (``"queued"``, say), ``GET /import/info`` reports this
            undocumented status for a phase between ``claimed`` and ``active`` that lasts
            0.25 emulated seconds (the batch ends that much later). None (the default)
            keeps to the six documented statuses.
    """

    failure_index_base: Literal[0, 1] = attrs.field(default=0, validator=_index_base)
    unsubscribed_in_failure: bool = False
    throttle_status: Literal[429, 503] = attrs.field(default=429, validator=_throttle_status)
    fields_create_shape: Literal["field", "fields"] = attrs.field(
        default="field", validator=_fields_shape
    )
    extra_batch_status: str | None = attrs.field(default=None, validator=_extra_status)

    @classmethod
    def alternative(cls, *, extra_batch_status: str = "queued") -> Readings:
        """Return readings with every behaviour set to its non-default choice.

        Args:
            extra_batch_status: The undocumented batch status to report.

        Returns:
            ``Readings(failure_index_base=1, unsubscribed_in_failure=True,
            throttle_status=503, fields_create_shape="fields",
            extra_batch_status=extra_batch_status)``.
        """
        return cls(
            failure_index_base=1,
            unsubscribed_in_failure=True,
            throttle_status=503,
            fields_create_shape="fields",
            extra_batch_status=extra_batch_status,
        )
