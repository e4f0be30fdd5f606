"""Checkpoints: saved per confirmed batch, ranges above the low-water mark, the input digest."""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from ac_segment_export import (
    CheckpointMismatchError,
    CheckpointState,
    ExportAbortedError,
    Exporter,
    FileCheckpoint,
    OutcomeStatus,
    RecordOutcome,
)

from .conftest import fast, profile, writes

if TYPE_CHECKING:
    from pathlib import Path

    from ac_segment_export import Client, ExportDestination
    from ac_segment_export.testing import ActiveCampaignEmulator


class Snapshots(FileCheckpoint):
    """A file checkpoint that keeps a copy of its files after every save: what a SIGKILL
    at that moment would leave behind."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.copies: list[Path] = []

    def flush(self) -> None:
        super().flush()
        n = len(self.copies)
        copy = self.path.with_name(f"snap{n}.ckpt")
        shutil.copy(self.path, copy)
        if self.journal.exists():
            shutil.copy(self.journal, copy.with_name(copy.name + ".outcomes"))
        self.copies.append(copy)


def _bulk_contacts(emu: ActiveCampaignEmulator) -> list[str]:
    return [
        c["email"]
        for r in emu.requests
        if r.method == "POST" and r.path == "/import/bulk_import" and r.status == 200
        for c in r.json["contacts"]
    ]


def test_a_checkpoint_is_saved_after_every_confirmed_batch(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client, tmp_path: Path
) -> None:
    checkpoint = Snapshots(tmp_path / "run.ckpt")
    report = Exporter(destination, client=client, checkpoint=checkpoint, options=fast()).run(
        [profile(i) for i in range(2500)]
    )
    assert report.exported == 2500
    assert len(checkpoint.copies) >= 10  # one a batch
    positions = [json.loads(p.read_text())["position"] for p in checkpoint.copies]
    assert positions == sorted(positions)
    assert positions[-1] == 2500


class HoldFirstBatch(httpx.BaseTransport):
    """Says the batch of the first profiles is still ``active`` until five others completed."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.first: str | None = None
        self.completed: set[str] = set()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        path = request.url.path
        if path.endswith("/import/bulk_import") and request.method == "POST":
            response.read()
            first_contact = json.loads(request.content)["contacts"][0]["email"]
            if response.status_code == 200 and first_contact == "user0@example.com":
                self.first = response.json()["batchId"]
        elif path.endswith("/import/info"):
            batch = request.url.params["batchId"]
            response.read()
            if batch == self.first and len(self.completed) < 5:
                return httpx.Response(200, json={"status": "active", "success": [], "failure": []})
            if response.json().get("status") == "completed":
                self.completed.add(batch)
        return response


def test_a_kill_at_any_save_resends_only_unconfirmed_batches(
    destination: ExportDestination, tmp_path: Path
) -> None:
    """The first batch is slow while the next ones complete: the checkpoint records them
    above the held-back mark, and a resume from that moment sends none of them again."""
    from .conftest import make_client, make_emulator

    rows = [profile(i) for i in range(2000)]
    emu = make_emulator()
    emu.add_list("VIP customers")
    emu.add_field("Tier", perstag="TIER")
    checkpoint = Snapshots(tmp_path / "run.ckpt")
    with make_client(emu, transport=HoldFirstBatch(emu.transport())) as client:
        Exporter(destination, client=client, checkpoint=checkpoint, options=fast()).run(rows)
    held = [
        json.loads(p.read_text())
        for p in checkpoint.copies
        if json.loads(p.read_text())["position"] == 0
    ]
    assert held  # saves while the first batch was still being resubmitted
    assert held[-1]["settled"]  # ... with the later batches recorded above the mark
    snapshot = checkpoint.copies[len(held) - 1]  # the last save before the mark moved on
    state = json.loads(snapshot.read_text())
    confirmed = set(range(state["position"]))
    for start, end in state["settled"]:
        confirmed.update(range(start, end))

    # Resume from that moment, on a fresh account holding what the killed run had imported.
    fresh = make_emulator()
    fresh.add_list("VIP customers")
    fresh.add_field("Tier", perstag="TIER")
    resume_path = tmp_path / "resume.ckpt"
    shutil.copy(snapshot, resume_path)
    journal = snapshot.with_name(snapshot.name + ".outcomes")
    if journal.exists():
        shutil.copy(journal, resume_path.with_name(resume_path.name + ".outcomes"))
    with make_client(fresh) as client:
        report = Exporter(
            destination, client=client, checkpoint=FileCheckpoint(resume_path), options=fast()
        ).run(rows)
    assert report.balanced
    assert report.exported == 2000
    sent = {int(e[4:].split("@")[0]) for e in _bulk_contacts(fresh)}
    assert sent.isdisjoint(confirmed)  # no confirmed contact is sent again
    assert sent == set(range(2000)) - confirmed
    assert 0 in sent  # the held-back first batch is


def test_resume_refuses_another_input_before_sending_anything(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client, tmp_path: Path
) -> None:
    path = tmp_path / "run.ckpt"
    rows = [profile(i) for i in range(5000)]
    with pytest.raises(ExportAbortedError):
        Exporter(destination, client=client, checkpoint=FileCheckpoint(path), options=fast()).run(
            _then_fail(rows, 2750)
        )
    emu.reset_requests()
    other = [profile(i + 100_000) for i in range(5000)]
    with pytest.raises(CheckpointMismatchError) as caught:
        Exporter(destination, client=client, checkpoint=FileCheckpoint(path), options=fast()).run(
            other
        )
    assert "Nothing was sent" in str(caught.value)
    assert not writes(emu)
    shorter = rows[:100]
    with pytest.raises(CheckpointMismatchError, match="ended after 100"):
        Exporter(destination, client=client, checkpoint=FileCheckpoint(path), options=fast()).run(
            shorter
        )
    assert not writes(emu)
    # The right input still resumes.
    report = Exporter(
        destination, client=client, checkpoint=FileCheckpoint(path), options=fast()
    ).run(rows)
    assert report.exported == 5000
    assert len(emu.list_members(1)) == 5000


def _then_fail(rows: list[dict[str, Any]], at: int) -> Any:
    for i, row in enumerate(rows):
        if i == at:
            raise ConnectionError("gone")
        yield row


def test_a_resumed_run_gives_the_sink_every_exported_profile(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client, tmp_path: Path
) -> None:
    path = tmp_path / "run.ckpt"
    rows = [profile(i) for i in range(1600)]
    rows[5] = {"email": "not an email"}
    with pytest.raises(ExportAbortedError):
        Exporter(destination, client=client, checkpoint=FileCheckpoint(path), options=fast()).run(
            _then_fail(rows, 900)
        )
    got: list[RecordOutcome] = []
    report = Exporter(
        destination,
        client=client,
        checkpoint=FileCheckpoint(path),
        exported_sink=got.append,
        options=fast(),
    ).run(rows)
    assert report.exported == 1599
    assert sorted(o.position for o in got) == [i for i in range(1600) if i != 5]
    assert {o.email for o in got if o.position == 0} == {"user0@example.com"}
    assert [o.position for o in report.by_status(OutcomeStatus.REJECTED)] == [5]


def test_sigterm_stops_like_ctrl_c_with_a_saved_checkpoint(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client, tmp_path: Path
) -> None:
    path = tmp_path / "run.ckpt"
    fired = threading.Event()

    def rows() -> Any:
        for i in range(5000):
            if i == 1500 and not fired.is_set():
                fired.set()
                threading.Timer(0.0, os.kill, (os.getpid(), signal.SIGTERM)).start()
            yield profile(i)

    previous = signal.getsignal(signal.SIGTERM)
    with pytest.raises(ExportAbortedError) as caught:
        Exporter(destination, client=client, checkpoint=FileCheckpoint(path), options=fast()).run(
            rows()
        )
    assert signal.getsignal(signal.SIGTERM) is previous  # the handler is put back
    report = caught.value.report
    assert report.balanced
    assert report.stopped_early
    assert path.exists()
    saved = json.loads(path.read_text())
    assert saved["position"] <= report.exported + report.counts["rejected"]


def test_file_checkpoint_round_trip_keeps_settled_outcomes_only(tmp_path: Path) -> None:
    path = tmp_path / "c.ckpt"
    checkpoint = FileCheckpoint(path)
    assert checkpoint.bind("export-1") is None
    outcomes = [
        RecordOutcome(3, "a@example.com", OutcomeStatus.REJECTED, "bad"),
        RecordOutcome(600, "b@example.com", OutcomeStatus.UNKNOWN, "in flight"),
        RecordOutcome(700, "c@example.com", OutcomeStatus.DUPLICATE, "dup"),
        RecordOutcome(900, "d@example.com", OutcomeStatus.FAILED, "above the ranges"),
    ]
    state = CheckpointState(
        "export-1", 500, outcomes, settled=((600, 610), (700, 750)), digest="ab", extent=750
    )
    checkpoint.save(state)
    loaded = FileCheckpoint(path).bind("export-1")
    assert loaded is not None
    assert loaded.position == 500
    assert loaded.settled == ((600, 610), (700, 750))
    assert (loaded.digest, loaded.extent) == ("ab", 750)
    # unknown ones are sent again; outcomes the state does not cover are not kept
    assert [o.position for o in loaded.outcomes] == [3, 700]
    assert loaded.covers(499)
    assert loaded.covers(705)
    assert not loaded.covers(650)


def test_a_checkpoint_for_another_export_is_refused(tmp_path: Path) -> None:
    from ac_segment_export import ConfigurationError

    path = tmp_path / "c.ckpt"
    checkpoint = FileCheckpoint(path)
    checkpoint.bind("export-1")
    checkpoint.save(CheckpointState("export-1", 10))
    with pytest.raises(ConfigurationError, match="belongs to another export"):
        FileCheckpoint(path).bind("export-2")
