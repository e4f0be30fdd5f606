"""Fixtures for the workspace tests: a workspace file, a saved connection and export."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from ac_segment_export import (
    Actor,
    ClientOptions,
    Connection,
    ExportDestination,
    ExportOptions,
    FieldMapping,
    RateLimits,
    RetryPolicy,
    Workspace,
)
from ac_segment_export.testing import ActiveCampaignEmulator, EmulatorLimits

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

#: A key that must never reach the workspace file (long and unusual, so a find is no accident).
API_KEY = "wsKEY-7f3c2a9d41e84b0c9a55d2e1f0b7c6a3"
KEY_ENV = "ACX_TEST_WORKSPACE_KEY"
HOST = "acme.api-us1.com"
NAME = "VIP customers"
FAST = ExportOptions(first_poll_delay=0.001, poll_interval=0.0005)
MAPPING = FieldMapping(email="email", first_name="first", fields={"TIER": "tier"})


def make_emulator() -> ActiveCampaignEmulator:
    emu = ActiveCampaignEmulator(
        api_key=API_KEY, limits=EmulatorLimits.unlimited(), time_scale=1000.0
    )
    emu.add_list("VIP customers")
    emu.add_field("Tier", perstag="TIER")
    return emu


@pytest.fixture
def emu() -> ActiveCampaignEmulator:
    return make_emulator()


def client_options(emu: ActiveCampaignEmulator) -> ClientOptions:
    return ClientOptions(
        retry=RetryPolicy.for_tests(), rate_limits=RateLimits.unlimited(), transport=emu.transport()
    )


@pytest.fixture
def connection() -> Connection:
    return Connection("Acme", HOST, API_KEY).accept_data_privacy_terms(
        accepted_by="admin@example.com"
    )


@pytest.fixture
def environ() -> dict[str, str]:
    return {KEY_ENV: API_KEY}


@pytest.fixture
def ws(
    tmp_path: Path, emu: ActiveCampaignEmulator, connection: Connection, environ: dict[str, str]
) -> Iterator[Workspace]:
    """A workspace with connection "Acme" and export "VIP customers" (upsert into list 1)."""
    with Workspace(
        tmp_path / "ws.db", environ=environ, client_options=client_options(emu)
    ) as workspace:
        workspace.save_connection(connection, api_key_env=KEY_ENV)
        workspace.save_export(ExportDestination(connection, NAME, 1, MAPPING), options=FAST)
        yield workspace


@pytest.fixture(params=["in-process", "loopback"])
def any_ws(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    emu: ActiveCampaignEmulator,
    connection: Connection,
    environ: dict[str, str],
) -> Iterator[tuple[Workspace, Connection]]:
    """The ``ws`` workspace and its connection, through the in-process transport or over a
    real loopback HTTP server."""
    if request.param == "in-process":
        yield request.getfixturevalue("ws"), connection
        return
    with emu.serve() as base_url:
        local = connection.edit(Actor.admin("qa@example.com"), host=base_url)
        local = local.accept_data_privacy_terms("qa@example.com")
        options = ClientOptions(retry=RetryPolicy.for_tests(), rate_limits=RateLimits.unlimited())
        with Workspace(tmp_path / "ws.db", environ=environ, client_options=options) as workspace:
            workspace.save_connection(local, api_key_env=KEY_ENV)
            workspace.save_export(ExportDestination(local, NAME, 1, MAPPING), options=FAST)
            yield workspace, local


def rows(n: int, *, start: int = 0, **extra: Any) -> list[dict[str, Any]]:
    return [
        {"email": f"user{i}@example.com", "first": f"First{i}", "tier": "gold", **extra}
        for i in range(start, start + n)
    ]


def sent_emails(emu: ActiveCampaignEmulator) -> list[str]:
    """Every email carried by an accepted bulk import or a contact/sync, in order."""
    out: list[str] = []
    for request in emu.requests:
        if request.accepted_bulk_import:
            out += [c["email"] for c in request.json["contacts"]]
        elif request.path == "/contact/sync" and request.applied:
            out.append(request.json["contact"]["email"])
    return out
