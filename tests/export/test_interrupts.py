"""Ctrl-C in the sync exporter, and the progress bar."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from ac_segment_export import ExportAbortedError, Exporter, OutcomeStatus

from .conftest import fast, profile

if TYPE_CHECKING:
    from ac_segment_export import Client, ExportDestination
    from ac_segment_export.testing import ActiveCampaignEmulator


def test_ctrl_c_during_a_request_raises_with_the_partial_report(
    emu: ActiveCampaignEmulator,
    destination: ExportDestination,
    client: Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ctrl-C while a bulk request is out: ExportAbortedError carries a balanced report."""
    real_call = client._call_doubt  # what the exporter sends bulk imports through
    submits = 0

    def call(op: Any, *args: Any) -> Any:
        nonlocal submits
        if op.spec.path == "import/bulk_import":
            submits += 1
            if submits == 3:
                raise KeyboardInterrupt
        return real_call(op, *args)

    monkeypatch.setattr(client, "_call_doubt", call)
    with pytest.raises(ExportAbortedError) as caught:
        Exporter(destination, client=client, options=fast()).run([profile(i) for i in range(2000)])
    report = caught.value.report
    assert isinstance(caught.value.__cause__, KeyboardInterrupt)
    assert report.stopped_early
    assert report.balanced
    assert report.input_count <= 2000
    # The batch whose request was interrupted may or may not have reached ActiveCampaign.
    unknown = report.by_status(OutcomeStatus.UNKNOWN)
    assert len(unknown) >= 250
    assert report.exported + len(unknown) + report.counts["not_attempted"] == (report.input_count)
    # What reached ActiveCampaign is the exported profiles plus some of the unknown ones.
    assert report.exported <= len(emu.list_members(1)) <= report.exported + len(unknown)


def test_ctrl_c_inside_the_engine_still_accounts_for_every_profile(
    destination: ExportDestination, client: Client
) -> None:
    """Ctrl-C raised in the engine's own code (a progress callback) loses no profile."""
    ticks = 0

    def on_progress(_: object) -> None:
        nonlocal ticks
        ticks += 1
        if ticks == 1:  # the first tick comes from inside the engine, early in the run
            raise KeyboardInterrupt

    with pytest.raises(ExportAbortedError) as caught:
        Exporter(destination, client=client, on_progress=on_progress, options=fast()).run(
            [profile(i) for i in range(3000)]
        )
    report = caught.value.report
    assert report.stopped_early
    assert report.balanced
    assert report.exported < 3000
    assert report.accounted == report.input_count


def test_a_failing_progress_callback_does_not_stop_the_export(
    destination: ExportDestination, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    """An exception in on_progress is logged; the export carries on to the end."""

    def on_progress(_: object) -> None:
        raise ValueError("broken dashboard")

    report = Exporter(destination, client=client, on_progress=on_progress, options=fast()).run(
        [profile(i) for i in range(600)]
    )
    assert report.exported == 600
    assert not report.stopped_early
    assert "on_progress raised" in caplog.text


def test_progress_bar_renders(
    destination: ExportDestination, client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    """progress=True draws a tqdm bar that ends at the number of settled profiles."""
    pytest.importorskip("tqdm")
    report = Exporter(destination, client=client, progress=True, options=fast()).run(
        [profile(i) for i in range(600)]
    )
    assert report.exported == 600
    err = capsys.readouterr().err
    assert "VIP export" in err
    assert "600/600" in err
