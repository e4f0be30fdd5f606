"""Building clients: hosts, keys, options, a passed-in httpx client, closing."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

import ac_segment_export as acx

if TYPE_CHECKING:
    from ac_segment_export.testing import ActiveCampaignEmulator


def test_base_url_from_api_url(emu: ActiveCampaignEmulator) -> None:
    """The API URL as Settings > Developer shows it becomes https://HOST/api/3/."""
    with acx.Client("https://Acme.api-us1.com/api/3/", "k", transport=emu.transport()) as client:
        assert client.base_url == "https://acme.api-us1.com/api/3/"


def test_endpoint_object_is_accepted(emu: ActiveCampaignEmulator) -> None:
    """An ApiEndpoint can be passed instead of a string."""
    endpoint = acx.parse_endpoint("acme.api-us1.com")
    with acx.Client(endpoint, "k", transport=emu.transport()) as client:
        assert client.endpoint is endpoint


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"retry": 3}, "retry must be a RetryPolicy, not int"),
        ({"rate_limits": 5}, "rate_limits must be a RateLimits or a RateLimiter, not int"),
    ],
)
def test_bad_options_are_configuration_errors(kwargs: dict[str, object], message: str) -> None:
    """Options of the wrong type fail at construction with ConfigurationError."""
    with pytest.raises(acx.ConfigurationError, match=message):
        acx.Client("acme.api-us1.com", "k", **kwargs)  # type: ignore[arg-type]


def test_blank_key_is_refused() -> None:
    """A blank key is refused before any I/O, pointing at Settings > Developer."""
    with pytest.raises(acx.ConfigurationError, match="Settings > Developer"):
        acx.Client("acme.api-us1.com", "  ")


def test_passed_http_client_is_used_and_not_closed(emu: ActiveCampaignEmulator) -> None:
    """An httpx.Client passed in carries the requests and stays open after close()."""
    http = httpx.Client(transport=emu.transport())
    client = acx.Client(
        "acme.api-us1.com",
        "test-key",
        http_client=http,
        retry=acx.RetryPolicy.never(),
        rate_limits=acx.RateLimits.unlimited(),
    )
    assert client.users.me().id == 1
    client.close()
    assert not http.is_closed
    assert len(emu.requests) == 1
    http.close()


def test_own_http_client_is_closed(emu: ActiveCampaignEmulator) -> None:
    """The client closes the httpx client it made."""
    client = acx.Client("acme.api-us1.com", "test-key", transport=emu.transport())
    with client:
        pass
    assert client._http.is_closed


def test_requests_carry_json_accept_and_user_agent(client: acx.Client) -> None:
    """Every request asks for JSON and names the library."""
    seen: list[httpx.Request] = []

    def hook(request: httpx.Request) -> None:
        seen.append(request)

    client._http.event_hooks["request"].append(hook)
    client.users.me()
    [request] = seen
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"].startswith("ac-segment-export/")


@pytest.mark.anyio
async def test_async_passed_http_client(emu: ActiveCampaignEmulator) -> None:
    """AsyncClient uses a passed-in httpx.AsyncClient and leaves it open."""
    async with httpx.AsyncClient(transport=emu.transport()) as http:
        client = acx.AsyncClient(
            "acme.api-us1.com", "test-key", http_client=http, rate_limits=acx.RateLimits.unlimited()
        )
        assert (await client.users.me()).username == "emulator"
        await client.aclose()
        assert not http.is_closed


@pytest.mark.parametrize("make", [acx.Client, acx.AsyncClient])
def test_uses_key_answers_without_revealing(make: type[acx.Client | acx.AsyncClient]) -> None:
    """uses_key() compares a key (string or Secret) with the client's own; odd values are not it."""
    client = make("acme.api-us1.com", " the-key ")
    assert client.uses_key("the-key")
    assert client.uses_key(acx.Secret("the-key"))
    assert not client.uses_key("other-key")
    assert not client.uses_key("")
    assert not client.uses_key("the key")
    assert not client.uses_key(None)  # type: ignore[arg-type]
