"""The engine's commands: what it asks a driver to do, and what the driver throws back in.

The engine never sends, sleeps, reads the input or writes a checkpoint itself. It yields a
command — :class:`Call` (one API operation), :class:`Start` / :class:`Collect` (operations
sent in the background, several on the wire at once), :class:`Sleep`,
:class:`Pull` (the next profiles), :class:`Save` (a checkpoint state) — and the driver sends
back the result, or throws the exception (:class:`Stop`, :class:`SourceError`, an
:class:`~ac_segment_export.APIError`) into it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from ac_segment_export._core import ops
    from ac_segment_export._export._checkpoint import CheckpointState

__all__ = [
    "Call",
    "Collect",
    "Command",
    "Pull",
    "Save",
    "Sent",
    "Sleep",
    "SourceError",
    "Start",
    "Stop",
]


@attrs.frozen
class Call:
    """Send one API operation; the driver sends back its result or throws its error.

    With ``doubt``, the result comes back as a :class:`Sent`.
    """

    op: ops.Operation[Any]
    doubt: bool = False


@attrs.frozen
class Sent:
    """A result, and whether an earlier attempt of the same request may have been carried out.

    A bulk import retried after an answer lost on the wire may have queued a batch that no one
    tracks: the contacts of a tracked batch that then fails may still have been imported.
    """

    value: Any
    doubt: bool


@attrs.frozen
class Sleep:
    """Wait this many seconds."""

    seconds: float


@attrs.frozen
class Pull:
    """Read up to ``n`` more profiles; the driver sends back a list (empty at the end).

    When the source raises, the driver sends back the profiles read before the error and
    throws :class:`SourceError` at the next ``Pull``.
    """

    n: int
    #: The first of two passes over a re-iterable source (``keep="last"``).
    first_pass: bool = False


@attrs.frozen
class Save:
    """Save this checkpoint state now (the driver writes it; the async one off the loop)."""

    state: CheckpointState


@attrs.frozen
class Start:
    """Start sending one operation in the background; the driver sends back nothing.

    Its result comes back, as a :class:`Sent` or the :class:`~ac_segment_export.APIError` it
    raised, from a later :class:`Collect`, under ``token``. Several may be on the wire at
    once: pacing, not the answers, decides when each leaves.
    """

    op: ops.Operation[Any]
    token: int


@attrs.frozen
class Collect:
    """Hand back the started operations that have finished: a list of ``(token, result)``.

    The driver waits at most ``timeout`` seconds for the first one (``None``: until one
    finishes; 0: not at all) and sends back every one finished by then (maybe none).
    """

    timeout: float | None


Command = Call | Start | Collect | Sleep | Pull | Save


class Stop(Exception):  # noqa: N818 - a signal, not an error
    """Thrown into the engine by a driver to stop the run now (Ctrl-C, task cancellation)."""


class SourceError(Exception):
    """Thrown into the engine by a driver when reading the profiles raised ``cause``."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(type(cause).__name__)
        self.cause = cause
