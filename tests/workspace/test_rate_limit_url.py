"""A saved export's ``rate_limit_url``: every run paces through the shared budget in Redis."""

from __future__ import annotations

import datetime as dt
import socket
from typing import TYPE_CHECKING, Any

import pytest
import redis

from ac_segment_export import (
    ClientOptions,
    ConfigurationError,
    DueOutcome,
    ExportDestination,
    RateBudgetUnavailableError,
    RateLimits,
    RetryPolicy,
    RunStatus,
    SavedSource,
    Schedule,
    Workspace,
)

from .conftest import API_KEY, FAST, HOST, KEY_ENV, MAPPING, NAME, rows

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from ac_segment_export import Connection
    from ac_segment_export.testing import ActiveCampaignEmulator

UTC = dt.timezone.utc
BUDGET_KEYS = "ac-segment-export:budget:{" + HOST + "}:*"


@pytest.fixture
def store(redis_server: Any) -> Iterator[redis.Redis]:
    """The session's Redis, without this account's budget keys before and after the test."""
    client = redis.Redis.from_url(redis_server.url)

    def clear() -> None:
        for key in client.scan_iter(match=BUDGET_KEYS):
            client.delete(key)

    clear()
    yield client
    clear()
    client.close()


@pytest.fixture
def paced_ws(
    tmp_path: Path, emu: ActiveCampaignEmulator, connection: Connection, environ: dict[str, str]
) -> Iterator[Workspace]:
    """A workspace whose clients pace (time-scaled like the emulator) instead of not at all."""
    options = ClientOptions(
        retry=RetryPolicy.for_tests(),
        rate_limits=RateLimits().scaled(1000),
        transport=emu.transport(),
        time_scale=1000,
    )
    with Workspace(tmp_path / "ws.db", environ=environ, client_options=options) as ws:
        ws.save_connection(connection, api_key_env=KEY_ENV)
        yield ws


def everything_in(client: redis.Redis) -> bytes:
    """Every key and value in the Redis, as one blob to search."""
    blob = b""
    for key in client.scan_iter():
        blob += key + b"\n"
        kind = client.type(key)
        if kind == b"hash":
            for field, value in client.hgetall(key).items():
                blob += field + b"=" + value + b"\n"
        elif kind == b"string":
            blob += (client.get(key) or b"") + b"\n"
    return blob


def test_runs_of_the_export_pace_through_the_shared_budget(
    paced_ws: Workspace,
    connection: Connection,
    store: redis.Redis,
    redis_server: Any,
) -> None:
    ws = paced_ws
    ws.save_export(ExportDestination(connection, "Unpaced", 1, MAPPING), options=FAST)
    ws.run("Unpaced", rows(5))
    assert list(store.scan_iter(match=BUDGET_KEYS)) == []  # no URL: no Redis

    ws.save_export(
        ExportDestination(connection, NAME, 1, MAPPING),
        options=FAST,
        schedule=Schedule("0 6 * * *", "Europe/Rome"),
        source=SavedSource(input="/data/vip.csv"),
        rate_limit_url=redis_server.url,
    )
    assert ws.get_export(NAME).rate_limit_url == redis_server.url
    report = ws.run(NAME, rows(20))
    assert report.exported == 20
    account = f"ac-segment-export:budget:{{{HOST}}}:account".encode()
    assert account in set(store.scan_iter(match=BUDGET_KEYS))
    stamp_after_manual = store.hget(account, "stamp")
    assert stamp_after_manual is not None

    with ws._tx() as db:  # count the schedule from a fixed day (saving counts from now)
        db.execute(
            "UPDATE exports SET schedule_anchor = ? WHERE name = ?",
            (dt.datetime(2026, 1, 1, 12, tzinfo=UTC).isoformat(), NAME),
        )
    (due,) = ws.run_due(lambda _: rows(30), now=dt.datetime(2026, 1, 2, 6, tzinfo=UTC))
    assert due.outcome is DueOutcome.SUCCEEDED
    assert store.hget(account, "stamp") != stamp_after_manual  # the scheduled run paced too

    blob = everything_in(store)
    assert API_KEY.encode() not in blob
    assert API_KEY[-12:].encode() not in blob


def test_an_unreachable_budget_sends_nothing(
    paced_ws: Workspace, connection: Connection, emu: ActiveCampaignEmulator
) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    closed = f"redis://127.0.0.1:{port}/0"
    paced_ws.save_export(
        ExportDestination(connection, NAME, 1, MAPPING), options=FAST, rate_limit_url=closed
    )
    with pytest.raises(RateBudgetUnavailableError, match="cannot be reached"):
        paced_ws.run(NAME, rows(5))
    assert emu.requests == []
    assert paced_ws.history(NAME)[0].status is RunStatus.ABORTED


def test_the_url_is_checked_and_its_password_never_shown(
    ws: Workspace, connection: Connection
) -> None:
    destination = ExportDestination(connection, "Shared", 1, MAPPING)
    for bad in ("http://cache.internal:6379", "", "cache.internal:6379", 6379):
        with pytest.raises(ConfigurationError):
            ws.save_export(destination, rate_limit_url=bad)  # type: ignore[arg-type]
    url = "rediss://scheduler:s3cr3t-Pa55@cache.internal:6380/2"
    saved = ws.save_export(destination, rate_limit_url=url)
    assert saved.rate_limit_url == url  # the value itself, to connect with
    for shown in (repr(saved), str(saved), repr(ws.exports())):
        assert "s3cr3t-Pa55" not in shown
        assert "rediss://scheduler:***@cache.internal:6380/2" in shown
    assert ws.get_export("Shared").rate_limit_url == url
    assert saved.rate_limit_url_shown == "rediss://scheduler:***@cache.internal:6380/2"
    assert ws.get_export(NAME).rate_limit_url_shown is None
    assert "rate_limit_url=None" in repr(ws.get_export(NAME))


@pytest.mark.anyio
async def test_async_runs_pace_through_it_too(
    paced_ws: Workspace, connection: Connection, store: redis.Redis, redis_server: Any
) -> None:
    paced_ws.save_export(
        ExportDestination(connection, NAME, 1, MAPPING),
        options=FAST,
        rate_limit_url=redis_server.url,
    )
    report = await paced_ws.arun(NAME, rows(10))
    assert report.exported == 10
    account = f"ac-segment-export:budget:{{{HOST}}}:account".encode()
    assert store.exists(account)
    assert API_KEY.encode() not in everything_in(store)
