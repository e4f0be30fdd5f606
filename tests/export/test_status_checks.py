"""How the engine schedules status checks: between pipelined submits, learning batch times."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

import ac_segment_export as acx
from ac_segment_export._export._commands import Call, Start

from .canned import BATCH_TAKES, Clock, drive, engine_for
from .conftest import API_KEY, HOST, fast, make_async_client, make_client, profile


def counts(commands: list[Any]) -> tuple[int, int]:
    """(bulk-import requests started, status checks sent)."""
    paths = [c.op.spec.path for c in commands if isinstance(c, Start | Call)]
    return paths.count("import/bulk_import"), paths.count("import/info")


def _submits(commands: list[Any]) -> list[int]:
    return [
        i
        for i, c in enumerate(commands)
        if isinstance(c, Start) and c.op.spec.path == "import/bulk_import"
    ]


def test_status_checks_do_not_hold_up_submission() -> None:
    """Submits are started whatever the answers; about one status check a batch."""
    clock = Clock()
    engine, report = engine_for(250 * 100, clock)
    commands = drive(engine, [profile(i) for i in range(250 * 100)], clock)
    submits, checks = counts(commands)
    assert report.exported == 250 * 100
    assert submits == 100
    assert checks <= 100 * 1.3
    # No status check stands between two submits for long: the checks interleave with them.
    starts = _submits(commands)
    assert starts[0] < 10
    assert max(b - a for a, b in itertools.pairwise(starts)) < 30


def test_the_first_check_learns_how_long_batches_take() -> None:
    """After a few batches, one status check per batch is enough (no early, wasted checks)."""
    clock = Clock()
    engine, report = engine_for(250 * 40, clock, first_poll_delay=0.5, poll_interval=1.0)
    commands = drive(engine, [profile(i) for i in range(250 * 40)], clock)
    last_submit = _submits(commands)[-1]
    _, checks = counts(commands[:last_submit])
    _, in_the_drain = counts(commands[last_submit:])
    assert report.exported == 250 * 40
    assert checks <= 40 * 1.4  # a fixed 0.5 s first check would need about 3 a batch
    assert engine._typical_end >= BATCH_TAKES * 0.9
    # Once everything is sent, the last batches are checked often, but not without bound.
    assert in_the_drain <= 4 * BATCH_TAKES / (1.0 / 8) + 4


def test_the_last_batches_are_confirmed_soon_after_they_end() -> None:
    """In the drain the last batch is confirmed within an answer of its end, not a poll later."""
    clock = Clock()
    # Three batches: the canned driver answers one request at a time (0.1 s each), so many
    # batches would queue their checks behind each other, which pacing does not do.
    engine, report = engine_for(250 * 3, clock, first_poll_delay=0.5, poll_interval=2.0)
    commands = drive(engine, [profile(i) for i in range(250 * 3)], clock)
    assert report.exported == 250 * 3
    last = max(i for i, c in enumerate(commands) if isinstance(c, Start))
    assert commands[last].op.spec.path == "import/info"
    # The canned driver answers every request 0.1 s later; batches take BATCH_TAKES.
    ended = engine._last_submit + 0.1 + BATCH_TAKES
    assert clock.now - ended <= 2.0 / 8 + 0.2  # a poll every 2 s would take up to 2 s more


def test_a_failed_check_is_retried_later() -> None:
    """A status check that fails does not lose a submit or a batch."""
    clock = Clock()
    engine, report = engine_for(250 * 10, clock)
    drive(engine, [profile(i) for i in range(250 * 10)], clock, failing_info=3)
    assert report.exported == 250 * 10
    assert report.batches == 10


def fast_setup() -> tuple[acx.testing.ActiveCampaignEmulator, int, acx.ExportDestination]:
    """A fast emulator with one list, and a consented destination for it."""
    emu = acx.testing.ActiveCampaignEmulator(
        api_key=API_KEY, limits=acx.testing.EmulatorLimits.unlimited(), time_scale=2000.0
    )
    list_id = emu.add_list("VIP")
    connection = acx.Connection("Acme", HOST, API_KEY).accept_data_privacy_terms(
        accepted_by="admin@example.com"
    )
    destination = acx.ExportDestination(
        connection, "VIP", list_id, acx.FieldMapping(email="email", first_name="first")
    )
    return emu, list_id, destination


@pytest.mark.parametrize("count", [2_600, 5_100])
def test_sync_exports_with_overlapping_checks_balance(count: int) -> None:
    """Against the emulator, an export that overlaps checks and submits accounts for all."""
    emu, list_id, destination = fast_setup()
    with make_client(emu) as client:
        report = acx.Exporter(destination, client=client, options=fast()).run(
            profile(i) for i in range(count)
        )
    assert report.balanced
    assert report.exported == count
    assert len(emu.list_members(list_id)) == count


@pytest.mark.anyio
async def test_async_exports_with_overlapping_checks_balance() -> None:
    """The async driver sends both requests of a ``Both`` concurrently, and balances."""
    emu, list_id, destination = fast_setup()
    async with make_async_client(emu) as client:
        report = await acx.AsyncExporter(destination, client=client, options=fast()).run(
            [profile(i) for i in range(3_000)]
        )
    assert report.balanced
    assert report.exported == 3_000
    assert len(emu.list_members(list_id)) == 3_000
