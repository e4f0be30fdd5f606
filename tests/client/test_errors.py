"""Every error path of the client, sync and async, against the emulator."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

import httpx
import pytest

import ac_segment_export as acx
from ac_segment_export.testing import ActiveCampaignEmulator, Faults

if TYPE_CHECKING:
    from collections.abc import Callable


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_bad_key_is_an_authentication_error(
    make_client: Callable[..., acx.Client], emu: ActiveCampaignEmulator
) -> None:
    """A wrong key gets a 403, reported as AuthenticationError that says where keys live."""
    client = make_client(api_key="wrong-key-0123456789")
    with pytest.raises(acx.AuthenticationError) as caught:
        client.users.me()
    error = caught.value
    assert error.status_code == 403
    assert "Settings > Developer" in str(error)
    assert "wrong-key-0123456789" not in str(error)
    assert "wrong-key-0123456789" not in repr(error.args)
    assert len(emu.requests) == 1  # an auth failure is not retried


def test_not_found(client: acx.Client) -> None:
    """A missing list is a NotFoundError with the URL and ActiveCampaign's message."""
    with pytest.raises(acx.NotFoundError) as caught:
        client.lists.get(999)
    assert caught.value.status_code == 404
    assert caught.value.url == "https://acme.api-us1.com/api/3/lists/999"
    assert "_List with id 999" in str(caught.value)


def test_duplicate_create_is_422_with_errors(
    client: acx.Client, emu: ActiveCampaignEmulator
) -> None:
    """Creating an existing email is a 422 whose `errors` are parsed; it is not retried."""
    emu.add_contact("dup@example.com")
    emu.reset_requests()
    with pytest.raises(acx.UnprocessableEntityError) as caught:
        client.contacts.create(acx.ContactInput(email="DUP@example.com"))
    [detail] = caught.value.errors
    assert detail.title == "Email address already exists in the system"
    assert detail.code == "duplicate"
    assert detail.pointer == "/data/attributes/email"
    assert "already exists" in str(caught.value)
    assert len(emu.requests) == 1


def test_duplicate_field_is_422(client: acx.Client, emu: ActiveCampaignEmulator) -> None:
    """A second field with the same title is refused with code 'duplicate'."""
    emu.add_field("Tier")
    with pytest.raises(acx.UnprocessableEntityError) as caught:
        client.fields.create("Tier")
    assert [e.code for e in caught.value.errors] == ["duplicate"]


def test_bulk_rejection_names_the_contacts(client: acx.Client, emu: ActiveCampaignEmulator) -> None:
    """A bulk request with bad contacts is rejected whole; failures carry their indexes."""
    contacts = [
        acx.BulkImportContact(email="ok@example.com"),
        acx.BulkImportContact(email="not-an-email"),
        acx.BulkImportContact(email="ok2@example.com", subscribe=(4242,)),
    ]
    with pytest.raises(acx.BulkImportRejectedError) as caught:
        client.bulk_import.submit(contacts)
    assert caught.value.failures == (
        acx.BulkFailure(1, "Field 'email' incorrect format"),
        acx.BulkFailure(2, "List with id 4242 does not exist"),
    )
    assert emu.batches == []
    assert len(emu.requests) == 1  # a rejection is final, not retried


@pytest.mark.parametrize(
    ("kind", "problem"), [("html_200", "HTML page"), ("empty_200", "the body is empty")]
)
def test_non_json_200_is_never_success(
    client: acx.Client, emu: ActiveCampaignEmulator, kind: str, problem: str
) -> None:
    """An HTML login page or an empty body under 200 is APIResponseValidationError."""
    emu.queue_fault(kind)  # type: ignore[arg-type]
    with pytest.raises(acx.APIResponseValidationError) as caught:
        client.users.me()
    assert problem in str(caught.value)
    assert caught.value.status_code == 200


def test_non_json_200_on_a_page_is_an_error(
    client: acx.Client, emu: ActiveCampaignEmulator
) -> None:
    """A broken page in the middle of a scan raises instead of ending the scan early."""
    for i in range(150):
        emu.add_list(f"L{i}")
    emu.queue_fault("html_200", path="/lists")
    with pytest.raises(acx.APIResponseValidationError):
        list(client.lists.iterate())


def test_connection_refused_names_the_host(make_client: Callable[..., acx.Client]) -> None:
    """Nothing listening: APIUnreachableError naming the host, chained to httpx's ConnectError."""
    port = closed_port()
    client = make_client(
        host=f"http://127.0.0.1:{port}",
        transport=None,
        retry=acx.RetryPolicy.for_tests(max_attempts=2),
    )
    with pytest.raises(acx.APIUnreachableError) as caught:
        client.users.me()
    assert "127.0.0.1" in str(caught.value)
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert client.stats.requests == 2
    assert client.stats.retries == 1


def test_timeout_is_an_api_timeout_error(make_client: Callable[..., acx.Client]) -> None:
    """A server slower than the timeout gives APITimeoutError chained to httpx's timeout."""
    slow = ActiveCampaignEmulator(api_key="test-key", faults=Faults(latency=0.3))
    with slow.serve() as base_url:
        client = make_client(
            host=base_url,
            transport=None,
            timeout=0.05,
            retry=acx.RetryPolicy.for_tests(max_attempts=2),
        )
        with pytest.raises(acx.APITimeoutError) as caught:
            client.users.me()
    assert isinstance(caught.value.__cause__, httpx.TimeoutException)
    assert "timed out" in str(caught.value)
    assert client.stats.requests == 2


def test_dropped_connection_is_a_connection_error(
    client: acx.Client, emu: ActiveCampaignEmulator
) -> None:
    """A connection dropped mid-request (after retries) is APIConnectionError, chained."""
    emu.queue_fault("drop", count=10)
    with pytest.raises(acx.APIConnectionError) as caught:
        client.users.me()
    assert not isinstance(caught.value, acx.APIUnreachableError)
    assert isinstance(caught.value.__cause__, httpx.RemoteProtocolError)
    assert "acme.api-us1.com" in str(caught.value)
    assert len(emu.requests) == 6


def test_status_errors_carry_the_response(client: acx.Client, emu: ActiveCampaignEmulator) -> None:
    """Status errors keep method, URL, status and the decoded body."""
    emu.queue_fault("502", count=6)
    with pytest.raises(acx.ServerError) as caught:
        client.lists.get(1)
    error = caught.value
    assert (error.method, error.status_code) == ("GET", 502)
    assert isinstance(error.body, str)
    assert "502" in error.body


# -- async ------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_error_paths(
    make_aclient: Callable[..., acx.AsyncClient], emu: ActiveCampaignEmulator
) -> None:
    """The async client raises the same errors: auth, 404, 422, bulk rejection, bad 200s."""
    bad = make_aclient(api_key="nope-nope")
    with pytest.raises(acx.AuthenticationError, match="Settings > Developer"):
        await bad.users.me()
    client = make_aclient()
    with pytest.raises(acx.NotFoundError):
        await client.contacts.get(77)
    emu.add_contact("dup@example.com")
    with pytest.raises(acx.UnprocessableEntityError) as dup:
        await client.contacts.create(acx.ContactInput(email="dup@example.com"))
    assert dup.value.errors[0].code == "duplicate"
    with pytest.raises(acx.BulkImportRejectedError) as rejected:
        await client.bulk_import.submit(
            [acx.BulkImportContact(email="x@example.com"), acx.BulkImportContact(email="@@")]
        )
    assert [f.index for f in rejected.value.failures] == [1]
    for kind in ("html_200", "empty_200"):
        emu.queue_fault(kind)  # type: ignore[arg-type]
        with pytest.raises(acx.APIResponseValidationError):
            await client.users.me()


@pytest.mark.anyio
async def test_async_connection_refused(make_aclient: Callable[..., acx.AsyncClient]) -> None:
    """Async connection refused: APIUnreachableError naming the host, chained."""
    client = make_aclient(
        host=f"http://127.0.0.1:{closed_port()}", transport=None, retry=acx.RetryPolicy.never()
    )
    with pytest.raises(acx.APIUnreachableError, match=r"127\.0\.0\.1") as caught:
        await client.lists.get(1)
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


@pytest.mark.anyio
async def test_async_timeout(make_aclient: Callable[..., acx.AsyncClient]) -> None:
    """Async timeout: APITimeoutError, chained to httpx's timeout."""
    slow = ActiveCampaignEmulator(api_key="test-key", faults=Faults(latency=0.3))
    with slow.serve() as base_url:
        client = make_aclient(
            host=base_url, transport=None, timeout=0.05, retry=acx.RetryPolicy.never()
        )
        with pytest.raises(acx.APITimeoutError) as caught:
            await client.users.me()
    assert isinstance(caught.value.__cause__, httpx.TimeoutException)
