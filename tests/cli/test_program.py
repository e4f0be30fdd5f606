"""``verify``, ``emulator``, ``--help``: the commands around an export."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from .conftest import KEY, Program, clean_env


def test_verify_names_the_key_s_owner(program: Program) -> None:
    done = program("verify")
    assert done.code == 0, done.err
    assert "belongs to" in done.out
    assert "(user #1)" in done.out


def test_verify_as_json(program: Program) -> None:
    done = program("verify", "--json")
    assert done.code == 0
    payload = json.loads(done.out)
    assert payload["ok"] is True
    assert payload["user"]["id"] == 1


def test_verify_with_a_refused_key(program: Program) -> None:
    done = program("verify", "--json", AC_API_KEY="not-the-key")
    assert done.code == 4
    payload = json.loads(done.out)
    assert payload["error"]["type"] == "AuthenticationError"


def test_verify_without_a_host(program: Program) -> None:
    done = program("verify", AC_API_URL="")
    assert done.code == 2
    assert "--host" in done.err


def test_the_emulator_command_serves_other_programs() -> None:
    env = {**clean_env(), "AC_API_KEY": KEY}
    with subprocess.Popen(
        [sys.executable, "-m", "ac_segment_export", "emulator", "--port", "0", "--list", "VIP"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as server:
        try:
            assert server.stdout is not None
            line = server.stdout.readline()
            assert line.startswith("ActiveCampaign emulator at http://127.0.0.1:"), line
            url = line.split(" at ", 1)[1].split(" ", 1)[0]
            done = subprocess.run(
                [sys.executable, "-m", "ac_segment_export", "verify", "--host", url],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert done.returncode == 0, done.stderr
        finally:
            server.send_signal(2)
            server.communicate(timeout=30)
    assert server.returncode == 0


def test_debug_shows_the_traceback_and_still_not_the_key(program: Program) -> None:
    done = program(
        "--debug",
        "export",
        "--input",
        os.devnull + "-missing",
        "--list-id",
        "1",
        "--accept-privacy-terms",
    )
    assert done.code != 0
    assert "Traceback" in done.err
