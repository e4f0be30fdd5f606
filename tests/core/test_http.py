"""The status→error table and body decoding, on hand-built ``httpx.Response`` objects."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

import ac_segment_export as acx
from ac_segment_export._core.http import RequestSpec, decode_body, status_error

URL = "https://acme.api-us1.com/api/3/contacts"
SPEC = RequestSpec("POST", "contacts", json={}, idempotent=False)
BULK = RequestSpec("POST", "import/bulk_import", content=b"{}", bulk_contacts=3)


def response(
    status: int,
    body: Any = None,
    *,
    content: bytes | None = None,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
    url: str = URL,
) -> httpx.Response:
    """A response as the client sees it once read."""
    raw = content if content is not None else json.dumps(body).encode()
    return httpx.Response(
        status,
        content=raw,
        headers={"Content-Type": content_type, **(headers or {})},
        request=httpx.Request(SPEC.method, url),
    )


@pytest.mark.parametrize("status", [401, 403])
def test_auth_errors_say_where_the_key_is(status: int) -> None:
    """401 and 403 are AuthenticationError pointing at Settings > Developer."""
    error = status_error(response(status, {"message": "Forbidden"}), SPEC)
    assert type(error) is acx.AuthenticationError
    assert error.status_code == status
    assert "Settings > Developer" in str(error)
    assert "Forbidden" in str(error)
    assert error.method == "POST"
    assert error.url == URL


def test_404() -> None:
    """404 is NotFoundError carrying ActiveCampaign's message."""
    error = status_error(
        response(404, {"message": "No Result found for Subscriber with id 9"}), SPEC
    )
    assert type(error) is acx.NotFoundError
    assert "No Result found for Subscriber with id 9" in str(error)
    assert error.body == {"message": "No Result found for Subscriber with id 9"}


def test_422_parses_the_errors_list() -> None:
    """422 is UnprocessableEntityError with every entry of `errors` parsed."""
    body = {
        "errors": [
            {
                "title": "Email address already exists in the system",
                "detail": "",
                "code": "duplicate",
                "source": {"pointer": "/data/attributes/email"},
            },
            {
                "title": "Field not found",
                "detail": "No custom field with id 9",
                "code": "field_invalid",
            },
            "a bare string",
        ]
    }
    error = status_error(response(422, body), SPEC)
    assert type(error) is acx.UnprocessableEntityError
    assert error.errors == (
        acx.ErrorDetail(
            "Email address already exists in the system", "", "duplicate", "/data/attributes/email"
        ),
        acx.ErrorDetail("Field not found", "No custom field with id 9", "field_invalid", None),
        acx.ErrorDetail("a bare string"),
    )
    assert "Email address already exists in the system - at /data/attributes/email" in str(error)


def test_429_carries_retry_after() -> None:
    """429 is RateLimitError with Retry-After in seconds."""
    error = status_error(
        response(429, {"message": "Too Many Requests"}, headers={"Retry-After": "0.250"}), SPEC
    )
    assert type(error) is acx.RateLimitError
    assert error.retry_after == 0.25
    assert "retry after 0.25 s" in str(error)


def test_429_without_header() -> None:
    """A 429 without Retry-After has retry_after None."""
    error = status_error(response(429, {"message": "Too Many Requests"}), SPEC)
    assert isinstance(error, acx.RateLimitError)
    assert error.retry_after is None


@pytest.mark.parametrize("status", [500, 502, 504, 599])
def test_5xx_is_server_error(status: int) -> None:
    """Every 5xx but 503 is a ServerError, whether the body is JSON or an HTML gateway page."""
    page = f"<html><body><h1>{status} Bad Gateway</h1></body></html>".encode()
    error = status_error(response(status, content=page, content_type="text/html"), SPEC)
    assert type(error) is acx.ServerError
    assert error.status_code == status
    assert error.body == page.decode()


@pytest.mark.parametrize(("headers", "retry_after"), [({}, None), ({"Retry-After": "7"}, 7.0)])
def test_503_is_a_rate_limit(headers: dict[str, str], retry_after: float | None) -> None:
    """ActiveCampaign also throttles with 503: a ServiceUnavailableError, a RateLimitError."""
    page = b"<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>"
    raw = httpx.Response(
        503,
        content=page,
        headers={"Content-Type": "text/html", **headers},
        request=httpx.Request("GET", "https://acme.api-us1.com/api/3/contacts"),
    )
    error = status_error(raw, SPEC)
    assert type(error) is acx.ServiceUnavailableError
    assert isinstance(error, acx.RateLimitError)
    assert not isinstance(error, acx.ServerError)
    assert (error.status_code, error.retry_after) == (503, retry_after)
    assert "service unavailable" in str(error)


def test_other_statuses() -> None:
    """400 and 402 get their own classes; an unlisted 4xx is a plain APIStatusError."""
    assert type(status_error(response(400, {}), SPEC)) is acx.BadRequestError
    assert type(status_error(response(402, {}), SPEC)) is acx.PaymentRequiredError
    other = status_error(response(409, {"message": "conflict"}), SPEC)
    assert type(other) is acx.APIStatusError
    assert other.status_code == 409


def test_bulk_rejection_parses_failure_reasons_with_indexes() -> None:
    """A bulk 400 with failureReasons is BulkImportRejectedError with per-contact failures."""
    body = {
        "success": 0,
        "message": "JSON payload did not pass validation. The import was not queued.",
        "failureReasons": [
            {"contact": 0, "failureReason": "Field 'email' incorrect format"},
            {"contact": "2", "failureReason": "List with id 99 does not exist"},
            "The request body is too large",
        ],
    }
    error = status_error(response(400, body), BULK)
    assert type(error) is acx.BulkImportRejectedError
    assert isinstance(error, acx.BadRequestError)
    assert error.failures == (
        acx.BulkFailure(0, "Field 'email' incorrect format"),
        acx.BulkFailure(2, "List with id 99 does not exist"),
        acx.BulkFailure(None, "The request body is too large"),
    )
    assert "contact 0: Field 'email' incorrect format" in str(error)
    assert "nothing was queued" in str(error)


def test_bulk_rejection_message_lists_at_most_five() -> None:
    """A long failure list is summarised in the message but kept whole in `failures`."""
    body = {"failureReasons": [{"contact": i, "failureReason": "bad"} for i in range(8)]}
    error = status_error(response(400, body), BULK)
    assert isinstance(error, acx.BulkImportRejectedError)
    assert len(error.failures) == 8
    assert "(and 3 more)" in str(error)


@pytest.mark.parametrize("status", [400, 429])
def test_bulk_rate_limit_body_is_a_rate_limit_error(status: int) -> None:
    """The bulk 'Rate limit exceeded.' body is RateLimitError, not a rejection."""
    body = {
        "success": 0,
        "message": "Rate limit exceeded.",
        "failureReasons": [
            "Up to 100 imports may be requested per minute. Please batch contacts into larger "
            "requests, or retry this request in a minute."
        ],
    }
    error = status_error(response(status, body), BULK)
    assert type(error) is acx.RateLimitError
    assert error.status_code == status
    assert error.retry_after is None


def test_status_error_never_contains_the_key() -> None:
    """The request's Api-Token header is not copied into the error."""
    request = httpx.Request("GET", URL, headers={"Api-Token": "sekrit-key-123"})
    resp = httpx.Response(403, json={"message": "Forbidden"}, request=request)
    error = status_error(resp, SPEC)
    assert "sekrit-key-123" not in str(error)
    assert "sekrit-key-123" not in repr(error.args)
    assert "sekrit-key-123" not in repr(vars(error))


# -- decode_body -------------------------------------------------------------------------------


def test_decode_body_returns_the_json_object() -> None:
    """A 2xx JSON object body is returned as a dict."""
    assert decode_body(response(200, {"contact": {"id": "1"}}), SPEC) == {"contact": {"id": "1"}}


@pytest.mark.parametrize(
    ("content", "content_type", "problem"),
    [
        (b"", "application/json", "the body is empty"),
        (b"<!DOCTYPE html><html>Log in</html>", "text/html; charset=UTF-8", "HTML page"),
        (b"  <html>Log in</html>", "application/json", "HTML page"),
        (b"{not json", "application/json", "not valid JSON"),
        (b"[1, 2]", "application/json", "a JSON list, not an object"),
        (b"null", "application/json", "a JSON NoneType, not an object"),
        (b'"ok"', "application/json", "a JSON str, not an object"),
    ],
)
def test_decode_body_refuses_non_object_2xx(
    content: bytes, content_type: str, problem: str
) -> None:
    """A 2xx that is not a JSON object is APIResponseValidationError, never success."""
    with pytest.raises(acx.APIResponseValidationError) as caught:
        decode_body(response(200, content=content, content_type=content_type), SPEC)
    assert problem in str(caught.value)
    assert caught.value.status_code == 200
    assert caught.value.url == URL


def test_decode_body_trusts_the_body_over_the_content_type() -> None:
    """A JSON object labelled text/html is accepted; an unparseable text/html body is HTML."""
    labelled = response(200, content=b'{"user": {"id": "1"}}', content_type="text/html")
    assert decode_body(labelled, SPEC) == {"user": {"id": "1"}}
    with pytest.raises(acx.APIResponseValidationError, match="HTML page"):
        decode_body(response(200, content=b"Log in here", content_type="text/html"), SPEC)


def test_decode_body_raises_the_status_error_for_non_2xx() -> None:
    """decode_body on an error response raises what status_error builds."""
    with pytest.raises(acx.NotFoundError):
        decode_body(response(404, {"message": "nope"}), SPEC)


def test_every_error_derives_from_the_root() -> None:
    """The whole tree hangs under ACSegmentExportError, with the documented parents."""
    assert issubclass(acx.APIUnreachableError, acx.APIConnectionError)
    assert issubclass(acx.APITimeoutError, acx.APIConnectionError)
    assert issubclass(acx.APIConnectionError, acx.APIError)
    assert issubclass(acx.BulkImportRejectedError, acx.BadRequestError)
    for cls in (
        acx.APIError,
        acx.ConfigurationError,
        acx.PolicyError,
        acx.ExportAbortedError,
        acx.RateLimitError,
        acx.ServerError,
        acx.APIResponseValidationError,
    ):
        assert issubclass(cls, acx.ACSegmentExportError)
