"""Limits, cancellation, resume, sources of several kinds, the report, and a real socket."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest

from ac_segment_export import (
    AsyncExporter,
    CancelToken,
    Client,
    ClientOptions,
    ConfigurationError,
    Connection,
    ExportDestination,
    Exporter,
    FileCheckpoint,
    OutcomeStatus,
    Progress,
    RateLimits,
    RetryPolicy,
)

from .conftest import API_KEY, MAPPING, consented, fast, profile

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
    from pathlib import Path

    from ac_segment_export import AsyncClient
    from ac_segment_export.testing import ActiveCampaignEmulator


def sent_emails(emu: ActiveCampaignEmulator) -> list[str]:
    """Every email sent in a bulk import or a contact/sync, in order."""
    out: list[str] = []
    for r in emu.requests:
        if r.path == "/import/bulk_import":
            out += [c["email"] for c in r.json["contacts"]]
        elif r.path == "/contact/sync":
            out.append(r.json["contact"]["email"])
    return out


# -- limits ----------------------------------------------------------------------------------


def test_a_sized_source_over_the_limit_fails_before_any_request(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client
) -> None:
    """len(source) > max_profiles: ConfigurationError naming the limit, and no request."""
    with pytest.raises(ConfigurationError, match="max_profiles"):
        Exporter(destination, client=client, options=fast(max_profiles=10)).run(
            [profile(i) for i in range(11)]
        )
    assert emu.requests == []


def test_a_generator_over_the_limit_stops_at_it(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client
) -> None:
    """An endless generator: max_profiles exported, reading stops, the rest not attempted."""
    pulled = 0

    def endless() -> Iterator[dict[str, Any]]:
        nonlocal pulled
        while True:
            yield profile(pulled)
            pulled += 1

    report = Exporter(destination, client=client, options=fast(max_profiles=300)).run(endless())
    assert report.exported == 300
    assert report.stopped_early
    assert "max_profiles (300)" in (report.stop_reason or "")
    assert report.counts["not_attempted"] == report.input_count - 300 >= 1
    assert pulled <= 301
    assert report.balanced
    assert len(emu.list_members(1)) == 300


# -- cancellation ----------------------------------------------------------------------------


def test_cancel_from_on_progress_stops_cleanly(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client
) -> None:
    """Cancelled at the first progress tick: in-flight batches end, the rest not attempted."""
    token = CancelToken()
    ticks: list[Progress] = []

    def on_progress(p: Progress) -> None:
        ticks.append(p)
        token.cancel()

    report = Exporter(
        destination, client=client, cancel=token, on_progress=on_progress, options=fast()
    ).run([profile(i) for i in range(2000)])
    assert report.stopped_early
    assert report.stop_reason == "cancelled"
    assert report.balanced
    assert report.input_count < 2000
    assert report.counts["unknown"] == 0  # the grace period let the batch in flight end
    assert report.exported == 250
    assert report.counts["not_attempted"] == report.input_count - 250
    assert len(emu.list_members(1)) == 250
    assert ticks[-1].exported == 250


def test_cancel_from_another_thread(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client
) -> None:
    """A CancelToken cancelled by a timer thread ends a slow-source run with a balanced report."""
    token = CancelToken()

    def slow() -> Iterator[dict[str, Any]]:
        for i in range(100_000):
            if i % 100 == 0:
                time.sleep(0.002)
            yield profile(i)

    timer = threading.Timer(0.1, token.cancel)
    timer.start()
    try:
        report = Exporter(destination, client=client, cancel=token, options=fast()).run(slow())
    finally:
        timer.cancel()
    assert report.stopped_early
    assert report.balanced
    assert 0 < report.input_count < 100_000
    members = emu.list_members(1)
    assert len(members) == report.exported
    assert report.exported + report.counts["not_attempted"] == report.input_count


@pytest.mark.anyio
async def test_async_task_cancellation_keeps_the_partial_report(
    emu: ActiveCampaignEmulator, destination: ExportDestination, aclient: AsyncClient
) -> None:
    """Cancelling the task raises CancelledError; last_report accounts for every profile read."""

    async def slow() -> AsyncIterator[dict[str, Any]]:
        for i in range(100_000):
            if i % 100 == 0:
                await asyncio.sleep(0.002)
            yield profile(i)

    exporter = AsyncExporter(destination, client=aclient, options=fast())
    task = asyncio.ensure_future(exporter.run(slow()))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    report = exporter.last_report
    assert report is not None
    assert report.stopped_early
    assert report.balanced
    assert 0 < report.input_count < 100_000
    done = report.exported + report.counts["unknown"]
    assert report.exported <= len(emu.list_members(1)) <= done


# -- resume ----------------------------------------------------------------------------------


def test_resume_skips_confirmed_profiles(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client, tmp_path: Path
) -> None:
    """Interrupted run, then a re-run with the same checkpoint: only the rest is sent."""
    rows = [profile(i) for i in range(1200)]
    rows[7] = {"email": "broken"}
    rows[9] = profile(3)
    path = tmp_path / "export.ckpt"
    token = CancelToken()
    first = Exporter(
        destination,
        client=client,
        cancel=token,
        on_progress=lambda p: token.cancel(),
        checkpoint=FileCheckpoint(path, min_interval=0),
        options=fast(),
    ).run(rows)
    assert first.stopped_early
    assert first.exported == 250  # one batch: positions 0-251 less the two bad ones
    saved = json.loads(path.read_text())
    assert saved["position"] == 252  # profiles from 252 on were not sent: not confirmed
    journal = [
        json.loads(line) for line in (tmp_path / "export.ckpt.outcomes").read_text().splitlines()
    ]
    kept = {o["position"] for o in journal if o["status"] != "not_attempted"}
    assert kept == {7, 9}
    emu.reset_requests()

    second = Exporter(
        destination, client=client, checkpoint=FileCheckpoint(path, min_interval=0), options=fast()
    ).run(rows)
    assert second.resumed_from == 252
    assert second.balanced
    assert second.input_count == 1200
    assert second.exported == 1198
    assert {o.position: o.status for o in second.outcomes} == {
        7: OutcomeStatus.REJECTED,
        9: OutcomeStatus.DUPLICATE,
    }
    again = sent_emails(emu)
    assert len(again) == 948
    assert again[0] == "user252@example.com"
    assert len(emu.list_members(1, status=1)) == 1198
    assert not path.exists()  # the export finished: the checkpoint is cleared


@pytest.mark.anyio
async def test_resume_after_task_cancellation_async(
    emu: ActiveCampaignEmulator,
    destination: ExportDestination,
    aclient: AsyncClient,
    tmp_path: Path,
) -> None:
    """Async: a cancelled task leaves a checkpoint; the re-run completes the export."""
    rows = [profile(i) for i in range(3000)]
    path = tmp_path / "export.ckpt"

    async def slow() -> AsyncIterator[dict[str, Any]]:
        for i, row in enumerate(rows):
            if i % 100 == 0:
                await asyncio.sleep(0.002)
            yield row

    exporter = AsyncExporter(
        destination, client=aclient, checkpoint=FileCheckpoint(path, min_interval=0), options=fast()
    )
    task = asyncio.ensure_future(exporter.run(slow()))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert path.exists()
    resumed_from = json.loads(path.read_text())["position"]
    assert exporter.last_report is not None
    assert resumed_from <= exporter.last_report.exported
    report = await AsyncExporter(
        destination, client=aclient, checkpoint=FileCheckpoint(path), options=fast()
    ).run(slow())
    assert report.resumed_from == resumed_from
    assert report.exported == 3000
    assert report.balanced
    assert len(emu.list_members(1, status=1)) == 3000


# -- sources ---------------------------------------------------------------------------------


def _csv_rows(n: int) -> csv.DictReader[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["email", "first", "last", "phone", "tier"])
    writer.writeheader()
    for i in range(n):
        writer.writerow(
            {
                "email": f"user{i}@example.com",
                "first": f"Fïrst{i}",
                "last": "",
                "phone": "",
                "tier": "gold",
            }
        )
    buffer.seek(0)
    return csv.DictReader(buffer)


@pytest.mark.parametrize("kind", ["list", "generator", "csv"])
def test_sources_of_several_kinds(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client, kind: str
) -> None:
    """A list, a generator and a csv.DictReader over StringIO export the same way."""
    source: Any = {
        "list": lambda: [profile(i, tier="gold") for i in range(300)],
        "generator": lambda: (profile(i, tier="gold") for i in range(300)),
        "csv": lambda: _csv_rows(300),
    }[kind]()
    report = Exporter(destination, client=client, options=fast()).run(source)
    assert report.exported == 300
    assert report.balanced
    contact = emu.contact_by_email("user299@example.com")
    assert contact is not None
    assert contact.lists == {1: 1}
    assert contact.fields == {1: "gold"}


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["list", "async generator"])
async def test_async_sources(
    emu: ActiveCampaignEmulator, destination: ExportDestination, aclient: AsyncClient, kind: str
) -> None:
    """The async exporter takes plain iterables and async iterables."""

    async def agen() -> AsyncIterator[dict[str, Any]]:
        for i in range(300):
            yield profile(i)

    source: Any = [profile(i) for i in range(300)] if kind == "list" else agen()
    report = await AsyncExporter(destination, client=aclient, options=fast()).run(source)
    assert report.exported == 300
    assert report.balanced
    assert len(emu.list_members(1)) == 300


# -- the report ------------------------------------------------------------------------------


def test_the_report_renders(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client
) -> None:
    """to_dict/to_json/repr/_repr_html_ carry the counts, the list and the user."""
    rows = [profile(0), {"email": "<b>bad</b>"}, profile(0)]
    report = Exporter(destination, client=client, options=fast()).run(rows)
    data = report.to_dict()
    assert data["counts"]["exported"] == 1
    assert data["counts"]["rejected"] == 1
    assert data["counts"]["duplicate"] == 1
    assert data["input"] == 3
    assert data["balanced"] is True
    assert data["list_name"] == "VIP customers"
    assert data["export_user"] == "exporter@example.com"
    assert [o["position"] for o in data["outcomes"]] == [1, 2]
    assert json.loads(report.to_json()) == data
    assert "test-key" not in report.to_json()
    text = repr(report)
    assert "exported=1" in text
    assert "balanced=True" in text
    html = report._repr_html_()
    assert "VIP customers" in html
    assert "<b>" not in html
    assert "input 3 = exported 1 + rejected 1 + duplicate 1" in report.equation


def test_request_counts_are_per_run_with_a_reused_client(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client
) -> None:
    """Two runs on one client: each report counts its own requests only."""
    Exporter(destination, client=client, options=fast()).run([profile(i) for i in range(20)])
    emu.reset_requests()
    report = Exporter(destination, client=client, options=fast()).run(
        [profile(i) for i in range(20)]
    )
    assert report.requests == len(emu.requests)


# -- a real socket ---------------------------------------------------------------------------


def test_end_to_end_over_a_real_socket(emu: ActiveCampaignEmulator) -> None:
    """emu.serve(): a consented connection to the loopback URL exports through real HTTP."""
    with emu.serve() as base_url:
        connection = consented(Connection("Local", base_url, API_KEY))
        destination = ExportDestination(connection, "VIP export", 1, MAPPING)
        options = ClientOptions(retry=RetryPolicy.for_tests(), rate_limits=RateLimits.unlimited())
        with connection.client(options) as client:
            assert isinstance(client, Client)
            report = Exporter(destination, client=client, options=fast()).run(
                [profile(i) for i in range(260)] + [{"email": "nope"}]
            )
    assert report.exported == 260
    assert report.counts["rejected"] == 1
    assert report.balanced
    assert len(emu.list_members(1, status=1)) == 260
