"""Retry decisions: what is retried, for which requests, and how long to wait."""

from __future__ import annotations

import asyncio
import time

import pytest
import tenacity

import ac_segment_export as acx
from ac_segment_export._core.http import RequestSpec, parse_retry_after
from ac_segment_export._core.retry import (
    Attempts,
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


# -- the attempt loop: the first attempt without tenacity, the rest with it ---------------------


def _run(policy: acx.RetryPolicy, spec: RequestSpec, outcomes: list[BaseException | None]) -> int:
    """Drive Attempts; attempt *n* raises ``outcomes[n]`` (None: succeeds). Returns attempts."""
    made = 0
    for attempt in Attempts(policy, spec):
        with attempt:
            made += 1
            outcome = outcomes[made - 1]
            if outcome is not None:
                raise outcome
    return made


async def _arun(
    policy: acx.RetryPolicy, spec: RequestSpec, outcomes: list[BaseException | None]
) -> int:
    made = 0
    async for attempt in Attempts(policy, spec):
        with attempt:
            made += 1
            outcome = outcomes[made - 1]
            if outcome is not None:
                raise outcome
    return made


def _drive(
    runner: str, policy: acx.RetryPolicy, spec: RequestSpec, outcomes: list[BaseException | None]
) -> int:
    if runner == "sync":
        return _run(policy, spec, outcomes)
    return asyncio.run(_arun(policy, spec, outcomes))


def _no_tenacity(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("a request that succeeds at once should not start tenacity")

    monkeypatch.setattr(tenacity, "Retrying", refuse)
    monkeypatch.setattr(tenacity, "AsyncRetrying", refuse)


def test_a_first_attempt_that_succeeds_never_starts_tenacity(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The common case costs one context manager, not tenacity's loop (sync and async)."""
    _no_tenacity(monkeypatch)
    assert _run(acx.RetryPolicy(), READ, [None]) == 1
    assert asyncio.run(_arun(acx.RetryPolicy(), READ, [None])) == 1


@pytest.mark.parametrize("runner", ["sync", "async"])
def test_tenacity_takes_over_from_a_failed_first_attempt(runner: str) -> None:
    """Two failures then a success: three attempts, two retries reported, backoff skipped."""
    retries: list[tuple[str, float]] = []
    policy = acx.RetryPolicy.for_tests()
    failure = _status(acx.ServerError, 500)
    outcomes: list[BaseException | None] = [failure, failure, None]

    def on_retry(exc: BaseException, wait: float) -> None:
        retries.append((type(exc).__name__, wait))

    attempts = Attempts(policy, READ, on_retry=on_retry)

    async def adrive() -> int:
        made = 0
        async for attempt in attempts:
            with attempt:
                made += 1
                if outcomes[made - 1] is not None:
                    raise failure
        return made

    def drive() -> int:
        made = 0
        for attempt in attempts:
            with attempt:
                made += 1
                if outcomes[made - 1] is not None:
                    raise failure
        return made

    made = drive() if runner == "sync" else asyncio.run(adrive())
    assert made == 3
    assert retries == [("ServerError", 0.0), ("ServerError", 0.0)]
    assert attempts.maybe_applied  # a 500 may have been carried out


@pytest.mark.parametrize("runner", ["sync", "async"])
def test_a_first_failure_that_is_not_retried_is_raised_as_is(runner: str) -> None:
    """A 404, a foreign exception and a KeyboardInterrupt leave after one attempt, unchanged."""
    for exc in (_status(acx.NotFoundError, 404), ValueError("not ours"), KeyboardInterrupt()):
        with pytest.raises(type(exc)) as raised:
            _drive(runner, acx.RetryPolicy.for_tests(), READ, [exc])
        assert raised.value is exc


@pytest.mark.parametrize("runner", ["sync", "async"])
def test_the_elapsed_budget_counts_the_first_attempt(runner: str) -> None:
    """``max_elapsed`` runs from the first attempt's start, as when tenacity ran it too."""
    policy = acx.RetryPolicy(max_attempts=10, max_elapsed=0.05, backoff=False)
    slow = acx.APIConnectionError("x", **KW)
    made = 0

    def drive() -> None:
        nonlocal made
        for attempt in Attempts(policy, READ):
            with attempt:
                made += 1
                time.sleep(0.06)  # the first attempt alone uses up the budget
                raise slow

    async def adrive() -> None:
        nonlocal made
        async for attempt in Attempts(policy, READ):
            with attempt:
                made += 1
                await asyncio.sleep(0.06)
                raise slow

    with pytest.raises(acx.APIConnectionError) as raised:
        drive() if runner == "sync" else asyncio.run(adrive())
    assert made == 1
    assert raised.value.maybe_applied  # marked by the loop on the way out


@pytest.mark.parametrize("runner", ["sync", "async"])
def test_rate_limits_after_a_first_one_use_their_own_budget(runner: str) -> None:
    """A 429 on the first attempt, then 500s: the 429 does not count against max_attempts."""
    policy = acx.RetryPolicy(max_attempts=2, backoff=False)
    limited = acx.RateLimitError("x", status_code=429, retry_after=0.0, **KW)
    failure = _status(acx.ServerError, 500)
    outcomes: list[BaseException | None] = [limited, failure, failure, None]
    with pytest.raises(acx.ServerError):
        _drive(runner, policy, READ, outcomes)
    assert _drive(runner, policy, READ, [limited, failure, None]) == 3
