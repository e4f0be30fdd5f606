"""A server that echoes the API key back: the key reaches no error, detail or log record."""

from __future__ import annotations

import json
import logging
import traceback
from typing import TYPE_CHECKING

import httpx
import pytest

import ac_segment_export as acx
from ac_segment_export._core.redaction import MASK, Redactor

if TYPE_CHECKING:
    from collections.abc import Callable

from ..core.test_redaction import ENCODINGS, KEY, assert_clean  # noqa: TID252 - the shared key forms

HOST = "acme.api-us1.com"


def echoing(request: httpx.Request) -> httpx.Response:
    """An error answer of every shape ActiveCampaign (or a proxy) uses, each echoing the key."""
    path = request.url.path.removeprefix("/api/3/")
    every = " / ".join(ENCODINGS.values())
    if path == "users/me":
        return httpx.Response(403, json={"message": f"Invalid token {KEY} ({every})"})
    if path == "lists/1":
        return httpx.Response(500, json={"message": f"Internal error handling {every}"})
    if path == "lists/2":
        return httpx.Response(400, text=f"Bad request: Api-Token={every}")
    if path == "lists/3":
        return httpx.Response(404, html=f"<html><body>No list for key {every}</body></html>")
    if path == "lists/4":
        return httpx.Response(200, html=f"<html><body>Log in again, {every}</body></html>")
    if path == "lists/5":
        return httpx.Response(
            429, headers={"Retry-After": "1"}, json={"message": f"Too many for {every}"}
        )
    if path == "lists/6":
        return httpx.Response(503, html=f"<html><h1>503</h1>{every}</html>")
    if path == "contacts/1":
        return httpx.Response(200, json={"contact": {"id": KEY, "email": every}})
    if path == "contacts":
        errors = [
            {
                "title": f"Email address already exists ({KEY})",
                "detail": every,
                "code": KEY,
                "source": {"pointer": f"/data/attributes/{KEY}"},
            },
            every,
        ]
        return httpx.Response(422, json={"errors": errors, KEY: every})
    if path == "import/bulk_import":
        body = json.loads(request.content)
        if body["contacts"][0]["email"] == "limited@example.com":
            return httpx.Response(
                400,
                json={
                    "success": 0,
                    "message": "Rate limit exceeded.",
                    "failureReasons": [f"Up to 100 imports may be requested per minute. {every}"],
                },
            )
        reasons = [
            {"contact": 0, "failureReason": f"Field 'email' incorrect format {KEY}"},
            {"contact": "1", "failureReason": every},
            f"and {every}",
        ]
        return httpx.Response(
            400, json={"success": 0, "message": f"Not queued {KEY}", "failureReasons": reasons}
        )
    if path == "fields":
        raise httpx.RemoteProtocolError(f"illegal header line: {every}", request=request)
    raise AssertionError(f"unexpected request {request.method} {path}")


def _calls(client: acx.Client) -> list[Callable[[], object]]:
    two = [acx.BulkImportContact(email="a@example.com"), acx.BulkImportContact(email="b@x.co")]
    return [
        client.users.me,
        lambda: client.lists.get(1),
        lambda: client.lists.get(2),
        lambda: client.lists.get(3),
        lambda: client.lists.get(4),
        lambda: client.lists.get(5),
        lambda: client.lists.get(6),
        lambda: client.contacts.get(1),
        lambda: client.contacts.create(acx.ContactInput(email="a@example.com")),
        lambda: client.bulk_import.submit(two),
        lambda: client.bulk_import.submit([acx.BulkImportContact(email="limited@example.com")]),
        lambda: client.fields.create("Tier"),
    ]


EXPECTED = [
    acx.AuthenticationError,
    acx.ServerError,
    acx.BadRequestError,
    acx.NotFoundError,
    acx.APIResponseValidationError,
    acx.RateLimitError,
    acx.ServiceUnavailableError,
    acx.APIResponseValidationError,
    acx.UnprocessableEntityError,
    acx.BulkImportRejectedError,
    acx.RateLimitError,
    acx.APIConnectionError,
]


def _check(error: acx.APIError) -> None:
    assert_clean(str(error))
    assert_clean(repr(error))
    assert_clean(repr(vars(error)))  # body, errors, failures, problems, message, url
    assert_clean("".join(traceback.format_exception(error)))  # the chained causes too
    for name in ("body", "errors", "failures", "problems"):
        assert_clean(repr(getattr(error, name, None)))
    for detail in getattr(error, "errors", ()):
        assert_clean(f"{detail} {detail.code} {detail.pointer}")
    for failure in getattr(error, "failures", ()):
        assert_clean(failure.reason)


def test_no_error_or_log_record_shows_the_echoed_key(caplog: pytest.LogCaptureFixture) -> None:
    """Every kind of error answer echoes the key: it is masked in every exception and log."""
    client = acx.Client(
        HOST,
        KEY,
        transport=httpx.MockTransport(echoing),
        retry=acx.RetryPolicy(max_attempts=2, backoff=False, max_rate_limit_wait=2.0),
        rate_limits=acx.RateLimits.unlimited(),
    )
    errors: list[acx.APIError] = []
    with caplog.at_level(logging.DEBUG):
        for call in _calls(client):
            with pytest.raises(acx.APIError) as caught:
                call()
            errors.append(caught.value)
    assert [type(e) for e in errors] == EXPECTED
    for error in errors:
        _check(error)
    assert caplog.records
    assert_clean(caplog.text)
    for record in caplog.records:
        assert_clean(record.getMessage())
        assert_clean(repr(record.__dict__))


def test_what_was_masked_stays_readable() -> None:
    """The answer's own words survive around the mask; the failures keep their indexes."""
    client = acx.Client(
        HOST,
        KEY,
        transport=httpx.MockTransport(echoing),
        retry=acx.RetryPolicy.never(),
        rate_limits=acx.RateLimits.unlimited(),
    )
    with pytest.raises(acx.AuthenticationError) as refused:
        client.users.me()
    assert f"Invalid token {MASK}" in str(refused.value)
    with pytest.raises(acx.BulkImportRejectedError) as rejected:
        client.bulk_import.submit([acx.BulkImportContact(email="a@example.com")])
    assert [f.index for f in rejected.value.failures] == [0, 1, None]
    assert rejected.value.failures[0].reason == f"Field 'email' incorrect format {MASK}"
    with pytest.raises(acx.UnprocessableEntityError) as duplicate:
        client.contacts.create(acx.ContactInput(email="a@example.com"))
    first = duplicate.value.errors[0]
    assert (first.title, first.code, first.pointer) == (
        f"Email address already exists ({MASK})",
        MASK,
        f"/data/attributes/{MASK}",
    )
    with pytest.raises(acx.APIResponseValidationError) as odd:
        client.contacts.get(1)
    assert odd.value.problems
    assert f"got '{MASK}'" in "".join(traceback.format_exception(odd.value))  # the cause


def test_a_2xx_that_echoes_the_key_comes_back_masked() -> None:
    """A success body holding the key is masked too, so no model or report can carry it."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"user": {"id": "1", "username": f"{KEY}", "email": ""}})

    with acx.Client(HOST, KEY, transport=httpx.MockTransport(handler)) as client:
        user = client.users.me()
    assert user.username == MASK


@pytest.mark.anyio
async def test_async_errors_are_masked_too(caplog: pytest.LogCaptureFixture) -> None:
    """Async: the same answers, the same masking."""
    client = acx.AsyncClient(
        HOST,
        KEY,
        transport=httpx.MockTransport(echoing),
        retry=acx.RetryPolicy.never(),
        rate_limits=acx.RateLimits.unlimited(),
    )
    with caplog.at_level(logging.DEBUG):
        for call in (
            client.users.me,
            lambda: client.lists.get(2),
            lambda: client.contacts.create(acx.ContactInput(email="a@example.com")),
            lambda: client.bulk_import.submit([acx.BulkImportContact(email="a@example.com")]),
            lambda: client.fields.create("Tier"),
        ):
            with pytest.raises(acx.APIError) as caught:
                await call()
            _check(caught.value)
    await client.aclose()
    assert_clean(caplog.text)


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio only."""
    return "asyncio"


def test_client_holds_the_redactor_without_showing_it() -> None:
    """vars(client) shows neither the key nor any of its encodings."""
    with acx.Client(HOST, KEY, transport=httpx.MockTransport(echoing)) as client:
        assert_clean(repr(vars(client)))


def test_a_key_too_short_to_search_for_leaves_answers_intact() -> None:
    """A one-letter key would mask every word holding the letter: it is not searched for."""
    from ac_segment_export.testing import ActiveCampaignEmulator

    emu = ActiveCampaignEmulator(api_key="k")
    list_id = emu.add_list("Kitchen knives")
    with acx.Client("acme.api-us1.com", "k", transport=emu.transport()) as client:
        assert client.lists.get(list_id).name == "Kitchen knives"
    assert Redactor(acx.Secret("k"))("keep it") == "keep it"
    assert Redactor(acx.Secret("12345678"))("x 12345678 y") == f"x {MASK} y"
