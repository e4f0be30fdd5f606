"""The export, written once as a generator of commands; the sync and async exporters drive it.

The engine never sends, sleeps or reads the input itself. It yields a command — :class:`Call`
(one API operation), :class:`Sleep`, :class:`Pull` (the next profiles) — and the driver sends
back the result or throws the exception into it. Everything else (mapping, validation,
de-duplication, batching, tracking, accounting) is plain code here, shared by both drivers.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ac_segment_export._core.errors import (
    APIError,
    APIStatusError,
    AuthenticationError,
    BulkImportRejectedError,
    UnprocessableEntityError,
)
from ac_segment_export._core.wire import (
    BatchStatus,
    BulkImportInfo,
    ContactInput,
    FieldValueInput,
    MembershipStatus,
)
from ac_segment_export.client import _ops as ops
from ac_segment_export.client._ops import BULK_BODY_OVERHEAD, BULK_MAX_BYTES, BULK_MAX_CONTACTS
from ac_segment_export.export._index import EmailIndex, email_hash
from ac_segment_export.export._report import ExportReport, OutcomeStatus, Progress, RecordOutcome
from ac_segment_export.export._validate import (
    MAX_NAME_LENGTH,
    MAX_PHONE_LENGTH,
    MAX_VALUE_LENGTH,
    check_email,
    to_e164,
)

if TYPE_CHECKING:
    from ac_segment_export.export._checkpoint import Checkpoint, CheckpointState
    from ac_segment_export.model import FieldMapper

__all__ = ["Call", "Command", "Engine", "EngineSettings", "Pull", "Sleep"]

logger = logging.getLogger("ac_segment_export")

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_string = json.encoder.encode_basestring  # what _encode writes for a str (ensure_ascii=False)


@attrs.frozen
class Call:
    """Send one API operation; the driver sends back its result or throws its error."""

    op: ops.Operation[Any]


@attrs.frozen
class Sleep:
    """Wait this many seconds."""

    seconds: float


@attrs.frozen
class Pull:
    """Read up to ``n`` more profiles; the driver sends back a list (empty at the end)."""

    n: int


@attrs.frozen
class Both:
    """Send two API operations at once; the driver sends back both results, in order.

    The second is paced after the first (it waits until the first's rate-limit slots are
    taken), then both travel concurrently. Each result is the operation's value or the
    :class:`APIError` it raised (any other exception propagates). The exporter checks a
    batch's status while it submits the next one, so a slow network costs one round trip
    per batch, not two.
    """

    first: ops.Operation[Any]
    second: ops.Operation[Any]


Command = Call | Both | Sleep | Pull


class Stop(Exception):  # noqa: N818 - a signal, not an error
    """Thrown into the engine by a driver to stop the run now (Ctrl-C, task cancellation)."""


@attrs.frozen(kw_only=True)
class EngineSettings:
    """The knobs of one run (see :class:`~ac_segment_export.Exporter` for their meaning)."""

    list_id: int
    tags: tuple[str, ...] = ()
    exclude_automations: bool = True
    mirror: bool = False
    dry_run: bool = False
    keep: str = "first"
    max_profiles: int = 1_000_000
    batch_size: int = BULK_MAX_CONTACTS
    max_bytes: int = BULK_MAX_BYTES
    small_batch: int = 10
    max_in_flight: int = 40
    first_poll_delay: float = 1.0
    max_first_poll_delay: float = 60.0
    poll_interval: float = 2.0
    max_batch_resubmits: int = 2
    max_consecutive_failures: int = 3
    max_poll_errors: int = 10
    cancel_grace: float = 60.0
    check_unsubscribed: bool = True
    phone_e164: bool = False
    default_country_code: str | None = None
    progress_every: float = 0.5
    pull_size: int = 500


def _next_poll(batch: _Batch) -> float:
    return batch.next_poll


class _Batch:
    """Contacts travelling together in one bulk-import request."""

    __slots__ = (
        "attempts",
        "batch_id",
        "emails",
        "encoded",
        "first_due",
        "has_tags",
        "next_poll",
        "poll_errors",
        "polls",
        "positions",
        "size",
        "submitted_at",
    )

    def __init__(self) -> None:
        self.submitted_at = 0.0
        self.first_due = 0.0
        self.polls = 0
        self.positions: list[int] = []
        self.emails: list[str] = []
        self.encoded: list[bytes] = []
        self.size = BULK_BODY_OVERHEAD
        self.batch_id: str | None = None
        self.next_poll = 0.0
        self.attempts = 0
        self.poll_errors = 0
        self.has_tags = False

    def __len__(self) -> int:
        return len(self.positions)

    def fits(self, encoded: bytes, settings: EngineSettings) -> bool:
        return (
            len(self.positions) < settings.batch_size
            and self.size + len(encoded) + 1 <= settings.max_bytes
        )

    def add(self, position: int, email: str, encoded: bytes) -> None:
        self.size += len(encoded) + (1 if self.positions else 0)
        self.positions.append(position)
        self.emails.append(email)
        self.encoded.append(encoded)

    def subset(self, keep: Sequence[int]) -> _Batch:
        other = _Batch()
        for i in keep:
            other.add(self.positions[i], self.emails[i], self.encoded[i])
        other.has_tags = self.has_tags
        return other


class Engine:
    """One export run's state and logic."""

    def __init__(
        self,
        settings: EngineSettings,
        mapper: FieldMapper,
        report: ExportReport,
        *,
        total: int | None = None,
        checkpoint: Checkpoint | None = None,
        resume: CheckpointState | None = None,
        cancelled: Callable[[], bool] = lambda: False,
        on_progress: Callable[[Progress], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.s = settings
        self.mapper = mapper
        self.report = report
        self.total = total
        self.checkpoint = checkpoint
        self.resume = resume
        self.cancelled = cancelled
        self.on_progress = on_progress
        self.clock = clock
        self.started = clock()
        self.read = 0
        self.seen = EmailIndex()
        self.unsubscribed = EmailIndex()
        self.active_members: EmailIndex | None = None
        self.last_position: EmailIndex | None = None
        self.pending = _Batch()
        self.in_flight: deque[_Batch] = deque()
        self._typical_end = 0.0
        self._transit: list[_Batch] = []  # batches between containers (being sent or synced)
        skip = resume.position if resume is not None else 0
        self._mark = skip  # every position below this one has its outcome
        self._ahead: set[int] = set()  # positions at or above the mark that have one
        self._unconfirmed: int | None = None  # the lowest not-attempted or unknown position
        self.failures_in_a_row = 0
        self.fatal = False
        self._last_progress = 0.0
        self._encoded_tail = ""
        self._tags = settings.tags
        self._subscribe = [{"listid": settings.list_id}]

    # -- bookkeeping --------------------------------------------------------------------------

    def _out(
        self,
        position: int,
        email: str | None,
        status: OutcomeStatus,
        reason: str | None = None,
        field: str | None = None,
    ) -> None:
        self.report.record(RecordOutcome(position, email, status, reason, field))
        if (status is OutcomeStatus.NOT_ATTEMPTED or status is OutcomeStatus.UNKNOWN) and (
            self._unconfirmed is None or position < self._unconfirmed
        ):
            self._unconfirmed = position
        self._settled(position)

    def _settled(self, position: int) -> None:
        """Move the mark of settled positions past *position* when it is next in line."""
        if position == self._mark:
            mark = position + 1
            ahead = self._ahead
            while ahead and mark in ahead:
                ahead.remove(mark)
                mark += 1
            self._mark = mark
        else:
            self._ahead.add(position)

    def _exported(self, positions: list[int], emails: list[str]) -> None:
        """Record exported profiles: counted (and streamed to a sink), not kept one by one."""
        report = self.report
        if report.has_sink:
            for position, email in zip(positions, emails, strict=True):
                report.record(RecordOutcome(position, email, OutcomeStatus.EXPORTED))
        else:
            report.count_only(OutcomeStatus.EXPORTED, len(positions))
        for position in positions:
            self._settled(position)

    def _has_outcome(self, position: int) -> bool:
        return position < self._mark or position in self._ahead

    def _progress(self, *, force: bool = False) -> None:
        if self.on_progress is None:
            return
        now = self.clock()
        if not force and now - self._last_progress < self.s.progress_every:
            return
        self._last_progress = now
        elapsed = max(now - self.started, 1e-9)
        settled = self.report.accounted
        rate = settled / elapsed
        eta = None
        if self.total is not None and rate > 0:
            eta = max(0.0, (min(self.total, self.s.max_profiles) - settled) / rate)
        progress = Progress(self.read, settled, self.report.exported, self.total, rate, eta)
        try:
            self.on_progress(progress)
        except Exception:  # a user's callback must not stop the export
            logger.exception("on_progress raised; the export goes on without that update")

    def low_water_mark(self) -> int:
        """The input position below which every profile is settled and confirmed.

        Profiles reported not attempted or unknown are not confirmed: a resumed run sends
        them again.
        """
        if self._unconfirmed is not None and self._unconfirmed < self._mark:
            return self._unconfirmed
        return self._mark

    # -- one profile --------------------------------------------------------------------------

    def _prepare(self, position: int, profile: Any) -> tuple[str, str, Any] | None:
        """Map and check one profile's email; ``None`` when it got an outcome already."""
        if type(profile) is not dict and not isinstance(profile, Mapping):
            self._out(
                position,
                None,
                OutcomeStatus.REJECTED,
                f"a profile must be a mapping, not {type(profile).__name__}",
            )
            return None
        mapped: Any  # a MappedProfile or a Rejection, or a user mapper's look-alike
        try:
            mapped = self.mapper.map(profile)
        except Exception as exc:  # noqa: BLE001 - a user's mapper must not stop the export
            self._out(
                position,
                None,
                OutcomeStatus.REJECTED,
                f"the mapper raised {type(exc).__name__}: {exc}",
            )
            return None
        reason = getattr(mapped, "reason", None)
        if reason is not None:
            self._out(
                position, None, OutcomeStatus.REJECTED, str(reason), getattr(mapped, "field", None)
            )
            return None
        checked = check_email(mapped.email)
        if isinstance(checked, str):
            raw = mapped.email if isinstance(mapped.email, str) else None
            self._out(position, raw, OutcomeStatus.REJECTED, checked, "email")
            return None
        return checked[0], checked[1], mapped

    def _encode(self, email: str, mapped: Any) -> bytes | tuple[str, str]:
        """The bulk-import JSON of one contact, or ``(reason, field)``.

        Written piece by piece: the same bytes, in the same key order, as ``_encode`` of the
        contact's dict, without building the dict or running the encoder (the hot path).
        """
        parts = ['{"email":', _string(email)]
        first, last, phone = mapped.first_name, mapped.last_name, mapped.phone
        if first:
            if len(first) > MAX_NAME_LENGTH:
                return f"first name is longer than {MAX_NAME_LENGTH} characters", "first_name"
            parts += (',"first_name":', _string(first) if type(first) is str else _encode(first))
        if last:
            if len(last) > MAX_NAME_LENGTH:
                return f"last name is longer than {MAX_NAME_LENGTH} characters", "last_name"
            parts += (',"last_name":', _string(last) if type(last) is str else _encode(last))
        if phone:
            if self.s.phone_e164:
                normalised = to_e164(phone, self.s.default_country_code)
                if normalised is None:
                    return f"phone {phone!r} cannot be written in E.164 form", "phone"
                phone = normalised
            if len(phone) > MAX_PHONE_LENGTH:
                return f"phone is longer than {MAX_PHONE_LENGTH} characters", "phone"
            parts += (',"phone":', _string(phone) if type(phone) is str else _encode(phone))
        tags = mapped.tags + self._tags if mapped.tags else self._tags
        if tags:
            parts += (',"tags":', _encode(list(tags)))
        if mapped.fields:
            fields = []
            for fv in mapped.fields:
                if len(fv.value) > MAX_VALUE_LENGTH:
                    return (
                        f"custom field {fv.field}'s value is longer than "
                        f"{MAX_VALUE_LENGTH} characters",
                        str(fv.field),
                    )
                fields.append({"id": fv.field, "value": fv.value})
            parts += (',"fields":', _encode(fields))
        tail = self._encoded_tail
        if not tail:  # the part every contact shares, encoded once
            shared: dict[str, Any] = {"subscribe": self._subscribe}
            if self.s.exclude_automations:
                shared["exclude_automations"] = True
            tail = self._encoded_tail = "," + _encode(shared)[1:]
        parts.append(tail)
        return "".join(parts).encode()

    def _take(self, position: int, profile: Any) -> None:
        """Give one profile an outcome, or put it in the pending batch."""
        prepared = self._prepare(position, profile)
        if prepared is None:
            return
        email, key, mapped = prepared
        h = email_hash(key)  # hashed once for both indexes
        if self.last_position is not None:  # keep the last occurrence
            last = self.last_position.get(key)
            if last is not None and last != position:
                self._out(
                    position,
                    email,
                    OutcomeStatus.DUPLICATE,
                    f"a later profile (position {last}) has the same email",
                )
                return
            self.seen.add_hash(h)
        elif not self.seen.add_hash(h):
            self._out(
                position, email, OutcomeStatus.DUPLICATE, "an earlier profile has the same email"
            )
            return
        if self.unsubscribed and self.unsubscribed.has_hash(h):
            self._out(
                position,
                email,
                OutcomeStatus.SKIPPED,
                "unsubscribed from the list; it is never re-subscribed",
            )
            return
        encoded = self._encode(email, mapped)
        if isinstance(encoded, tuple):
            self._out(position, email, OutcomeStatus.REJECTED, encoded[0], encoded[1])
            return
        if len(encoded) + BULK_BODY_OVERHEAD > self.s.max_bytes:
            self._out(
                position,
                email,
                OutcomeStatus.REJECTED,
                f"the contact alone is {len(encoded):,} bytes, more than a bulk request "
                f"may carry ({self.s.max_bytes:,})",
            )
            return
        if self.s.dry_run:
            self._dry_run_outcome(position, email, key)
            return
        if not self.pending.fits(encoded, self.s):
            self._full.append(self.pending)
            self.pending = _Batch()
        self.pending.add(position, email, encoded)
        if mapped.tags:
            self.pending.has_tags = True

    _full: list[_Batch]
    _winding_down = False

    def _dry_run_outcome(self, position: int, email: str, key: str) -> None:
        self.report.would_subscribe = (self.report.would_subscribe or 0) + (
            0 if self.active_members is not None and key in self.active_members else 1
        )
        self._out(position, email, OutcomeStatus.EXPORTED, "dry run: would be exported")

    # -- the run ------------------------------------------------------------------------------

    def run(self) -> Generator[Command, Any, ExportReport]:
        """The whole export; returns the report (also kept in :attr:`report`)."""
        self._full = []
        try:
            if self.s.check_unsubscribed or self.s.mirror:
                yield from self._load_members(MembershipStatus.UNSUBSCRIBED, self.unsubscribed)
            if self.s.dry_run and (self.s.mirror or self.s.check_unsubscribed):
                self.active_members = EmailIndex()
                yield from self._load_members(MembershipStatus.ACTIVE, self.active_members)
            if self.s.keep == "last":
                yield from self._first_pass()
            yield from self._stream()
            if not self.s.dry_run:
                yield from self._flush()
                yield from self._drain()
                if self.s.mirror:
                    yield from self._mirror()
            elif self.s.mirror:
                yield from self._mirror()
        except Stop:
            self._halt("stopped by the user (interrupt or cancellation)")
        except _Abort as exc:
            self.fatal = exc.fatal
            if not exc.fatal:  # cancelled: let the batches in flight end, within the grace
                with contextlib.suppress(Stop):  # a second stop ends the grace period
                    yield from self._wind_down(str(exc))
            self._halt(str(exc))
        except APIError as exc:  # a request that had to succeed failed after its retries
            self.fatal = True
            self._halt(f"a request failed: {exc}")
        return self.report

    def _wind_down(self, reason: str) -> Generator[Command, Any, None]:
        """After a cancel: send nothing more, track in-flight batches for ``cancel_grace`` s."""
        self.report.stopped_early = True
        self.report.stop_reason = self.report.stop_reason or reason
        self._winding_down = True
        for batch in self._full:
            self._not_attempted(batch)
        self._full = []
        self._not_attempted(self.pending)
        self.pending = _Batch()
        deadline = self.clock() + self.s.cancel_grace
        while self.in_flight and self.clock() < deadline:
            yield from self._poll(block=True, deadline=deadline)

    def _halt(self, reason: str) -> None:
        """End the run now: pending profiles not attempted, in-flight ones unknown.

        Every profile taken from the input and still without an outcome gets one here,
        wherever it was: waiting in a batch, in a request being sent, in flight.
        """
        self.report.stopped_early = True
        self.report.stop_reason = self.report.stop_reason or reason
        for batch in self._full:
            self._not_attempted(batch)
        self._full = []
        self._not_attempted(self.pending)
        self.pending = _Batch()
        while self.in_flight:
            batch = self.in_flight.popleft()
            self._unknown(
                batch,
                f"its batch {batch.batch_id} was still being imported when "
                "the export stopped; check ActiveCampaign before re-running",
            )
        while self._transit:
            batch = self._transit.pop()
            if batch.attempts:  # it was imported before (ended failed/interrupted) at least once
                self._unknown(batch, "its batch was being resubmitted when the export stopped")
            else:
                self._not_attempted(batch)

    def _not_attempted(self, batch: _Batch) -> None:
        reason = f"not sent: {self.report.stop_reason or 'the export stopped'}"
        for position, email in zip(batch.positions, batch.emails, strict=True):
            if not self._has_outcome(position):
                self._out(position, email, OutcomeStatus.NOT_ATTEMPTED, reason)

    def _unknown(self, batch: _Batch, reason: str) -> None:
        for position, email in zip(batch.positions, batch.emails, strict=True):
            if not self._has_outcome(position):
                self._out(position, email, OutcomeStatus.UNKNOWN, reason)

    def _load_members(
        self, status: MembershipStatus, into: EmailIndex
    ) -> Generator[Command, Any, None]:
        pager = ops.contacts_pager(list_id=self.s.list_id, status=status, by_id=True)
        spec: Any = pager.first()
        while spec is not None:
            body = yield Call(ops.Operation(spec, lambda body, _: body))
            items, spec = pager.advance(body)
            for contact in items:
                into.add(contact.email.strip().lower())

    def _first_pass(self) -> Generator[Command, Any, None]:
        """For keep-last: learn each email's last position (the source is read twice)."""
        self.last_position = EmailIndex(with_values=True)
        position = 0
        while True:
            chunk = yield Pull(-self.s.pull_size)  # negative: the first of two passes
            if not chunk:
                return
            for profile in chunk:
                if position >= self.s.max_profiles:
                    return
                if isinstance(profile, Mapping):
                    try:
                        mapped = self.mapper.map(profile)
                    except Exception:  # noqa: BLE001 - reported in the second pass
                        mapped = None
                    email = getattr(mapped, "email", None)
                    checked = check_email(email) if email is not None else "missing"
                    if not isinstance(checked, str):
                        self.last_position.set(checked[1], position)
                position += 1

    def _stream(self) -> Generator[Command, Any, None]:
        skip = self.resume.position if self.resume is not None else 0
        limit = self.s.max_profiles
        over = False
        while not over:
            if self.cancelled():
                raise _Abort("cancelled", fatal=False)
            # Read at most one profile past the limit: enough to know the source holds more.
            chunk = yield Pull(min(self.s.pull_size, limit - self.read + 1))
            if not chunk:
                return
            for profile in chunk:
                position = self.read
                if position >= limit:
                    self._beyond_limit(1)
                    over = True
                    continue
                self.read += 1
                if position < skip:
                    self._replay(profile)
                    continue
                self._take(position, profile)
            # Status checks ride along with submits (``Both``); a check of its own is made
            # only when nothing was submitted, or when checks are falling behind.
            submitted = bool(self._full)
            while self._full:
                yield from self._submit(self._full.pop(0))
            if not submitted or self._backlog():
                yield from self._poll(block=False)
            self._progress()

    def _beyond_limit(self, n: int) -> None:
        """Count profiles read past ``max_profiles`` as not attempted; reading stops there."""
        self.report.stopped_early = True
        self.report.stop_reason = (
            f"max_profiles ({self.s.max_profiles:,}) reached: the source holds more profiles; "
            f"those from position {self.s.max_profiles:,} on were not attempted (and not read "
            "beyond the first)"
        )
        self.read += n
        self.report.count_only(OutcomeStatus.NOT_ATTEMPTED, n)

    def _replay(self, profile: Any) -> None:
        """A profile settled by the run being resumed: only rebuild the de-duplication index."""
        if not isinstance(profile, Mapping):
            return
        try:
            mapped = self.mapper.map(profile)
        except Exception:  # noqa: BLE001 - it was reported by the earlier run
            return
        email = getattr(mapped, "email", None)
        checked = check_email(email) if email is not None else "missing"
        if not isinstance(checked, str):
            self.seen.add(checked[1])

    def _flush(self) -> Generator[Command, Any, None]:
        batch, self.pending = self.pending, _Batch()
        if not batch:
            return
        if len(batch) <= self.s.small_batch and not self._tags and not batch.has_tags:
            self._transit.append(batch)
            yield from self._sync_each(batch)
            self._transit.remove(batch)
        else:
            yield from self._submit(batch)

    # -- bulk import --------------------------------------------------------------------------

    def _submit(self, batch: _Batch) -> Generator[Command, Any, None]:
        # While it travels, the batch is in ``_transit``: a stop then still accounts for it.
        self._transit.append(batch)
        yield from self._send(batch)
        self._transit.remove(batch)

    def _backlog(self) -> bool:
        """Whether more than one batch's status check is due."""
        now = self.clock()
        return sum(1 for b in self.in_flight if b.next_poll <= now) > 1

    def _next(self) -> _Batch | None:
        """The batch in flight whose status check comes first (the oldest among equals)."""
        return min(self.in_flight, key=_next_poll) if self.in_flight else None

    def _due(self) -> _Batch | None:
        """The batch whose status check is due first, if one is due now."""
        batch = self._next()
        return batch if batch is not None and batch.next_poll <= self.clock() else None

    def _send(self, batch: _Batch) -> Generator[Command, Any, None]:
        while len(self.in_flight) >= self.s.max_in_flight:
            yield from self._poll(block=True)
        op = ops.bulk_import_submit_encoded(batch.encoded)
        due = self._due()
        result: Any
        try:
            if due is None:
                try:
                    result = yield Call(op)
                except APIError as exc:
                    result = exc
            else:
                assert due.batch_id is not None
                # The submit is paced first (its bulk-import slot sets the export's speed);
                # the status check takes the account's next slot after it.
                result, info = yield Both(op, ops.bulk_import_info(due.batch_id, with_ids=False))
        except Stop:
            self._unknown(
                batch,
                "the export stopped while its bulk-import request was being "
                "sent; check ActiveCampaign before re-running",
            )
            raise
        if due is not None:
            yield from self._polled(due, info)
        if isinstance(result, BulkImportRejectedError):
            yield from self._rejected(batch, result)
            return
        if isinstance(result, AuthenticationError):
            self._fail(batch, f"bulk import refused the API key: {result}")
            raise _Abort(str(result)) from result
        if isinstance(result, APIError):
            self.failures_in_a_row += 1
            self._fail(batch, f"bulk-import request failed after retries: {result}")
            if self.failures_in_a_row >= self.s.max_consecutive_failures:
                msg = f"{self.failures_in_a_row} bulk-import requests in a row failed: {result}"
                raise _Abort(msg) from result
            return
        queued = result
        self.failures_in_a_row = 0
        self.report.batches += 1
        self.report.bulk_requests += 1
        batch.batch_id = queued.batch_id
        batch.attempts += 1
        batch.submitted_at = self.clock()
        batch.polls = 0
        batch.next_poll = batch.submitted_at + max(self.s.first_poll_delay, self._typical_end)
        batch.first_due = batch.next_poll
        self.in_flight.append(batch)

    def _rejected(
        self, batch: _Batch, exc: BulkImportRejectedError
    ) -> Generator[Command, Any, None]:
        self.report.bulk_requests += 1
        named: dict[int, str] = {}
        for failure in exc.failures:
            if failure.index is not None and 0 <= failure.index < len(batch):
                named.setdefault(failure.index, failure.reason)
        if not named:
            if len(batch) == 1:
                reason = "; ".join(f.reason for f in exc.failures) or exc.message
                self._out(
                    batch.positions[0],
                    batch.emails[0],
                    OutcomeStatus.REJECTED,
                    f"ActiveCampaign rejected it: {reason}",
                )
                return
            half = len(batch) // 2  # no contact named: halve the batch to find the culprit
            yield from self._submit(batch.subset(range(half)))
            yield from self._submit(batch.subset(range(half, len(batch))))
            return
        for index, reason in named.items():
            self._out(
                batch.positions[index],
                batch.emails[index],
                OutcomeStatus.REJECTED,
                f"ActiveCampaign rejected it: {reason}",
            )
        rest = batch.subset([i for i in range(len(batch)) if i not in named])
        if rest:
            yield from self._submit(rest)

    def _fail(self, batch: _Batch, reason: str) -> None:
        for position, email in zip(batch.positions, batch.emails, strict=True):
            self._out(position, email, OutcomeStatus.FAILED, reason)

    def _poll(self, *, block: bool, deadline: float | None = None) -> Generator[Command, Any, None]:
        """Check the batch due first, when it is due; with ``block``, wait until one settles."""
        while self.in_flight:
            batch = self._next()
            assert batch is not None
            now = self.clock()
            if deadline is not None and now >= deadline:
                return
            if batch.next_poll > now:
                if not block:
                    return
                wait = batch.next_poll - now
                yield Sleep(wait if deadline is None else min(wait, max(0.0, deadline - now)))
                if self.cancelled() and not self._winding_down:
                    raise _Abort("cancelled", fatal=False)
                if self.clock() < batch.next_poll:
                    continue
            assert batch.batch_id is not None
            try:
                info = yield Call(ops.bulk_import_info(batch.batch_id, with_ids=False))
            except APIError as exc:
                info = exc
            settled = yield from self._polled(batch, info)
            if settled or not block:
                return  # one status check per call: polling must not starve submission

    def _polled(
        self, batch: _Batch, info: BulkImportInfo | APIError
    ) -> Generator[Command, Any, bool]:
        """Act on one status check of *batch*; return whether the batch was settled."""
        if isinstance(info, APIError):
            logger.warning("Polling batch %s failed: %s", batch.batch_id, info)
            batch.next_poll = self.clock() + self.s.poll_interval
            if isinstance(info, AuthenticationError):
                raise _Abort(str(info)) from info
            batch.poll_errors += 1
            if batch.poll_errors >= self.s.max_poll_errors:
                self.in_flight.remove(batch)
                self._unknown(
                    batch,
                    f"its batch {batch.batch_id} could not be tracked "
                    f"({batch.poll_errors} status checks failed: {info})",
                )
                return True
            return False
        batch.poll_errors = 0
        batch.polls += 1
        if not info.is_final:
            batch.next_poll = self.clock() + self.s.poll_interval
            return False
        self.in_flight.remove(batch)
        self._learn_end(batch)
        yield from self._settle(batch, info)
        return True

    def _learn_end(self, batch: _Batch) -> None:
        """Learn how long batches take, so the first status check of the next one is its last.

        Each status check costs one of the account's requests, which bulk submission needs
        too. When one check was enough, the batch ended before its check was due: the
        estimate shrinks a little from that due time (measured from the due time, not from
        the check, which may ride along with a later submit). When it took several, it
        ended between the last check that missed and the one that saw it: the estimate
        becomes the middle of that span. So the estimate follows ActiveCampaign both ways.
        """
        if batch.polls > 1:
            ended = self.clock()  # an upper bound: the next single checks shrink it
        else:
            ended = batch.submitted_at + (batch.first_due - batch.submitted_at) * 0.95
        estimate = ended - batch.submitted_at
        self._typical_end = min(max(estimate, 0.0), self.s.max_first_poll_delay)

    def _settle(self, batch: _Batch, info: BulkImportInfo) -> Generator[Command, Any, None]:
        if info.status is BatchStatus.COMPLETED:
            failed = {email.strip().lower() for email in info.failure}
            if not failed:
                self._exported(batch.positions, batch.emails)
            else:
                done: tuple[list[int], list[str]] = ([], [])
                for position, email in zip(batch.positions, batch.emails, strict=True):
                    if email.lower() in failed:
                        self._out(
                            position,
                            email,
                            OutcomeStatus.FAILED,
                            "ActiveCampaign did not import this contact (for example: it is "
                            "on the account's exclusion list)",
                        )
                    else:
                        done[0].append(position)
                        done[1].append(email)
                self._exported(*done)
            self._save_checkpoint()
            self._progress()
            return
        status = info.status.value if info.status else "unknown"
        if self._winding_down:
            self._unknown(
                batch, f"its batch ended {status}; not resubmitted: the export was cancelled"
            )
            return
        if batch.attempts <= self.s.max_batch_resubmits:
            self.report.resubmitted_batches += 1
            logger.info(
                "Batch %s ended %s; resubmitting its %d contacts",
                batch.batch_id,
                info.status,
                len(batch),
            )
            yield from self._submit(batch)
            return
        self._fail(batch, f"its batch ended {status} {batch.attempts} times")

    def _drain(self) -> Generator[Command, Any, None]:
        while self.in_flight:
            yield from self._poll(block=True)

    # -- the small remainder: contact/sync + contactLists -------------------------------------

    def _sync_each(self, batch: _Batch) -> Generator[Command, Any, None]:
        for position, email, encoded in zip(
            batch.positions, batch.emails, batch.encoded, strict=True
        ):
            if self.cancelled():
                raise _Abort("cancelled", fatal=False)
            item = json.loads(encoded)
            contact = ContactInput(
                email=email,
                first_name=item.get("first_name"),
                last_name=item.get("last_name"),
                phone=item.get("phone"),
                field_values=tuple(
                    FieldValueInput(int(f["id"]), f["value"]) for f in item.get("fields", ())
                ),
            )
            try:
                synced = yield Call(ops.contacts_sync(contact))
                self.report.sync_requests += 1
                memberships = yield Call(ops.contacts_memberships(synced.id))
                current = {m.list: m.status for m in memberships}.get(self.s.list_id)
                if current is MembershipStatus.UNSUBSCRIBED:
                    self._out(
                        position,
                        email,
                        OutcomeStatus.SKIPPED,
                        "unsubscribed from the list; its details were updated but it is "
                        "never re-subscribed",
                    )
                    continue
                if current is not MembershipStatus.ACTIVE:
                    yield Call(ops.memberships_set(synced.id, self.s.list_id, 1))
            except Stop:
                self._out(
                    position,
                    email,
                    OutcomeStatus.UNKNOWN,
                    "the export stopped while this contact was being synced",
                )
                raise
            except UnprocessableEntityError as exc:
                self._out(
                    position,
                    email,
                    OutcomeStatus.REJECTED,
                    f"ActiveCampaign rejected it: {exc.message}",
                )
                continue
            except APIStatusError as exc:
                if isinstance(exc, AuthenticationError):
                    self._out(position, email, OutcomeStatus.FAILED, str(exc))
                    raise _Abort(str(exc)) from exc
                self._out(position, email, OutcomeStatus.FAILED, str(exc))
                continue
            except APIError as exc:
                self._out(position, email, OutcomeStatus.FAILED, str(exc))
                continue
            self._out(position, email, OutcomeStatus.EXPORTED)

    # -- mirror ----------------------------------------------------------------------------------

    def _mirror(self) -> Generator[Command, Any, None]:
        """Unsubscribe active members who are not in the segment (never re-subscribing anyone)."""
        if self.cancelled():
            raise _Abort("cancelled", fatal=False)
        if self.report.stopped_early:
            self.report.stop_reason = (self.report.stop_reason or "") + (
                "; mirror skipped: the segment was not read in full"
            )
            return
        pager = ops.contacts_pager(
            list_id=self.s.list_id, status=MembershipStatus.ACTIVE, by_id=True
        )
        leavers: list[bytes] = []
        spec: Any = pager.first()
        count = 0
        while spec is not None:
            body = yield Call(ops.Operation(spec, lambda body, _: body))
            items, spec = pager.advance(body)
            for contact in items:
                if contact.email.strip().lower() in self.seen:
                    continue
                count += 1
                if not self.s.dry_run:
                    leavers.append(
                        _encode(
                            {"email": contact.email, "unsubscribe": [{"listid": self.s.list_id}]}
                        ).encode()
                    )
        if self.s.dry_run:
            self.report.would_unsubscribe = count
            return
        for start in range(0, len(leavers), self.s.batch_size):
            chunk = leavers[start : start + self.s.batch_size]
            try:
                queued = yield Call(ops.bulk_import_submit_encoded(chunk))
            except APIError as exc:
                self.report.stop_reason = f"mirror: unsubscribing leavers failed: {exc}"
                return
            self.report.bulk_requests += 1
            yield Sleep(self.s.first_poll_delay)
            errors = 0
            while True:
                try:
                    info = yield Call(ops.bulk_import_info(queued.batch_id, with_ids=False))
                except APIError as exc:
                    errors += 1
                    if errors >= self.s.max_poll_errors:
                        self.report.stop_reason = (
                            f"mirror: the unsubscribe batch "
                            f"{queued.batch_id} could not be tracked: {exc}"
                        )
                        return
                else:
                    errors = 0
                    if info.is_final:
                        break
                if self.cancelled():
                    self.report.stop_reason = (
                        f"mirror: cancelled while the unsubscribe batch {queued.batch_id} "
                        "was being imported; check the list before re-running"
                    )
                    return
                yield Sleep(self.s.poll_interval)
            if info.status is BatchStatus.COMPLETED:
                self.report.unsubscribed += len(chunk) - len(info.failure)
            else:
                self.report.stop_reason = (
                    f"mirror: the unsubscribe batch {queued.batch_id} "
                    f"ended {info.status.value if info.status else '?'}"
                )

    # -- checkpoint ------------------------------------------------------------------------------

    def _save_checkpoint(self) -> None:
        if self.checkpoint is None:
            return
        self.checkpoint.save_progress(self.low_water_mark(), self.report.outcomes)


class _Abort(Exception):  # noqa: N818 - internal control flow
    """Stop the run with a reason (a fatal API error, too many failures, cancellation)."""

    def __init__(self, reason: str, *, fatal: bool = True) -> None:
        super().__init__(reason)
        self.fatal = fatal
