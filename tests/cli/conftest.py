"""Fixtures for the command-line tests: the program as a subprocess, the emulator on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

import attrs
import pytest

from ac_segment_export.testing import ActiveCampaignEmulator

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

KEY = "cli-test-key-5f0c9a"
#: Emulated time runs this much faster than real time (batches finish between two polls).
SCALE = 50.0


@attrs.frozen
class Done:
    """A finished run of the program."""

    code: int
    out: str
    err: str


@attrs.define
class Program:
    """Runs ``python -m ac_segment_export`` with the emulator's URL and key in its environment."""

    url: str
    cwd: Path
    env: dict[str, str]

    def __call__(
        self, *args: str, stdin: str | bytes | None = None, timeout: float = 60, **env: str
    ) -> Done:
        data = stdin.encode() if isinstance(stdin, str) else stdin
        done = subprocess.run(
            [sys.executable, "-m", "ac_segment_export", *args],
            input=data,
            capture_output=True,
            cwd=self.cwd,
            env={**self.env, **env},
            timeout=timeout,
            check=False,
        )
        out, err = done.stdout.decode(), done.stderr.decode()
        assert KEY not in out, "the API key reached standard output"
        assert KEY not in err, "the API key reached standard error"
        return Done(done.returncode, out, err)


@pytest.fixture
def emu() -> ActiveCampaignEmulator:
    """An emulator with ActiveCampaign's limits, time-scaled, with one list (ID 1)."""
    emulator = ActiveCampaignEmulator(api_key=KEY, time_scale=SCALE, seed=3)
    emulator.add_list("Customers")
    emulator.add_field("Loyalty tier", perstag="LOYALTY_TIER")
    return emulator


@pytest.fixture
def base_url(emu: ActiveCampaignEmulator) -> Iterator[str]:
    """The emulator served on a free loopback port."""
    with emu.serve() as url:
        yield url


def clean_env() -> dict[str, str]:
    """The test process's environment without any ActiveCampaign settings of the developer's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AC_", "AC_SEGMENT"))}
    env["PYTHONIOENCODING"] = "utf-8"
    env["COLUMNS"] = "160"  # the summary table's reasons are not wrapped
    return env


@pytest.fixture
def program(base_url: str, tmp_path: Path) -> Program:
    """The command line, pointed at the served emulator (key and URL in its environment)."""
    env = clean_env()
    env.update(AC_API_KEY=KEY, AC_API_URL=base_url, AC_SEGMENT_EXPORT_USER="ana@contoso.com")
    env["AC_SEGMENT_EXPORT_WORKSPACE"] = str(tmp_path / "workspace.db")
    return Program(base_url, tmp_path, env)


def write(path: Path, text: str) -> str:
    """Write *text* to *path* (UTF-8); return the path as a string."""
    path.write_text(text, encoding="utf-8")
    return str(path)
