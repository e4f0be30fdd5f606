"""A rate budget kept in Redis, shared by every client, process and machine of one account.

Each account (its API host) has three schedules in Redis, the same token buckets as the
in-process :class:`~ac_segment_export.RateLimiter`: the account-wide one and the two bulk-import
ones. One Lua script takes a slot from the right buckets atomically, on the Redis server's
clock, and answers how long to wait before using it: one round trip per paced request. Slots
are handed out in the order they are asked for, so every worker sharing an account makes
progress. A worker that dies after reserving a slot wastes that slot and nothing more; the keys
expire shortly after their schedule has passed.

Failures close the gate: a slot that cannot be reserved is never assumed. Before a limiter's
first slot, an unreachable Redis is a :class:`~ac_segment_export.RateBudgetUnavailableError`
at once (nothing has been sent through it); later, sending pauses and the reservation is
retried with backoff for ``max_outage`` seconds before that error is raised.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
import urllib.parse
import weakref
from typing import TYPE_CHECKING, Any

from ac_segment_export._core.config import RateLimits
from ac_segment_export._core.errors import ConfigurationError, RateBudgetUnavailableError

if TYPE_CHECKING:
    import redis
    import redis.asyncio

__all__ = ["RedisRateBudget", "RedisRateLimiter", "rate_budget_from_url"]

logger = logging.getLogger("ac_segment_export")

#: KEYS: the account bucket, then the bulk bucket (only for a bulk request).
#: ARGV: account rate, account capacity, bulk rate (per second), seconds the caller sent its
#: previous request late (pushes the account schedule back, as RateLimiter.delay does), and
#: the milliseconds the keys outlive their schedule.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local linger = tonumber(ARGV[5])

local function reserve(key, rate, capacity, at, late)
  local state = redis.call('HMGET', key, 'tokens', 'stamp')
  local tokens = tonumber(state[1]) or capacity
  local stamp = tonumber(state[2]) or at
  if late > 0 then
    tokens = tokens - math.min(late, 1 / rate) * rate
  end
  tokens = math.min(capacity, tokens + math.max(0, at - stamp) * rate)
  local ahead = math.max(0, stamp - at)
  if at > stamp then stamp = at end
  tokens = tokens - 1
  local wait = ahead
  if tokens < 0 then wait = ahead - tokens / rate end
  redis.call('HSET', key, 'tokens', string.format('%.17g', tokens),
             'stamp', string.format('%.17g', stamp))
  redis.call('PEXPIRE', key, math.ceil((wait + capacity / rate) * 1000) + linger)
  return wait
end

local wait = 0
if #KEYS > 1 then
  wait = reserve(KEYS[2], tonumber(ARGV[3]), 1, now, 0)
end
wait = wait + reserve(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), now + wait,
                      tonumber(ARGV[4]))
return string.format('%.17g', wait)
"""

_SCHEMES = ("redis", "rediss", "unix")
_LINGER_MS = 60_000


def _require_redis() -> Any:
    try:
        import redis  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - the extra is installed in the test suite
        msg = "A Redis rate budget needs redis-py: pip install 'ac-segment-export[redis]'."
        raise ConfigurationError(msg) from exc
    return redis


def _masked(url: str) -> str:
    """The URL without its password, for reprs, logs and messages."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port is not None else ""
    netloc = f"{user}:***@{host}{port}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def _check_url(url: object) -> str:
    if not isinstance(url, str) or not url.strip():
        msg = f"The rate budget URL must be a non-empty string, not {url!r}."
        raise ConfigurationError(msg)
    scheme = urllib.parse.urlsplit(url.strip()).scheme
    if scheme not in _SCHEMES:
        msg = (
            f"The rate budget URL must start with redis://, rediss:// or unix://, not "
            f"{_masked(url.strip())!r}."
        )
        raise ConfigurationError(msg)
    return url.strip()


def _positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        msg = f"{name} must be a positive number of seconds, not {value!r}."
        raise ConfigurationError(msg)
    return float(value)


class RedisRateBudget:
    """ActiveCampaign's rate limits, shared through Redis by every process of every account.

    Pass it wherever a client takes ``rate_limits`` (:class:`Client`, :class:`AsyncClient`,
    :class:`ClientOptions`): each client paces against its account's share, keyed by the
    account's API host (never by the API key, which never reaches Redis). Every client,
    process and machine using the same Redis and the same account then keeps to one budget,
    with the same windows and headroom as :class:`RateLimiter`. All of them should use the
    same :class:`RateLimits`.

    The budget holds no connection until it is used, and pickles as its settings, so it
    travels to Dask and Spark workers; each process opens its own connections.

    Args:
        url: ``redis://[[user]:password@]host[:port][/db]``, ``rediss://…`` (TLS) or
            ``unix:///path.sock``. A password in it is hidden from reprs and messages.
        limits: The rates to keep to (ActiveCampaign's, with the library's headroom, by
            default).
        key_prefix: The prefix of the budget's keys in Redis.
        max_outage: Seconds a limiter keeps retrying a Redis that was lost mid-run before it
            raises :class:`RateBudgetUnavailableError` (no request is sent meanwhile).
        max_backoff: The longest pause between two retries during an outage.
        socket_timeout: Seconds to wait for Redis to connect or answer.

    Raises:
        ConfigurationError: The URL or an option is invalid, or redis-py is not installed.
    """

    def __init__(
        self,
        url: str,
        *,
        limits: RateLimits = RateLimits(),  # noqa: B008 - a frozen value
        key_prefix: str = "ac-segment-export:budget",
        max_outage: float = 300.0,
        max_backoff: float = 5.0,
        socket_timeout: float = 2.0,
    ) -> None:
        self._url = _check_url(url)
        raw_limits: object = limits
        if not isinstance(raw_limits, RateLimits):
            msg = f"limits must be a RateLimits, not {type(limits).__name__}."
            raise ConfigurationError(msg)
        raw_prefix: object = key_prefix
        if not isinstance(raw_prefix, str) or not raw_prefix:
            msg = f"key_prefix must be a non-empty string, not {key_prefix!r}."
            raise ConfigurationError(msg)
        self.limits = limits
        self.key_prefix = key_prefix
        self.max_outage = _positive("max_outage", max_outage)
        self.max_backoff = _positive("max_backoff", max_backoff)
        self.socket_timeout = _positive("socket_timeout", socket_timeout)
        _require_redis()
        self._setup()

    def _setup(self) -> None:
        self._lock = threading.Lock()
        self._sync: tuple[redis.Redis, Any] | None = None
        self._async: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[redis.asyncio.Redis, Any]
        ] = weakref.WeakKeyDictionary()
        self._limiters: dict[str, RedisRateLimiter] = {}

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisRateBudget:
        """A budget from a URL (what ``--rate-limit-url`` and a saved export hold).

        Args:
            url: See the class.
            options: The other arguments of the class.
        """
        return cls(url, **options)

    @property
    def url(self) -> str:
        """The Redis URL, password included: treat it as a credential when it has one."""
        return self._url

    def __repr__(self) -> str:
        return f"RedisRateBudget({_masked(self._url)!r}, key_prefix={self.key_prefix!r})"

    def __getstate__(self) -> dict[str, Any]:
        return {
            "url": self._url,
            "limits": self.limits,
            "key_prefix": self.key_prefix,
            "max_outage": self.max_outage,
            "max_backoff": self.max_backoff,
            "socket_timeout": self.socket_timeout,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._url = state["url"]
        self.limits = state["limits"]
        self.key_prefix = state["key_prefix"]
        self.max_outage = state["max_outage"]
        self.max_backoff = state["max_backoff"]
        self.socket_timeout = state["socket_timeout"]
        self._setup()

    # -- the shared-pacing interface ------------------------------------------------------

    def for_account(self, host: str) -> RedisRateLimiter:
        """The limiter of the account whose API lives at *host* (one per host and process)."""
        raw: object = host
        if not isinstance(raw, str) or not raw.strip():
            msg = f"The account host must be a non-empty string, not {host!r}."
            raise ConfigurationError(msg)
        account = host.strip().lower()
        with self._lock:
            limiter = self._limiters.get(account)
            if limiter is None:
                limiter = self._limiters[account] = RedisRateLimiter(self, account)
            return limiter

    def keys(self, host: str) -> tuple[str, str, str]:
        """The Redis keys of *host*'s budget: the account, bulk and single-contact bulk buckets."""
        base = f"{self.key_prefix}:{{{host.strip().lower()}}}"
        return f"{base}:account", f"{base}:bulk", f"{base}:bulk1"

    # -- connections ------------------------------------------------------------------------

    def _options(self) -> dict[str, Any]:
        from redis.backoff import NoBackoff  # noqa: PLC0415
        from redis.retry import Retry  # noqa: PLC0415

        return {
            "socket_timeout": self.socket_timeout,
            "socket_connect_timeout": self.socket_timeout,
            # The limiter retries itself, with its own outage budget.
            "retry": Retry(NoBackoff(), 0),
        }

    def _sync_script(self) -> Any:
        with self._lock:
            if self._sync is None:
                redis = _require_redis()
                client = redis.Redis.from_url(self._url, **self._options())
                self._sync = (client, client.register_script(_RESERVE))
            return self._sync[1]

    def _async_script(self) -> Any:
        loop = asyncio.get_running_loop()
        with self._lock:
            entry = self._async.get(loop)
            if entry is None:
                import redis.asyncio  # noqa: PLC0415
                from redis.asyncio.retry import Retry  # noqa: PLC0415
                from redis.backoff import NoBackoff  # noqa: PLC0415

                client = redis.asyncio.Redis.from_url(
                    self._url, **{**self._options(), "retry": Retry(NoBackoff(), 0)}
                )
                entry = self._async[loop] = (client, client.register_script(_RESERVE))
            return entry[1]

    def check(self) -> None:
        """Reach Redis now (a ``PING``), so that a wrong URL fails before an export starts.

        Raises:
            RateBudgetUnavailableError: Redis cannot be reached.
        """
        redis = _require_redis()
        script = self._sync_script()
        try:
            script.registered_client.ping()
        except redis.RedisError as exc:
            raise self._unreachable(exc) from exc

    async def acheck(self) -> None:
        """:meth:`check`, without blocking the event loop."""
        redis = _require_redis()
        script = self._async_script()
        try:
            await script.registered_client.ping()
        except redis.RedisError as exc:
            raise self._unreachable(exc) from exc

    def _unreachable(self, exc: BaseException, lost_for: float | None = None) -> Exception:
        where = _masked(self._url)
        if lost_for is None:
            msg = (
                f"The shared rate budget at {where} cannot be reached "
                f"({type(exc).__name__}: {exc}); no request was sent through it."
            )
        else:
            msg = (
                f"The shared rate budget at {where} was lost for {lost_for:.1f} s "
                f"({type(exc).__name__}: {exc}); requests are held back rather than sent "
                "without a slot."
            )
        return RateBudgetUnavailableError(msg)

    def close(self) -> None:
        """Close the connections this process opened (the budget can still be used after)."""
        with self._lock:
            entry, self._sync = self._sync, None
        if entry is not None:
            entry[0].close()

    async def aclose(self) -> None:
        """Close the connections this process opened for the running event loop."""
        loop = asyncio.get_running_loop()
        with self._lock:
            entry = self._async.pop(loop, None)
        if entry is not None:
            await entry[0].aclose()


class RedisRateLimiter:
    """One account's pacing through a :class:`RedisRateBudget` (``budget.for_account(host)``).

    It answers what a client asks of :class:`RateLimiter` (``acquire`` and ``aacquire``),
    with one Redis round trip per paced request.
    """

    def __init__(self, budget: RedisRateBudget, account: str) -> None:
        self.budget = budget
        self.account = account
        limits = budget.limits
        keep = 1.0 - limits.headroom
        keep_bulk = 1.0 - limits.bulk_headroom
        self._rate = limits.requests_per_second * keep
        self._bulk_rate = limits.bulk_per_minute * keep_bulk / 60.0
        self._single_rate = limits.bulk_single_per_minute * keep_bulk / 60.0
        self._keys = budget.keys(account)
        self._reached = False
        self._late = 0.0
        self._lock = threading.Lock()

    @property
    def limits(self) -> RateLimits:
        """The rates this limiter keeps to (the budget's)."""
        return self.budget.limits

    def __repr__(self) -> str:
        return f"RedisRateLimiter(account={self.account!r}, budget={self.budget!r})"

    def _call(self, bulk_contacts: int | None) -> tuple[list[str], list[str]]:
        with self._lock:
            late, self._late = self._late, 0.0
        keys = [self._keys[0]]
        bulk_rate = 0.0
        if bulk_contacts is not None:
            single = bulk_contacts == 1
            keys.append(self._keys[2] if single else self._keys[1])
            bulk_rate = self._single_rate if single else self._bulk_rate
        args = [
            repr(self._rate),
            str(self.limits.burst),
            repr(bulk_rate),
            repr(late),
            str(_LINGER_MS),
        ]
        return keys, args

    def _overslept(self, due: float) -> None:
        late = time.monotonic() - due
        if late > 0:
            with self._lock:
                self._late = max(self._late, late)

    def _retryable(self, exc: BaseException) -> bool:
        redis = _require_redis()
        return isinstance(exc, redis.ConnectionError | redis.TimeoutError | redis.ReadOnlyError)

    def _pause(self, exc: BaseException, outage: float, tries: int) -> float:
        """How long to pause before retrying a lost Redis; raises once ``max_outage`` is spent."""
        budget = self.budget
        if not self._reached or not self._retryable(exc):
            raise budget._unreachable(exc) from exc
        if outage >= budget.max_outage:
            raise budget._unreachable(exc, lost_for=outage) from exc
        if tries == 0:
            logger.warning(
                "The shared rate budget at %s is out of reach (%s); sending paused, retrying.",
                _masked(budget.url),
                type(exc).__name__,
            )
        pause = min(budget.max_backoff, 0.05 * 2.0**tries)
        return min(pause * (0.5 + random.random() / 2), budget.max_outage - outage)  # noqa: S311

    def acquire(self, bulk_contacts: int | None = None) -> float:
        """Block until one request may be sent; return the seconds waited (pauses included).

        Raises:
            RateBudgetUnavailableError: No slot could be reserved (see the class).
        """
        if not self.limits.enabled:
            return 0.0
        redis = _require_redis()
        script = self.budget._sync_script()
        started = time.monotonic()
        tries = 0
        while True:
            keys, args = self._call(bulk_contacts)
            try:
                wait = float(script(keys=keys, args=args))
                break
            except redis.RedisError as exc:
                time.sleep(self._pause(exc, time.monotonic() - started, tries))
                tries += 1
        if tries:
            logger.warning("The shared rate budget is back after %d retries.", tries)
        self._reached = True
        if wait > 0:
            due = time.monotonic() + wait
            time.sleep(wait)
            self._overslept(due)
        return time.monotonic() - started

    async def aacquire(self, bulk_contacts: int | None = None) -> float:
        """:meth:`acquire`, without blocking the event loop."""
        if not self.limits.enabled:
            return 0.0
        redis = _require_redis()
        script = self.budget._async_script()
        started = time.monotonic()
        tries = 0
        while True:
            keys, args = self._call(bulk_contacts)
            try:
                wait = float(await script(keys=keys, args=args))
                break
            except redis.RedisError as exc:
                await asyncio.sleep(self._pause(exc, time.monotonic() - started, tries))
                tries += 1
        if tries:
            logger.warning("The shared rate budget is back after %d retries.", tries)
        self._reached = True
        if wait > 0:
            due = time.monotonic() + wait
            await asyncio.sleep(wait)
            self._overslept(due)
        return time.monotonic() - started


def rate_budget_from_url(url: str, **options: Any) -> RedisRateBudget:
    """The shared rate budget a URL names (``--rate-limit-url``): ``redis://``, ``rediss://``.

    Args:
        url: The budget's URL.
        options: Passed to :class:`RedisRateBudget`.

    Raises:
        ConfigurationError: The URL's scheme names no budget backend, or redis-py is missing.
    """
    return RedisRateBudget.from_url(url, **options)
