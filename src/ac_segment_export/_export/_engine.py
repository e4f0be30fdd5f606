"""The export, written once as a generator of commands; the sync and async exporters drive it.

The engine does no I/O: it never sends, sleeps, reads the input or writes a checkpoint. It
yields a command (see :mod:`._commands`) and the driver sends back the result or throws the
exception into it. What is left here is the run itself — mapping, value checks,
de-duplication, batching, submission, tracking, resubmission, the small remainder, mirror —
with the outcomes booked in the ledger (:mod:`._ledger`) and mirror's leavers in their tally
(:mod:`._mirror`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import math
import time
from collections import deque
from typing import TYPE_CHECKING, Any

import attrs

from ac_segment_export._core import ops
from ac_segment_export._core.errors import (
    APIError,
    AuthenticationError,
    BulkImportRejectedError,
    UnprocessableEntityError,
)
from ac_segment_export._core.ops import BULK_BODY_OVERHEAD, BULK_MAX_BYTES, BulkContactEncoder
from ac_segment_export._core.wire import (
    BatchStatus,
    BulkImportInfo,
    ContactInput,
    MembershipStatus,
)
from ac_segment_export._export._batch import Batch, next_poll
from ac_segment_export._export._checkpoint import (
    RESENT,
    CheckpointMismatchError,
    CheckpointState,
    Digest,
    kept_outcomes,
)
from ac_segment_export._export._commands import (
    Call,
    Collect,
    Command,
    Pull,
    Save,
    Sent,
    Sleep,
    SourceError,
    Start,
    Stop,
)
from ac_segment_export._export._index import EmailIndex, email_hash
from ac_segment_export._export._ledger import Book, Ledger
from ac_segment_export._export._mirror import Leavers
from ac_segment_export._export._options import MAX_REQUESTS_IN_FLIGHT
from ac_segment_export._export._profiles import (
    ProfileReader,
    Refusal,
    Refused,
    raised,
    unencodable,
)
from ac_segment_export._export._report import ExportReport, OutcomeStatus, Progress, RecordOutcome

if TYPE_CHECKING:
    from collections.abc import Callable, Generator

    from ac_segment_export._export._mirror import PartMembers, Segment
    from ac_segment_export._export._options import ExportOptions
    from ac_segment_export._export._sync import MirrorUnsubscribe, SyncSession
    from ac_segment_export._model import FieldMapper

__all__ = ["Engine", "Target", "Tuning"]

logger = logging.getLogger("ac_segment_export")


@attrs.frozen(kw_only=True)
class Target:
    """What the destination says about where contacts go."""

    list_id: int
    tags: tuple[str, ...] = ()
    exclude_automations: bool = True
    mirror: bool = False


@attrs.frozen(kw_only=True)
class Tuning:
    """The engine's own limits: not options, but named here once."""

    max_bytes: int = BULK_MAX_BYTES
    small_batch: int = 10  # a remainder this small goes through contact/sync
    max_first_poll_delay: float = 60.0
    max_consecutive_failures: int = 3
    max_poll_errors: int = 10
    progress_every: float = 0.5
    pull_size: int = 500
    max_failure_lookups: int = 100


_UNSUBSCRIBED_REASON = "unsubscribed from the list; it is never re-subscribed"
_NOT_IMPORTED_REASON = (
    "ActiveCampaign did not import this contact: it may be on the account's exclusion list, "
    "have bounced, or have unsubscribed from the list"
)


class Engine:
    """One export run's state and logic."""

    def __init__(  # noqa: PLR0915 - one assignment a piece of state
        self,
        target: Target,
        options: ExportOptions,
        mapper: FieldMapper,
        report: ExportReport,
        *,
        tuning: Tuning = Tuning(),
        total: int | None = None,
        fingerprint: str | None = None,
        resume: CheckpointState | None = None,
        cancelled: Callable[[], bool] = lambda: False,
        on_progress: Callable[[Progress], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sync: SyncSession | None = None,
        part: PartMembers | None = None,
        segment: Segment | None = None,
    ) -> None:
        self.target = target
        #: One partition of a mirror export: its members are noted here, and the leavers
        #: are left to the driver (which runs with the union of the partitions' members).
        self.part = part
        #: The driver's step of a partitioned mirror export: the segment, given (no input).
        self.segment = segment
        #: Incremental sync: the filter before batching, and where confirmations go.
        self.sync = sync
        self.o = options
        self.t = tuning
        self.mapper = mapper
        self.reader = ProfileReader(
            mapper,
            tags=target.tags,
            phone_e164=options.phone_e164,
            default_country_code=options.default_country_code,
        )
        self.report = report
        self.total = total
        self.fingerprint = fingerprint
        self.resume = resume
        self.cancelled = cancelled
        self.on_progress = on_progress
        self.clock = clock
        self.started = clock()
        self.read = 0
        self.seen = EmailIndex()
        self.unsubscribed = EmailIndex()
        #: Mirror only: the emails of segment members that were not sent (rejected ones).
        self.members: EmailIndex | None = EmailIndex() if target.mirror else None
        #: Records the source could not read, whose owners are unknown (mirror is skipped).
        self.unreadable = 0
        self.active_members: EmailIndex | None = None
        self.last_position: EmailIndex | None = None
        self.pending = Batch()
        self.in_flight: deque[Batch] = deque()
        self._typical_end = 0.0
        self._transit: list[Batch] = []
        self._token = 0
        self._clear_wire()  # batches between containers (being sent or synced)
        self.failures_in_a_row = 0
        self._leavers: Leavers | None = None
        self.fatal = False
        #: The exception that ended the run, when one did (a source's, a sink's, an API's).
        self.cause: BaseException | None = None
        #: Set when mirror refused to run: ``(reason, leavers, active)``.
        self.mirror_refusal: tuple[str, int, int] | None = None
        self._last_progress = 0.0
        self._tags = target.tags
        self.encoder = BulkContactEncoder(
            subscribe=(target.list_id,), exclude_automations=target.exclude_automations
        )
        self._bind_hot_path()
        self._index_base: int | None = None  # failureReasons[].contact counts from 0 or 1
        self._lookups = tuning.max_failure_lookups  # why a contact was not imported
        # Checkpointing: the outcomes in the order the checkpoint keeps them, and a digest
        # of the emails read, so a resumed run can tell that its input is the same.
        self.checkpointing = fingerprint is not None
        self.digest: Digest | None = Digest() if self.checkpointing else None
        self._restored: dict[int, RecordOutcome] = {}
        self._resent: set[int] = set()  # positions a resumed run sends again
        self._verify_at = 0
        kept: tuple[RecordOutcome, ...] = ()
        if resume is not None:
            kept = kept_outcomes(resume)
            self._restored = {o.position: o for o in kept}
            self._resent = {o.position for o in resume.outcomes if o.status in RESENT}
            self._verify_at = resume.extent if resume.digest is not None else 0
            report.resumed_from = resume.position
        self.ledger = Ledger(report, journaling=self.checkpointing, restored=kept)
        #: Mirror re-entry: unsubscribed profiles mirror had unsubscribed, waiting for the
        #: check of their membership: ``(position, email, encoded, values, record)``.
        self._returning: deque[tuple[int, str, bytes, Any, MirrorUnsubscribe]] = deque()
        #: Why profiles that are exported are (re-subscribed ones), by position.
        self._reasons: dict[int, str] = {}
        #: Mirror: the contact IDs of the leavers, by their index (to record their memberships).
        self._leaver_ids: list[int] = []
        if sync is not None:
            report.full_refresh = sync.full
            if not options.dry_run:
                self.ledger.confirm = sync.confirm

    # -- bookkeeping --------------------------------------------------------------------------

    def _clear_wire(self) -> None:
        # Requests started and not answered: bulk imports ("submit"), status checks ("check").
        self._on_wire: dict[int, tuple[str, Batch, str | None]] = {}
        self._submits_on_wire = 0
        self._checks_on_wire = 0
        self._check_credit = 0  # status checks that may ride along with the last submit
        self._last_submit = float("-inf")
        self._spacing: float | None = None  # between two submits, as pacing keeps them
        self._answer_times: deque[float] = deque(maxlen=20)  # the latest submits' answers
        #: How long recent batches took at most (ended when checked) and at least (not yet).
        self._ended_ages: deque[float] = deque(maxlen=10)
        self._unfinished_ages: deque[float] = deque(maxlen=10)
        self._answers: deque[tuple[int, Any]] = deque()  # answers collected, not yet handled

    def _bind_hot_path(self) -> None:
        """The look-ups made once a profile, bound once a run."""
        self._encode_contact = self.encoder.encode
        self._read = self.reader.read
        self._check_values = self.reader.values
        self._max_bytes = self.t.max_bytes
        self._batch_size = self.o.batch_size
        self._dry_run = self.o.dry_run
        self._unchanged = self.sync.unchanged if self.sync is not None else None

    def _exported(self, positions: list[int], emails: list[str], *, check: bool = True) -> None:
        """Record exported profiles (and end the run if the exported sink raised)."""
        reasons = self._reasons
        if reasons and any(p in reasons for p in positions):
            plain: tuple[list[int], list[str]] = ([], [])
            for position, email in zip(positions, emails, strict=True):
                reason = reasons.pop(position, None)
                if reason is None:
                    plain[0].append(position)
                    plain[1].append(email)
                else:
                    self.ledger.record(position, email, OutcomeStatus.EXPORTED, reason)
            positions, emails = plain
        self.ledger.exported(positions, emails)
        if check:
            self._check_sink()

    def _check_sink(self) -> None:
        """End the run (tracking what is in flight) once the exported sink has raised."""
        exc = self.report.sink_error
        if exc is not None and not self._winding_down:
            self.cause = exc
            msg = (
                f"{raised('exported_sink', exc)}; the exported profiles it did not get are "
                "listed in the report's outcomes"
            )
            raise _Abort(msg, drain=True)

    def progress(self, *, force: bool = False) -> None:
        """Call ``on_progress`` (at most every ``progress_every`` seconds unless *force*)."""
        if self.on_progress is None:
            return
        now = self.clock()
        if not force and now - self._last_progress < self.t.progress_every:
            return
        self._last_progress = now
        elapsed = max(now - self.started, 1e-9)
        settled = self.report.accounted
        rate = settled / elapsed
        eta = None
        if self.total is not None and rate > 0:
            eta = max(0.0, (min(self.total, self.o.max_profiles) - settled) / rate)
        progress = Progress(self.read, settled, self.report.exported, self.total, rate, eta)
        try:
            self.on_progress(progress)
        except Exception:  # a user's callback must not stop the export
            logger.exception("on_progress raised; the export goes on without that update")

    def finish(self, *, elapsed: float, requests: int, retries: int, rate_limited: int) -> None:
        """Close the report: the input count, the time, this run's request counts.

        A profile read without an outcome can only mean the run was torn down inside its own
        code: it is counted ``not_attempted`` (and logged), never dropped.
        """
        report = self.report
        report.input_count = self.read
        if self.part is not None:
            self.part.unreadable = self.unreadable
        missing = report.input_count - report.accounted
        if missing > 0:
            logger.error(
                "%d profiles read had no outcome when the run ended (a bug, or an interrupt "
                "inside the engine); they are counted as not attempted",
                missing,
            )
            report.count_only(OutcomeStatus.NOT_ATTEMPTED, missing)
        report.finished_at = dt.datetime.now(dt.timezone.utc)
        report.elapsed_seconds = elapsed
        report.requests = requests
        report.retries = retries
        report.rate_limited = rate_limited

    def low_water_mark(self) -> int:
        """The input position below which every profile has a confirmed outcome."""
        return self.ledger.low_water_mark()

    def checkpoint_state(self) -> CheckpointState:
        """What a checkpoint should hold now (see :class:`CheckpointState`).

        Only meaningful once a resumed run has checked its input (before that, the earlier
        run's state is still exact: nothing has been sent).
        """
        assert self.fingerprint is not None
        assert self.digest is not None
        return self.ledger.state(self.fingerprint, self.digest)

    @property
    def input_checked(self) -> bool:
        """Whether a resumed run has checked its input against the checkpoint (or needs not)."""
        return self.read >= self._verify_at

    def _checkpoint(self) -> Generator[Command, Any, None]:
        if self.checkpointing and self.read >= self._verify_at:
            yield Save(self.checkpoint_state())

    # -- one profile --------------------------------------------------------------------------

    def _member(self, raw: object) -> str:
        """Note a rejected profile's email as a segment member (mirror); return its key."""
        if not isinstance(raw, str):
            return ""
        key = raw.strip().lower()
        if key and self.members is not None:
            self.members.add(key)
        return key

    def _take(self, position: int, profile: Any) -> str:
        """Give one profile an outcome, or put it in the pending batch; return its email key."""
        read = self._read(profile)
        if isinstance(read, Refused):
            self.ledger.record(
                position, read.email, OutcomeStatus.REJECTED, read.reason, read.field
            )
            if read.unreadable and read.raw is None:
                self.unreadable += 1
            return self._member(read.raw)
        email, key, mapped = read
        h = email_hash(key)  # hashed once for both indexes
        if self.last_position is not None:  # keep the last occurrence
            last = self.last_position.get(key)
            if last is not None and last != position:
                self.ledger.record(
                    position,
                    email,
                    OutcomeStatus.DUPLICATE,
                    f"a later profile (position {last}) has the same email",
                )
                return key
            self.seen.add_hash(h)
        elif not self.seen.add_hash(h):
            self.ledger.record(
                position, email, OutcomeStatus.DUPLICATE, "an earlier profile has the same email"
            )
            return key
        returning = None
        if self.unsubscribed and self.unsubscribed.has_hash(h):
            if self.sync is not None:
                returning = self.sync.unsubscribed_by_mirror(key)
            if returning is None:
                self.ledger.record(position, email, OutcomeStatus.SKIPPED, _UNSUBSCRIBED_REASON)
                return key
        try:
            values = self._check_values(mapped)
            if isinstance(values, Refusal):
                self.ledger.record(position, email, OutcomeStatus.REJECTED, *values)
                return key
            encoded = self._encode_contact(email, *values)
        except Exception as exc:  # noqa: BLE001 - a value that cannot be sent rejects its profile
            self.ledger.record(position, email, OutcomeStatus.REJECTED, *unencodable(mapped, exc))
            return key
        max_bytes = self._max_bytes
        if len(encoded) + BULK_BODY_OVERHEAD > max_bytes:
            self.ledger.record(
                position,
                email,
                OutcomeStatus.REJECTED,
                f"the contact alone is {len(encoded):,} bytes, more than a bulk request "
                f"may carry ({max_bytes:,})",
            )
            return key
        if returning is not None:  # its membership is checked before it is sent
            assert self.sync is not None
            self.sync.unchanged(key, encoded, position)  # noted as sent (mirror forgot it)
            self._returning.append((position, email, encoded, values, returning))
            return key
        unchanged = self._unchanged
        if unchanged is not None and unchanged(key, encoded, position):
            self.ledger.unchanged(position, email)
            return key
        if self._dry_run:
            self._dry_run_outcome(position, email, key)
            return key
        pending = self.pending
        if not pending.fits(encoded, self._batch_size, max_bytes):
            self._full.append(pending)
            pending = self.pending = Batch()
        pending.add(position, email, encoded, values)
        if values[3]:  # tags: such a batch never goes through contact/sync
            pending.has_tags = True
        return key

    _full: list[Batch]
    _winding_down = False
    _draining = False  # nothing more to submit: the account's slots are the checks' own

    def _dry_run_outcome(self, position: int, email: str, key: str) -> None:
        self.report.would_subscribe = (self.report.would_subscribe or 0) + (
            0 if self.active_members is not None and key in self.active_members else 1
        )
        self.ledger.record(position, email, OutcomeStatus.EXPORTED, "dry run: would be exported")

    # -- the run ------------------------------------------------------------------------------

    def run(self) -> Generator[Command, Any, ExportReport]:
        """The whole export; returns the report (also kept in :attr:`report`)."""
        self._full = []
        try:
            given = self.segment is not None  # no input: nothing to check these against
            if (self.o.check_unsubscribed or self.target.mirror) and not given:
                yield from self._load_members(MembershipStatus.UNSUBSCRIBED, self.unsubscribed)
            if self.o.dry_run and (self.target.mirror or self.o.check_unsubscribed) and not given:
                self.active_members = EmailIndex()
                yield from self._load_members(MembershipStatus.ACTIVE, self.active_members)
            if self.o.keep == "last":
                yield from self._first_pass()
            yield from self._stream()
            if self._returning:
                yield from self._reenter()
            if not self.o.dry_run:
                yield from self._flush()
                yield from self._drain()
            if self.target.mirror and self.part is None:
                yield from self._mirror()
        except Stop:
            self.halt("stopped by the user (interrupt or cancellation)")
        except _Abort as exc:
            self.fatal = exc.fatal
            if exc.drain:  # let the batches in flight end, within the grace
                with contextlib.suppress(Stop):  # a second stop ends the grace period
                    yield from self._wind_down(str(exc))
            self.halt(str(exc))
        except SourceError as exc:
            self.fatal = True
            self.cause = exc.cause
            reason = f"reading the profiles raised {type(exc.cause).__name__}"
            with contextlib.suppress(Stop):
                yield from self._wind_down(reason)
            self.halt(reason)
        except APIError as exc:  # a request that had to succeed failed after its retries
            self.fatal = True
            self.cause = exc
            self.halt(f"a request failed: {exc}")
        return self.report

    def _stop_sending(self, reason: str) -> None:
        """The run stops: nothing more is sent; what waits to be sent is not attempted."""
        self.report.stopped_early = True
        self.report.stop_reason = self.report.stop_reason or reason
        self._winding_down = True
        for batch in self._full:
            self._not_attempted(batch)
        self._full = []
        self._not_attempted(self.pending)
        self.pending = Batch()
        while self._returning:
            position, email, *_ = self._returning.popleft()
            self.ledger.rest(
                (position,),
                (email,),
                OutcomeStatus.NOT_ATTEMPTED,
                f"not sent: {self.report.stop_reason or reason}",
            )

    def _wind_down(self, reason: str) -> Generator[Command, Any, None]:
        """Send nothing more; track the batches in flight for ``cancel_grace`` seconds."""
        self._stop_sending(reason)
        deadline = self.clock() + self.o.cancel_grace
        while (self.in_flight or self._on_wire) and self.clock() < deadline:
            yield from self._wait(block=True, free=True, deadline=deadline)

    def halt(self, reason: str) -> None:
        """End the run now: pending profiles not attempted, in-flight ones unknown.

        Every profile taken from the input and still without an outcome gets one here,
        wherever it was: waiting in a batch, in a request being sent, in flight.
        """
        self._stop_sending(reason)
        while self.in_flight:
            batch = self.in_flight.popleft()
            self._unknown(
                batch,
                f"its batch {batch.batch_id} was still being imported when "
                "the export stopped; check ActiveCampaign before re-running",
            )
        for kind, batch, _ in self._on_wire.values():
            if kind == "submit":
                self._unknown(
                    batch,
                    "the export stopped while its bulk-import request was on the wire; "
                    "check ActiveCampaign before re-running",
                )
        self._clear_wire()
        while self._transit:
            batch = self._transit.pop()
            if batch.attempts:  # it was imported before (ended failed/interrupted) at least once
                self._unknown(batch, "its batch was being resubmitted when the export stopped")
            else:
                self._not_attempted(batch)
        if self._leavers is not None:
            self._leavers.close(f"not sent: {self.report.stop_reason}")

    def _not_attempted(self, batch: Batch) -> None:
        reason = f"not sent: {self.report.stop_reason or 'the export stopped'}"
        self._book(batch).rest(batch.positions, batch.emails, OutcomeStatus.NOT_ATTEMPTED, reason)

    def _unknown(self, batch: Batch, reason: str) -> None:
        self._book(batch).rest(batch.positions, batch.emails, OutcomeStatus.UNKNOWN, reason)

    def _lost(self, batch: Batch, exc: APIError, what: str) -> None:
        """A request for *batch* ended in *exc*: unknown when it may have been carried out."""
        if exc.maybe_applied or batch.partial:
            self._unknown(
                batch,
                f"{what} may have been carried out before it failed ({exc}); check "
                "ActiveCampaign before re-running",
            )
        else:
            self._fail(batch, f"{what} failed after retries: {exc}")

    def _load_members(
        self, status: MembershipStatus, into: EmailIndex
    ) -> Generator[Command, Any, int]:
        pager = ops.contacts_pager(list_id=self.target.list_id, status=status, by_id=True)
        spec: Any = pager.first()
        count = 0
        while spec is not None:
            body = yield Call(ops.Operation(spec, lambda body, _: body))
            items, spec = pager.advance(body)
            for contact in items:
                into.add(contact.email.strip().lower())
                count += 1
        return count

    def _first_pass(self) -> Generator[Command, Any, None]:
        """For keep-last: learn each email's last position (the source is read twice)."""
        self.last_position = EmailIndex(with_values=True)
        position = 0
        while True:
            chunk = yield Pull(self.t.pull_size, first_pass=True)
            if not chunk:
                return
            for profile in chunk:
                if position >= self.o.max_profiles:
                    return
                key, email = self.reader.key(profile)
                if email is not None:
                    self.last_position.set(key, position)
                position += 1

    def _stream(self) -> Generator[Command, Any, None]:
        limit = self.o.max_profiles
        resume = self.resume
        digest = self.digest
        part = self.part
        over = False
        while not over:
            if self.cancelled():
                raise _Abort("cancelled", fatal=False, drain=True)
            # Read at most one profile past the limit: enough to know the source holds more.
            chunk = yield Pull(min(self.t.pull_size, limit - self.read + 1))
            if not chunk:
                break
            for profile in chunk:
                position = self.read
                if position >= limit:
                    self._beyond_limit(1)
                    over = True
                    continue
                self.read += 1
                if (
                    resume is not None
                    and position < resume.extent
                    and position not in self._resent
                    and resume.covers(position)
                ):
                    key = self._replay(position, profile)
                else:
                    key = self._take(position, profile)
                if part is not None and key:
                    part.add(key)
                if digest is not None:
                    digest.push(key)
                    if self.read == self._verify_at:
                        self._verify()
            if self.read < self._verify_at:
                continue  # nothing is sent before the input is known to be the checkpoint's
            # Status checks ride along with the submits (_send); here only the answers that
            # arrived are handled, and a due check goes if a credit is left (_may_check).
            while self._full:
                yield from self._submit(self._full.pop(0))
            yield from self._wait(block=False)
            self.progress()
        if self.read < self._verify_at:
            self._verify()

    def _verify(self) -> None:
        """Refuse a resume whose input differs from the checkpoint's (nothing was sent yet)."""
        resume = self.resume
        assert resume is not None
        assert self.digest is not None
        if self.read >= resume.extent and self.digest.at(resume.extent) == resume.digest:
            return
        if self.read < resume.extent:
            detail = f"the input ended after {self.read:,} profiles"
        else:
            detail = "their emails are not the same, in the same order"
        msg = (
            f"The checkpoint was saved for another input: it covers the first "
            f"{resume.extent:,} profiles, and {detail}. Nothing was sent. Resume with the "
            "same input, or start afresh with a new checkpoint."
        )
        raise CheckpointMismatchError(msg, position=resume.extent, read=self.read)

    def _beyond_limit(self, n: int) -> None:
        """Count profiles read past ``max_profiles`` as not attempted; reading stops there."""
        self.report.stopped_early = True
        self.report.stop_reason = (
            f"max_profiles ({self.o.max_profiles:,}) reached: the source holds more profiles; "
            f"those from position {self.o.max_profiles:,} on were not attempted (and not read "
            "beyond the first)"
        )
        self.read += n
        self.report.count_only(OutcomeStatus.NOT_ATTEMPTED, n)

    def _replay(self, position: int, profile: Any) -> str:
        """A profile settled by the run being resumed: its earlier outcome, and the indexes."""
        key, email = self.reader.key(profile)
        restored = self._restored.pop(position, None)
        self.ledger.restore(position, restored, email)
        if email is not None:
            self.seen.add(key)
        elif restored is not None:
            self._member(key)
        self._check_sink()
        return key

    def _flush(self) -> Generator[Command, Any, None]:
        batch, self.pending = self.pending, Batch()
        if not batch:
            return
        if len(batch) <= self.t.small_batch and not self._tags and not batch.has_tags:
            self._transit.append(batch)
            yield from self._sync_each(batch)
            self._transit.remove(batch)
        else:
            yield from self._submit(batch)

    # -- bulk import --------------------------------------------------------------------------

    def _submit(self, batch: Batch) -> Generator[Command, Any, None]:
        # Until its request starts, the batch is in ``_transit``; then it is on the wire.
        # Either way a stop still accounts for it.
        self._transit.append(batch)
        yield from self._send(batch)

    def _next(self) -> Batch | None:
        """The batch whose status check comes first, of those not being checked now."""
        if self._draining or self._winding_down:
            # A batch past its expected end may have several checks on the wire (_check_due).
            late = self.clock() - self._typical_end
            waiting = [b for b in self.in_flight if not b.checks or b.submitted_at <= late]
        else:
            waiting = [b for b in self.in_flight if not b.checks]
        return min(waiting, key=next_poll) if waiting else None

    def _send(self, batch: Batch) -> Generator[Command, Any, None]:
        """Start *batch*'s bulk-import request; its answer is handled when it arrives.

        Several requests may be on the wire at once (``max_requests_in_flight``): while one
        travels, the next batch is read, checked and encoded, and the client's pacing sends
        it the moment its slot opens. Batches queued at ActiveCampaign are bounded by
        ``max_in_flight``.
        """
        while len(self.in_flight) + self._submits_on_wire >= self.o.max_in_flight:
            yield from self._wait(block=True, free=True)  # only status checks free a place
        while self._submits_on_wire >= self._request_bound():
            yield from self._collect(None)
        batch.values = []  # sent in bulk: no longer needed for contact/sync
        self._token += 1
        try:
            yield Start(ops.bulk_import_submit_encoded(batch.encoded), self._token)
        except Stop:
            # Stopped while it waited for its turn: most likely never sent, but not surely.
            self._transit.remove(batch)
            self._unknown(
                batch,
                "the export stopped while its bulk-import request was being sent; check "
                "ActiveCampaign before re-running",
            )
            raise
        self._transit.remove(batch)
        self._on_wire[self._token] = ("submit", batch, None)
        self._submits_on_wire += 1
        now = self.clock()
        gap = now - self._last_submit
        if 0 < gap < self.o.poll_interval:  # a spacing between submits, not a pause
            self._spacing = gap if self._spacing is None else 0.8 * self._spacing + 0.2 * gap
        self._last_submit = batch.submitted_at = now
        yield from self._collect(0.0)  # answers that arrived while it waited for its turn
        # Status checks ride along: one after each submit (two when they fall behind), so
        # they take the account's spare slots between two bulk slots, never a submit's.
        self._check_credit = 1 if self._due_count() <= 1 else 2
        while self._check_credit > 0 and (yield from self._check_due(free=False)):
            pass

    def _request_bound(self) -> int:
        """How many bulk-import requests (and status checks) may be on the wire at once.

        Unless ``max_requests_in_flight`` says, enough to cover the slowest recent answer at
        the spacing pacing keeps between submits, plus one: so latency never costs
        throughput, and a fast network never has more requests waiting than it needs.
        """
        bound = self.o.max_requests_in_flight
        if bound is not None:
            return bound
        if self._spacing is None or not self._answer_times:
            return 4
        need = math.ceil(max(self._answer_times) / max(self._spacing, 1e-6)) + 1
        return min(max(need, 2), MAX_REQUESTS_IN_FLIGHT)

    def _due_count(self) -> int:
        now = self.clock()
        return sum(1 for b in self.in_flight if not b.checks and b.next_poll <= now)

    def _collect(self, timeout: float | None) -> Generator[Command, Any, None]:
        """Handle the answers of the requests that have finished (waiting *timeout* s)."""
        if not self._answers:
            if not self._on_wire:
                return
            self._answers.extend((yield Collect(timeout)))
        # One at a time from the queue: an answer that ends the run (a refused key, a
        # failing sink) leaves the others queued, for the wind-down to handle.
        while self._answers:
            token, result = self._answers.popleft()
            kind, batch, batch_id = self._on_wire.pop(token)
            if kind == "submit":
                self._submits_on_wire -= 1
                self._answer_times.append(self.clock() - batch.submitted_at)
                yield from self._answered(batch, result)
                continue
            self._checks_on_wire -= 1
            batch.checks -= 1
            if batch.batch_id != batch_id or batch not in self.in_flight:
                continue  # an overlapping check's answer, after another one settled it
            info = result.value if isinstance(result, Sent) else result
            yield from self._polled(batch, info)

    def _may_check(self, *, free: bool) -> bool:
        """Whether a status check may start now.

        The account's requests a second are shared by submits and checks, and the client
        paces them in the order they start: a check started ahead of a submit takes an
        account slot the submit may need. While submits flow, checks therefore ride along
        (a credit per submit); they go freely only while submission waits on them (``free``:
        ``max_in_flight`` reached, the final drain) or has paused for a poll interval.
        """
        if self._checks_on_wire >= self._request_bound():
            return False
        if free or self._check_credit > 0:
            return True
        paused = self.clock() - self._last_submit >= self.o.poll_interval
        return paused and self._checks_on_wire == 0

    def _check_due(self, *, free: bool) -> Generator[Command, Any, bool]:
        """Start the status check of the batch due first, if one is due and may start."""
        batch = self._next()
        if batch is None or batch.next_poll > self.clock() or not self._may_check(free=free):
            return False
        assert batch.batch_id is not None
        if not free and self._check_credit > 0:
            self._check_credit -= 1
        self._token += 1
        yield Start(ops.bulk_import_info(batch.batch_id, with_ids=False), self._token)
        batch.checked_at = self.clock()
        batch.checks += 1
        self._on_wire[self._token] = ("check", batch, batch.batch_id)
        self._checks_on_wire += 1
        overdue = batch.checked_at - batch.submitted_at >= self._typical_end
        if (self._draining or self._winding_down) and overdue:
            # Nothing else needs the account's slots: a last batch past its expected end is
            # checked every eighth of a poll interval without waiting for the previous check's
            # answer, so a check that came too early costs the run a fraction of an answer,
            # not a second answer (measured at 1.0 ± 0.5 s an answer: 96.5% -> 97.0%).
            batch.next_poll = batch.checked_at + self.o.poll_interval / 8
        return True

    def _wait(
        self, *, block: bool, free: bool = False, deadline: float | None = None
    ) -> Generator[Command, Any, None]:
        """Make progress: start the status checks that may go, handle finished requests.

        With ``block``, wait for something to happen first: an answer, or the next status
        check coming due (at most until *deadline*). Status checks travel in the background,
        like submits, so a slow answer never holds up the next submit. Never returns at
        once without progress when blocking (a busy loop would spin on a stopped clock).
        """
        if self.cancelled() and not self._winding_down and block:
            raise _Abort("cancelled", fatal=False, drain=True)
        while (yield from self._check_due(free=free)):
            pass
        if not block:
            yield from self._collect(0.0)
            return
        now = self.clock()
        due_in: float | None = None
        nxt = self._next()
        if nxt is not None and (free or self._checks_on_wire == 0):
            due_in = max(0.0, nxt.next_poll - now)
            if due_in == 0.0 and not self._may_check(free=free):
                due_in = None  # due, but it must wait for an answer (or the pause) first
        if nxt is not None and due_in is None and not self._on_wire:
            # Nothing on the wire to wait for: the pause that lets a check go.
            due_in = max(1e-3, self._last_submit + self.o.poll_interval - now)
        if deadline is not None:
            left = max(0.0, deadline - now)
            due_in = left if due_in is None else min(due_in, left)
        if self._on_wire:
            yield from self._collect(due_in)
        elif due_in:
            yield Sleep(due_in)

    def _answered(self, batch: Batch, result: Any) -> Generator[Command, Any, None]:
        """Act on the answer to *batch*'s bulk-import request."""
        if isinstance(result, Sent):
            batch.partial = batch.partial or result.doubt
            result = result.value
        if isinstance(result, BulkImportRejectedError):
            yield from self._rejected(batch, result)
            return
        if isinstance(result, AuthenticationError):
            self._lost(batch, result, "its bulk-import request")
            self.cause = result
            raise _Abort(str(result)) from result
        if isinstance(result, APIError):
            self.failures_in_a_row += 1
            self._lost(batch, result, "its bulk-import request")
            if self.failures_in_a_row >= self.t.max_consecutive_failures:
                self.cause = result
                msg = f"{self.failures_in_a_row} bulk-import requests in a row failed: {result}"
                raise _Abort(msg) from result
            return
        self._queued(batch, result, sent_at=batch.submitted_at)

    def _queued(self, batch: Batch, queued: Any, *, sent_at: float | None = None) -> None:
        """*batch* was queued as ``queued.batch_id``; its request left at *sent_at* (or now)."""
        self.failures_in_a_row = 0
        self.report.batches += 1
        self.report.bulk_requests += 1
        batch.batch_id = queued.batch_id
        batch.attempts += 1
        batch.submitted_at = self.clock() if sent_at is None else sent_at
        batch.polls = 0
        batch.next_poll = batch.first_due = self._first_due(batch.submitted_at)
        self.in_flight.append(batch)

    def _first_due(self, submitted_at: float) -> float:
        """When a batch submitted at *submitted_at* gets its first status check."""
        return submitted_at + max(self.o.first_poll_delay, self._typical_end)

    def _rejected(
        self, batch: Batch, exc: BulkImportRejectedError
    ) -> Generator[Command, Any, None]:
        """A whole request was refused: reject the contacts it named, resend the others.

        Whether ``failureReasons[].contact`` counts from 0 or from 1 is not documented, so a
        contact is never rejected on the index alone: the account's base is learnt once, by
        sending a named contact alone (it fails alone: the index was right; it goes through:
        the index was off by one), and only then are named contacts rejected.
        """
        self.report.bulk_requests += 1
        reasons: dict[int, str] = {}
        for failure in exc.failures:
            if failure.index is not None:
                reasons.setdefault(failure.index, failure.reason)
        handled: set[int] = set()
        if reasons and self._index_base is None:
            handled = yield from self._learn_base(batch, reasons)
        base = self._index_base
        named: dict[int, str] = {}
        if base is not None:
            named = {
                i - base: reason
                for i, reason in reasons.items()
                if 0 <= i - base < len(batch) and i - base not in handled
            }
            if len(named) + len(handled) < len(reasons):
                logger.warning(
                    "A bulk-import rejection named contacts outside the request (base %d); "
                    "finding the refused contacts by halving",
                    base,
                )
                named = {}
        remaining = [i for i in range(len(batch)) if i not in handled]
        if not named:
            if not remaining:
                return
            if len(remaining) == 1:
                reason = "; ".join(f.reason for f in exc.failures) or exc.message
                i = remaining[0]
                self._book(batch).record(
                    batch.positions[i],
                    batch.emails[i],
                    OutcomeStatus.REJECTED,
                    f"ActiveCampaign rejected it: {reason}",
                )
                return
            half = len(remaining) // 2  # no contact named for sure: halve to find the culprit
            yield from self._submit(batch.subset(remaining[:half]))
            yield from self._submit(batch.subset(remaining[half:]))
            return
        for index, reason in named.items():
            self._book(batch).record(
                batch.positions[index],
                batch.emails[index],
                OutcomeStatus.REJECTED,
                f"ActiveCampaign rejected it: {reason}",
            )
        rest = batch.subset([i for i in remaining if i not in named])
        if rest:
            yield from self._submit(rest)

    def _learn_base(
        self, batch: Batch, reasons: dict[int, str]
    ) -> Generator[Command, Any, set[int]]:
        """Learn whether ``failureReasons[].contact`` counts from 0 or 1; the indices handled.

        A 0 can only be 0-based, and the request's length only 1-based. Otherwise the named
        contact *k* with no named neighbour *k + 1* is sent alone: read from 0 it is the bad
        contact, read from 1 it is the good neighbour of the bad one (contact *k + 1* is not
        named). It fails alone: the base is 0; it is queued: the base is 1.
        """
        indices = sorted(reasons)
        if indices[0] == 0:
            self._index_base = 0
            return set()
        if indices[-1] >= len(batch):
            self._index_base = 1
            return set()
        k = indices[-1]
        alone = batch.subset([k])
        try:
            result = yield Call(ops.bulk_import_submit_encoded(alone.encoded), doubt=True)
            if isinstance(result, Sent):
                alone.partial, result = result.doubt, result.value
        except Stop:
            self._unknown(alone, "the export stopped while it was being sent alone")
            raise
        except APIError as err:
            result = err
        if isinstance(result, BulkImportRejectedError):
            self._index_base = 0
            self.report.bulk_requests += 1
            why = "; ".join(f.reason for f in result.failures) or reasons[k]
            self._book(alone).record(
                alone.positions[0],
                alone.emails[0],
                OutcomeStatus.REJECTED,
                f"ActiveCampaign rejected it: {why}",
            )
            logger.info("failureReasons[].contact counts from 0 on this account")
            return {k}
        if isinstance(result, APIError):
            self._lost(alone, result, "a contact sent alone to learn the failure index base")
            return {k}
        self._index_base = 1
        logger.info("failureReasons[].contact counts from 1 on this account")
        self._queued(alone, result)
        return {k}

    def _book(self, batch: Batch) -> Book:
        """Where *batch*'s outcomes go: the run's ledger, or mirror's tally of leavers."""
        return batch.book if batch.book is not None else self.ledger

    def _leavers_done(self, batch: Batch, info: BulkImportInfo) -> list[tuple[int, str]]:
        """Book a completed batch of leavers; return the ``(index, key)`` of the unsubscribed."""
        failed = {email.strip().lower() for email in info.failure}
        book = batch.book
        left: list[tuple[int, str]] = []
        for position, email in zip(batch.positions, batch.emails, strict=True):
            if email.strip().lower() in failed:
                book.record(
                    position, email, OutcomeStatus.FAILED, "ActiveCampaign did not unsubscribe it"
                )
            else:
                book.record(position, email, OutcomeStatus.EXPORTED)
                left.append((position, email.strip().lower()))
        if self.sync is not None:
            self.sync.forget([key for _, key in left])  # unsubscribed: no longer in sync
        return left

    def _fail(self, batch: Batch, reason: str) -> None:
        self._book(batch).rest(batch.positions, batch.emails, OutcomeStatus.FAILED, reason)

    def _polled(
        self, batch: Batch, info: BulkImportInfo | APIError
    ) -> Generator[Command, Any, bool]:
        """Act on one status check of *batch*; return whether the batch was settled."""
        if isinstance(info, APIError):
            logger.warning("Polling batch %s failed: %s", batch.batch_id, info)
            batch.next_poll = self.clock() + self.o.poll_interval
            if isinstance(info, AuthenticationError):
                self.cause = info
                raise _Abort(str(info)) from info
            batch.poll_errors += 1
            if batch.poll_errors >= self.t.max_poll_errors:
                self.in_flight.remove(batch)
                self._unknown(
                    batch,
                    f"its batch {batch.batch_id} could not be tracked "
                    f"({batch.poll_errors} status checks failed: {info})",
                )
                yield from self._checkpoint()
                return True
            return False
        batch.poll_errors = 0
        batch.polls += 1
        if not info.is_final:
            now = self.clock()
            if now - batch.submitted_at > self.o.max_batch_wait:
                self.in_flight.remove(batch)
                status = getattr(info, "raw_status", None) or (
                    info.status.value if info.status else "not started"
                )
                self._unknown(
                    batch,
                    f"its batch {batch.batch_id} had not ended after "
                    f"{self.o.max_batch_wait:g} s (last status: {status})",
                )
                yield from self._checkpoint()
                return True
            # Once nothing more is to be sent, the last batches are checked more often.
            draining = self._draining or self._winding_down
            batch.next_poll = now + self.o.poll_interval / (8 if draining else 1)
            self._unfinished_ages.append(batch.checked_at - batch.submitted_at)
            self._update_typical()
            return False
        self.in_flight.remove(batch)
        self._learn_end(batch)
        yield from self._settle(batch, info)
        return True

    def _learn_end(self, batch: Batch) -> None:
        """Learn how long batches take, so the first status check of the next one is its last.

        Each status check costs one of the account's requests, which bulk submission needs
        too. A check that found its batch ended says batches take at most that long (from
        their request's start to the check's); one that found it unfinished, at least that
        long. The next batch's first check comes at the shortest recent time known to be
        enough, a little earlier each time (so the estimate follows ActiveCampaign down),
        but never before the longest recent time known to be too short (so it follows it up).
        A first check that came late (behind submits) counts from when it was due: were it
        counted from when it went, the estimate would settle about thirty times the usual
        delay above the real time (measured: 8 s for batches that end in 2.5 s).
        """
        age = batch.checked_at - batch.submitted_at
        if batch.polls == 1:  # its first check: it ended by when that check was due
            age = min(age, batch.first_due - batch.submitted_at)
        self._ended_ages.append(age)
        self._update_typical()

    def _update_typical(self) -> None:
        enough = min(self._ended_ages, default=0.0) * 0.97
        too_short = max(self._unfinished_ages, default=0.0)
        estimate = max(enough, too_short * 1.02)
        self._typical_end = min(max(estimate, 0.0), self.t.max_first_poll_delay)

    def _settle(self, batch: Batch, info: BulkImportInfo) -> Generator[Command, Any, None]:
        if info.status is BatchStatus.COMPLETED and batch.book is not None:
            left = self._leavers_done(batch, info)
            if left and self._leaver_ids:
                yield from self._record_unsubscribes(left)
            return
        if info.status is BatchStatus.COMPLETED:
            failed = {email.strip().lower() for email in info.failure}
            if not failed:
                self._exported(batch.positions, batch.emails)
            else:
                done: tuple[list[int], list[str]] = ([], [])
                missing: list[tuple[int, str]] = []
                for position, email in zip(batch.positions, batch.emails, strict=True):
                    if email.lower() in failed:
                        missing.append((position, email))
                    else:
                        done[0].append(position)
                        done[1].append(email)
                self._exported(*done, check=False)
                yield from self._not_imported(missing)
                self._check_sink()
            yield from self._checkpoint()
            self.progress()
            return
        status = info.status.value if info.status else "unknown"
        if self._winding_down:
            self._unknown(
                batch, f"its batch ended {status}; not resubmitted: the export was stopping"
            )
            return
        if info.status is BatchStatus.INTERRUPTED:
            batch.partial = True
        if batch.attempts <= self.o.max_batch_resubmits:
            self.report.resubmitted_batches += 1
            logger.info(
                "Batch %s ended %s; resubmitting its %d contacts",
                batch.batch_id,
                info.status,
                len(batch),
            )
            yield from self._submit(batch)
            return
        # An interrupted batch may have imported part of its contacts before it stopped.
        if info.status is BatchStatus.INTERRUPTED or batch.partial:
            self._unknown(
                batch,
                f"its batch ended {status} {batch.attempts} times, and an earlier attempt may "
                "have imported some of it",
            )
        else:
            self._fail(batch, f"its batch ended {status} {batch.attempts} times")
        yield from self._checkpoint()

    def _not_imported(self, missing: list[tuple[int, str]]) -> Generator[Command, Any, None]:
        """Give the contacts a completed batch listed in ``failure`` their outcome and reason.

        ``import/info`` says only that a contact was not imported. While the run's budget of
        look-ups lasts, the contact's list status tells why: unsubscribed contacts (bulk
        import never re-subscribes them) are ``skipped``, bounced ones ``failed`` as bounced;
        the rest are ``failed`` with the causes ActiveCampaign documents.
        """
        pending = list(missing)
        try:
            while pending:
                position, email = pending[0]
                reason: str | None = _NOT_IMPORTED_REASON
                status = OutcomeStatus.FAILED
                key = email.lower()
                if key in self.unsubscribed:
                    status, reason = OutcomeStatus.SKIPPED, _UNSUBSCRIBED_REASON
                elif self._lookups > 0:
                    self._lookups -= 1
                    status, reason = yield from self._why_not_imported(email)
                self.ledger.record(position, email, status, reason)
                pending.pop(0)
        finally:
            for position, email in pending:  # stopped while looking: the generic reason
                self.ledger.record(position, email, OutcomeStatus.FAILED, _NOT_IMPORTED_REASON)

    def _why_not_imported(self, email: str) -> Generator[Command, Any, tuple[OutcomeStatus, str]]:
        try:
            contact = yield Call(ops.contacts_find(email))
            if contact is None:
                return OutcomeStatus.FAILED, (
                    "ActiveCampaign did not import this contact, and has no contact with this "
                    "email: it may be on the account's exclusion list"
                )
            memberships = yield Call(ops.contacts_memberships(contact.id))
        except APIError:
            return OutcomeStatus.FAILED, _NOT_IMPORTED_REASON
        current = {m.list: m.status for m in memberships}.get(self.target.list_id)
        if current is MembershipStatus.UNSUBSCRIBED:
            return OutcomeStatus.SKIPPED, (
                "unsubscribed from the list; ActiveCampaign's import left it unsubscribed (it "
                "is never re-subscribed)"
            )
        if current is MembershipStatus.BOUNCED:
            return OutcomeStatus.FAILED, "ActiveCampaign did not import this contact: it bounced"
        return OutcomeStatus.FAILED, _NOT_IMPORTED_REASON

    # -- mirror re-entry -------------------------------------------------------------------------

    def _record_unsubscribes(self, left: list[tuple[int, str]]) -> Generator[Command, Any, None]:
        """Record each leaver mirror unsubscribed with its membership as mirror left it.

        One read of the contact's memberships each. A leaver whose membership cannot be read
        is not recorded, so it is never re-subscribed (the safe side).
        """
        assert self.sync is not None
        records: list[MirrorUnsubscribe] = []
        try:
            for index, key in left:
                try:
                    memberships = yield Call(ops.contacts_memberships(self._leaver_ids[index]))
                except APIError as exc:
                    logger.warning(
                        "Mirror could not read the membership of a contact it unsubscribed "
                        "(%s); it will not be re-subscribed if it comes back",
                        exc,
                    )
                    continue
                current = _membership(memberships, self.target.list_id)
                if (
                    current is not None
                    and current.status is MembershipStatus.UNSUBSCRIBED
                    and current.updated is not None
                ):
                    records.append(
                        _mirror_record(key, int(current.status), current.updated.isoformat())
                    )
        finally:
            self.sync.record_unsubscribes(records)

    def _reenter(self) -> Generator[Command, Any, None]:
        """Re-subscribe returning profiles mirror had unsubscribed, if nothing changed since.

        A contact whose membership is still exactly as mirror left it (unsubscribed, with
        the same timestamp) never unsubscribed itself: it is re-subscribed (``contactLists``
        status 1) and sent with the others, reported ``exported`` with a reason. Any other
        is ``skipped`` as every unsubscribed contact is, and mirror's record of it goes.
        """
        returning = self._returning
        while returning:
            if self.cancelled():
                raise _Abort("cancelled", fatal=False, drain=True)
            position, email, encoded, values, record = returning[0]
            resubscribed = yield from self._resubscribe(position, email, record)
            returning.popleft()
            if resubscribed:
                pending = self.pending
                if not pending.fits(encoded, self._batch_size, self._max_bytes):
                    self._full.append(pending)
                    pending = self.pending = Batch()
                pending.add(position, email, encoded, values)
                if values[3]:
                    pending.has_tags = True
            while self._full:
                yield from self._submit(self._full.pop(0))

    def _resubscribe(
        self, position: int, email: str, record: MirrorUnsubscribe
    ) -> Generator[Command, Any, bool]:
        """Check one returning contact's membership; re-subscribe it when mirror's is intact."""
        assert self.sync is not None
        step = "looking it up"
        try:
            contact = yield Call(ops.contacts_find(email))
            current = None
            if contact is not None:
                step = "reading its list memberships"
                current = _membership(
                    (yield Call(ops.contacts_memberships(contact.id))), self.target.list_id
                )
            if (
                contact is None
                or current is None
                or current.status is not MembershipStatus.UNSUBSCRIBED
                or current.updated is None
                or current.updated.isoformat() != record.membership_updated
            ):
                self.ledger.record(
                    position,
                    email,
                    OutcomeStatus.SKIPPED,
                    "unsubscribed from the list, and its membership changed since mirror "
                    "unsubscribed it (it unsubscribed itself): it is never re-subscribed",
                )
                self.sync.drop_unsubscribe(record)
                return False
            if self._dry_run:
                self.report.would_subscribe = (self.report.would_subscribe or 0) + 1
                self.ledger.record(
                    position,
                    email,
                    OutcomeStatus.EXPORTED,
                    "dry run: would be re-subscribed (only mirror had unsubscribed it)",
                )
                return False
            step = "re-subscribing it"
            yield Call(
                ops.memberships_set(contact.id, self.target.list_id, MembershipStatus.ACTIVE)
            )
        except Stop:
            if step == "re-subscribing it":
                self.ledger.record(
                    position,
                    email,
                    OutcomeStatus.UNKNOWN,
                    "the export stopped while it was being re-subscribed",
                )
            raise
        except APIError as exc:
            status = OutcomeStatus.UNKNOWN if exc.maybe_applied else OutcomeStatus.FAILED
            self.ledger.record(position, email, status, f"{step} failed: {exc}")
            if isinstance(exc, AuthenticationError):
                self.cause = exc
                raise _Abort(str(exc)) from exc
            return False
        self.sync.drop_unsubscribe(record)
        self.report.resubscribed += 1
        self._reasons[position] = (
            f"re-subscribed: mirror had unsubscribed it ({record.membership_updated}) and its "
            "membership had not changed since"
        )
        return True

    def _drain(self) -> Generator[Command, Any, None]:
        self._draining = True
        for batch in self.in_flight:  # what was learnt since they were submitted holds
            if not batch.polls:
                batch.next_poll = min(batch.next_poll, self._first_due(batch.submitted_at))
        try:
            while self.in_flight or self._on_wire or self._answers:
                yield from self._wait(block=True, free=True)
        finally:
            self._draining = False

    # -- the small remainder: contact/sync + contactLists -------------------------------------

    def _sync_each(self, batch: Batch) -> Generator[Command, Any, None]:
        for position, email, values in zip(
            batch.positions, batch.emails, batch.values, strict=True
        ):
            if self.cancelled():
                raise _Abort("cancelled", fatal=False, drain=True)
            first, last, phone, _tags, fields = values
            contact = ContactInput(
                email=email, first_name=first, last_name=last, phone=phone, field_values=fields
            )
            step = "syncing it"
            try:
                synced = yield Call(ops.contacts_sync(contact))
                self.report.sync_requests += 1
                step = "reading its list memberships"
                memberships = yield Call(ops.contacts_memberships(synced.id))
                current = {m.list: m.status for m in memberships}.get(self.target.list_id)
                if current is MembershipStatus.UNSUBSCRIBED:
                    self.ledger.record(
                        position,
                        email,
                        OutcomeStatus.SKIPPED,
                        "unsubscribed from the list; its details were updated but it is "
                        "never re-subscribed",
                    )
                    continue
                if current is not MembershipStatus.ACTIVE:
                    step = "subscribing it to the list"
                    yield Call(
                        ops.memberships_set(synced.id, self.target.list_id, MembershipStatus.ACTIVE)
                    )
            except Stop:
                self.ledger.record(
                    position,
                    email,
                    OutcomeStatus.UNKNOWN,
                    "the export stopped while this contact was being synced",
                )
                raise
            except UnprocessableEntityError as exc:
                self.ledger.record(
                    position,
                    email,
                    OutcomeStatus.REJECTED,
                    f"ActiveCampaign rejected it: {exc.message}",
                )
                continue
            except APIError as exc:
                done = "" if step == "syncing it" else "its details were updated; "
                if exc.maybe_applied:
                    self.ledger.record(
                        position,
                        email,
                        OutcomeStatus.UNKNOWN,
                        f"{done}{step} may have been carried out before it failed: {exc}",
                    )
                else:
                    self.ledger.record(
                        position, email, OutcomeStatus.FAILED, f"{done}{step} failed: {exc}"
                    )
                if isinstance(exc, AuthenticationError):
                    self.cause = exc
                    raise _Abort(str(exc)) from exc
                continue
            self.ledger.record(
                position, email, OutcomeStatus.EXPORTED, self._reasons.pop(position, None)
            )
            self._check_sink()
        yield from self._checkpoint()

    # -- mirror ----------------------------------------------------------------------------------

    def _is_member(self, key: str) -> bool:
        if self.segment is not None:
            return key in self.segment
        return key in self.seen or (self.members is not None and key in self.members)

    def _segment_size(self) -> int:
        if self.segment is not None:
            return len(self.segment)
        return len(self.seen) + (len(self.members) if self.members is not None else 0)

    def _refuse(self, reason: str, leavers: int, active: int) -> None:
        self.mirror_refusal = (reason, leavers, active)
        self.cause = None
        raise _Abort(f"mirror refused: {reason}")

    def _mirror(self) -> Generator[Command, Any, None]:
        """Unsubscribe active members who are not in the segment (never re-subscribing anyone).

        Every profile whose email could be read is a segment member, whatever else was wrong
        with it. Mirror refuses (before unsubscribing anyone) an empty segment unless
        ``allow_empty``, and more than ``max_unsubscribe_fraction`` of the list's members.
        """
        if self.cancelled():
            raise _Abort("cancelled", fatal=False)
        if self.report.stopped_early:
            self.report.stop_reason = (self.report.stop_reason or "") + (
                "; mirror skipped: the segment was not read in full"
            )
            return
        if self.unreadable:
            prefix = f"{self.report.stop_reason}; " if self.report.stop_reason else ""
            self.report.stop_reason = prefix + (
                f"mirror skipped: {self.unreadable:,} records of the input could not be read, "
                "so their owners are unknown and could be members"
            )
            return
        if self._segment_size() == 0 and not self.o.allow_empty:
            self._refuse(
                "the segment holds no profile with a readable email, so mirror would "
                "unsubscribe every member of the list; pass allow_empty=True to mean it",
                0,
                0,
            )
        pager = ops.contacts_pager(
            list_id=self.target.list_id, status=MembershipStatus.ACTIVE, by_id=True
        )
        leavers: list[bytes] = []
        emails: list[str] = []
        unsubscribe = BulkContactEncoder(
            unsubscribe=(self.target.list_id,),
            exclude_automations=self.target.exclude_automations,
        )
        spec: Any = pager.first()
        active = 0
        while spec is not None:
            body = yield Call(ops.Operation(spec, lambda body, _: body))
            items, spec = pager.advance(body)
            for contact in items:
                active += 1
                if self._is_member(contact.email.strip().lower()):
                    continue
                leavers.append(unsubscribe.encode(contact.email))
                emails.append(contact.email)
                if self.sync is not None:
                    self._leaver_ids.append(contact.id)
        count = len(leavers)
        limit = self.o.max_unsubscribe_fraction
        if active and count > limit * active and self._segment_size():
            self._refuse(
                f"it would unsubscribe {count:,} of the list's {active:,} active members "
                f"({count / active:.0%}), more than max_unsubscribe_fraction ({limit:.0%}); "
                "raise it to mean it",
                count,
                active,
            )
        if self.o.dry_run:
            self.report.leavers = count
            self.report.would_unsubscribe = count
            return
        tally = self._leavers = Leavers(self.report, count)
        batch = Batch()
        batch.book = tally
        for index, encoded in enumerate(leavers):
            if not batch.fits(encoded, self._batch_size, self._max_bytes):
                yield from self._submit(batch)
                batch = Batch()
                batch.book = tally
            batch.add(index, emails[index], encoded)
        if batch:
            yield from self._submit(batch)
        yield from self._drain()
        if not tally.complete:
            raise _Abort(
                f"mirror did not complete: {self.report.leavers_remaining:,} leavers are still "
                f"subscribed and {self.report.leavers_unknown:,} may or may not be "
                f"({self.report.mirror_problem or 'the unsubscribe batches did not all end'})"
            )


class _Abort(Exception):  # noqa: N818 - internal control flow
    """Stop the run with a reason (a fatal API error, too many failures, cancellation).

    With ``drain``, the batches in flight are tracked to their end (within ``cancel_grace``)
    before the run ends; ``fatal`` makes the run raise :class:`ExportAbortedError`.
    """

    def __init__(self, reason: str, *, fatal: bool = True, drain: bool = False) -> None:
        super().__init__(reason)
        self.fatal = fatal
        self.drain = drain


def _membership(memberships: Any, list_id: int) -> Any:
    """The membership of *list_id* among a contact's memberships, or ``None``."""
    for membership in memberships:
        if membership.list == list_id:
            return membership
    return None


def _mirror_record(key: str, status: int, updated: str) -> MirrorUnsubscribe:
    from ac_segment_export._export._sync import MirrorUnsubscribe, stable_hash  # noqa: PLC0415

    return MirrorUnsubscribe(stable_hash(key.encode()), status, updated)
