"""Retry decisions as data, and the attempt loop that applies them to one request.

A :class:`RetryPolicy` gives two budgets: rate limits (429, 503, the bulk "Rate limit
exceeded" answer) are waited out under ``max_rate_limit_wait`` and never use up
``max_attempts``/``max_elapsed``, which bound real failures only. :class:`Attempts` runs the
loop for the sync and the async client alike and records whether any attempt may have been
carried out (``APIError.maybe_applied``). tenacity stays private to this module.
"""

from __future__ import annotations

import logging
import random
import time
from typing import TYPE_CHECKING, Any

import attrs
import tenacity

from ac_segment_export._core.errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APITimeoutError,
    APIUnreachableError,
    HostNotFoundError,
    RateLimitError,
    ServerError,
    ServiceUnavailableError,
    TLSHandshakeError,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator
    from contextlib import AbstractContextManager
    from types import TracebackType

    from ac_segment_export._core.config import RetryPolicy
    from ac_segment_export._core.http import RequestSpec

__all__ = [
    "Attempts",
    "is_retryable",
    "may_have_applied",
    "rate_limit_wait",
    "retry_arguments",
    "retry_wait",
]

logger = logging.getLogger("ac_segment_export")

#: The least a rate-limit wait is charged to ``max_rate_limit_wait``, in seconds.
MIN_RATE_LIMIT_CHARGE = 1.0


def is_retryable(exc: BaseException, spec: RequestSpec) -> bool:
    """Whether *exc* is worth another attempt of *spec*.

    A name that does not resolve and a failed TLS handshake are not: they fail again.
    """
    if isinstance(exc, HostNotFoundError | TLSHandshakeError):
        return False
    if isinstance(exc, RateLimitError | APIUnreachableError):
        return True  # refused before processing: safe even for non-idempotent requests
    if not spec.idempotent:
        return False
    return isinstance(exc, APITimeoutError | APIConnectionError | ServerError)


def may_have_applied(exc: BaseException) -> bool:
    """Whether an attempt that ended in *exc* may have been carried out by ActiveCampaign.

    True for a timeout, a connection lost after it was opened, a 5xx other than 503, and a
    2xx answer that was not the documented JSON; false for refusals (rate limits, a
    connection that could not be opened, 4xx) and for anything that is not an API error.
    """
    if isinstance(exc, RateLimitError | APIUnreachableError):
        return False
    if isinstance(exc, APIConnectionError | ServerError):
        return True
    return isinstance(exc, APIResponseValidationError) and exc.status_code < 300


def _nominal_wait(policy: RetryPolicy, attempt: int, exc: BaseException | None) -> float:
    if isinstance(exc, RateLimitError):
        if exc.retry_after is not None:
            return min(exc.retry_after, policy.max_retry_after)
        if exc.status_code != 429 and not isinstance(exc, ServiceUnavailableError):
            return policy.bulk_rate_limit_wait  # the bulk "Rate limit exceeded" body
    backoff = min(policy.max_backoff, policy.initial_backoff * 2.0 ** (attempt - 1))
    return backoff + random.uniform(0, policy.jitter)  # noqa: S311 - jitter, not crypto


def retry_wait(policy: RetryPolicy, attempt: int, exc: BaseException | None) -> float:
    """Seconds to sleep before the next try, after the *attempt*-th failure (or rate limit)."""
    if not policy.backoff:
        return 0.0
    return _nominal_wait(policy, attempt, exc)


def rate_limit_wait(policy: RetryPolicy, count: int, exc: RateLimitError) -> tuple[float, float]:
    """The sleep after the *count*-th rate limit, and what it costs of ``max_rate_limit_wait``.

    The cost is the wait the answer calls for, at least :data:`MIN_RATE_LIMIT_CHARGE`, also
    when ``backoff`` is off and nothing is slept.
    """
    nominal = _nominal_wait(policy, count, exc)
    return (nominal if policy.backoff else 0.0), max(nominal, MIN_RATE_LIMIT_CHARGE)


@attrs.define
class _Decision:
    stop: bool
    sleep: float


@attrs.define
class _Ledger:
    """What one request's attempts have used so far; decides each retry once."""

    policy: RetryPolicy
    spec: RequestSpec
    failures: int = 0
    rate_limits: int = 0
    rate_limit_charged: float = 0.0
    rate_limit_slept: float = 0.0
    maybe_applied: bool = False
    _decided: dict[int, _Decision] = attrs.field(factory=dict)

    def retry(self, state: tenacity.RetryCallState) -> bool:
        """The ``retry`` predicate: it sees every outcome, so it also notes unclear attempts."""
        exc = state.outcome.exception() if state.outcome is not None else None
        if exc is None:
            return False
        self.maybe_applied = self.maybe_applied or may_have_applied(exc)
        return is_retryable(exc, self.spec)

    def decide(self, state: tenacity.RetryCallState) -> _Decision:
        # Both tenacity's stop and wait ask, in an order that differs between versions.
        known = self._decided.get(state.attempt_number)
        if known is not None:
            return known
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, RateLimitError):
            self.rate_limits += 1
            sleep, charge = rate_limit_wait(self.policy, self.rate_limits, exc)
            stop = self.rate_limit_charged + charge > self.policy.max_rate_limit_wait
            if not stop:
                self.rate_limit_charged += charge
                self.rate_limit_slept += sleep
        else:
            self.failures += 1
            sleep = retry_wait(self.policy, self.failures, exc)
            elapsed = (state.seconds_since_start or 0.0) - self.rate_limit_slept
            stop = self.failures >= self.policy.max_attempts or elapsed >= self.policy.max_elapsed
        decision = _Decision(stop=stop, sleep=sleep)
        self._decided[state.attempt_number] = decision
        return decision

    def stop(self, state: tenacity.RetryCallState) -> bool:
        """The ``stop`` condition: the two budgets of :class:`RetryPolicy`."""
        return self.decide(state).stop

    def wait(self, state: tenacity.RetryCallState) -> float:
        """The ``wait`` before the next try."""
        return self.decide(state).sleep

    def describe(self, exc: BaseException | None) -> str:
        if isinstance(exc, RateLimitError):
            return (
                f"rate limited; {self.rate_limit_charged:g} of "
                f"{self.policy.max_rate_limit_wait:g} s of rate-limit waiting used"
            )
        return f"attempt {self.failures + 1} of {self.policy.max_attempts}"


def retry_arguments(
    policy: RetryPolicy,
    spec: RequestSpec,
    *,
    on_retry: Callable[[BaseException, float], None] | None = None,
) -> dict[str, Any]:
    """The keyword arguments for ``tenacity.Retrying`` / ``AsyncRetrying`` for one request.

    Each call starts fresh budgets: use one per request.
    """
    return _arguments(_Ledger(policy, spec), on_retry)


def _arguments(
    ledger: _Ledger, on_retry: Callable[[BaseException, float], None] | None
) -> dict[str, Any]:
    spec = ledger.spec

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        seconds = state.next_action.sleep if state.next_action is not None else 0.0
        logger.info(
            "Retrying %s %s in %.2f s after %s (%s)",
            spec.method,
            spec.path,
            seconds,
            type(exc).__name__,
            ledger.describe(exc),
        )
        if on_retry is not None and exc is not None:
            on_retry(exc, seconds)

    return {
        "stop": ledger.stop,
        "wait": ledger.wait,
        "retry": ledger.retry,
        "before_sleep": before_sleep,
        "reraise": True,
    }


class _FirstAttempt:
    """The first attempt, run without tenacity: most requests succeed at once.

    Like tenacity's ``AttemptManager`` it swallows what the attempt raises (every exception,
    as tenacity does) and keeps it for the retry loop to judge.
    """

    __slots__ = ("exc_info", "started")

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.exc_info: tuple[type[BaseException], BaseException, TracebackType | None] | None = None

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if exc_type is None or exc is None:
            return False
        self.exc_info = (exc_type, exc, tb)
        return True


def _after_first(retrying: tenacity.BaseRetrying, first: _FirstAttempt) -> tenacity.RetryCallState:
    """The tenacity state once *first* has failed: attempt 1, timed from when it started."""
    assert first.exc_info is not None
    retrying.begin()
    state = tenacity.RetryCallState(retrying, fn=None, args=(), kwargs={})
    state.start_time = first.started
    retrying.statistics["start_time"] = first.started
    state.set_exception(first.exc_info)
    return state


class Attempts:
    """The attempts of one request under a :class:`RetryPolicy`, for ``for``/``async for``.

    Iterate and run each attempt inside ``with attempt:``; the loop ends after a success and
    re-raises the last error once no retry is left. The :class:`APIError` it re-raises has
    :attr:`~APIError.maybe_applied` set when any attempt may have been carried out.

    The first attempt runs without tenacity (whose loop costs tens of microseconds a
    request); tenacity takes over, with that attempt's outcome, only once it has failed.

    Args:
        policy: The retry policy.
        spec: The request (its idempotence decides which failures are retried).
        on_retry: Called with the error and the seconds about to be slept, before each retry.
    """

    def __init__(
        self,
        policy: RetryPolicy,
        spec: RequestSpec,
        *,
        on_retry: Callable[[BaseException, float], None] | None = None,
    ) -> None:
        self._ledger = _Ledger(policy, spec)
        self._on_retry = on_retry

    @property
    def maybe_applied(self) -> bool:
        """Whether an attempt so far ended in a way that does not tell if it was applied."""
        return self._ledger.maybe_applied

    def _mark(self, exc: APIError) -> None:
        exc.maybe_applied = exc.maybe_applied or self.maybe_applied or may_have_applied(exc)

    def __iter__(self) -> Iterator[AbstractContextManager[None]]:
        first = _FirstAttempt()
        yield first
        if first.exc_info is None:
            return
        retrying = tenacity.Retrying(**_arguments(self._ledger, self._on_retry))
        state = _after_first(retrying, first)
        try:
            while True:  # tenacity's own loop (Retrying.__iter__), from attempt 1's outcome
                do = retrying.iter(retry_state=state)
                if isinstance(do, tenacity.DoAttempt):
                    yield tenacity.AttemptManager(retry_state=state)
                elif isinstance(do, tenacity.DoSleep):
                    state.prepare_for_next_attempt()
                    retrying.sleep(do)
                else:
                    return
        except APIError as exc:
            self._mark(exc)
            raise

    async def __aiter__(self) -> AsyncIterator[AbstractContextManager[None]]:
        first = _FirstAttempt()
        yield first
        if first.exc_info is None:
            return
        retrying = tenacity.AsyncRetrying(**_arguments(self._ledger, self._on_retry))
        state = _after_first(retrying, first)
        try:
            while True:  # tenacity's own loop (AsyncRetrying.__anext__)
                do = await retrying.iter(retry_state=state)
                if isinstance(do, tenacity.DoAttempt):
                    yield tenacity.AttemptManager(retry_state=state)
                elif isinstance(do, tenacity.DoSleep):
                    state.prepare_for_next_attempt()
                    await retrying.sleep(do)  # type: ignore[misc]
                else:
                    return
        except APIError as exc:
            self._mark(exc)
            raise
