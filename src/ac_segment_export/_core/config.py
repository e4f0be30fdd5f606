"""Client options as values: timeouts, the retry policy and the rate limits, with their defaults."""

from __future__ import annotations

import math
from typing import Any

import attrs
import httpx

from ac_segment_export._core.errors import ConfigurationError
from ac_segment_export._core.pacing import PacingBackend, RateLimiter, SharedPacing

__all__ = [
    "DEFAULT_TIMEOUT",
    "ClientOptions",
    "RateLimits",
    "RetryPolicy",
    "check_time_scale",
]

DEFAULT_TIMEOUT = 30.0
"""Seconds for connect, read, write and pool waits of one request."""


def _positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        msg = f"{attribute.name} must be positive, not {value!r}."
        raise ConfigurationError(msg)


def _non_negative(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value >= 0:
        msg = f"{attribute.name} must not be negative, not {value!r}."
        raise ConfigurationError(msg)


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """When and how long the client retries a failed request.

    Two kinds of answer are retried, under separate budgets:

    * **Rate limits** — HTTP 429, HTTP 503 (ActiveCampaign also throttles with it) and the
      bulk-import "Rate limit exceeded" answer. The request was refused, not failed, so it is
      retried for every request, creating ones included, and does **not** count against
      ``max_attempts`` or ``max_elapsed``. It waits what ``Retry-After`` says (at most
      ``max_retry_after``); without one, ``bulk_rate_limit_wait`` after the bulk answer and
      the exponential backoff after a 429 or 503. One request may spend ``max_rate_limit_wait``
      seconds in such waits: a rate limit whose wait would take it past that budget is
      raised. Each wait is charged at least one second (a server answering ``Retry-After: 0``
      forever is not retried forever), and is charged even with ``backoff=False``.
    * **Failures** — connection errors, timeouts and 5xx other than 503 — but only for
      requests that are safe to repeat (reads, ``contact/sync``, ``contactLists``, field
      values, bulk import, updates and deletes). A request that creates something
      (``POST /contacts``, ``/lists``, ``/fields``) is retried only when it surely was not
      processed: the connection could not be opened, or a rate limit refused it.
      ``max_attempts`` counts the tries that did not end in a rate limit, the first included;
      ``max_elapsed`` bounds the time since the first try, less the time spent waiting out
      rate limits.

    Backoff is exponential (``initial_backoff`` doubled per attempt, at most ``max_backoff``)
    plus a random jitter of up to ``jitter`` seconds.

    Attributes:
        max_attempts: Tries per request that may end in a failure, the first included; 1
            turns retries after failures off.
        max_elapsed: Seconds after the first try (not counting rate-limit waits) past which no
            retry after a failure starts.
        initial_backoff: Seconds before the first retry.
        max_backoff: The longest computed backoff.
        jitter: The most random seconds added to each backoff.
        max_retry_after: The longest ``Retry-After`` honoured; longer requests wait this long.
        bulk_rate_limit_wait: Seconds to wait after a bulk "Rate limit exceeded" answer that
            carries no ``Retry-After`` (ActiveCampaign's text says to retry in a minute).
        max_rate_limit_wait: Total seconds one request may spend waiting out rate limits
            (15 minutes by default); 0 raises the first rate limit.
        backoff: ``False`` skips every wait (for test suites); attempts and the rate-limit
            budget are still counted.
    """

    max_attempts: int = attrs.field(default=6)
    max_elapsed: float = attrs.field(default=300.0, validator=_positive)
    initial_backoff: float = attrs.field(default=0.5, validator=_non_negative)
    max_backoff: float = attrs.field(default=30.0, validator=_non_negative)
    jitter: float = attrs.field(default=0.5, validator=_non_negative)
    max_retry_after: float = attrs.field(default=120.0, validator=_non_negative)
    bulk_rate_limit_wait: float = attrs.field(default=60.0, validator=_non_negative)
    max_rate_limit_wait: float = attrs.field(default=900.0, validator=_non_negative)
    backoff: bool = True

    @max_attempts.validator
    def _check_attempts(self, _: attrs.Attribute[int], value: int) -> None:
        if value < 1:
            msg = f"max_attempts must be at least 1, not {value!r}."
            raise ConfigurationError(msg)

    @classmethod
    def for_tests(cls, max_attempts: int = 6) -> RetryPolicy:
        """A policy that retries as usual but never sleeps, so retry paths run instantly."""
        return cls(max_attempts=max_attempts, backoff=False)

    @classmethod
    def never(cls) -> RetryPolicy:
        """A policy that makes one attempt per request (a rate limit is raised too)."""
        return cls(max_attempts=1, max_rate_limit_wait=0.0)


@attrs.frozen(kw_only=True)
class RateLimits:
    """Client-side pacing, so that a well-behaved client rarely meets a 429.

    ActiveCampaign allows 5 requests a second per *account* (every key and integration of
    the account shares it) and, for bulk import, 100 multi-contact and 20 single-contact
    requests a minute. Pass one :class:`~ac_segment_export.RateLimiter` to several clients
    to make them share a budget; lower ``requests_per_second`` to leave room for the
    account's other integrations.

    ActiveCampaign counts requests in a sliding window, so a client paced at exactly the
    limit still meets a 429 whenever one request's latency happens to exceed the latency of
    the request sent one window later. The limiter therefore keeps ``headroom`` below every
    rate (5% by default: 4.75 requests a second instead of 5).

    Attributes:
        requests_per_second: The account-wide request rate.
        burst: Requests that may go at once before pacing starts; 1 spaces every request.
            A burst above 1 lets a short burst exceed a sliding one-second window at the
            full rate, so lower ``requests_per_second`` when raising it.
        bulk_per_minute: Multi-contact bulk-import requests a minute.
        bulk_single_per_minute: Single-contact bulk-import requests a minute.
        headroom: The fraction kept below the account rate to absorb latency jitter, in
            [0, 1).
        bulk_headroom: The same for the bulk-import rates (1% by default: their window is a
            minute long, so jitter matters less, and bulk import is what sets an export's
            speed).
        enabled: ``False`` turns pacing off (for an emulator without limits).
    """

    requests_per_second: float = attrs.field(default=5.0, validator=_positive)
    burst: int = attrs.field(default=1)
    bulk_per_minute: float = attrs.field(default=100.0, validator=_positive)
    bulk_single_per_minute: float = attrs.field(default=20.0, validator=_positive)
    headroom: float = attrs.field(default=0.05)
    bulk_headroom: float = attrs.field(default=0.01)
    enabled: bool = True

    @headroom.validator
    @bulk_headroom.validator
    def _check_headroom(self, attribute: attrs.Attribute[float], value: float) -> None:
        if not 0 <= value < 1:
            msg = f"{attribute.name} must be at least 0 and below 1, not {value!r}."
            raise ConfigurationError(msg)

    @burst.validator
    def _check_burst(self, _: attrs.Attribute[int], value: int) -> None:
        if value < 1:
            msg = f"burst must be at least 1, not {value!r}."
            raise ConfigurationError(msg)

    @classmethod
    def unlimited(cls) -> RateLimits:
        """No client-side pacing at all."""
        return cls(enabled=False)

    def scaled(self, factor: float) -> RateLimits:
        """These limits with every rate multiplied by *factor* (for a time-scaled emulator)."""
        return attrs.evolve(
            self,
            requests_per_second=self.requests_per_second * factor,
            bulk_per_minute=self.bulk_per_minute * factor,
            bulk_single_per_minute=self.bulk_single_per_minute * factor,
        )


def check_time_scale(value: object) -> float:
    """A server clock's speed-up factor: a positive, finite number (1 is real time).

    Raises:
        ConfigurationError: *value* is not one.
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        msg = f"time_scale must be a positive number, not {value!r}."
        raise ConfigurationError(msg)
    if value <= 0:
        msg = f"time_scale must be a positive number, not {value!r}."
        raise ConfigurationError(msg)
    return float(value)


def _time_scale(_: object, __: attrs.Attribute[Any], value: object) -> None:
    check_time_scale(value)


def _timeout(_: object, __: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, httpx.Timeout):
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        msg = f"timeout must be positive seconds or an httpx.Timeout, not {value!r}."
        raise ConfigurationError(msg)


def _retry(_: object, __: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, RetryPolicy):
        msg = f"retry must be a RetryPolicy, not {type(value).__name__}."
        raise ConfigurationError(msg)


def _rate_limits(_: object, __: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, (RateLimits, RateLimiter, PacingBackend, SharedPacing)):
        msg = (
            f"rate_limits must be a RateLimits or a RateLimiter, not {type(value).__name__} "
            "(for a budget shared across processes, a RedisRateBudget)."
        )
        raise ConfigurationError(msg)


def _transport(_: object, __: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, (httpx.BaseTransport, httpx.AsyncBaseTransport)):
        msg = f"transport must be an httpx transport or None, not {type(value).__name__}."
        raise ConfigurationError(msg)


@attrs.frozen(kw_only=True)
class ClientOptions:
    """How a client built from a connection sends: timeout, retries, pacing and transport.

    One value, passed whole to :meth:`Connection.client` and :meth:`Connection.async_client`
    (the only builders of a client from a connection), so that a connection's checks, the
    exporter and your own code build their clients alike.

    Attributes:
        timeout: Seconds (or an :class:`httpx.Timeout`) for each request.
        retry: When to retry; see :class:`RetryPolicy`.
        rate_limits: Client-side pacing; a shared :class:`RateLimiter` makes every client
            built with these options share one budget, a :class:`RateLimits` gives each
            client its own, and a :class:`RedisRateBudget` shares the account's budget with
            every process and machine using the same Redis.
        transport: An httpx transport to send through (an emulator's, in tests). A
            :class:`Client` needs an :class:`httpx.BaseTransport`, an :class:`AsyncClient`
            an :class:`httpx.AsyncBaseTransport`; the emulator's transport is both.
        time_scale: How much faster than real time the server's clock runs (1 for
            ActiveCampaign; an emulator's ``time_scale``); see :class:`Client`.

    Raises:
        ConfigurationError: An option has the wrong type or value.
    """

    timeout: float | httpx.Timeout = attrs.field(default=DEFAULT_TIMEOUT, validator=_timeout)
    retry: RetryPolicy = attrs.field(factory=RetryPolicy, validator=_retry)
    rate_limits: RateLimits | PacingBackend | SharedPacing = attrs.field(
        factory=RateLimits, validator=_rate_limits
    )
    transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = attrs.field(
        default=None, validator=_transport
    )
    time_scale: float = attrs.field(default=1.0, validator=_time_scale)

    def sync_transport(self) -> httpx.BaseTransport | None:
        """The transport, for a :class:`Client`.

        Raises:
            ConfigurationError: The transport is async only.
        """
        if self.transport is None or isinstance(self.transport, httpx.BaseTransport):
            return self.transport
        msg = (
            f"The transport {type(self.transport).__name__} is async only; a Client needs an "
            "httpx.BaseTransport (use async_client() for this one)."
        )
        raise ConfigurationError(msg)

    def async_transport(self) -> httpx.AsyncBaseTransport | None:
        """The transport, for an :class:`AsyncClient`.

        Raises:
            ConfigurationError: The transport is sync only.
        """
        if self.transport is None or isinstance(self.transport, httpx.AsyncBaseTransport):
            return self.transport
        msg = (
            f"The transport {type(self.transport).__name__} is sync only; an AsyncClient needs "
            "an httpx.AsyncBaseTransport (use client() for this one)."
        )
        raise ConfigurationError(msg)
