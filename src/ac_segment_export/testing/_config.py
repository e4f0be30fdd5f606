"""Configuration of the emulator: the account's limits and the faults it injects."""

from __future__ import annotations

from typing import Literal, get_args

import attrs

__all__ = ["FAULT_KINDS", "EmulatorLimits", "FaultKind", "Faults"]

FaultKind = Literal[
    "500",
    "502",
    "503",
    "429",
    "drop",
    "html_200",
    "empty_200",
    "bulk_rate_limit",
    "interrupt_batch",
    "fail_batch",
]
"""The kinds of scripted fault accepted by `ActiveCampaignEmulator.queue_fault`."""

FAULT_KINDS: frozenset[str] = frozenset(get_args(FaultKind))


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
        drop_connection_rate: Probability that a request is dropped with no response.
        latency: Real seconds added to every request, divided by the emulator's
            ``time_scale``.
        interrupted_batch_rate: Probability that an accepted bulk batch ends ``interrupted``.
        failed_batch_rate: Probability that an accepted bulk batch ends ``failed``.
    """

    server_error_rate: float = attrs.field(default=0.0, validator=_rate)
    drop_connection_rate: float = attrs.field(default=0.0, validator=_rate)
    latency: float = attrs.field(default=0.0, validator=_non_negative)
    interrupted_batch_rate: float = attrs.field(default=0.0, validator=_rate)
    failed_batch_rate: float = attrs.field(default=0.0, validator=_rate)
