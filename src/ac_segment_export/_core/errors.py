"""The error tree: every exception the library raises derives from one root.

::

    ACSegmentExportError                  root of everything we raise
    ├── ConfigurationError (ValueError)   bad input, raised before any I/O
    │   ├── FieldMappingError             no Email mapping, unknown or ambiguous field
    │   │   └── MissingColumnError        a mapped column the source does not have (nothing sent)
    │   ├── UnsupportedSourceError (TypeError)  profiles that are not an iterable of mappings
    │   ├── SecretNotFoundError           a stored key reference that resolves to nothing
│   └── CheckpointMismatchError       a checkpoint reused with another input (nothing sent)
    ├── PolicyError                       the library's own rules refused the action
    │   ├── ConsentRequiredError          no recorded data-privacy consent on the connection
    │   ├── PermissionDeniedError         the acting user's role does not allow the action
    │   └── ExportInProgressError         another run of the saved export holds its lease
    ├── WorkspaceError                    the workspace database cannot be used as it is
    ├── APIError                          talking to ActiveCampaign failed; .method, .url
    │   ├── APIConnectionError            network failure (after retries); names the host
    │   │   ├── APIUnreachableError           the connection could not be opened: nothing was sent
    │   │   │   ├── HostNotFoundError         the host name does not resolve (not retried)
    │   │   │   └── TLSHandshakeError         no HTTPS there, or a refused certificate (not retried)
    │   │   └── APITimeoutError           the request timed out
    │   ├── APIResponseValidationError    a response whose body is not what the API documents
    │   │   └── AppHostError              the host is ActiveCampaign's app, not its API
    │   ├── RateBudgetUnavailableError    the shared rate budget (Redis) is out of reach: not sent
    │   └── APIStatusError                a 4xx/5xx answer; .status_code, .body, .errors
    │       ├── BadRequestError           400
    │       │   └── BulkImportRejectedError   400 with per-contact ``failureReasons``
    │       ├── AuthenticationError       401, or 403 (ActiveCampaign's answer to a bad key)
    │       ├── PaymentRequiredError      402 (the account has a billing problem)
    │       ├── NotFoundError             404
    │       ├── UnprocessableEntityError  422, with ActiveCampaign's ``errors`` list parsed
    │       ├── RateLimitError            429, or the bulk "Rate limit exceeded" body; .retry_after
    │       │   └── ServiceUnavailableError   503 (ActiveCampaign also throttles with it)
    │       └── ServerError               5xx other than 503
    ├── ExportAbortedError                an export stopped as a whole; .report holds the outcomes
    │   └── MirrorRefusedError            mirror would empty or halve the list; nothing unsubscribed
    └── AppHostWarning (UserWarning)      a warning: the host is the app's, not the API's

A bad *profile* is never an exception: the exporter reports it as a rejected record with a
reason. Messages never contain the API key: it is not part of any URL, headers are not
copied into errors, and an answer that echoes the key (in its body, as is or encoded) has it
replaced by ``[redacted]`` before any message, ``body``, ``errors``, ``failures`` or
``problems`` is built from it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "ACSegmentExportError",
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APIUnreachableError",
    "AppHostError",
    "AppHostWarning",
    "AuthenticationError",
    "BadRequestError",
    "BulkFailure",
    "BulkImportRejectedError",
    "ConfigurationError",
    "ConsentRequiredError",
    "ErrorDetail",
    "ExportAbortedError",
    "ExportInProgressError",
    "FieldMappingError",
    "HostNotFoundError",
    "MirrorRefusedError",
    "MissingColumnError",
    "NotFoundError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "PolicyError",
    "RateBudgetUnavailableError",
    "RateLimitError",
    "SecretNotFoundError",
    "ServerError",
    "ServiceUnavailableError",
    "TLSHandshakeError",
    "UnprocessableEntityError",
    "UnsupportedSourceError",
    "WorkspaceError",
]

KEY_LOCATION_HINT = (
    "Check the API key: in ActiveCampaign it is under Settings > Developer "
    "(each user has their own key; a reset key invalidates the old one)."
)


class ACSegmentExportError(Exception):
    """Root of every exception raised by ac-segment-export."""


class AppHostWarning(ACSegmentExportError, UserWarning):  # noqa: N818 - a warning
    """A warning: the host given is ActiveCampaign's web app (``<account>.activehosted.com``).

    It is accepted (some accounts' API answers there too), but the address to use is the
    API URL under Settings > Developer, like ``<account>.api-us1.com``; if the app answers
    with a web page instead of the API's JSON, requests fail with :class:`AppHostError`.
    """


class ConfigurationError(ACSegmentExportError, ValueError):
    """A connection, destination, mapping or client option is invalid.

    Raised before any request is sent.
    """


class FieldMappingError(ConfigurationError):
    """A field mapping is incomplete (no Email) or names a field the account does not have."""


class MissingColumnError(FieldMappingError):
    """The mapping names a column the source does not have; raised before any request.

    Checked against a frame's schema, or against the first batch of profiles of a stream.

    Attributes:
        missing: The mapped attribute names the source lacks, in mapping order.
        columns: The columns the source has (a stream's: the keys of its first batch).
        suggestions: For each missing name, the source's closest column, when one is close.
    """

    def __init__(
        self,
        message: str,
        *,
        missing: Sequence[str],
        columns: Sequence[str],
        suggestions: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.missing = tuple(missing)
        self.columns = tuple(columns)
        self.suggestions = dict(suggestions or {})


class UnsupportedSourceError(ConfigurationError, TypeError):
    """The profiles given to an export are not an iterable of mappings (nor a frame).

    A ``str`` (a file name?), ``bytes``, a single mapping, an async iterable given to the
    sync :class:`~ac_segment_export.Exporter`, a DataFrame-like object of a library the
    exporter does not read: the message says what to pass instead. Raised before any
    request; it is a :class:`TypeError` as well as a :class:`ConfigurationError`.
    """


class PolicyError(ACSegmentExportError):
    """The library's own rules (consent, permissions) refused the action before any I/O."""


class ConsentRequiredError(PolicyError):
    """Profile data may not be sent: the connection has no data-privacy consent."""


class PermissionDeniedError(PolicyError):
    """The acting user's role does not allow this action on the connection."""


@attrs.frozen
class ErrorDetail:
    """One entry of ActiveCampaign's ``errors`` list.

    Attributes:
        title: The human-readable summary, e.g. ``"Email address already exists in the system"``.
        detail: Further explanation, often empty.
        code: A machine code such as ``"duplicate"`` or ``"field_missing"``, when given.
        pointer: The JSON pointer of the offending attribute, when given.
    """

    title: str
    detail: str = ""
    code: str | None = None
    pointer: str | None = None

    def __str__(self) -> str:
        parts = [self.title]
        if self.detail:
            parts.append(self.detail)
        if self.pointer:
            parts.append(f"at {self.pointer}")
        return " - ".join(parts)


@attrs.frozen
class BulkFailure:
    """One contact that ActiveCampaign named when it rejected a whole bulk-import request.

    Attributes:
        index: The contact's zero-based position in the request's ``contacts`` array, or
            ``None`` when the reason names no contact.
        reason: ActiveCampaign's reason, e.g. ``"Field 'email' incorrect format"``.
    """

    index: int | None
    reason: str


class APIError(ACSegmentExportError):
    """A request to ActiveCampaign failed.

    Attributes:
        method: The HTTP method of the failed request.
        url: The URL of the failed request (it never contains the API key).
        maybe_applied: Whether ActiveCampaign may have carried the request out although it
            ended in this error: one of its attempts (the last or an earlier one) failed in a
            way that does not tell (the answer was lost after the request was sent, a
            timeout, a 5xx, a 2xx that was not the documented JSON). ``False`` means every
            attempt was surely refused (a rate limit, a connection that could not be opened,
            a 4xx), so nothing was written. The client sets it on the error it raises.
    """

    def __init__(self, message: str, *, method: str, url: str) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.url = url
        self.maybe_applied = False


class APIConnectionError(APIError):
    """ActiveCampaign could not be reached (DNS, refused or dropped connection, TLS)."""


class APIUnreachableError(APIConnectionError):
    """The connection could not be opened, so the request surely did not reach the server."""


class APITimeoutError(APIConnectionError):
    """The request timed out."""


class HostNotFoundError(APIUnreachableError):
    """The host name does not resolve (DNS): a typo or a wrong endpoint, so not retried.

    Attributes:
        host: The name that did not resolve.
    """

    def __init__(self, message: str, *, method: str, url: str, host: str) -> None:
        super().__init__(message, method=method, url=url)
        self.host = host


class TLSHandshakeError(APIUnreachableError):
    """The TLS handshake failed: another attempt would fail the same way, so not retried.

    Most often the server does not speak HTTPS at all (a plain-HTTP server, such as the
    emulator's, addressed without ``http://``), or its certificate was refused.

    Attributes:
        host: The host the handshake was with.
        plain_http: Whether the server answered the handshake in plain HTTP.
    """

    def __init__(self, message: str, *, method: str, url: str, host: str, plain_http: bool) -> None:
        super().__init__(message, method=method, url=url)
        self.host = host
        self.plain_http = plain_http


class RateBudgetUnavailableError(APIError):
    """The shared rate budget (Redis) could not give the request a slot, so it was not sent.

    Raised at once when the budget cannot be reached before its first slot (nothing has been
    sent through it), and after ``max_outage`` seconds of retries when it is lost later. A
    request is never sent without a slot. :attr:`method` and :attr:`url` name the request
    that was held back.
    """

    def __init__(self, message: str, *, method: str = "", url: str = "") -> None:
        super().__init__(message, method=method, url=url)


class APIResponseValidationError(APIError):
    """ActiveCampaign answered, but not with the documented JSON.

    A 2xx response with an HTML page (an expired key can produce one), an empty body or a
    body of the wrong shape ends up here: it is never taken for success.

    Attributes:
        status_code: The HTTP status of the response.
        problems: Path-qualified descriptions of what did not match.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str,
        url: str,
        status_code: int,
        problems: Sequence[str] = (),
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.status_code = status_code
        self.problems = tuple(problems)


class AppHostError(APIResponseValidationError):
    """The host is ActiveCampaign's web app (``<account>.activehosted.com``), not its API.

    The app answered with a web page (or a redirect to its login page) where the API
    answers JSON. The API's address is the URL under Settings > Developer in ActiveCampaign,
    like ``https://<account>.api-us1.com``.

    Attributes:
        host: The app's host that was given.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str,
        url: str,
        status_code: int,
        host: str,
    ) -> None:
        super().__init__(message, method=method, url=url, status_code=status_code)
        self.host = host


class APIStatusError(APIError):
    """ActiveCampaign answered with an error status.

    Attributes:
        status_code: The HTTP status.
        body: The decoded JSON body, or the raw text when it was not JSON.
        errors: ActiveCampaign's ``errors`` list, parsed (empty when the body has none).
    """

    def __init__(
        self,
        message: str,
        *,
        method: str,
        url: str,
        status_code: int,
        body: Any = None,
        errors: Sequence[ErrorDetail] = (),
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.status_code = status_code
        self.body = body
        self.errors = tuple(errors)


class BadRequestError(APIStatusError):
    """HTTP 400: ActiveCampaign refused the request as malformed."""


class BulkImportRejectedError(BadRequestError):
    """HTTP 400 from bulk import: the whole request was rejected and nothing was queued.

    Attributes:
        failures: The contacts ActiveCampaign named, with its reason for each.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str,
        url: str,
        status_code: int,
        body: Any = None,
        failures: Sequence[BulkFailure] = (),
    ) -> None:
        super().__init__(message, method=method, url=url, status_code=status_code, body=body)
        self.failures = tuple(failures)


class AuthenticationError(APIStatusError):
    """HTTP 401/403: the API key was refused (ActiveCampaign answers a bad key with 403)."""


class PaymentRequiredError(APIStatusError):
    """HTTP 402: the ActiveCampaign account has a payment issue."""


class NotFoundError(APIStatusError):
    """HTTP 404: the resource does not exist."""


class UnprocessableEntityError(APIStatusError):
    """HTTP 422: a parameter is missing or invalid (for example a duplicate email)."""


class RateLimitError(APIStatusError):
    """The account's rate limit was exceeded (429, 503, or the bulk-import rate-limit body).

    The request was refused, not processed: the client waits and retries it (see
    :class:`~ac_segment_export.RetryPolicy`) and raises this only when the rate-limit budget
    is spent.

    Attributes:
        retry_after: Seconds the server asked us to wait, when it said.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str,
        url: str,
        status_code: int,
        body: Any = None,
        errors: Sequence[ErrorDetail] = (),
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            message, method=method, url=url, status_code=status_code, body=body, errors=errors
        )
        self.retry_after = retry_after


class ServiceUnavailableError(RateLimitError):
    """HTTP 503, which ActiveCampaign also answers when an account exceeds its rate limit.

    It is handled as a rate limit, not as a server failure: retried (creating requests too,
    as the request was refused), honouring ``Retry-After`` when the answer has one, counted in
    ``ClientStats.rate_limited``, and never taken as "may have been applied". It is therefore
    not a :class:`ServerError`.
    """


class ServerError(APIStatusError):
    """HTTP 5xx other than 503: ActiveCampaign failed to handle the request.

    The request may or may not have been carried out.
    """


class ExportAbortedError(ACSegmentExportError):
    """An export stopped as a whole (cancelled, or an error no retry could fix).

    Attributes:
        report: The partial export report: every profile seen so far is accounted for.
    """

    def __init__(self, message: str, *, report: Any) -> None:
        super().__init__(message)
        self.report = report


class MirrorRefusedError(ExportAbortedError):
    """Mirror refused to unsubscribe the list's members who are not in the segment.

    Raised before any unsubscribe is sent, when the segment holds no readable email (unless
    ``allow_empty=True``) or when the leavers are more than ``max_unsubscribe_fraction`` of
    the list's active members. The upsert part of the run is done; :attr:`report` says so.

    Attributes:
        leavers: Active members of the list who are not in the segment.
        active: Active members of the list (0 when the segment was empty: not counted).
    """

    def __init__(self, message: str, *, report: Any, leavers: int, active: int) -> None:
        super().__init__(message, report=report)
        self.leavers = leavers
        self.active = active


class SecretNotFoundError(ConfigurationError):
    """A stored connection's API key could not be found where its reference points.

    The environment variable is not set, no secret provider was given for a ``ref``, or the
    provider failed. The message names the variable or reference, never a key.

    Attributes:
        reference: ``"env:NAME"`` or ``"ref:REF"``: where the key was looked for.
    """

    def __init__(self, message: str, *, reference: str) -> None:
        super().__init__(message)
        self.reference = reference


class ExportInProgressError(PolicyError):
    """Another run of the same saved export is going on: this one was refused (nothing sent).

    Attributes:
        export: The saved export's name.
        holder: Who holds the lease (the acting user, process and host).
        since: When that run took it (UTC).
        heartbeat: When its holder last showed it is alive (UTC).
    """

    def __init__(
        self, message: str, *, export: str, holder: str, since: Any, heartbeat: Any
    ) -> None:
        super().__init__(message)
        self.export = export
        self.holder = holder
        self.since = since
        self.heartbeat = heartbeat


class WorkspaceError(ACSegmentExportError):
    """The workspace database cannot be used: not a workspace, damaged, or from a newer version."""
