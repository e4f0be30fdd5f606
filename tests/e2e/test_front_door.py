"""Mistakes at the front door fail at once, with a typed error that says what to fix.

Before: ``host="127.0.0.1:8765"`` against the emulator's plain-HTTP server failed after 17 s
of retries with ``APIUnreachableError ... [SSL: WRONG_VERSION_NUMBER]``, a name that does not
resolve after 17 s too; the app's address (``acme.activehosted.com``) was taken without a
word; and a sync client given to ``AsyncExporter`` failed mid-run with ``object MailingList
can't be used in 'await' expression``.

The DNS cases use the ``.invalid`` top-level domain (RFC 6761: never resolves). The
``offline_dns`` fixture answers such names the way a resolver answers a name that does not
exist, *without* asking one, and fails the test if anything else is looked up: no test here
sends a packet beyond the loopback interface.
"""

from __future__ import annotations

import socket
import time
import warnings
from typing import TYPE_CHECKING, Any

import httpx
import pytest

import ac_segment_export as acx

if TYPE_CHECKING:
    from ac_segment_export.testing import ActiveCampaignEmulator

KEY = "e2e-key"
#: Far below the 17 s that the default retry policy spends on a retryable failure.
AT_ONCE = 3.0


@pytest.fixture
def offline_dns(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``*.invalid`` names do not exist; loopback resolves; any other look-up fails the test."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        asked.append(name)
        if name.endswith((".invalid", ".invalid.")):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        if name in {"127.0.0.1", "localhost", "::1"}:
            return real(host, *args, **kwargs)
        pytest.fail(f"the test tried to resolve {name!r}, which could leave this machine")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


@pytest.fixture
def plain_http(base_url: str) -> str:
    """The emulator's loopback server, addressed without ``http://`` (so over HTTPS)."""
    return base_url.removeprefix("http://")


# -- a TLS handshake with a plain-HTTP server --------------------------------------------------


def test_a_plain_http_server_fails_at_once_saying_it_does_not_speak_https(
    plain_http: str, emu: ActiveCampaignEmulator, offline_dns: list[str]
) -> None:
    """One attempt, well under a second, and the fix in the message."""
    started = time.monotonic()
    with acx.Client(plain_http, KEY) as client, pytest.raises(acx.TLSHandshakeError) as caught:
        client.users.me()
    assert time.monotonic() - started < AT_ONCE
    exc = caught.value
    assert exc.plain_http
    assert exc.host == "127.0.0.1"
    assert f"The server at {plain_http} does not speak HTTPS" in str(exc)
    assert f"write host='http://{plain_http}'" in str(exc)
    assert "WRONG_VERSION_NUMBER" in str(exc)
    assert isinstance(exc, acx.APIUnreachableError)  # nothing reached the API
    assert not exc.maybe_applied
    assert client.stats.retries == 0
    assert client.stats.requests == 1
    assert emu.requests == []  # the server never saw an HTTP request


@pytest.mark.anyio
async def test_the_async_client_fails_at_once_too(plain_http: str, offline_dns: list[str]) -> None:
    started = time.monotonic()
    async with acx.AsyncClient(plain_http, KEY) as client:
        with pytest.raises(acx.TLSHandshakeError, match="does not speak HTTPS"):
            await client.lists.get(1)
    assert time.monotonic() - started < AT_ONCE
    assert client.stats.retries == 0


def test_an_export_to_a_plain_http_server_stops_before_any_profile(
    plain_http: str, emu: ActiveCampaignEmulator, offline_dns: list[str]
) -> None:
    """Through a connection and the exporter: the same error, at the destination check."""
    conn = acx.Connection("Emulator", plain_http, KEY).accept_data_privacy_terms("ana")
    dest = acx.ExportDestination(conn, "VIP", 1, acx.FieldMapping(email="email"))
    started = time.monotonic()
    with pytest.raises(acx.TLSHandshakeError):
        acx.Exporter(dest).run([{"email": "a@example.org"}])
    assert time.monotonic() - started < AT_ONCE
    assert emu.requests == []


# -- a name that does not resolve --------------------------------------------------------------


def test_a_host_that_does_not_resolve_fails_at_once_naming_it(offline_dns: list[str]) -> None:
    started = time.monotonic()
    with (
        acx.Client("acme.api-us1.invalid", KEY) as client,
        pytest.raises(acx.HostNotFoundError) as caught,
    ):
        client.users.me()
    assert time.monotonic() - started < AT_ONCE
    assert caught.value.host == "acme.api-us1.invalid"
    assert str(caught.value).startswith("The host acme.api-us1.invalid does not resolve")
    assert "Settings > Developer" in str(caught.value)
    assert client.stats.retries == 0
    assert offline_dns == ["acme.api-us1.invalid"]  # asked once: no retry


@pytest.mark.anyio
async def test_the_async_client_names_the_host_too(offline_dns: list[str]) -> None:
    async with acx.AsyncClient("acme.api-us1.invalid", KEY) as client:
        with pytest.raises(acx.HostNotFoundError, match=r"acme\.api-us1\.invalid"):
            await client.users.me()
    assert client.stats.retries == 0


def test_a_refused_connection_is_still_retried(offline_dns: list[str]) -> None:
    """A closed port is a passing condition (a server restarting): retried as before."""
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    policy = acx.RetryPolicy(max_attempts=3, initial_backoff=0.01, max_backoff=0.01, jitter=0)
    with acx.Client(f"http://127.0.0.1:{port}", KEY, retry=policy) as client:
        with pytest.raises(acx.APIUnreachableError) as caught:
            client.users.me()
        assert not isinstance(caught.value, acx.TLSHandshakeError | acx.HostNotFoundError)
        assert client.stats.retries == 2


# -- the app's address -------------------------------------------------------------------------

APP_LOGIN = (
    b"<!DOCTYPE html><html><head><title>Login - ActiveCampaign</title></head>"
    b"<body><form action='/login'>...</form></body></html>"
)


def app_server(request: httpx.Request) -> httpx.Response:
    """Answers like the app's web server: its pages, and a redirect to its login page."""
    if request.url.path.endswith("/users/me"):
        return httpx.Response(302, headers={"Location": "https://acme.activehosted.com/login"})
    return httpx.Response(200, headers={"Content-Type": "text/html"}, content=APP_LOGIN)


def test_the_app_address_is_accepted_with_a_warning() -> None:
    with pytest.warns(acx.AppHostWarning, match="Settings > Developer") as caught:
        conn = acx.Connection("AC", "acme.activehosted.com", KEY)
    assert conn.host == "acme.activehosted.com"
    message = str(caught[0].message)
    assert "acme.activehosted.com is the address of ActiveCampaign's web app" in message
    assert "https://acme.api-us1.com" in message
    assert caught[0].filename == __file__  # points at the caller's line
    with pytest.warns(acx.AppHostWarning):
        acx.Client("https://acme.activehosted.com/api/3", KEY).close()


def test_no_warning_for_the_api_address() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        acx.Connection("AC", "acme.api-us1.com", KEY)
        acx.Client("acme.api-us1.com", KEY).close()


def test_an_app_that_answers_with_its_web_page_is_a_typed_error_with_the_hint() -> None:
    with pytest.warns(acx.AppHostWarning):
        client = acx.Client("acme.activehosted.com", KEY, transport=httpx.MockTransport(app_server))
    with client, pytest.raises(acx.AppHostError) as caught:
        client.lists.get(1)
    exc = caught.value
    assert isinstance(exc, acx.APIResponseValidationError)
    assert exc.host == "acme.activehosted.com"
    assert exc.status_code == 200
    assert "was answered with a web page (200), not the API's JSON" in str(exc)
    assert "under Settings > Developer" in str(exc)
    assert "https://acme.api-us1.com" in str(exc)
    assert KEY not in str(exc)
    assert client.stats.retries == 0


def test_a_redirect_to_the_apps_login_page_is_the_same_error() -> None:
    with pytest.warns(acx.AppHostWarning):
        client = acx.Client("acme.activehosted.com", KEY, transport=httpx.MockTransport(app_server))
    with client, pytest.raises(acx.AppHostError, match=r"a redirect \(302\) to 'https://acme"):
        client.users.me()


def test_an_app_host_that_serves_the_api_works(emu: ActiveCampaignEmulator) -> None:
    """Where the app's host answers the API's JSON, it is used as it is."""
    with pytest.warns(acx.AppHostWarning):
        client = acx.Client("acme.activehosted.com", KEY, transport=emu.transport())
    with client:
        assert client.users.me().id > 0


# -- a client of the wrong kind ----------------------------------------------------------------


@pytest.fixture
def destination() -> acx.ExportDestination:
    conn = acx.Connection("AC", "acme.api-us1.com", KEY).accept_data_privacy_terms("ana")
    return acx.ExportDestination(conn, "VIP", 1, acx.FieldMapping(email="email"))


def test_a_sync_client_given_to_the_async_exporter_is_a_type_error(
    destination: acx.ExportDestination, emu: ActiveCampaignEmulator
) -> None:
    client = destination.connection.client(acx.ClientOptions(transport=emu.transport()))
    with client, pytest.raises(TypeError) as caught:
        acx.AsyncExporter(destination, client=client)  # type: ignore[arg-type]
    assert str(caught.value) == (
        "AsyncExporter needs an AsyncClient, not a Client: build one with "
        "conn.async_client(...), or use Exporter with this client."
    )
    assert emu.requests == []


def test_an_async_client_given_to_the_sync_exporter_is_a_type_error(
    destination: acx.ExportDestination, emu: ActiveCampaignEmulator
) -> None:
    client = destination.connection.async_client(acx.ClientOptions(transport=emu.transport()))
    with pytest.raises(TypeError) as caught:
        acx.Exporter(destination, client=client)  # type: ignore[arg-type]
    assert str(caught.value) == (
        "Exporter needs a Client, not an AsyncClient: build one with conn.client(...), "
        "or use AsyncExporter with this client."
    )


def test_something_else_as_the_client_is_a_type_error(
    destination: acx.ExportDestination,
) -> None:
    with pytest.raises(TypeError, match="Exporter's client must be a Client, not str"):
        acx.Exporter(destination, client="acme.api-us1.com")  # type: ignore[arg-type]
