"""Retry decisions as data: a :class:`RetryPolicy` becomes one set of tenacity arguments.

tenacity stays private to this module; the sync client feeds the arguments to
``tenacity.Retrying`` and the async client to ``tenacity.AsyncRetrying``.
"""

from __future__ import annotations

import logging
import random
from typing import TYPE_CHECKING, Any

import tenacity

from ac_segment_export._core.errors import (
    APIConnectError,
    APIConnectionError,
    APITimeoutError,
    RateLimitError,
    ServerError,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from ac_segment_export._core.config import RetryPolicy
    from ac_segment_export._core.http import RequestSpec

__all__ = ["is_retryable", "retry_arguments", "retry_wait"]

logger = logging.getLogger("ac_segment_export")


def is_retryable(exc: BaseException, spec: RequestSpec) -> bool:
    """Whether *exc* is worth another attempt of *spec*."""
    if isinstance(exc, RateLimitError | APIConnectError):
        return True  # refused before processing: safe even for non-idempotent requests
    if not spec.idempotent:
        return False
    return isinstance(exc, APITimeoutError | APIConnectionError | ServerError)


def retry_wait(policy: RetryPolicy, attempt: int, exc: BaseException | None) -> float:
    """Seconds to wait before attempt ``attempt + 1`` after *exc*."""
    if not policy.backoff:
        return 0.0
    if isinstance(exc, RateLimitError):
        if exc.retry_after is not None:
            return min(exc.retry_after, policy.max_retry_after)
        if exc.status_code != 429:  # the bulk "Rate limit exceeded" body
            return policy.bulk_rate_limit_wait
    backoff = min(policy.max_backoff, policy.initial_backoff * 2.0 ** (attempt - 1))
    return backoff + random.uniform(0, policy.jitter)  # noqa: S311 - jitter, not crypto


def retry_arguments(
    policy: RetryPolicy,
    spec: RequestSpec,
    *,
    on_retry: Callable[[BaseException, float], None] | None = None,
) -> dict[str, Any]:
    """The keyword arguments for ``tenacity.Retrying`` / ``AsyncRetrying`` for one request."""

    def wait(state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        return retry_wait(policy, state.attempt_number, exc)

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        seconds = state.next_action.sleep if state.next_action is not None else 0.0
        logger.info(
            "Retrying %s %s in %.2f s after %s (attempt %d of %d)",
            spec.method,
            spec.path,
            seconds,
            type(exc).__name__,
            state.attempt_number + 1,
            policy.max_attempts,
        )
        if on_retry is not None and exc is not None:
            on_retry(exc, seconds)

    return {
        "stop": tenacity.stop_after_attempt(policy.max_attempts)
        | tenacity.stop_after_delay(policy.max_elapsed),
        "wait": wait,
        "retry": tenacity.retry_if_exception(lambda exc: is_retryable(exc, spec)),
        "before_sleep": before_sleep,
        "reraise": True,
    }
