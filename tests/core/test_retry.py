"""Retry decisions: what is retried, for which requests, and how long to wait."""

from __future__ import annotations

import pytest

import ac_segment_export as acx
from ac_segment_export._core.http import RequestSpec, parse_retry_after
from ac_segment_export._core.retry import (
    is_retryable,
    may_have_applied,
    rate_limit_wait,
    retry_wait,
)

READ = RequestSpec("GET", "contacts")
CREATE = RequestSpec("POST", "contacts", json={}, idempotent=False)
KW = {"method": "GET", "url": "https://acme.api-us1.com/api/3/contacts"}


def _status(cls: type[acx.APIStatusError], code: int) -> acx.APIStatusError:
    return cls("x", status_code=code, **KW)


CASES = [
    # (exception, retried for a read, retried for POST /contacts)
    (acx.APIUnreachableError("x", **KW), True, True),
    (acx.APITimeoutError("x", **KW), True, False),
    (acx.APIConnectionError("x", **KW), True, False),
    (acx.RateLimitError("x", status_code=429, retry_after=1.0, **KW), True, True),
    (acx.RateLimitError("x", status_code=400, **KW), True, True),
    (_status(acx.ServerError, 500), True, False),
    (_status(acx.ServerError, 503), True, False),
    (acx.ServiceUnavailableError("x", status_code=503, **KW), True, True),
    (_status(acx.AuthenticationError, 403), False, False),
    (_status(acx.NotFoundError, 404), False, False),
    (_status(acx.UnprocessableEntityError, 422), False, False),
    (_status(acx.BadRequestError, 400), False, False),
    (acx.APIResponseValidationError("x", status_code=200, **KW), False, False),
    (ValueError("not ours"), False, False),
]


@pytest.mark.parametrize(("exc", "for_read", "for_create"), CASES)
def test_is_retryable(exc: BaseException, for_read: bool, for_create: bool) -> None:
    """Reads retry every transient failure; creates only what surely was not processed."""
    assert is_retryable(exc, READ) is for_read
    assert is_retryable(exc, CREATE) is for_create


def test_backoff_is_exponential_with_bounded_jitter() -> None:
    """Attempt n waits initial*2**(n-1) (capped) plus at most `jitter` seconds."""
    policy = acx.RetryPolicy(initial_backoff=0.5, max_backoff=3.0, jitter=0.25)
    error = _status(acx.ServerError, 500)
    for attempt, base in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 3.0), (9, 3.0)]:
        waits = [retry_wait(policy, attempt, error) for _ in range(50)]
        assert all(base <= w <= base + 0.25 for w in waits)
        assert len(set(waits)) > 1  # jitter is random


def test_retry_after_is_honoured_and_capped() -> None:
    """A 429's Retry-After is the wait, up to max_retry_after."""
    policy = acx.RetryPolicy(max_retry_after=10.0, jitter=0.0)
    assert (
        retry_wait(policy, 1, acx.RateLimitError("x", status_code=429, retry_after=3.5, **KW))
        == 3.5
    )
    assert (
        retry_wait(policy, 1, acx.RateLimitError("x", status_code=429, retry_after=600, **KW))
        == 10.0
    )


def test_bulk_rate_limit_without_retry_after_waits_the_bulk_wait() -> None:
    """The bulk 'Rate limit exceeded' body (no Retry-After) waits bulk_rate_limit_wait."""
    policy = acx.RetryPolicy(bulk_rate_limit_wait=42.0)
    assert retry_wait(policy, 1, acx.RateLimitError("x", status_code=400, **KW)) == 42.0


def test_429_without_retry_after_backs_off() -> None:
    """A 429 that names no wait falls back to exponential backoff."""
    policy = acx.RetryPolicy(initial_backoff=2.0, jitter=0.0)
    assert retry_wait(policy, 2, acx.RateLimitError("x", status_code=429, **KW)) == 4.0


def test_for_tests_never_waits_but_still_counts() -> None:
    """RetryPolicy.for_tests() keeps the attempts and drops every wait, Retry-After included."""
    policy = acx.RetryPolicy.for_tests(max_attempts=4)
    assert policy.max_attempts == 4
    assert policy.backoff is False
    assert (
        retry_wait(policy, 3, acx.RateLimitError("x", status_code=429, retry_after=9, **KW)) == 0.0
    )


def test_never_makes_one_attempt() -> None:
    """RetryPolicy.never() means a single try."""
    assert acx.RetryPolicy.never().max_attempts == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_attempts": 0}, "max_attempts must be at least 1"),
        ({"max_elapsed": 0}, "max_elapsed must be positive"),
        ({"jitter": -1}, "jitter must not be negative"),
    ],
)
def test_policy_validation(kwargs: dict[str, float], message: str) -> None:
    """Nonsense policies are configuration errors."""
    with pytest.raises(acx.ConfigurationError, match=message):
        acx.RetryPolicy(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("5", 5.0),
        (" 2 ", 2.0),
        ("0.013", 0.013),
        ("0", 0.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("-3", None),
        ("nan", None),
        ("inf", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 10.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),  # already past
        ("Wed, 21 Oct 2015 07:28:00", None),  # no zone: no usable date
    ],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    """Delta-seconds (fractions too) and HTTP-dates parse; anything else is no hint at all."""
    assert parse_retry_after(header, now=1445412470.0) == seconds


def test_rate_limit_wait_sleeps_and_charges() -> None:
    """rate_limit_wait: the sleep, and the charge to the budget (the wait, at least 1 s)."""
    policy = acx.RetryPolicy(max_retry_after=10.0, initial_backoff=2.0, jitter=0.0)
    limited = acx.RateLimitError("x", status_code=429, retry_after=3.5, **KW)
    assert rate_limit_wait(policy, 1, limited) == (3.5, 3.5)
    instant = acx.RateLimitError("x", status_code=429, retry_after=0.0, **KW)
    assert rate_limit_wait(policy, 1, instant) == (0.0, 1.0)
    unavailable = acx.ServiceUnavailableError("x", status_code=503, **KW)
    assert rate_limit_wait(policy, 2, unavailable) == (4.0, 4.0)  # backoff, not the bulk wait
    quiet = acx.RetryPolicy.for_tests()
    assert rate_limit_wait(quiet, 1, limited) == (0.0, 3.5)


def test_policy_rate_limit_budget_defaults() -> None:
    """Fifteen minutes of rate-limit waiting per request by default; never() allows none."""
    assert acx.RetryPolicy().max_rate_limit_wait == 900.0
    assert acx.RetryPolicy.for_tests().max_rate_limit_wait == 900.0
    assert acx.RetryPolicy.never().max_rate_limit_wait == 0.0
    with pytest.raises(acx.ConfigurationError, match="max_rate_limit_wait must not be negative"):
        acx.RetryPolicy(max_rate_limit_wait=-1)


@pytest.mark.parametrize(
    ("exc", "unclear"),
    [
        (acx.APIUnreachableError("x", **KW), False),
        (acx.APITimeoutError("x", **KW), True),
        (acx.APIConnectionError("x", **KW), True),
        (acx.RateLimitError("x", status_code=429, **KW), False),
        (acx.RateLimitError("x", status_code=400, **KW), False),
        (acx.ServiceUnavailableError("x", status_code=503, **KW), False),
        (_status(acx.ServerError, 500), True),
        (_status(acx.ServerError, 504), True),
        (_status(acx.NotFoundError, 404), False),
        (_status(acx.UnprocessableEntityError, 422), False),
        (acx.APIResponseValidationError("x", status_code=200, **KW), True),
        (ValueError("not ours"), False),
    ],
)
def test_may_have_applied(exc: BaseException, unclear: bool) -> None:
    """Unclear endings (timeouts, drops, 5xx, odd 2xx) may have been applied; refusals not."""
    assert may_have_applied(exc) is unclear
