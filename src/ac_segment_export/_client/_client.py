"""``Client`` and ``AsyncClient``: the only places that send requests.

Both share :class:`_BaseClient` (configuration, request building, statistics); they differ
only where they send, sleep and iterate.
"""

from __future__ import annotations

import importlib.metadata
import logging
import threading
import time
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
import httpx

from ac_segment_export._client import _resources as res
from ac_segment_export._core.config import (
    DEFAULT_TIMEOUT,
    RateLimits,
    RetryPolicy,
    check_time_scale,
)
from ac_segment_export._core.errors import (
    APIResponseValidationError,
    ConfigurationError,
    RateBudgetUnavailableError,
    RateLimitError,
)
from ac_segment_export._core.hosts import ApiEndpoint, parse_endpoint, warn_if_app_host
from ac_segment_export._core.http import (
    _SHAPE_ERRORS,
    ApiTokenAuth,
    RequestSpec,
    decode_body,
    invalid_body,
    status_error,
    translate_transport_error,
)
from ac_segment_export._core.pacing import PacingBackend, RateLimiter, SharedPacing
from ac_segment_export._core.redaction import Redactor
from ac_segment_export._core.retry import Attempts, may_have_applied
from ac_segment_export._core.secrets import Secret

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator, Sequence
    from types import TracebackType

    from typing_extensions import Self

    from ac_segment_export._core.ops import Operation
    from ac_segment_export._core.pagination import IdPager, OffsetPager

__all__ = ["AsyncClient", "Client", "ClientStats"]

T = TypeVar("T")

#: ``Response.extensions`` key: whether an attempt before the one answered may have been
#: carried out (a retried bulk import may then have queued a batch nobody tracks).
DOUBT = "ac_segment_export.earlier_attempt_maybe_applied"
logger = logging.getLogger("ac_segment_export")


def _package_version() -> str:
    """The installed package's version, for the User-Agent; ``"unknown"`` from a bare tree."""
    try:
        return importlib.metadata.version("ac-segment-export")
    except importlib.metadata.PackageNotFoundError:  # a source tree on sys.path, not installed
        return "unknown"


_VERSION = _package_version()
_HEADERS = {
    "Accept": "application/json",
    "User-Agent": f"ac-segment-export/{_VERSION} httpx/{httpx.__version__}",
}
_JSON_HEADERS = {**_HEADERS, "Content-Type": "application/json"}
#: Parsed URLs a client keeps, by path (the exporter's few paths, and the latest others).
_URL_CACHE_SIZE = 64


@attrs.define
class ClientStats:
    """Counters of what a client has done, for reports and monitoring.

    Attributes:
        requests: HTTP requests sent (every attempt counts).
        retries: Attempts that were retries.
        rate_limited: Answers that said the rate limit was exceeded (429, 503 or bulk body).
        paced_seconds: Seconds spent waiting for the client-side rate limiter.
    """

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    paced_seconds: float = 0.0
    _lock: threading.Lock = attrs.field(factory=threading.Lock, repr=False, eq=False)

    def add(self, **counts: float) -> None:
        """Add to several counters at once (thread-safe)."""
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)


def _resolve_limiter(
    rate_limits: RateLimits | PacingBackend | SharedPacing, endpoint: ApiEndpoint
) -> PacingBackend:
    raw: object = rate_limits
    if isinstance(raw, RateLimiter):
        return raw
    if isinstance(raw, RateLimits):
        return RateLimiter(raw)
    if isinstance(raw, SharedPacing):  # a shared budget: this account's share of it
        return raw.for_account(endpoint.netloc)
    if isinstance(raw, PacingBackend):
        return raw
    msg = (
        f"rate_limits must be a RateLimits or a RateLimiter, not {type(raw).__name__} "
        "(for a budget shared across processes, a RedisRateBudget)."
    )
    raise ConfigurationError(msg)


class _BaseClient:
    """What both clients share: no I/O here."""

    def __init__(
        self,
        host: str | ApiEndpoint,
        api_key: str | Secret,
        *,
        timeout: float | httpx.Timeout,
        retry: RetryPolicy,
        rate_limits: RateLimits | PacingBackend | SharedPacing,
        time_scale: float = 1.0,
    ) -> None:
        self.endpoint = host if isinstance(host, ApiEndpoint) else parse_endpoint(host)
        if not isinstance(host, ApiEndpoint):  # a connection's client: it warned already
            warn_if_app_host(self.endpoint)
        #: How much faster than real time the server's clock runs (1 for ActiveCampaign; an
        #: emulator's ``time_scale``): the exporter divides its poll timing by it.
        self.time_scale = check_time_scale(time_scale)
        self._api_key = api_key if isinstance(api_key, Secret) else Secret(api_key)
        raw_retry: object = retry
        if not isinstance(raw_retry, RetryPolicy):
            msg = f"retry must be a RetryPolicy, not {type(raw_retry).__name__}."
            raise ConfigurationError(msg)
        self.retry = retry
        self.rate_limiter = _resolve_limiter(rate_limits, self.endpoint)
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self.stats = ClientStats()
        self._auth = ApiTokenAuth(self._api_key.reveal)
        self._redact = Redactor(self._api_key)
        self._urls: dict[str, httpx.URL] = {}

    @property
    def base_url(self) -> str:
        """The API base URL, ``https://HOST/api/3/``."""
        return self.endpoint.base_url

    def uses_key(self, api_key: str | Secret) -> bool:
        """Whether this client sends *api_key*, without revealing its own key.

        The keys are compared in constant time. A value that cannot be an API key (blank,
        or holding whitespace inside) is no client's key.

        Args:
            api_key: The key to compare with, as a string or a :class:`Secret`.
        """
        if not isinstance(api_key, Secret):
            try:
                api_key = Secret(api_key)
            except ConfigurationError:
                return False
        return self._api_key == api_key

    def __repr__(self) -> str:
        return f"{type(self).__name__}(host={str(self.endpoint)!r})"

    def _url(self, http: httpx.Client | httpx.AsyncClient, spec: RequestSpec) -> httpx.URL | str:
        """The request's URL, parsed once a path (httpx parses and checks every URL it is given).

        With query parameters the URL is written whole, the parameters encoded by
        :class:`httpx.QueryParams` as ``build_request`` would, and parsed once (httpx parses
        it again for each step that adds to it). A client whose own parameters must be merged
        in, or a path that holds a query itself, goes through httpx unchanged.
        """
        path = spec.path
        if "?" in path or "#" in path or http.params:
            return self.base_url + path
        if spec.params:
            return httpx.URL(f"{self.base_url}{path}?{httpx.QueryParams(spec.params)}")
        urls = self._urls
        url = urls.get(path)
        if url is None:
            if len(urls) >= _URL_CACHE_SIZE:  # paths with IDs in them would grow it forever
                urls.clear()
            url = urls[path] = httpx.URL(self.base_url + path)
        return url

    def _build(self, http: httpx.Client | httpx.AsyncClient, spec: RequestSpec) -> httpx.Request:
        kwargs: dict[str, Any] = {}
        headers = _HEADERS
        if spec.content is not None:
            kwargs["content"] = spec.content
            headers = _JSON_HEADERS
        elif spec.json is not None:
            kwargs["json"] = spec.json
        url = self._url(http, spec)
        return http.build_request(
            spec.method,
            url,
            params=None if isinstance(url, httpx.URL) else list(spec.params) or None,
            headers=headers,  # build_request copies them into the request's own
            timeout=self.timeout,
            **kwargs,
        )

    def _check(self, response: httpx.Response, spec: RequestSpec, started: float) -> None:
        if logger.isEnabledFor(logging.DEBUG):  # the URL without its query costs a parse
            logger.debug(
                "%s %s -> %d (%.1f ms)",
                spec.method,
                response.request.url.copy_with(query=None),  # queries may hold emails (PII)
                response.status_code,
                (time.perf_counter() - started) * 1000,
            )
        if response.status_code >= 300:
            error = status_error(response, spec, self._redact)
            if isinstance(error, RateLimitError):
                self.stats.add(rate_limited=1)
            raise error

    def _attempts(self, spec: RequestSpec) -> Attempts:
        return Attempts(self.retry, spec, on_retry=self._on_retry)

    def _read(self, response: httpx.Response, spec: RequestSpec, read: Callable[[Any], T]) -> T:
        """Decode a 2xx answer and read it; a body that fails is an unclear outcome."""
        try:
            return read(decode_body(response, spec, self._redact))
        except APIResponseValidationError as exc:
            exc.maybe_applied = exc.maybe_applied or may_have_applied(exc)
            raise

    def _advance(
        self, pager: OffsetPager[T] | IdPager[T], response: httpx.Response, spec: RequestSpec
    ) -> tuple[Sequence[T], RequestSpec | None]:
        def read(body: Any) -> tuple[Sequence[T], RequestSpec | None]:
            try:
                return pager.advance(body)
            except _SHAPE_ERRORS as exc:
                raise invalid_body(
                    exc, spec=spec, response=response, where=pager.key, redact=self._redact
                ) from exc

        return self._read(response, spec, read)

    def _held_back(
        self, exc: RateBudgetUnavailableError, spec: RequestSpec
    ) -> RateBudgetUnavailableError:
        """The pacing refused a slot: name the request it held back."""
        exc.method, exc.url = spec.method, self.base_url + spec.path
        return exc

    def _on_retry(self, exc: BaseException, wait: float) -> None:
        self.stats.add(retries=1)

    def _paced(self, spec: RequestSpec, paced: float, on_paced: Callable[[], None] | None) -> None:
        """A slot was taken for one attempt: count it and tell the caller."""
        if on_paced is not None:
            on_paced()
        self.stats.add(requests=1, paced_seconds=paced)


#: httpcore's trace event just before a request's first byte is written (HTTP/1.1, HTTP/2).
_HEADERS_GO = ("http11.send_request_headers.started", "http2.send_request_headers.started")


class _SlotAtSend:
    """Takes a request's rate-limit slot when httpcore is about to write it (its trace hook).

    The connection is open (TCP, TLS) and the request built by then, so a slot is used the
    moment it opens: the work between a slot and the first byte on the wire, which a busy
    process's threads can stretch past the account window's headroom, is done before it.
    """

    __slots__ = ("_client", "_on_paced", "_spec", "fired", "taken")

    def __init__(
        self, client: _BaseClient, spec: RequestSpec, on_paced: Callable[[], None] | None
    ) -> None:
        self._client = client
        self._spec = spec
        self._on_paced = on_paced
        #: The hook ran (once an attempt); a slot was taken (the pacing may refuse one).
        self.fired = False
        self.taken = False

    def _take(self, name: str) -> bool:
        if self.fired or name not in _HEADERS_GO:
            return False
        self.fired = True
        return True

    def __call__(self, name: str, info: object) -> None:
        """The sync trace hook."""
        if self._take(name):
            client = self._client
            try:
                paced = client.rate_limiter.acquire(self._spec.bulk_contacts)
            except RateBudgetUnavailableError as exc:
                raise client._held_back(exc, self._spec) from exc.__cause__
            self.taken = True
            client._paced(self._spec, paced, self._on_paced)

    async def atrace(self, name: str, info: object) -> None:
        """The async trace hook."""
        if self._take(name):
            client = self._client
            try:
                paced = await client.rate_limiter.aacquire(self._spec.bulk_contacts)
            except RateBudgetUnavailableError as exc:
                raise client._held_back(exc, self._spec) from exc.__cause__
            self.taken = True
            client._paced(self._spec, paced, self._on_paced)


class Client(_BaseClient):
    """A typed, synchronous client for ActiveCampaign's v3 API.

    Args:
        host: The REST endpoint hostname (``acme.api-us1.com``) or the API URL from Settings >
            Developer. Plain ``http://`` is accepted for loopback hosts only (an emulator).
        api_key: The API key (Settings > Developer); kept in a :class:`Secret`.
        timeout: Seconds (or an :class:`httpx.Timeout`) for each request.
        retry: When to retry; see :class:`RetryPolicy`.
        rate_limits: Client-side pacing, a shared :class:`RateLimiter`, or a budget shared
            across processes and machines (:class:`RedisRateBudget`).
        transport: An httpx transport to send through (an emulator's, in tests).
        http_client: An httpx client to send through instead of the client's own; it is not
            closed by :meth:`close`.
        time_scale: How much faster than real time the server's clock runs: 1 for
            ActiveCampaign, an emulator's ``time_scale`` for a time-scaled emulator (which
            ``emu.client()`` sets). The exporter divides its poll timing by it.

    Raises:
        ConfigurationError: The host, key or an option is invalid (no request is sent).

    Resources are attributes: :attr:`users`, :attr:`lists`, :attr:`contacts`,
    :attr:`memberships`, :attr:`fields`, :attr:`bulk_import`.
    """

    def __init__(
        self,
        host: str | ApiEndpoint,
        api_key: str | Secret,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen value
        rate_limits: RateLimits | PacingBackend | SharedPacing = RateLimits(),  # noqa: B008
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
        time_scale: float = 1.0,
    ) -> None:
        super().__init__(
            host,
            api_key,
            timeout=timeout,
            retry=retry,
            rate_limits=rate_limits,
            time_scale=time_scale,
        )
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(transport=transport, follow_redirects=False)
        # Through httpcore (httpx's own transport) a slot is taken as the request leaves;
        # another transport (an emulator's in-process one, a user's) is paced before it.
        self._slot_at_send = http_client is None and (
            transport is None or type(transport) is httpx.HTTPTransport
        )

    def _send(
        self, spec: RequestSpec, on_paced: Callable[[], None] | None = None
    ) -> httpx.Response:
        attempts = self._attempts(spec)
        for attempt in attempts:
            with attempt:
                request = self._build(self._http, spec)
                gate = None
                if self._slot_at_send:
                    gate = _SlotAtSend(self, spec, on_paced)
                    request.extensions["trace"] = gate
                else:
                    try:
                        paced = self.rate_limiter.acquire(spec.bulk_contacts)
                    except RateBudgetUnavailableError as exc:
                        raise self._held_back(exc, spec) from exc.__cause__
                    self._paced(spec, paced, on_paced)
                    on_paced = None
                started = time.perf_counter()
                try:
                    response = self._http.send(request, auth=self._auth)
                    response.read()
                except httpx.HTTPError as exc:
                    if gate is not None and not gate.fired:  # failed before it could leave
                        self.stats.add(requests=1)
                    raise translate_transport_error(
                        exc, spec, str(request.url), self._redact
                    ) from exc
                finally:
                    ApiTokenAuth.forget(request)
                    if gate is not None and gate.taken:
                        on_paced = None
                if gate is not None and not gate.fired:  # the hook never ran: pace before
                    self._slot_at_send = False
                    paced = self.rate_limiter.acquire(spec.bulk_contacts)
                    self._paced(spec, paced, on_paced)
                    on_paced = None
                self._check(response, spec, started)
        response.extensions[DOUBT] = attempts.maybe_applied
        return response

    def call(self, operation: Operation[T]) -> T:
        """Send one operation (with retries and pacing) and return its parsed result.

        Args:
            operation: The request and the reader of its answer (the resources build them).
        """
        return self._call(operation)

    def _call(self, operation: Operation[T], on_paced: Callable[[], None] | None = None) -> T:
        """:meth:`call`, with a hook for the exporter.

        *on_paced* runs once the rate limiter lets the first attempt go: the exporter orders
        two concurrent requests' pacing with it.
        """
        return self._call_doubt(operation, on_paced)[0]

    def _call_doubt(
        self, operation: Operation[T], on_paced: Callable[[], None] | None = None
    ) -> tuple[T, bool]:
        """:meth:`_call`, and whether an earlier attempt may have been carried out too."""
        response = self._send(operation.spec, on_paced)
        value = self._read(response, operation.spec, lambda body: operation.parse(body, response))
        return value, bool(response.extensions.get(DOUBT))

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> dict[str, Any]:
        """Call any v3 endpoint (an escape hatch); returns the decoded JSON object.

        Args:
            method: The HTTP method.
            path: The path below ``/api/3/``, e.g. ``"tags"``.
            params: Query parameters.
            json: A JSON body.
            idempotent: Whether a retry is harmless; by default, true for all but ``POST``.
        """
        spec = RequestSpec(
            method.upper(),
            path.lstrip("/"),
            params=tuple((params or {}).items()),
            json=json,
            idempotent=method.upper() != "POST" if idempotent is None else idempotent,
        )
        response = self._send(spec)
        return self._read(response, spec, dict)

    def paginate(self, pager: OffsetPager[T] | IdPager[T]) -> Iterator[T]:
        """Yield every item of a paged collection, fetching one page at a time."""
        spec: RequestSpec | None = pager.first()
        while spec is not None:
            response = self._send(spec)
            items, spec = self._advance(pager, response, spec)
            yield from items

    @cached_property
    def users(self) -> res.Users:
        """The ``users`` resource."""
        return res.Users(self)

    @cached_property
    def lists(self) -> res.Lists:
        """The ``lists`` resource."""
        return res.Lists(self)

    @cached_property
    def contacts(self) -> res.Contacts:
        """The ``contacts`` resource."""
        return res.Contacts(self)

    @cached_property
    def memberships(self) -> res.Memberships:
        """List membership (``contactLists``)."""
        return res.Memberships(self)

    @cached_property
    def fields(self) -> res.Fields:
        """Custom fields and their values."""
        return res.Fields(self)

    @cached_property
    def bulk_import(self) -> res.BulkImport:
        """Bulk import."""
        return res.BulkImport(self)

    def close(self) -> None:
        """Close the underlying HTTP client (unless it was passed in)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncClient(_BaseClient):
    """A typed, asynchronous client for ActiveCampaign's v3 API.

    Takes the same arguments as :class:`Client`, with an :class:`httpx.AsyncBaseTransport`
    or :class:`httpx.AsyncClient`. Methods are coroutines; ``iterate`` methods are async
    iterators.
    """

    def __init__(
        self,
        host: str | ApiEndpoint,
        api_key: str | Secret,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen value
        rate_limits: RateLimits | PacingBackend | SharedPacing = RateLimits(),  # noqa: B008
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
        time_scale: float = 1.0,
    ) -> None:
        super().__init__(
            host,
            api_key,
            timeout=timeout,
            retry=retry,
            rate_limits=rate_limits,
            time_scale=time_scale,
        )
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(transport=transport, follow_redirects=False)
        self._slot_at_send = http_client is None and (
            transport is None or type(transport) is httpx.AsyncHTTPTransport
        )

    async def _send(
        self, spec: RequestSpec, on_paced: Callable[[], None] | None = None
    ) -> httpx.Response:
        attempts = self._attempts(spec)
        async for attempt in attempts:
            with attempt:
                request = self._build(self._http, spec)
                gate = None
                if self._slot_at_send:
                    gate = _SlotAtSend(self, spec, on_paced)
                    request.extensions["trace"] = gate.atrace
                else:
                    try:
                        paced = await self.rate_limiter.aacquire(spec.bulk_contacts)
                    except RateBudgetUnavailableError as exc:
                        raise self._held_back(exc, spec) from exc.__cause__
                    self._paced(spec, paced, on_paced)
                    on_paced = None
                started = time.perf_counter()
                try:
                    response = await self._http.send(request, auth=self._auth)
                    await response.aread()
                except httpx.HTTPError as exc:
                    if gate is not None and not gate.fired:  # failed before it could leave
                        self.stats.add(requests=1)
                    raise translate_transport_error(
                        exc, spec, str(request.url), self._redact
                    ) from exc
                finally:
                    ApiTokenAuth.forget(request)
                    if gate is not None and gate.taken:
                        on_paced = None
                if gate is not None and not gate.fired:  # the hook never ran: pace before
                    self._slot_at_send = False
                    paced = await self.rate_limiter.aacquire(spec.bulk_contacts)
                    self._paced(spec, paced, on_paced)
                    on_paced = None
                self._check(response, spec, started)
        response.extensions[DOUBT] = attempts.maybe_applied
        return response

    async def call(self, operation: Operation[T]) -> T:
        """Send one operation (with retries and pacing) and return its parsed result.

        Args:
            operation: The request and the reader of its answer (the resources build them).
        """
        return await self._call(operation)

    async def _call(self, operation: Operation[T], on_paced: Callable[[], None] | None = None) -> T:
        """:meth:`call`, with the exporter's pacing hook (see :meth:`Client._call`)."""
        return (await self._call_doubt(operation, on_paced))[0]

    async def _call_doubt(
        self, operation: Operation[T], on_paced: Callable[[], None] | None = None
    ) -> tuple[T, bool]:
        """:meth:`_call`, and whether an earlier attempt may have been carried out too."""
        response = await self._send(operation.spec, on_paced)
        value = self._read(response, operation.spec, lambda body: operation.parse(body, response))
        return value, bool(response.extensions.get(DOUBT))

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> dict[str, Any]:
        """Call any v3 endpoint (an escape hatch); see :meth:`Client.request`."""
        spec = RequestSpec(
            method.upper(),
            path.lstrip("/"),
            params=tuple((params or {}).items()),
            json=json,
            idempotent=method.upper() != "POST" if idempotent is None else idempotent,
        )
        response = await self._send(spec)
        return self._read(response, spec, dict)

    async def paginate(self, pager: OffsetPager[T] | IdPager[T]) -> AsyncIterator[T]:
        """Yield every item of a paged collection, fetching one page at a time."""
        spec: RequestSpec | None = pager.first()
        while spec is not None:
            response = await self._send(spec)
            items, spec = self._advance(pager, response, spec)
            for item in items:
                yield item

    @cached_property
    def users(self) -> res.AsyncUsers:
        """The ``users`` resource."""
        return res.AsyncUsers(self)

    @cached_property
    def lists(self) -> res.AsyncLists:
        """The ``lists`` resource."""
        return res.AsyncLists(self)

    @cached_property
    def contacts(self) -> res.AsyncContacts:
        """The ``contacts`` resource."""
        return res.AsyncContacts(self)

    @cached_property
    def memberships(self) -> res.AsyncMemberships:
        """List membership (``contactLists``)."""
        return res.AsyncMemberships(self)

    @cached_property
    def fields(self) -> res.AsyncFields:
        """Custom fields and their values."""
        return res.AsyncFields(self)

    @cached_property
    def bulk_import(self) -> res.AsyncBulkImport:
        """Bulk import."""
        return res.AsyncBulkImport(self)

    async def aclose(self) -> None:
        """Close the underlying HTTP client (unless it was passed in)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
