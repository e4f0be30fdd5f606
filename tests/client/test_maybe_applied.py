"""``APIError.maybe_applied``: whether a failed request may still have been carried out."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

import ac_segment_export as acx
from ac_segment_export._core import ops

if TYPE_CHECKING:
    from collections.abc import Callable

    from ac_segment_export.testing import ActiveCampaignEmulator

NEW = acx.ContactInput(email="new@example.com")


def _raised(call: Callable[[], object]) -> acx.APIError:
    try:
        call()
    except acx.APIError as exc:
        return exc
    raise AssertionError("the call should have failed")


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("drop", acx.APIConnectionError),
        ("500", acx.ServerError),
        ("502", acx.ServerError),
        ("html_200", acx.APIResponseValidationError),
        ("empty_200", acx.APIResponseValidationError),
    ],
)
def test_unclear_endings_may_have_been_applied(
    client: acx.Client, emu: ActiveCampaignEmulator, kind: str, error: type[acx.APIError]
) -> None:
    """A create that ends in a drop, a 5xx or a non-JSON 2xx may have been carried out."""
    emu.queue_fault(kind, path="/contacts")  # type: ignore[arg-type]
    exc = _raised(lambda: client.contacts.create(NEW))
    assert type(exc) is error
    assert exc.maybe_applied is True
    assert len(emu.requests) == 1


@pytest.mark.parametrize("kind", ["429", "503"])
def test_rate_limits_were_surely_not_applied(
    make_client: Callable[..., acx.Client], emu: ActiveCampaignEmulator, kind: str
) -> None:
    """A create refused by rate limits until the budget ran out was surely not carried out."""
    client = make_client(retry=acx.RetryPolicy(backoff=False, max_rate_limit_wait=2.0))
    emu.queue_fault(kind, count=10, path="/contacts")  # type: ignore[arg-type]
    exc = _raised(lambda: client.contacts.create(NEW))
    assert isinstance(exc, acx.RateLimitError)
    assert exc.maybe_applied is False


def test_bulk_rate_limit_body_was_surely_not_applied(
    make_client: Callable[..., acx.Client], emu: ActiveCampaignEmulator
) -> None:
    """The bulk "Rate limit exceeded" answer refused the import: nothing was queued."""
    client = make_client(retry=acx.RetryPolicy.never())
    emu.queue_fault("bulk_rate_limit")
    exc = _raised(lambda: client.bulk_import.submit([acx.BulkImportContact(email="a@b.co")]))
    assert isinstance(exc, acx.RateLimitError)
    assert exc.maybe_applied is False


def test_4xx_answers_were_surely_not_applied(
    client: acx.Client, emu: ActiveCampaignEmulator
) -> None:
    """404, 422 and a bulk rejection leave maybe_applied False."""
    emu.add_contact("dup@example.com")
    errors = [
        _raised(lambda: client.contacts.get(999)),
        _raised(lambda: client.contacts.create(acx.ContactInput(email="dup@example.com"))),
        _raised(lambda: client.bulk_import.submit([acx.BulkImportContact(email="bad")])),
    ]
    assert [type(e) for e in errors] == [
        acx.NotFoundError,
        acx.UnprocessableEntityError,
        acx.BulkImportRejectedError,
    ]
    assert [e.maybe_applied for e in errors] == [False, False, False]


def test_an_unclear_earlier_attempt_marks_the_final_error(
    client: acx.Client, emu: ActiveCampaignEmulator
) -> None:
    """A 500 followed by a 404 (retried read): the first attempt may have been applied."""
    emu.queue_fault("500", path="/contacts")
    exc = _raised(lambda: client.contacts.get(999))
    assert isinstance(exc, acx.NotFoundError)
    assert exc.maybe_applied is True


def test_a_drop_before_the_rate_limit_budget_ran_out_marks_it(
    make_client: Callable[..., acx.Client], emu: ActiveCampaignEmulator
) -> None:
    """A dropped sync, then 429s until the budget is spent: the RateLimitError says maybe."""
    client = make_client(retry=acx.RetryPolicy(backoff=False, max_rate_limit_wait=2.0))
    emu.queue_fault("drop", path="/contact/sync")
    emu.queue_fault("429", count=10, path="/contact/sync")
    exc = _raised(lambda: client.contacts.sync(NEW))
    assert isinstance(exc, acx.RateLimitError)
    assert exc.maybe_applied is True


def test_429_then_success_then_html_is_unclear_only_for_the_html(
    client: acx.Client, emu: ActiveCampaignEmulator
) -> None:
    """Refusals before an HTML 200: the HTML answer alone makes the outcome unclear."""
    emu.queue_fault("429", count=3, path="/lists")
    emu.queue_fault("html_200", path="/lists")
    exc = _raised(lambda: client.lists.create("L"))
    assert isinstance(exc, acx.APIResponseValidationError)
    assert exc.status_code == 200
    assert exc.maybe_applied is True


def test_wrong_shaped_2xx_through_call_request_and_paginate(
    make_client: Callable[..., acx.Client],
) -> None:
    """A 2xx of the wrong shape is unclear whichever way it was read."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[1, 2] if request.method == "PUT" else {"lists": "x"})

    client = make_client(transport=httpx.MockTransport(handler))
    for call in (
        lambda: client.call(ops.lists_create("L")),
        lambda: client.request("PUT", "contacts/1", json={}),
        lambda: list(client.lists.iterate()),
    ):
        exc = _raised(call)
        assert isinstance(exc, acx.APIResponseValidationError)
        assert exc.maybe_applied is True


@pytest.mark.parametrize(
    ("raised", "error", "unclear"),
    [
        (httpx.ConnectError("refused"), acx.APIUnreachableError, False),
        (httpx.ConnectTimeout("slow connect"), acx.APIUnreachableError, False),
        (httpx.ReadTimeout("slow answer"), acx.APITimeoutError, True),
        (httpx.RemoteProtocolError("server hung up"), acx.APIConnectionError, True),
    ],
)
def test_transport_failures(
    make_client: Callable[..., acx.Client],
    raised: httpx.HTTPError,
    error: type[acx.APIError],
    unclear: bool,
) -> None:
    """A connection that could not be opened was not applied; a timeout or a drop may have."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise raised

    client = make_client(
        transport=httpx.MockTransport(handler), retry=acx.RetryPolicy.for_tests(max_attempts=2)
    )
    exc = _raised(client.users.me)
    assert type(exc) is error
    assert exc.maybe_applied is unclear


def test_a_clear_success_raises_nothing(client: acx.Client, emu: ActiveCampaignEmulator) -> None:
    """A drop then a success on a read: no error, nothing to mark."""
    emu.queue_fault("drop")
    assert client.users.me().id == 1


pytest_anyio = pytest.mark.anyio


@pytest_anyio
async def test_async_maybe_applied(
    make_aclient: Callable[..., acx.AsyncClient], emu: ActiveCampaignEmulator
) -> None:
    """Async: drop and HTML 200 are unclear; 429s past the budget and a 404 are not."""
    client = make_aclient(retry=acx.RetryPolicy(backoff=False, max_rate_limit_wait=2.0))
    emu.queue_fault("drop", path="/contacts")
    with pytest.raises(acx.APIConnectionError) as dropped:
        await client.contacts.create(NEW)
    emu.queue_fault("html_200", path="/lists")
    with pytest.raises(acx.APIResponseValidationError) as html:
        await client.lists.create("L")
    emu.queue_fault("429", count=3, path="/contacts")  # 1 s each: the 2 s budget takes two
    with pytest.raises(acx.RateLimitError) as limited:
        await client.contacts.create(NEW)
    with pytest.raises(acx.NotFoundError) as missing:
        await client.contacts.get(999)
    assert dropped.value.maybe_applied is True
    assert html.value.maybe_applied is True
    assert limited.value.maybe_applied is False
    assert missing.value.maybe_applied is False
