"""Packaging: the ``ac-segment-export`` console script and ``python -m`` are one program."""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
from pathlib import Path


def test_the_console_script_is_the_command_line() -> None:
    dist = importlib.metadata.distribution("ac-segment-export")
    scripts = {ep.name: ep.value for ep in dist.entry_points if ep.group == "console_scripts"}
    assert scripts == {"ac-segment-export": "ac_segment_export._cli:run"}


def test_python_m_and_the_console_script_are_the_same_program() -> None:
    module = subprocess.run(
        [sys.executable, "-m", "ac_segment_export", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    script = shutil.which("ac-segment-export", path=str(Path(sys.executable).parent))
    assert script is not None, "the console script is not installed beside this Python"
    console = subprocess.run(
        [script, "--help"], capture_output=True, text=True, check=True, timeout=60
    )
    assert module.stdout == console.stdout
    assert module.stdout.startswith("Usage: ac-segment-export")
    for command in ("export", "verify", "emulator"):
        assert command in module.stdout


def test_the_sample_segment_ships_in_the_package() -> None:
    from ac_segment_export._cli._sandbox import sample_path

    assert sample_path().is_file()
    assert sample_path().read_text(encoding="utf-8").startswith("email,first_name,")
