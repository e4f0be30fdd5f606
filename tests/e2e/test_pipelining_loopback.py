"""Pipelined exports over a real socket, with ActiveCampaign's limits and a jittery network."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import ac_segment_export as acx
from ac_segment_export.testing import ActiveCampaignEmulator, Faults

#: x10: a 250-contact batch ends in 0.2 s real time; an answer takes 40 ms ± 30 ms real
#: (0.4 s ± 0.3 s emulated); the bulk window lets one request go every 61 ms.
SCALE = 10.0
KEY = "pipeline-key"
N = 250 * 16


def _emulator() -> ActiveCampaignEmulator:
    emu = ActiveCampaignEmulator(
        api_key=KEY, time_scale=SCALE, seed=11, faults=Faults(latency=0.4, latency_jitter=0.3)
    )
    emu.add_list("VIP customers")
    return emu


def _destination(url: str) -> acx.ExportDestination:
    connection = acx.Connection("Loopback", url, KEY).accept_data_privacy_terms(
        accepted_by="admin@example.com"
    )
    return acx.ExportDestination(
        connection, "VIP export", 1, acx.FieldMapping(email="email", first_name="first")
    )


def _options(**changes: Any) -> acx.ExportOptions:
    return acx.ExportOptions(
        first_poll_delay=1.0 / SCALE, poll_interval=2.0 / SCALE, cancel_grace=30.0 / SCALE
    ).replace(**changes)


def _rows(n: int = N) -> list[dict[str, str]]:
    return [{"email": f"user{i}@example.com", "first": "Ana"} for i in range(n)]


def _client_options() -> dict[str, Any]:
    # At x10 a millisecond between a request's slot and its arrival (a new connection, the
    # GIL's 5 ms switch interval, a busy machine) is a hundredth of a second emulated:
    # measured here, two requests arrived 5 ms real apart. So the test keeps five times the
    # default headroom and tolerates the odd 429 (retried, nothing lost); a pacing fault
    # shows as dozens. The x1 benchmarks give the real figure (docs/benchmarks.md).
    limits = acx.RateLimits(headroom=0.25).scaled(SCALE)
    return {"rate_limits": limits, "retry": acx.RetryPolicy.for_tests()}


def _check_list(emu: ActiveCampaignEmulator, report: acx.ExportReport) -> None:
    emu.settle()
    active = {e for e, s in emu.list_members(1).items() if s == 1}
    assert active <= {f"user{i}@example.com" for i in range(N)}
    assert report.exported <= len(active) <= report.exported + report.counts["unknown"]
    assert report.counts["failed"] == 0


def test_sync_pipelined_export_over_a_socket_keeps_the_limits() -> None:
    emu = _emulator()
    with emu.serve() as url, acx.Client(url, KEY, **_client_options()) as client:
        report = acx.Exporter(_destination(url), client=client, options=_options()).run(_rows())
    assert report.balanced
    assert report.exported == N
    assert report.rate_limited <= 3  # several requests on the wire, within the account's window
    assert report.batches == N // 250
    _check_list(emu, report)


@pytest.mark.anyio
async def test_async_pipelined_export_over_a_socket_keeps_the_limits() -> None:
    emu = _emulator()
    with emu.serve() as url:
        async with acx.AsyncClient(url, KEY, **_client_options()) as client:
            exporter = acx.AsyncExporter(_destination(url), client=client, options=_options())
            report = await exporter.run(_rows())
    assert report.balanced
    assert report.exported == N
    assert report.rate_limited <= 3
    _check_list(emu, report)


@pytest.mark.anyio
async def test_cancelling_the_async_task_with_requests_on_the_wire() -> None:
    """The cancelled task's report is balanced and the list holds what it claims."""
    emu = _emulator()
    with emu.serve() as url:
        async with acx.AsyncClient(url, KEY, **_client_options()) as client:
            exporter = acx.AsyncExporter(_destination(url), client=client, options=_options())
            task = asyncio.ensure_future(exporter.run(_rows()))
            while sum(1 for r in emu.requests if r.path == "/import/bulk_import") < 5:  # noqa: ASYNC110 - polls the emulator's record, not an event
                await asyncio.sleep(0.005)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
    report = exporter.last_report
    assert report is not None
    assert report.stopped_early
    assert report.balanced
    assert report.exported < N
    assert report.counts["not_attempted"] > 0
    _check_list(emu, report)
