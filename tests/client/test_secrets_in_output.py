"""The API key never appears in repr/str, errors or any log record, at any level."""

from __future__ import annotations

import logging
import pickle
import traceback
from typing import TYPE_CHECKING

import httpx
import pytest

import ac_segment_export as acx
from ac_segment_export.testing import ActiveCampaignEmulator, EmulatorLimits

if TYPE_CHECKING:
    from collections.abc import Callable

KEY = "k3y-0f-the-acc0unt-7f3a9c"


@pytest.fixture
def keyed() -> ActiveCampaignEmulator:
    """An emulator accepting the distinctive KEY."""
    return ActiveCampaignEmulator(api_key=KEY, limits=EmulatorLimits.unlimited())


def _raised(call: Callable[[], object]) -> BaseException:
    try:
        call()
    except acx.APIError as exc:
        return exc
    raise AssertionError("the call should have failed")


def _exercise(client: acx.Client, emu: ActiveCampaignEmulator) -> list[BaseException]:
    """Successes, retries and failures of every kind; returns the errors raised."""
    client.users.me()
    list_id = client.lists.create("Logs").id
    contact = client.contacts.sync(acx.ContactInput(email="log@example.com"))
    client.memberships.subscribe(contact.id, list_id)
    queued = client.bulk_import.submit([acx.BulkImportContact(email="b@example.com")])
    client.bulk_import.info(queued.batch_id)
    emu.queue_fault("500")
    emu.queue_fault("drop")
    emu.queue_fault("429")
    client.users.me()
    emu.queue_fault("html_200")
    emu.queue_fault("empty_200")
    return [
        _raised(client.users.me),
        _raised(client.users.me),
        _raised(lambda: client.contacts.get(999)),
        _raised(lambda: client.contacts.create(acx.ContactInput(email="log@example.com"))),
        _raised(lambda: client.bulk_import.submit([acx.BulkImportContact(email="bad")])),
        _raised(lambda: (emu.queue_fault("drop", count=10), client.users.me())),
    ]


def _assert_clean(text: str) -> None:
    assert KEY not in text


def _check_records(caplog: pytest.LogCaptureFixture) -> None:
    assert caplog.records, "the run should have logged something"
    for record in caplog.records:
        _assert_clean(record.getMessage())
        _assert_clean(repr(record.args))
        _assert_clean(repr(record.__dict__))
    _assert_clean(caplog.text)


def _check_errors(errors: list[BaseException]) -> None:
    assert len(errors) == 6
    for error in errors:
        _assert_clean(str(error))
        _assert_clean(repr(error.args))
        _assert_clean(repr(vars(error)))
        _assert_clean("".join(traceback.format_exception(error)))
        if error.__cause__ is not None:
            _assert_clean(repr(error.__cause__))


def test_client_repr_and_str(
    make_client: Callable[..., acx.Client], keyed: ActiveCampaignEmulator
) -> None:
    """repr(client) shows the host only."""
    client = make_client(emulator=keyed, api_key=KEY)
    assert repr(client) == "Client(host='acme.api-us1.com')"
    _assert_clean(str(client))
    _assert_clean(repr(vars(client)))
    with pytest.raises(TypeError):
        pickle.dumps(client)


def test_no_log_record_or_error_shows_the_key_in_process(
    make_client: Callable[..., acx.Client],
    keyed: ActiveCampaignEmulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Through the transport, a full run logs at DEBUG without the key anywhere."""
    client = make_client(emulator=keyed, api_key=KEY)
    with caplog.at_level(logging.DEBUG):
        errors = _exercise(client, keyed)
    _check_records(caplog)
    assert any(r.name == "ac_segment_export" and r.levelno == logging.DEBUG for r in caplog.records)
    _check_errors(errors)


def test_no_log_record_or_error_shows_the_key_over_a_socket(
    make_client: Callable[..., acx.Client],
    keyed: ActiveCampaignEmulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Over a real socket, httpx's and httpcore's DEBUG records never hold the key either."""
    with keyed.serve() as base_url, caplog.at_level(logging.DEBUG):
        client = make_client(host=base_url, transport=None, api_key=KEY)
        errors = _exercise(client, keyed)
        client.close()
    _check_records(caplog)
    names = {r.name.split(".")[0] for r in caplog.records}
    assert {"httpx", "httpcore", "ac_segment_export"} <= names
    _check_errors(errors)


def test_bad_key_error_does_not_echo_the_key(
    make_client: Callable[..., acx.Client], caplog: pytest.LogCaptureFixture
) -> None:
    """A refused key is not repeated in the AuthenticationError or the logs."""
    client = make_client(api_key=KEY)  # the default emulator expects another key
    with caplog.at_level(logging.DEBUG), pytest.raises(acx.AuthenticationError) as caught:
        client.users.me()
    _assert_clean(str(caught.value))
    _assert_clean(repr(vars(caught.value)))
    _assert_clean(caplog.text)


@pytest.mark.anyio
async def test_async_run_is_clean(
    make_aclient: Callable[..., acx.AsyncClient],
    keyed: ActiveCampaignEmulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The async client logs and raises without the key too."""
    client = make_aclient(emulator=keyed, api_key=KEY)
    assert repr(client) == "AsyncClient(host='acme.api-us1.com')"
    with caplog.at_level(logging.DEBUG):
        await client.users.me()
        keyed.queue_fault("500")
        with pytest.raises(acx.ServerError) as caught:
            await client.lists.create("x")  # a create is not retried after a 500
        keyed.queue_fault("drop", count=10)
        with pytest.raises(acx.APIConnectionError) as dropped:
            await client.users.me()
    _check_records(caplog)
    for error in (caught.value, dropped.value):
        _assert_clean(str(error))
        _assert_clean(repr(vars(error)))
        _assert_clean("".join(traceback.format_exception(error)))


def test_chained_httpx_error_does_not_carry_the_key(
    make_client: Callable[..., acx.Client], keyed: ActiveCampaignEmulator
) -> None:
    """The httpx exception behind an APIConnectionError holds no Api-Token header."""
    client = make_client(emulator=keyed, api_key=KEY, retry=acx.RetryPolicy.never())
    keyed.queue_fault("drop")
    with pytest.raises(acx.APIConnectionError) as caught:
        client.users.me()
    cause = caught.value.__cause__
    assert cause is not None
    request = cause.request  # type: ignore[attr-defined]
    assert "api-token" not in request.headers
    _assert_clean(repr(dict(request.headers)))


@pytest.mark.anyio
async def test_async_chained_httpx_error_does_not_carry_the_key(
    make_aclient: Callable[..., acx.AsyncClient],
    keyed: ActiveCampaignEmulator,
) -> None:
    """Async: the chained httpx exception's request holds no Api-Token header either."""
    client = make_aclient(emulator=keyed, api_key=KEY, retry=acx.RetryPolicy.never())
    keyed.queue_fault("drop")
    with pytest.raises(acx.APIConnectionError) as caught:
        await client.users.me()
    assert "api-token" not in caught.value.__cause__.request.headers  # type: ignore[union-attr]


def test_key_is_sent_and_then_removed_from_the_request(keyed: ActiveCampaignEmulator) -> None:
    """ApiTokenAuth puts the key on the wire and takes it off the request object afterwards."""
    from ac_segment_export._core.http import ApiTokenAuth

    seen: list[str | None] = []
    transport = keyed.transport()

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("Api-Token"))
        return transport.handle_request(request)

    with httpx.Client(transport=httpx.MockTransport(handler)) as http:
        response = http.get(
            "https://acme.api-us1.com/api/3/users/me", auth=ApiTokenAuth(lambda: KEY)
        )
    assert seen == [KEY]
    assert response.status_code == 200
    assert "api-token" not in response.request.headers
