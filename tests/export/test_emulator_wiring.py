"""The emulator in one line: emu.connection() and emu.client() carry its transport and scale."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import httpx
import pytest

import ac_segment_export as acx
from ac_segment_export.testing import ActiveCampaignEmulator, EmulatorLimits

MAPPING = acx.FieldMapping(email="email")


def rows(n: int) -> list[dict[str, Any]]:
    return [{"email": f"u{i}@example.org"} for i in range(n)]


def test_an_export_without_client_goes_to_the_emulator() -> None:
    """Before: forgetting ``client=`` sent the run to the connection's real hostname."""
    emu = ActiveCampaignEmulator(time_scale=1000)
    list_id = emu.add_list("VIP")
    dest = acx.ExportDestination(emu.connection(), "VIP", list_id, MAPPING)
    report = acx.Exporter(dest).run(rows(300))
    assert report.exported == 300
    assert len(emu.list_members(list_id)) == 300
    assert any(r.path == "/import/bulk_import" for r in emu.requests)


def test_the_exporter_takes_its_poll_timing_from_the_clients_time_scale() -> None:
    """At x1000 the first status check waits 1 emulated second, not 1 real second.

    A client at real time on the same emulator waits ``first_poll_delay`` (1 s) in real
    seconds before its first check: its run cannot take less than that.
    """
    emu = ActiveCampaignEmulator(time_scale=1000, limits=EmulatorLimits.unlimited())
    list_id = emu.add_list("VIP")
    conn = emu.connection()
    dest = acx.ExportDestination(conn, "VIP", list_id, MAPPING)
    with emu.client() as client:
        assert client.time_scale == 1000
        scaled = acx.Exporter(dest, client=client).run(rows(50))
    with acx.Client(conn.host, emu.api_key, transport=emu.transport()) as real_time:
        unscaled = acx.Exporter(dest, client=real_time).run(rows(50))
    assert scaled.exported == unscaled.exported == 50
    assert unscaled.elapsed_seconds >= 1.0
    assert scaled.elapsed_seconds < 1.0


def test_rate_limits_follow_the_emulators_clock_and_limits() -> None:
    emu = ActiveCampaignEmulator(time_scale=500)
    with emu.client() as client:
        limits = client.rate_limiter.limits
        assert limits.requests_per_second == 5 * 500
        assert limits.bulk_per_minute == 100 * 500
        assert client.retry.initial_backoff == acx.RetryPolicy().initial_backoff / 500
    unlimited = ActiveCampaignEmulator(limits=EmulatorLimits.unlimited())
    with unlimited.client() as client:
        assert client.rate_limiter.limits == acx.RateLimits.unlimited()
        assert client.time_scale == 1.0


def test_an_export_at_the_real_limits_scaled_meets_no_rate_limit() -> None:
    emu = ActiveCampaignEmulator(time_scale=1000)  # ActiveCampaign's limits, x1000
    list_id = emu.add_list("VIP")
    dest = acx.ExportDestination(emu.connection(), "VIP", list_id, MAPPING)
    report = acx.Exporter(dest).run(rows(2500))
    assert report.exported == 2500
    assert [r for r in emu.requests if r.status in (429, 503)] == []
    assert report.rate_limited == 0


@pytest.mark.anyio
async def test_the_async_client_is_wired_alike() -> None:
    emu = ActiveCampaignEmulator(time_scale=1000)
    list_id = emu.add_list("VIP")
    dest = acx.ExportDestination(emu.connection(), "VIP", list_id, MAPPING)
    report = await acx.AsyncExporter(dest).run(rows(300))
    assert report.exported == 300
    async with emu.async_client() as client:
        assert client.time_scale == 1000
        assert (await client.lists.get(list_id)).name == "VIP"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_the_connection_is_a_connection_that_stays_wired() -> None:
    emu = ActiveCampaignEmulator(time_scale=10)
    conn = emu.connection("QA", accepted_by=None, export_user="qa@example.org")
    assert isinstance(conn, acx.Connection)
    assert not conn.has_consent
    consented = conn.accept_data_privacy_terms(accepted_by="qa@example.org")
    with consented.client() as client:
        assert client.time_scale == 10
        assert client.users.me().id == 1
    assert consented.host == "emulator.invalid"  # never a real account
    stored = acx.Connection.from_dict(consented.to_dict(), api_key=emu.api_key)
    assert type(stored) is acx.Connection
    assert stored.host == "emulator.invalid"
    assert emu.api_key not in repr(consented)
    # Options you pass win; those left at their defaults are wired.
    options = acx.ClientOptions(retry=acx.RetryPolicy.never())
    with consented.client(options) as client:
        assert client.retry == acx.RetryPolicy.never()
        assert client.time_scale == 10


def test_a_served_emulator_is_reached_over_its_socket() -> None:
    emu = ActiveCampaignEmulator(time_scale=1000)
    list_id = emu.add_list("VIP")
    with emu.serve() as base_url:
        conn = emu.connection(host=base_url)
        assert conn.host == base_url
        dest = acx.ExportDestination(conn, "VIP", list_id, MAPPING)
        report = acx.Exporter(dest).run(rows(300))
    assert report.exported == 300
    assert len(emu.list_members(list_id)) == 300


def test_a_time_scale_that_is_not_a_positive_number_is_refused() -> None:
    for bad in (0, -1.0, float("nan"), float("inf"), True, "10"):
        with pytest.raises(acx.ConfigurationError, match="time_scale"):
            acx.ClientOptions(time_scale=bad)  # type: ignore[arg-type]
        with pytest.raises(acx.ConfigurationError, match="time_scale"):
            acx.Client("acme.api-us1.com", "k", time_scale=bad)  # type: ignore[arg-type]


def test_demo_data_prints_the_ids_it_creates() -> None:
    """Before: ``--demo-data`` seeded lists and fields without saying their IDs."""
    process = subprocess.Popen(
        [sys.executable, "-m", "ac_segment_export.testing", "--port", "0", "--demo-data"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline().rstrip("\n") for _ in range(13)]
        base_url = lines[0]
        with httpx.Client(base_url=f"{base_url}/api/3", headers={"Api-Token": "test-key"}) as h:
            vip = h.get("/lists/2").json()["list"]["name"]
    finally:
        process.terminate()
        process.wait(timeout=10)
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdout.close()
        process.stderr.close()
    assert lines[2:] == [
        "Demo data:",
        "  list 1: Newsletter",
        "  list 2: VIP customers",
        "  field 1: Loyalty tier (personalization tag %LOYALTY_TIER%)",
        "  field 2: Signup date (personalization tag %SIGNUP_DATE%)",
        "  field 3: Favourite colour (personalization tag %FAVOURITE_COLOUR%)",
        "  contact 1: ana.ruiz@example.org (Newsletter: subscribed)",
        "  contact 2: ben.okafor@example.org (Newsletter: subscribed)",
        "  contact 3: chloe.martin@example.org (Newsletter: unsubscribed)",
        "  contact 4: dev.patel@example.org (Newsletter: unconfirmed)",
        "  excluded email: blocked@example.org",
    ]
    assert vip == "VIP customers"


def test_a_connection_of_your_own_gets_the_emulators_wiring() -> None:
    emu = ActiveCampaignEmulator(time_scale=1000)
    list_id = emu.add_list("VIP")
    own = acx.Connection("Own", "acme.api-us1.com", emu.api_key).accept_data_privacy_terms(
        accepted_by="qa@example.org"
    )
    dest = acx.ExportDestination(own, "VIP", list_id, MAPPING)
    with emu.client(host="acme.api-us1.com") as client:
        assert acx.Exporter(dest, client=client).run(rows(10)).exported == 10
    with own.client(emu.client_options()) as client:
        assert client.time_scale == 1000
        assert acx.Exporter(dest, client=client).run(rows(20)).exported == 20
    with emu.client() as other, pytest.raises(acx.ConfigurationError, match=r"emulator\.invalid"):
        acx.Exporter(dest, client=other).run(rows(1))
