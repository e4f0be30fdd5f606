"""Running saved exports: one history row a run, with its status, counts and full report."""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Any

import pytest

from ac_segment_export import (
    Actor,
    ClientOptions,
    ConsentRequiredError,
    ExportAbortedError,
    ExportDestination,
    NotFoundError,
    PermissionDeniedError,
    RateLimits,
    RetryPolicy,
    RunStatus,
    SecretNotFoundError,
    Workspace,
)

from .conftest import FAST, KEY_ENV, MAPPING, NAME, client_options, rows, sent_emails

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from ac_segment_export import Connection
    from ac_segment_export.testing import ActiveCampaignEmulator


def test_a_successful_run_has_its_row_and_report(ws: Workspace) -> None:
    report = ws.run(NAME, rows(20), actor=Actor.admin("ada@example.com"))
    assert report.exported == 20
    (row,) = ws.history()
    assert row.status is RunStatus.SUCCEEDED
    assert row.export == NAME
    assert row.actor == "ada@example.com"
    assert row.input == 20
    assert row.exported == 20
    assert row.counts == report.counts
    assert row.requests == report.requests > 0
    assert row.retries == 0
    assert row.rate_limited == 0
    assert row.duration is not None
    assert row.duration > 0
    assert row.full_refresh is True  # the first run of an export sends everything
    assert row.finished_at is not None
    assert row.finished_at >= row.started_at
    assert row.error is None
    assert ws.run_report(row.id) == report.to_dict()


def test_failed_profiles_are_a_status_with_every_outcome_in_the_report(
    ws: Workspace, emu: ActiveCampaignEmulator
) -> None:
    emu.exclude_email("user3@example.com")
    profiles = [*rows(12), {"email": "not-an-email", "first": "X"}]
    report = ws.run(NAME, profiles)
    (row,) = ws.history()
    assert row.status is RunStatus.FAILED_PROFILES
    assert row.counts["exported"] == 11
    assert row.counts["failed"] == 1
    assert row.counts["rejected"] == 1
    stored = ws.run_report(row.id)
    outcomes = {o["email"]: o for o in stored["outcomes"]}
    assert outcomes["user3@example.com"]["status"] == "failed"
    assert outcomes["not-an-email"]["status"] == "rejected"
    assert outcomes["not-an-email"]["reason"]
    assert stored["counts"] == report.counts


def test_ctrl_c_is_an_aborted_run_with_its_partial_report(ws: Workspace) -> None:
    def source() -> Iterator[dict[str, Any]]:
        yield from rows(600)
        raise KeyboardInterrupt

    with pytest.raises(ExportAbortedError) as caught:
        ws.run(NAME, source())
    (row,) = ws.history()
    assert row.status is RunStatus.ABORTED
    partial = caught.value.report
    assert row.input == partial.input_count > 0
    assert row.counts == partial.counts
    assert "interrupted" in (row.error or "")
    assert ws.run_report(row.id)["balanced"] is True
    # Only what ActiveCampaign confirmed is in the sync state: the next run sends the rest.
    assert ws.synced_contacts(NAME) == partial.exported
    again = ws.run(NAME, rows(600))
    assert again.exported == 600 - partial.exported
    assert again.counts["unchanged"] == partial.exported


def test_a_run_without_consent_is_refused_and_sends_nothing(
    ws: Workspace, emu: ActiveCampaignEmulator, connection: Connection
) -> None:
    ws.save_connection(connection.revoke_consent("dpo@example.com"), api_key_env=KEY_ENV)
    with pytest.raises(ConsentRequiredError, match="revoked"):
        ws.run(NAME, rows(5))
    assert emu.requests == []
    (row,) = ws.history()
    assert row.status is RunStatus.REFUSED
    assert "revoked" in (row.error or "")
    assert row.input == 0
    with pytest.raises(Exception, match="has no report"):
        ws.run_report(row.id)


def test_a_missing_key_variable_refuses_the_run(
    tmp_path: Path, emu: ActiveCampaignEmulator, connection: Connection
) -> None:
    with Workspace(tmp_path / "ws.db", environ={}, client_options=client_options(emu)) as ws:
        ws.save_connection(connection, api_key_env=KEY_ENV)
        ws.save_export(ExportDestination(connection, NAME, 1, MAPPING), options=FAST)
        with pytest.raises(SecretNotFoundError, match=KEY_ENV):
            ws.run(NAME, rows(5))
        assert emu.requests == []
        (row,) = ws.history()
        assert row.status is RunStatus.REFUSED
        assert KEY_ENV in (row.error or "")


def test_a_contributor_on_an_admins_connection_is_refused(
    ws: Workspace, emu: ActiveCampaignEmulator
) -> None:
    with pytest.raises(PermissionDeniedError):
        ws.run(NAME, rows(5), actor=Actor.contributor("carl@example.com"))
    assert emu.requests == []
    assert ws.history()[0].status is RunStatus.REFUSED


def test_an_api_error_before_sending_is_an_aborted_run(
    ws: Workspace, connection: Connection
) -> None:
    ws.save_export(ExportDestination(connection, "Gone", 99, MAPPING), options=FAST)
    with pytest.raises(NotFoundError, match="List 99"):
        ws.run("Gone", rows(2))
    assert ws.history("Gone")[0].status is RunStatus.ABORTED


def test_an_unknown_export_is_a_clear_error(ws: Workspace) -> None:
    with pytest.raises(Exception, match="No saved export is named 'Nope'"):
        ws.run("Nope", rows(1))


def test_history_filters_by_export_and_limits_newest_first(
    ws: Workspace, connection: Connection
) -> None:
    ws.save_export(ExportDestination(connection, "Other", 1, MAPPING), options=FAST)
    for i in range(3):
        ws.run(NAME, rows(2, start=i * 10))
        ws.run("Other", rows(1, start=100 + i))
    everything = ws.history()
    assert len(everything) == 6
    assert [r.id for r in everything] == sorted((r.id for r in everything), reverse=True)
    mine = ws.history(NAME, limit=2)
    assert [r.export for r in mine] == [NAME, NAME]
    assert mine[0].id > mine[1].id
    with pytest.raises(Exception, match="positive integer"):
        ws.history(limit=0)


def test_removing_an_export_keeps_its_history(ws: Workspace) -> None:
    ws.run(NAME, rows(2))
    ws.remove_export(NAME)
    assert ws.history(NAME)[0].exported == 2


@pytest.mark.anyio
async def test_arun_records_like_run(ws: Workspace) -> None:
    async def source() -> Any:
        for row in rows(30):
            yield row

    report = await ws.arun(NAME, source())
    assert report.exported == 30
    again = await ws.arun(NAME, rows(30))
    assert again.counts["unchanged"] == 30
    statuses = [r.status for r in ws.history()]
    assert statuses == [RunStatus.SUCCEEDED, RunStatus.SUCCEEDED]


@pytest.mark.anyio
async def test_a_cancelled_arun_is_an_aborted_run(ws: Workspace) -> None:
    started = asyncio.Event()

    async def source() -> Any:
        for row in rows(600):  # the first 500 reach the engine; the rest wait with the reader
            yield row
        started.set()
        await asyncio.sleep(30)
        yield rows(1, start=999)[0]

    task = asyncio.ensure_future(ws.arun(NAME, source()))
    await asyncio.wait_for(started.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (row,) = ws.history()
    assert row.status is RunStatus.ABORTED
    assert row.input == 500
    assert ws.run_report(row.id)["balanced"] is True
    assert ws.synced_contacts(NAME) == row.exported  # only what was confirmed


def test_a_run_over_loopback_http(
    tmp_path: Path, emu: ActiveCampaignEmulator, connection: Connection
) -> None:
    options = ClientOptions(retry=RetryPolicy.for_tests(), rate_limits=RateLimits.unlimited())
    with emu.serve() as base_url:
        local = connection.edit(Actor.admin("ada@example.com"), host=base_url)
        local = local.accept_data_privacy_terms("ada@example.com")
        os.environ[KEY_ENV] = local.api_key.reveal()
        try:
            with Workspace(tmp_path / "ws.db", client_options=options) as ws:
                ws.save_connection(local, api_key_env=KEY_ENV)
                ws.save_export(ExportDestination(local, NAME, 1, MAPPING), options=FAST)
                first = ws.run(NAME, rows(300))
                changed = rows(300)
                for row in changed[:10]:
                    row["tier"] = "platinum"
                emu.reset_requests()
                second = ws.run(NAME, changed)
                assert first.exported == 300
                assert second.exported == 10
                assert second.counts["unchanged"] == 290
                assert sorted(sent_emails(emu)) == sorted(r["email"] for r in changed[:10])
                assert [r.status for r in ws.history()] == [RunStatus.SUCCEEDED] * 2
        finally:
            del os.environ[KEY_ENV]
