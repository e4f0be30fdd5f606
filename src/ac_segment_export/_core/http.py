"""The I/O-free request/response core: what to send, and what an answer means.

Everything here works on values (a :class:`RequestSpec` in, an :class:`httpx.Response` that
has already been read out); nothing here sends or sleeps. The sync and async clients differ
only in how they move bytes.

The functions that read an answer take the client's :class:`Redactor`: the API key, should
the server echo it, is masked in the body before any exception or detail is built from it.
"""

from __future__ import annotations

import email.utils
import json
import math
import socket
import ssl
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any

import attrs
import cattrs
import httpx

from ac_segment_export._core.errors import (
    KEY_LOCATION_HINT,
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    APIUnreachableError,
    AppHostError,
    AuthenticationError,
    BadRequestError,
    BulkFailure,
    BulkImportRejectedError,
    ErrorDetail,
    HostNotFoundError,
    NotFoundError,
    PaymentRequiredError,
    RateLimitError,
    ServerError,
    ServiceUnavailableError,
    TLSHandshakeError,
    UnprocessableEntityError,
)
from ac_segment_export._core.hosts import app_host_hint, is_loopback
from ac_segment_export._core.redaction import NO_REDACTION, Redactor
from ac_segment_export._core.wire import converter

__all__ = [
    "ApiTokenAuth",
    "RequestSpec",
    "decode_body",
    "invalid_body",
    "parse_retry_after",
    "status_error",
    "structure",
    "translate_transport_error",
]

Params = Sequence[tuple[str, str]]


@attrs.frozen
class RequestSpec:
    """One API call, described as data.

    Attributes:
        method: The HTTP method.
        path: The path below ``/api/3/``, without a leading slash (``"contacts"``).
        params: Query parameters, in order (repeated keys allowed).
        json: A JSON-able body, or ``None``.
        content: A body already encoded as JSON (bulk import measures its size first).
        idempotent: Whether repeating the request after an unclear failure is harmless.
        bulk_contacts: For bulk import, how many contacts the request carries (for pacing).
    """

    method: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    json: Any = None
    content: bytes | None = None
    idempotent: bool = True
    bulk_contacts: int | None = None


class ApiTokenAuth(httpx.Auth):
    """Adds the ``Api-Token`` header at the last moment and takes it off once sent.

    The request object outlives the call (``response.request``, and the ``request`` of an
    httpx exception we chain), so the header must not stay on it.
    """

    HEADER = "Api-Token"

    def __init__(self, reveal: Callable[[], str]) -> None:
        self._reveal = reveal

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Set the header, send the request once, then remove the header."""
        request.headers[self.HEADER] = self._reveal()
        try:
            yield request
        finally:
            self.forget(request)

    @classmethod
    def forget(cls, request: httpx.Request) -> None:
        """Remove the key from a request that has been sent (or failed to be)."""
        request.headers.pop(cls.HEADER, None)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header, or ``None`` when it says nothing usable.

    Accepts delta-seconds (possibly fractional, as a time-scaled emulator sends) and an
    HTTP-date (a date in the past means "now": 0 seconds).
    """
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        current = time.time() if now is None else now
        return max(0.0, when.timestamp() - current)
    if math.isnan(seconds) or math.isinf(seconds) or seconds < 0:
        return None
    return seconds


def _json_or_text(response: httpx.Response, redact: Redactor) -> Any:
    try:
        body = response.json()
    except ValueError:
        return redact(response.text)
    return redact.json(body)


def _parse_error_details(body: Any) -> list[ErrorDetail]:
    if not isinstance(body, Mapping):
        return []
    raw = body.get("errors")
    if not isinstance(raw, list):
        return []
    details = []
    for item in raw:
        if not isinstance(item, Mapping):
            details.append(ErrorDetail(title=str(item)))
            continue
        source = item.get("source")
        pointer = source.get("pointer") if isinstance(source, Mapping) else None
        details.append(
            ErrorDetail(
                title=str(item.get("title") or item.get("detail") or "error"),
                detail=str(item.get("detail") or ""),
                code=str(item["code"]) if item.get("code") is not None else None,
                pointer=str(pointer) if pointer is not None else None,
            )
        )
    return details


def _message_of(body: Any, details: Sequence[ErrorDetail]) -> str:
    if details:
        return "; ".join(str(d) for d in details)
    if isinstance(body, Mapping) and isinstance(body.get("message"), str) and body["message"]:
        return str(body["message"])
    return ""


def _is_bulk_rate_limit(body: Any) -> bool:
    if not isinstance(body, Mapping):
        return False
    message = str(body.get("message", "")).lower()
    if "rate limit" in message:
        return True
    reasons = body.get("failureReasons")
    return isinstance(reasons, list) and any(
        isinstance(r, str) and "per minute" in r.lower() for r in reasons
    )


def _bulk_failures(body: Any) -> list[BulkFailure]:
    reasons = body.get("failureReasons") if isinstance(body, Mapping) else None
    if not isinstance(reasons, list):
        return []
    failures = []
    for item in reasons:
        if isinstance(item, Mapping):
            raw_index = item.get("contact")
            index: int | None
            try:
                index = int(raw_index) if raw_index is not None else None
            except (TypeError, ValueError):
                index = None
            reason = item.get("failureReason") or item.get("reason") or "rejected"
            failures.append(BulkFailure(index=index, reason=str(reason)))
        else:
            failures.append(BulkFailure(index=None, reason=str(item)))
    return failures


def _app_host_error(response: httpx.Response, spec: RequestSpec, url: str) -> AppHostError | None:
    """The error for an answer from ActiveCampaign's app where its API was expected.

    Only for an app host (``*.activehosted.com``) that answered with a redirect (to its
    login page) or a web page: where the app's host does serve the API, its JSON answers
    are taken as they are.
    """
    host = response.request.url.host
    hint = app_host_hint(host)
    if hint is None:
        return None
    status = response.status_code
    if 300 <= status < 400:
        what = f"a redirect ({status}) to {response.headers.get('Location', 'another page')!r}"
    elif response.content.lstrip()[:1] == b"<":
        what = f"a web page ({status}), not the API's JSON"
    else:
        return None
    return AppHostError(
        f"{spec.method} {url} was answered with {what}: {hint}. Use that address as the "
        "connection's host.",
        method=spec.method,
        url=url,
        status_code=status,
        host=host,
    )


def status_error(
    response: httpx.Response, spec: RequestSpec, redact: Redactor = NO_REDACTION
) -> APIStatusError | AppHostError:
    """The exception an error response stands for: the one place that knows the table.

    *redact* masks the API key in the body (and so in the message, ``body``, ``errors`` and
    ``failures``) before anything is built from it. An app host's redirect or web page is an
    :class:`AppHostError`.
    """
    status = response.status_code
    method, url = spec.method, redact(str(response.request.url))
    app = _app_host_error(response, spec, url)
    if app is not None:
        return app
    body = _json_or_text(response, redact)
    details = _parse_error_details(body)
    text = _message_of(body, details)
    where = f"{method} {url} returned {status}"
    retry_after = parse_retry_after(response.headers.get("Retry-After"))

    if status in {429, 503} or (status in {400, 403} and _is_bulk_rate_limit(body)):
        wait = f"; retry after {retry_after:g} s" if retry_after is not None else ""
        what = (
            "service unavailable (ActiveCampaign's answer to throttling, too)"
            if status == 503
            else "rate limit exceeded"
        )
        limit = ServiceUnavailableError if status == 503 else RateLimitError
        return limit(
            f"{where}: {what}{wait}. {text}".strip(),
            method=method,
            url=url,
            status_code=status,
            body=body,
            errors=details,
            retry_after=retry_after,
        )
    if status in {401, 403}:
        return AuthenticationError(
            f"{where}: ActiveCampaign refused the API key{': ' + text if text else ''}. "
            f"{KEY_LOCATION_HINT}",
            method=method,
            url=url,
            status_code=status,
            body=body,
            errors=details,
        )
    if status == 400 and isinstance(body, Mapping) and "failureReasons" in body:
        failures = _bulk_failures(body)
        listed = "; ".join(
            f"contact {f.index}: {f.reason}" if f.index is not None else f.reason
            for f in failures[:5]
        )
        more = f" (and {len(failures) - 5} more)" if len(failures) > 5 else ""
        return BulkImportRejectedError(
            f"{where}: bulk import rejected, nothing was queued. {listed}{more}".strip(),
            method=method,
            url=url,
            status_code=status,
            body=body,
            failures=failures,
        )
    table: dict[int, type[APIStatusError]] = {
        400: BadRequestError,
        402: PaymentRequiredError,
        404: NotFoundError,
        422: UnprocessableEntityError,
    }
    cls = table.get(status) or (ServerError if status >= 500 else APIStatusError)
    return cls(
        f"{where}{': ' + text if text else ''}",
        method=method,
        url=url,
        status_code=status,
        body=body,
        errors=details,
    )


def decode_body(
    response: httpx.Response, spec: RequestSpec, redact: Redactor = NO_REDACTION
) -> Any:
    """The JSON object of a 2xx answer, or raise; never take a non-JSON 2xx for success.

    A body that holds the API key in any form comes back with it masked by *redact*, so
    that no model, validation problem or report built from it can carry the key.
    """
    if response.status_code >= 300:
        raise status_error(response, spec, redact)
    url = redact(str(response.request.url))
    app = _app_host_error(response, spec, url)
    if app is not None:
        raise app
    content_type = response.headers.get("Content-Type", "")
    html = (
        "the body is an HTML page, not JSON (an expired or wrong API key, or a host that "
        "is not the API, can cause this)"
    )
    problem = None
    if not response.content:
        problem = "the body is empty"
    elif response.content.lstrip()[:1] == b"<":
        problem = html
    if problem is None:
        # The body decides, not the Content-Type: a JSON object labelled text/html is
        # still the answer, and an HTML page labelled JSON is still not.
        try:
            body = json.loads(response.content)
        except ValueError:
            problem = html if "html" in content_type.lower() else "the body is not valid JSON"
        else:
            if isinstance(body, dict):
                return redact.json(body) if redact.found_in(response.content) else body
            problem = f"the body is a JSON {type(body).__name__}, not an object"
    raise APIResponseValidationError(
        f"{spec.method} {url} returned {response.status_code} but {problem}.",
        method=spec.method,
        url=url,
        status_code=response.status_code,
    )


def invalid_body(
    exc: Exception,
    *,
    spec: RequestSpec,
    response: httpx.Response,
    where: str,
    redact: Redactor = NO_REDACTION,
) -> APIResponseValidationError:
    """The error for a 2xx body that did not match the documented shape.

    The problems quote values of the body: give it a body from :func:`decode_body` (already
    masked), or a *redact* to mask them here.
    """
    path = f"$.{where}" if where else "$"
    if isinstance(exc, cattrs.BaseValidationError):
        problems = cattrs.transform_error(exc, path=path)
    else:
        problems = [f"{exc} @ {path}"]
    problems = [redact(problem) for problem in problems]
    url = redact(str(response.request.url))
    return APIResponseValidationError(
        f"{spec.method} {url} returned a body that does not match the documented shape: "
        + "; ".join(problems),
        method=spec.method,
        url=url,
        status_code=response.status_code,
        problems=problems,
    )


_SHAPE_ERRORS = (cattrs.BaseValidationError, ValueError, TypeError, KeyError)


def structure(
    data: Any, cls: type[Any], *, spec: RequestSpec, response: httpx.Response, where: str
) -> Any:
    """Structure *data* into *cls*; a mismatch is an :class:`APIResponseValidationError`."""
    try:
        return converter.structure(data, cls)
    except _SHAPE_ERRORS as exc:
        raise invalid_body(exc, spec=spec, response=response, where=where) from exc


def _scrub_chain(exc: BaseException, redact: Redactor) -> None:
    # The httpx exception is chained to ours: mask a key a broken answer put in its text.
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if redact.found_in(str(current)):
            current.args = tuple(redact(a) if isinstance(a, str) else a for a in current.args)
        current = current.__cause__ or current.__context__


def translate_transport_error(
    exc: httpx.HTTPError, spec: RequestSpec, url: str, redact: Redactor = NO_REDACTION
) -> APIError:
    """Turn an httpx exception into ours (the caller chains it with ``from``).

    A key that *redact* finds in the text of *exc* (or of what it chains) is masked there too.
    """
    _scrub_chain(exc, redact)
    url = redact(url)
    host = httpx.URL(url).host
    if isinstance(exc, httpx.ConnectError):
        permanent = _permanent_connect_error(exc, spec, url, httpx.URL(url))
        if permanent is not None:
            return permanent
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return APIUnreachableError(
            f"Could not connect to ActiveCampaign at {host} ({type(exc).__name__}: {exc}); "
            "check the REST endpoint hostname and the network.",
            method=spec.method,
            url=url,
        )
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(
            f"{spec.method} {url} timed out talking to {host} ({type(exc).__name__}).",
            method=spec.method,
            url=url,
        )
    return APIConnectionError(
        f"Could not reach ActiveCampaign at {host}: {type(exc).__name__}: {exc}",
        method=spec.method,
        url=url,
    )


#: OpenSSL's reasons for a handshake answered by something that is not TLS (plain HTTP).
_NOT_TLS = frozenset(
    {"WRONG_VERSION_NUMBER", "HTTP_REQUEST", "PACKET_LENGTH_TOO_LONG", "RECORD_LAYER_FAILURE"}
)
#: getaddrinfo's answers that a name does not exist (not a passing resolver failure).
_NO_SUCH_NAME = frozenset(
    code
    for code in (getattr(socket, name, None) for name in ("EAI_NONAME", "EAI_NODATA"))
    if code is not None
)


def _causes(exc: BaseException) -> Generator[BaseException, None, None]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _permanent_connect_error(
    exc: httpx.ConnectError, spec: RequestSpec, url: str, parsed: httpx.URL
) -> APIUnreachableError | None:
    """A connection failure that another attempt would meet again: no such host, no TLS."""
    host = parsed.host
    netloc = host if parsed.port is None else f"{host}:{parsed.port}"
    for cause in _causes(exc):
        if isinstance(cause, socket.gaierror) and cause.errno in _NO_SUCH_NAME:
            return HostNotFoundError(
                f"The host {host} does not resolve (DNS: {cause.strerror}); nothing was sent. "
                "Check the connection's host: the API's address is the URL under Settings > "
                "Developer in ActiveCampaign, like acme.api-us1.com.",
                method=spec.method,
                url=url,
                host=host,
            )
        if isinstance(cause, ssl.SSLCertVerificationError):
            return TLSHandshakeError(
                f"The TLS certificate of {netloc} was refused ({cause.verify_message}); "
                "nothing was sent. The host is not ActiveCampaign's API, or a proxy "
                "intercepts HTTPS.",
                method=spec.method,
                url=url,
                host=host,
                plain_http=False,
            )
        if isinstance(cause, ssl.SSLError) and cause.reason in _NOT_TLS:
            loopback = is_loopback(host)
            fix = (
                f" For a local emulator over plain HTTP, write host='http://{netloc}'."
                if loopback
                else " ActiveCampaign's API speaks HTTPS only: check the host."
            )
            return TLSHandshakeError(
                f"The server at {netloc} does not speak HTTPS: the TLS handshake was answered "
                f"in plain text ([SSL: {cause.reason}]); nothing was sent.{fix}",
                method=spec.method,
                url=url,
                host=host,
                plain_http=True,
            )
    return None
