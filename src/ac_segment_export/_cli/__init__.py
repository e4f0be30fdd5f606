"""The ``ac-segment-export`` command line (the ``cli`` extra: click and rich).

The console script and ``python -m ac_segment_export`` run :func:`main`.
"""

from __future__ import annotations

from ac_segment_export._cli._app import ExitCode, cli, main, run

__all__ = ["ExitCode", "cli", "main", "run"]
