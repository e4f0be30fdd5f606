"""docs/cli.md runs: every ``$ ...`` line of its console blocks, in order, against the emulator.

A block whose first line is ``# not run: ...`` is only shown. A line ending in ``# exit N``
must exit with status N; every other line with 0.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ac_segment_export._cli._sandbox import sample_path

if TYPE_CHECKING:
    from .conftest import Program

DOC = Path(__file__).parents[2] / "docs" / "cli.md"
_BLOCK = re.compile(r"```console\n(.*?)```", re.DOTALL)
_EXIT = re.compile(r"\s+# exit (\d+)$")


def commands() -> list[tuple[int, str, int]]:
    """``(line number, command, expected status)`` for every example that runs."""
    text = DOC.read_text(encoding="utf-8")
    found = []
    for block in _BLOCK.finditer(text):
        body = block.group(1)
        if body.lstrip().startswith("# not run"):
            continue
        first_line = text.count("\n", 0, block.start(1)) + 1
        for offset, line in enumerate(body.splitlines()):
            if not line.startswith("$ "):
                continue
            command = line[2:]
            expected = 0
            match = _EXIT.search(command)
            if match:
                expected = int(match.group(1))
                command = command[: match.start()]
            found.append((first_line + offset, command, expected))
    return found


def test_the_page_has_examples() -> None:
    assert len(commands()) >= 20


def test_every_example_runs(program: Program) -> None:
    shutil.copy(sample_path(), program.cwd / "customers.csv")
    bindir = str(Path(sys.executable).parent)
    env = {**program.env, "PATH": bindir + ":" + program.env.get("PATH", "")}
    for line, command, expected in commands():
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=program.cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != expected:
            pytest.fail(
                f"docs/cli.md:{line}: {command!r} exited {done.returncode}, not {expected}\n"
                f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
            )
