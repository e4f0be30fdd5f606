"""Scripted and random faults through the in-process transport."""

from __future__ import annotations

import time

import httpx
import pytest

from ac_segment_export.testing import ActiveCampaignEmulator, EmulatorLimits, Faults

from .conftest import BASE_URL, make_client


def test_server_errors(emu: ActiveCampaignEmulator, client: httpx.Client) -> None:
    emu.queue_fault("500")
    emu.queue_fault("502")
    emu.queue_fault("503")
    first, second, third, fourth = (client.get("/users/me") for _ in range(4))
    assert first.status_code == 500
    assert first.json() == {"message": "Internal Server Error"}
    assert second.status_code == 502
    assert second.headers["content-type"] == "text/html"
    assert "Bad Gateway" in second.text
    assert third.status_code == 503
    assert "Service Temporarily Unavailable" in third.text
    assert fourth.status_code == 200
    assert [r.status for r in emu.requests] == [500, 502, 503, 200]


def test_scripted_429(emu: ActiveCampaignEmulator, client: httpx.Client) -> None:
    emu.queue_fault("429", count=2)
    responses = [client.get("/lists") for _ in range(3)]
    assert [r.status_code for r in responses] == [429, 429, 200]
    assert responses[0].headers["Retry-After"] == "1"
    assert "RateLimit-Remaining" in responses[0].headers


def test_drop_raises_remote_protocol_error(
    emu: ActiveCampaignEmulator, client: httpx.Client
) -> None:
    emu.queue_fault("drop")
    with pytest.raises(
        httpx.RemoteProtocolError, match="Server disconnected without sending a response"
    ):
        client.get("/users/me")
    assert client.get("/users/me").status_code == 200
    assert [r.status for r in emu.requests] == [0, 200]


def test_html_and_empty_200(emu: ActiveCampaignEmulator, client: httpx.Client) -> None:
    emu.queue_fault("html_200")
    emu.queue_fault("empty_200")
    html = client.get("/contacts")
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    assert "<form" in html.text
    with pytest.raises(ValueError):
        html.json()
    empty = client.get("/contacts")
    assert empty.status_code == 200
    assert empty.content == b""
    assert client.get("/contacts").json()["meta"]["total"] == "0"


def test_fault_path_filter(emu: ActiveCampaignEmulator, client: httpx.Client) -> None:
    emu.queue_fault("503", path="/import/bulk_import")
    assert client.get("/users/me").status_code == 200
    assert client.get("/import/info", params={"batchId": "x"}).status_code == 404
    contacts = {"contacts": [{"email": "a@example.org"}, {"email": "b@example.org"}]}
    assert client.post("/import/bulk_import", json=contacts).status_code == 503
    assert client.post("/import/bulk_import", json=contacts).status_code == 200


def test_scripted_bulk_rate_limit(emu: ActiveCampaignEmulator, client: httpx.Client) -> None:
    emu.queue_fault("bulk_rate_limit")
    assert client.get("/users/me").status_code == 200  # only bulk import requests take it
    contacts = {"contacts": [{"email": "a@example.org"}, {"email": "b@example.org"}]}
    limited = client.post("/import/bulk_import", json=contacts)
    assert limited.status_code == 400
    assert limited.json()["message"] == "Rate limit exceeded."
    assert client.post("/import/bulk_import", json=contacts).status_code == 200
    assert len(emu.batches) == 1


def test_faults_precede_auth(emu: ActiveCampaignEmulator) -> None:
    emu.queue_fault("502")
    with make_client(emu, key="wrong") as http:
        assert http.get("/users/me").status_code == 502
        assert http.get("/users/me").status_code == 403


def test_unknown_fault_kind(emu: ActiveCampaignEmulator) -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        emu.queue_fault("418")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="count"):
        emu.queue_fault("500", count=0)


def test_random_faults_follow_the_seed() -> None:
    def statuses(seed: int) -> list[int | str]:
        emu = ActiveCampaignEmulator(
            limits=EmulatorLimits.unlimited(),
            faults=Faults(server_error_rate=0.3, drop_connection_rate=0.2),
            seed=seed,
        )

        def one(http: httpx.Client) -> int | str:
            try:
                return http.get("/users/me").status_code
            except httpx.RemoteProtocolError:
                return "drop"

        with make_client(emu) as http:
            return [one(http) for _ in range(40)]

    first = statuses(3)
    assert first == statuses(3)
    assert first != statuses(4)
    assert {200, "drop"} <= set(first)
    assert set(first) & {500, 502, 503}


def test_faults_validate() -> None:
    with pytest.raises(ValueError, match="server_error_rate"):
        Faults(server_error_rate=1.5)
    with pytest.raises(ValueError, match="latency"):
        Faults(latency=-1)


def test_latency_sync_is_scaled() -> None:
    emu = ActiveCampaignEmulator(
        limits=EmulatorLimits.unlimited(), faults=Faults(latency=0.5), time_scale=10.0
    )
    with make_client(emu) as http:
        started = time.perf_counter()
        http.get("/users/me")
        elapsed = time.perf_counter() - started
    assert 0.04 <= elapsed < 0.4


@pytest.mark.anyio
async def test_async_transport_and_latency() -> None:
    emu = ActiveCampaignEmulator(
        limits=EmulatorLimits.unlimited(), faults=Faults(latency=0.5), time_scale=10.0
    )
    emu.queue_fault("drop", path="/contacts")
    async with httpx.AsyncClient(
        transport=emu.transport(), base_url=BASE_URL, headers={"Api-Token": "test-key"}
    ) as http:
        started = time.perf_counter()
        response = await http.get("/users/me")
        assert time.perf_counter() - started >= 0.04
        assert response.json()["user"]["id"] == "1"
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get("/contacts")
        created = await http.post("/contact/sync", json={"contact": {"email": "a@example.org"}})
        assert created.status_code == 201
    assert emu.contact_count == 1


def test_latency_jitter_varies_each_request_within_its_bounds_and_seed() -> None:
    from ac_segment_export.testing import ActiveCampaignEmulator, Faults

    def delays(seed: int) -> list[float]:
        emu = ActiveCampaignEmulator(
            api_key="k" * 8, faults=Faults(latency=0.4, latency_jitter=0.2), seed=seed
        )
        return [emu._latency() for _ in range(200)]

    first = delays(1)
    assert all(0.2 - 1e-9 <= d <= 0.6 + 1e-9 for d in first)
    assert max(first) - min(first) > 0.3  # it really varies
    assert delays(1) == first  # seeded
    assert delays(2) != first
    scaled = ActiveCampaignEmulator(
        api_key="k" * 8, faults=Faults(latency=0.0, latency_jitter=0.5), time_scale=10.0
    )
    assert all(0.0 <= scaled._latency() <= 0.05 + 1e-9 for _ in range(100))  # never below 0
