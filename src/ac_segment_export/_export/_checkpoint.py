"""Checkpoints: confirmed progress saved as the export goes, so an interrupted run can resume.

The engine hands a :class:`CheckpointState` to the driver after every batch whose end it
learnt; the driver writes it through a :class:`Checkpoint` (a :class:`FileCheckpoint`, or your
own). A state says which input positions have a final outcome — everything below
:attr:`CheckpointState.position`, plus the ranges in :attr:`CheckpointState.settled` (batches
that ended while an earlier one was still in flight) — and carries a digest of the emails of
those profiles, so a resumed run refuses an input that is not the one the state was saved for.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections import deque
from collections.abc import Sequence  # noqa: TC003 - resolve_types reads the hints
from hashlib import blake2b
from itertools import islice
from pathlib import Path
from typing import Protocol

import attrs
import cattrs

from ac_segment_export._core import convert
from ac_segment_export._core.errors import ConfigurationError
from ac_segment_export._export._report import OutcomeStatus, RecordOutcome

__all__ = [
    "Checkpoint",
    "CheckpointMismatchError",
    "CheckpointState",
    "FileCheckpoint",
]

#: Outcomes that a resumed run does not keep: their profiles are sent again.
RESENT = frozenset({OutcomeStatus.UNKNOWN, OutcomeStatus.NOT_ATTEMPTED})


class CheckpointMismatchError(ConfigurationError):
    """A checkpoint was reused with another input than the one it was saved for.

    Raised before anything is written: the profiles before the saved position are not the
    same (in the same order) as those the earlier run confirmed, so skipping them would report
    profiles exported that were never sent.

    Attributes:
        position: How many profiles the checkpoint's digest covers.
        read: How many the new input held before the check (fewer when it is shorter).
    """

    def __init__(self, message: str, *, position: int, read: int) -> None:
        super().__init__(message)
        self.position = position
        self.read = read


@attrs.frozen
class CheckpointState:
    """What a checkpoint remembers.

    Attributes:
        fingerprint: Identifies the export (list, destination, mode); a mismatch refuses to
            resume.
        position: Every input profile before this position has an outcome.
        outcomes: The outcomes that were not ``exported``, in the order they were recorded
            (between two saves of one run this sequence only grows). A profile that has a
            position covered by the state and no outcome here was exported. Profiles whose
            outcome is ``unknown`` or ``not_attempted`` are sent again by a resumed run.
        settled: Half-open ranges ``(start, end)`` of positions at or above ``position``
            that have an outcome too (batches that ended while an earlier one was in flight).
        digest: A digest of the email of every profile before :attr:`extent`, in order.
        extent: How many profiles the digest covers.
    """

    fingerprint: str
    position: int
    outcomes: Sequence[RecordOutcome] = ()
    settled: tuple[tuple[int, int], ...] = ()
    digest: str | None = None
    extent: int = 0

    def covers(self, position: int) -> bool:
        """Whether the profile at *position* had an outcome when this state was saved."""
        if position < self.position:
            return True
        return any(start <= position < end for start, end in self.settled)


class Checkpoint(Protocol):
    """Where an export keeps its confirmed progress (a file, a database row, …)."""

    def bind(self, fingerprint: str) -> CheckpointState | None:
        """Attach to one export; return the state saved by an earlier run of it, if any.

        The returned state's ``outcomes`` hold only outcomes that the new run keeps (not
        ``unknown`` or ``not_attempted`` ones, nor those of positions the state does not
        cover): the new run's report starts with them, in that order.
        """
        ...

    def save(self, state: CheckpointState) -> None:
        """Record *state*; called after every batch whose end was learnt, and at the end."""
        ...

    def complete(self) -> None:
        """The export finished: forget the progress, so the next run starts afresh."""
        ...


def kept_outcomes(state: CheckpointState) -> tuple[RecordOutcome, ...]:
    """The outcomes of *state* that a resumed run keeps (see :meth:`Checkpoint.bind`)."""
    return tuple(o for o in state.outcomes if o.status not in RESENT and state.covers(o.position))


class Digest:
    """A running digest of the emails of the profiles read, in input order.

    The engine pushes one token a profile; :meth:`at` gives the digest of the first *n*. The
    tokens of profiles not yet settled stay in a window (bounded by the batches in flight).
    """

    __slots__ = ("_folded", "_prefix", "_window")

    def __init__(self) -> None:
        self._prefix = blake2b(digest_size=16)
        self._folded = 0
        self._window: deque[bytes] = deque()

    @property
    def count(self) -> int:
        """Profiles pushed so far."""
        return self._folded + len(self._window)

    @property
    def folded(self) -> int:
        """Profiles folded into the digest for good (the shortest digest :meth:`at` gives)."""
        return self._folded

    def push(self, token: str) -> None:
        """Add the next profile's email key (``""`` when it has none)."""
        self._window.append(token.encode("utf-8", "surrogatepass") + b"\n")

    def at(self, n: int, *, fold: int | None = None) -> str:
        """The digest of the first *n* profiles; tokens below *fold* are folded for good."""
        n = max(n, self._folded)
        fold = n if fold is None else min(fold, n)
        window = self._window
        if fold > self._folded:
            take = fold - self._folded
            self._prefix.update(b"".join(window.popleft() for _ in range(take)))
            self._folded = fold
        h = self._prefix.copy()
        h.update(b"".join(islice(window, n - self._folded)))
        return h.hexdigest()


def ranges(positions: set[int]) -> tuple[tuple[int, int], ...]:
    """*positions* as sorted half-open ranges."""
    out: list[tuple[int, int]] = []
    for p in sorted(positions):
        if out and out[-1][1] == p:
            out[-1] = (out[-1][0], p + 1)
        else:
            out.append((p, p + 1))
    return tuple(out)


class FileCheckpoint:
    """A checkpoint in two files: the state (JSON, replaced atomically) and an outcome journal.

    Args:
        path: The state file; created on the first save. The journal of non-exported
            outcomes is kept beside it (``<path>.outcomes``, JSON lines, appended to).
        min_interval: Seconds between two writes. The default, 0, writes on every save:
            about two small writes a second at ActiveCampaign's pace, and a process killed
            at any moment resends only the batches whose answers were on the wire. The
            latest state is always written when the run ends or stops.

    Re-running an interrupted export with the same files and the same input skips the
    profiles it had settled, reporting their earlier outcomes again; a different input is
    refused with :class:`CheckpointMismatchError` before anything is sent.
    """

    def __init__(self, path: str | os.PathLike[str], *, min_interval: float = 0.0) -> None:
        self.path = Path(path)
        self.journal = self.path.with_name(self.path.name + ".outcomes")
        self.min_interval = min_interval
        self._fingerprint: str | None = None
        self._last_save = 0.0
        self._written = 0
        self._pending: CheckpointState | None = None

    def __repr__(self) -> str:
        return f"FileCheckpoint({str(self.path)!r})"

    def bind(self, fingerprint: str) -> CheckpointState | None:
        """Attach to one export and load its earlier progress."""
        self._fingerprint = fingerprint
        self._written = 0
        if not self.path.exists():
            self.journal.unlink(missing_ok=True)
            return None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            count = int(data.get("outcomes_count", 0))
            outcomes: list[RecordOutcome] = []
            if count:
                with self.journal.open(encoding="utf-8") as handle:
                    outcomes.extend(
                        RecordOutcome.from_dict(json.loads(line)) for line in islice(handle, count)
                    )
                if len(outcomes) != count:
                    msg = f"the outcome journal holds {len(outcomes)} of {count} outcomes"
                    raise ValueError(msg)
            data.pop("outcomes_count", None)
            state = attrs.evolve(
                convert.converter.structure(data, CheckpointState), outcomes=tuple(outcomes)
            )
        except (OSError, ValueError, KeyError, TypeError, cattrs.BaseValidationError) as exc:
            msg = f"The checkpoint file {self.path} cannot be read: {exc}"
            raise ConfigurationError(msg) from exc
        if state.fingerprint != fingerprint:
            msg = (
                f"The checkpoint file {self.path} belongs to another export "
                f"({state.fingerprint!r}, not {fingerprint!r}); use another file."
            )
            raise ConfigurationError(msg)
        kept = kept_outcomes(state)
        self._rewrite_journal(kept)
        return attrs.evolve(state, outcomes=kept)

    def save(self, state: CheckpointState) -> None:
        """Write *state* (at most every ``min_interval`` seconds; see :meth:`flush`)."""
        self._pending = state
        if self.min_interval <= 0 or time.monotonic() - self._last_save >= self.min_interval:
            self.flush()

    def flush(self) -> None:
        """Write the latest state now."""
        state, self._pending = self._pending, None
        if state is None or self._fingerprint is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = state.outcomes[self._written :]
        if new:
            with self.journal.open("a", encoding="utf-8") as handle:
                handle.write("".join(json.dumps(o.to_dict()) + "\n" for o in new))
            self._written += len(new)
        data = convert.converter.unstructure(
            attrs.evolve(state, fingerprint=self._fingerprint, outcomes=())
        )
        data["outcomes_count"] = self._written
        self._replace(self.path, json.dumps(data))
        self._last_save = time.monotonic()

    def complete(self) -> None:
        """Remove the files: the export finished."""
        self._pending = None
        self.path.unlink(missing_ok=True)
        self.journal.unlink(missing_ok=True)

    def _rewrite_journal(self, outcomes: Sequence[RecordOutcome]) -> None:
        text = "".join(json.dumps(o.to_dict()) + "\n" for o in outcomes)
        self._replace(self.journal, text)
        self._written = len(outcomes)
        data = json.loads(self.path.read_text(encoding="utf-8"))
        data["outcomes_count"] = self._written
        self._replace(self.path, json.dumps(data))

    @staticmethod
    def _replace(path: Path, text: str) -> None:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        Path(tmp).replace(path)


convert.register_class(
    CheckpointState,
    name="checkpoint",
    version=2,
    overrides=lambda conv: {"outcomes": cattrs.gen.override(omit=True)},
)

# Resolve the annotations here: the top-level package re-labels the class's ``__module__``,
# where these names would not resolve.
attrs.resolve_types(CheckpointState)
