"""A run killed with SIGKILL part-way leaves a sync state from which the next run ends right.

The emulator serves a loopback socket from the test process; the run happens in a subprocess
that the test kills once ActiveCampaign has confirmed some batches and others are in flight.
The state may then hold only contacts the account really has (with the values sent), and the
next run must send exactly the others.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ac_segment_export import (
    Actor,
    ClientOptions,
    ExportDestination,
    ExportOptions,
    RateLimits,
    RetryPolicy,
    RunStatus,
    Workspace,
)
from ac_segment_export._export._sync import stable_hash
from ac_segment_export.testing import ActiveCampaignEmulator, EmulatorLimits

from .conftest import API_KEY, KEY_ENV, MAPPING, NAME, rows

if TYPE_CHECKING:
    from ac_segment_export import Connection

SCRIPT = Path(__file__).with_name("crash_script.py")
N = 5000


def test_sigkill_part_way_then_the_next_run_ends_exactly_right(
    tmp_path: Path, connection: Connection
) -> None:
    emu = ActiveCampaignEmulator(
        api_key=API_KEY, limits=EmulatorLimits.unlimited(), time_scale=20.0
    )
    emu.add_list("VIP customers")
    emu.add_field("Tier", perstag="TIER")
    path = tmp_path / "ws.db"
    options = ExportOptions(first_poll_delay=0.01, poll_interval=0.02, max_in_flight=4)
    client = ClientOptions(retry=RetryPolicy.for_tests(), rate_limits=RateLimits.unlimited())
    environ = {**os.environ, KEY_ENV: API_KEY}
    with emu.serve() as base_url:
        local = connection.edit(Actor.admin("ada@example.com"), host=base_url)
        local = local.accept_data_privacy_terms("ada@example.com")
        with Workspace(path, environ=environ, client_options=client) as ws:
            ws.save_connection(local, api_key_env=KEY_ENV)
            ws.save_export(ExportDestination(local, NAME, 1, MAPPING), options=options)
            process = subprocess.Popen(
                [sys.executable, str(SCRIPT), json.dumps({"path": str(path), "n": N})],
                env=environ,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            try:
                deadline = time.monotonic() + 60
                while ws.synced_contacts(NAME) < 750:
                    assert process.poll() is None, process.communicate()
                    assert time.monotonic() < deadline, "no batch was confirmed in time"
                    time.sleep(0.005)
                process.send_signal(signal.SIGKILL)
            finally:
                if process.poll() is None:
                    process.kill()
                process.communicate(timeout=20)  # reaps it and closes the pipes
            assert process.returncode == -signal.SIGKILL
            emu.settle()  # let the batches the dead process left in flight end
            confirmed = ws.synced_contacts(NAME)
            assert 750 <= confirmed < N, "the kill came too late to test anything"

            # Every contact in the state is in the list with the values that were sent.
            members = emu.list_members(1, status=1)
            imported = {
                stable_hash(email.encode())
                for email in members
                if (c := emu.contact_by_email(email)) is not None
                and c.first_name == f"First{email[4:].split('@')[0]}"
            }
            state = {h for h, _ in ws.sync_state(NAME).entries()}
            assert len(state) == confirmed
            assert state <= imported

            emu.reset_requests()
            report = ws.run(NAME, rows(N))
            assert report.balanced
            assert report.counts["unchanged"] == confirmed
            assert report.exported == N - confirmed
            sent = {c["email"] for r in emu.accepted_bulk_imports() for c in r.json["contacts"]}
            assert len(sent) == N - confirmed
            assert ws.synced_contacts(NAME) == N
            assert ws.run(NAME, rows(N)).exported == 0
            statuses = [r.status for r in ws.history()]
            # The killed run is marked aborted when the next run took its lease.
            assert statuses == [RunStatus.SUCCEEDED, RunStatus.SUCCEEDED, RunStatus.ABORTED]
