"""Checkpoints: confirmed progress saved as the export goes, so an interrupted run can resume."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import attrs

from ac_segment_export._core.errors import ConfigurationError
from ac_segment_export.export._report import OutcomeStatus, RecordOutcome

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["Checkpoint", "CheckpointState", "FileCheckpoint"]


@attrs.frozen
class CheckpointState:
    """What a checkpoint remembers.

    Attributes:
        fingerprint: Identifies the export (list, destination, mode); a mismatch refuses to
            resume.
        position: Every input profile before this position has its final outcome.
        outcomes: The outcomes of the profiles before ``position`` that were not exported;
            all the others before it were exported.
    """

    fingerprint: str
    position: int
    outcomes: tuple[RecordOutcome, ...] = ()


class Checkpoint(Protocol):
    """Where an export keeps its confirmed progress (a file, a database row, …)."""

    def bind(self, fingerprint: str) -> CheckpointState | None:
        """Attach to one export; return the state saved by an earlier run of it, if any."""
        ...

    def save_progress(self, position: int, outcomes: Sequence[RecordOutcome]) -> None:
        """Record that every profile before *position* is settled.

        *outcomes* holds the run's non-exported outcomes (possibly also later ones, which
        the checkpoint ignores).
        """
        ...

    def complete(self) -> None:
        """The export finished: forget the progress, so the next run starts afresh."""
        ...


class FileCheckpoint:
    """A checkpoint in a JSON file, written atomically (write, then rename).

    Args:
        path: The file; created on the first save.
        min_interval: Seconds between two saves (the last progress is always saved when the
            run ends or stops).

    Re-running an interrupted export with the same file and the same input skips the
    profiles it had confirmed, reporting their earlier outcomes again; the input must be
    the same, in the same order.
    """

    def __init__(self, path: str | os.PathLike[str], *, min_interval: float = 5.0) -> None:
        self.path = Path(path)
        self.min_interval = min_interval
        self._fingerprint: str | None = None
        self._last_save = 0.0
        self._pending: tuple[int, Sequence[RecordOutcome]] | None = None

    def __repr__(self) -> str:
        return f"FileCheckpoint({str(self.path)!r})"

    def bind(self, fingerprint: str) -> CheckpointState | None:
        """Attach to one export and load its earlier progress."""
        self._fingerprint = fingerprint
        if not self.path.exists():
            return None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            state = CheckpointState(
                fingerprint=str(data["fingerprint"]),
                position=int(data["position"]),
                outcomes=tuple(
                    RecordOutcome(
                        int(o["position"]),
                        o.get("email"),
                        OutcomeStatus(o["status"]),
                        o.get("reason"),
                        o.get("field"),
                    )
                    for o in data.get("outcomes", ())
                ),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            msg = f"The checkpoint file {self.path} cannot be read: {exc}"
            raise ConfigurationError(msg) from exc
        if state.fingerprint != fingerprint:
            msg = (
                f"The checkpoint file {self.path} belongs to another export "
                f"({state.fingerprint!r}, not {fingerprint!r}); use another file."
            )
            raise ConfigurationError(msg)
        return state

    def save_progress(self, position: int, outcomes: Sequence[RecordOutcome]) -> None:
        """Save the progress (at most every ``min_interval`` seconds; see :meth:`flush`)."""
        self._pending = (position, outcomes)
        now = time.monotonic()
        if now - self._last_save >= self.min_interval:
            self.flush()

    def flush(self) -> None:
        """Write the latest progress now."""
        if self._pending is None or self._fingerprint is None:
            return
        position, outcomes = self._pending
        data = {
            "fingerprint": self._fingerprint,
            "position": position,
            "outcomes": [o.to_dict() for o in outcomes if o.position < position],
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        Path(tmp).replace(self.path)
        self._last_save = time.monotonic()
        self._pending = None

    def complete(self) -> None:
        """Remove the file: the export finished."""
        self._pending = None
        self.path.unlink(missing_ok=True)
