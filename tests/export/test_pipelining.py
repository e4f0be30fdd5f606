"""Pipelined submission: several bulk-import requests on the wire, answers out of order."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import attrs
import httpx
import pytest

from ac_segment_export import (
    AsyncExporter,
    CancelToken,
    Exporter,
    FieldValueInput,
    FileCheckpoint,
    OutcomeStatus,
)
from ac_segment_export.testing import Faults

from .conftest import fast, make_async_client, make_client, make_emulator, profile

if TYPE_CHECKING:
    from pathlib import Path

    from ac_segment_export import ExportDestination, ExportReport
    from ac_segment_export.testing import ActiveCampaignEmulator

BULK = "/import/bulk_import"
#: Emulated seconds: 0.6 s ± 0.5 s an answer, at x100 (6 ms ± 5 ms real).
LATENCY = Faults(latency=0.6, latency_jitter=0.5)


def _emulator(**faults: Any) -> ActiveCampaignEmulator:
    emu = make_emulator(time_scale=100.0, faults=attrs.evolve(LATENCY, **faults))
    emu.add_list("VIP customers")
    emu.add_field("Tier", perstag="TIER")
    return emu


class Watch(httpx.BaseTransport):
    """Records when each bulk-import request starts and ends, by its first contact."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.lock = threading.Lock()
        self.started: list[str] = []
        self.ended: list[str] = []
        self.on_wire = 0
        self.most_on_wire = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        bulk = request.method == "POST" and request.url.path.endswith(BULK)
        if not bulk:
            return self.inner.handle_request(request)
        first = request.content[:60].decode(errors="replace")
        with self.lock:
            self.started.append(first)
            self.on_wire += 1
            self.most_on_wire = max(self.most_on_wire, self.on_wire)
        try:
            return self.inner.handle_request(request)
        finally:
            with self.lock:
                self.on_wire -= 1
                self.ended.append(first)


class AsyncWatch(httpx.AsyncBaseTransport):
    """:class:`Watch` for the async client."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.started: list[str] = []
        self.ended: list[str] = []
        self.on_wire = 0
        self.most_on_wire = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        bulk = request.method == "POST" and request.url.path.endswith(BULK)
        if not bulk:
            return await self.inner.handle_async_request(request)
        first = request.content[:60].decode(errors="replace")
        self.started.append(first)
        self.on_wire += 1
        self.most_on_wire = max(self.most_on_wire, self.on_wire)
        try:
            return await self.inner.handle_async_request(request)
        finally:
            self.on_wire -= 1
            self.ended.append(first)


def _list_matches(emu: ActiveCampaignEmulator, report: ExportReport, n: int) -> None:
    """The list holds every contact reported exported, and only segment contacts."""
    emu.settle()
    active = {e for e, s in emu.list_members(1).items() if s == 1}
    segment = {f"user{i}@example.com" for i in range(n)}
    assert active <= segment
    assert report.exported <= len(active) <= report.exported + report.counts["unknown"]
    assert report.counts["failed"] == 0


def test_requests_overlap_and_answers_arrive_out_of_order(
    destination: ExportDestination,
) -> None:
    emu = _emulator()
    watch = Watch(emu.transport())
    with make_client(emu, transport=watch) as client:
        report = Exporter(destination, client=client, options=fast()).run(
            profile(i) for i in range(5000)
        )
    assert report.balanced
    assert report.exported == 5000
    assert watch.most_on_wire > 1  # several requests on the wire at once
    assert watch.ended != watch.started  # and their answers came back out of order
    _list_matches(emu, report, 5000)


@pytest.mark.anyio
async def test_the_async_exporter_pipelines_too(destination: ExportDestination) -> None:
    emu = _emulator()
    watch = AsyncWatch(emu.transport())
    async with make_async_client(emu, transport=watch) as aclient:
        report = await AsyncExporter(destination, client=aclient, options=fast()).run(
            [profile(i) for i in range(5000)]
        )
    assert report.exported == 5000
    assert watch.most_on_wire > 1
    assert watch.ended != watch.started
    _list_matches(emu, report, 5000)


def test_one_request_at_a_time_when_asked(destination: ExportDestination) -> None:
    emu = _emulator()
    watch = Watch(emu.transport())
    with make_client(emu, transport=watch) as client:
        report = Exporter(destination, client=client, options=fast(max_requests_in_flight=1)).run(
            profile(i) for i in range(2000)
        )
    assert report.exported == 2000
    assert watch.most_on_wire == 1


def test_a_429_in_the_middle_of_a_pipeline_costs_nothing(destination: ExportDestination) -> None:
    emu = _emulator()
    emu.queue_fault("429", count=3, path=BULK)
    with make_client(emu) as client:
        report = Exporter(destination, client=client, options=fast()).run(
            profile(i) for i in range(4000)
        )
    assert report.exported == 4000
    assert report.rate_limited == 3
    _list_matches(emu, report, 4000)


def test_a_dropped_connection_on_one_of_several_requests(destination: ExportDestination) -> None:
    emu = _emulator()
    emu.queue_fault("drop_after_write", count=2, path=BULK)
    with make_client(emu) as client:
        report = Exporter(destination, client=client, options=fast()).run(
            profile(i) for i in range(4000)
        )
    assert report.balanced
    assert report.counts["failed"] == 0
    assert report.exported == 4000  # retried, and the retry's batch completed
    _list_matches(emu, report, 4000)


def test_a_whole_request_rejection_while_later_batches_are_in_flight(
    destination: ExportDestination,
) -> None:
    emu = _emulator()
    refused = {260, 270, 1900}
    with make_client(emu) as client:
        inner = destination.validate(client=client).mapper

        class Refusing:
            def map(self, p: Any) -> Any:
                mapped = inner.map(p)
                if int(p["email"][4:].split("@")[0]) in refused:
                    return mapped._replace(fields=(FieldValueInput(9999, "x"),))
                return mapped

        report = Exporter(destination, client=client, mapper=Refusing(), options=fast()).run(
            profile(i) for i in range(4000)
        )
    assert {o.position for o in report.by_status(OutcomeStatus.REJECTED)} == refused
    assert report.exported == 4000 - 3
    _list_matches(emu, report, 4000)


def test_a_checkpoint_with_several_batches_on_the_wire_resumes_exactly(
    destination: ExportDestination, tmp_path: Path
) -> None:
    emu = _emulator()
    path = tmp_path / "run.ckpt"
    token = CancelToken()
    started = 0
    inner = emu.transport()

    class CancelAfter(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            nonlocal started
            if request.method == "POST" and request.url.path.endswith(BULK):
                started += 1
                if started == 9:
                    token.cancel()
            return inner.handle_request(request)

    with make_client(emu, transport=CancelAfter()) as client:
        first = Exporter(
            destination,
            client=client,
            cancel=token,
            checkpoint=FileCheckpoint(path),
            options=fast(cancel_grace=0),
        ).run(profile(i) for i in range(6000))
    assert first.stopped_early
    assert first.balanced
    assert path.exists()
    with make_client(emu) as client:
        second = Exporter(
            destination, client=client, checkpoint=FileCheckpoint(path), options=fast()
        ).run(profile(i) for i in range(6000))
    assert second.balanced
    assert second.exported == 6000
    emu.settle()
    active = {e for e, s in emu.list_members(1).items() if s == 1}
    assert active == {f"user{i}@example.com" for i in range(6000)}
    assert not path.exists()


class CancelAt(httpx.BaseTransport):
    """Cancels *token* when the n-th bulk-import request starts."""

    def __init__(self, inner: httpx.BaseTransport, token: CancelToken, n: int) -> None:
        self.inner, self.token, self.n = inner, token, n
        self.started = 0
        self.lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith(BULK):
            with self.lock:
                self.started += 1
                if self.started == self.n:
                    self.token.cancel()
        return self.inner.handle_request(request)


def test_cancelling_with_requests_on_the_wire_reports_them_unknown(
    destination: ExportDestination,
) -> None:
    emu = _emulator(latency=5.0, latency_jitter=0.0)  # 50 ms real: requests stay on the wire
    token = CancelToken()
    with make_client(emu, transport=CancelAt(emu.transport(), token, 3)) as client:
        report = Exporter(
            destination, client=client, cancel=token, options=fast(cancel_grace=0)
        ).run(profile(i) for i in range(20000))
    assert report.stopped_early
    assert report.balanced
    assert report.counts["unknown"] >= 250, report.equation  # at least the one cancelled
    _list_matches(emu, report, 20000)
