"""Packaging: no console script claims the ``ac-segment-export`` name (the CLI will own it)."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys


def test_no_console_script_is_installed() -> None:
    """The package declares no entry points: the demo runs as ``python -m ac_segment_export``."""
    dist = importlib.metadata.distribution("ac-segment-export")
    assert [ep.name for ep in dist.entry_points if ep.group == "console_scripts"] == []


def test_the_demo_runs_as_a_module() -> None:
    """``python -m ac_segment_export --help`` names itself that way."""
    done = subprocess.run(
        [sys.executable, "-m", "ac_segment_export", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert done.stdout.startswith("usage: python -m ac_segment_export")
