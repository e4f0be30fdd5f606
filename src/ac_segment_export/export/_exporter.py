"""``Exporter`` and ``AsyncExporter``: two small drivers of one export engine."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
import time
from collections.abc import AsyncIterable, Callable, Iterable, Iterator, Mapping, Sized
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from typing import TYPE_CHECKING, Any

from ac_segment_export._core.errors import (
    APIError,
    ConfigurationError,
    ExportAbortedError,
)
from ac_segment_export.export._engine import (
    Both,
    Call,
    Engine,
    EngineSettings,
    Pull,
    Sleep,
    Stop,
)
from ac_segment_export.export._report import ExportReport, OutcomeStatus, Progress, RecordOutcome

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Generator

    from ac_segment_export.client import AsyncClient, Client
    from ac_segment_export.export._checkpoint import Checkpoint, CheckpointState
    from ac_segment_export.model import Actor, ExportDestination, FieldMapper

__all__ = ["AsyncExporter", "CancelToken", "Exporter"]

logger = logging.getLogger("ac_segment_export")

Profiles = Iterable[Mapping[str, Any]]


class CancelToken:
    """Ask a running export to stop cleanly, from any thread.

    The export stops reading, waits (at most ``cancel_grace`` seconds) for the batches in
    flight to end, reports the rest as not attempted, and returns its partial report.
    """

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Request the stop."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """Whether a stop was requested."""
        return self._event.is_set()


class _BaseExporter:
    """Options and the parts of a run that do no I/O."""

    def __init__(
        self,
        destination: ExportDestination,
        *,
        actor: Actor | None = None,
        mapper: FieldMapper | None = None,
        dry_run: bool = False,
        keep: str = "first",
        max_profiles: int = 1_000_000,
        check_unsubscribed: bool = True,
        phone_e164: bool = False,
        default_country_code: str | None = None,
        batch_size: int = 250,
        max_in_flight: int = 40,
        first_poll_delay: float = 1.0,
        poll_interval: float = 2.0,
        max_batch_resubmits: int = 2,
        cancel_grace: float = 60.0,
        cancel: CancelToken | None = None,
        checkpoint: Checkpoint | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        progress: bool = False,
        exported_sink: Callable[[RecordOutcome], None] | None = None,
    ) -> None:
        if keep not in {"first", "last"}:
            msg = f"keep must be 'first' or 'last', not {keep!r}."
            raise ConfigurationError(msg)
        limit: object = max_profiles  # checked at run time: callers may pass anything
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            msg = f"max_profiles must be a positive integer, not {max_profiles!r}."
            raise ConfigurationError(msg)
        if not 2 <= batch_size <= 250:
            msg = f"batch_size must be between 2 and 250, not {batch_size!r}."
            raise ConfigurationError(msg)
        self.destination = destination
        self.actor = actor
        self.mapper = mapper
        self.dry_run = dry_run
        self.keep = keep
        self.max_profiles = max_profiles
        self.check_unsubscribed = check_unsubscribed
        self.phone_e164 = phone_e164
        self.default_country_code = default_country_code
        self.batch_size = batch_size
        self.max_in_flight = max_in_flight
        self.first_poll_delay = first_poll_delay
        self.poll_interval = poll_interval
        self.max_batch_resubmits = max_batch_resubmits
        self.cancel_grace = cancel_grace
        self.cancel = cancel or CancelToken()
        self.checkpoint = checkpoint
        self.on_progress = on_progress
        self.progress = progress
        self.exported_sink = exported_sink
        #: The report of the latest run (also when a run was cancelled by its task).
        self.last_report: ExportReport | None = None

    def _preflight(self, profiles: object) -> int | None:
        """Everything checked before any request: consent, permission, limits."""
        self.destination.preflight(self.actor)
        total = len(profiles) if isinstance(profiles, Sized) else None
        if total is not None and total > self.max_profiles:
            msg = (
                f"The source holds {total:,} profiles, more than max_profiles "
                f"({self.max_profiles:,}); raise the limit (within your ActiveCampaign "
                "contract) or export a smaller segment."
            )
            raise ConfigurationError(msg)
        if self.keep == "last" and (
            not isinstance(profiles, Iterable) or iter(profiles) is profiles
        ):
            msg = (
                "keep='last' reads the source twice; pass a list or another re-iterable "
                "source, not an iterator or generator."
            )
            raise ConfigurationError(msg)
        return total

    def _fingerprint(self) -> str:
        d = self.destination
        return f"list={d.list_id};name={d.name};mode={d.sync_mode.value}"

    def _engine(
        self, resolved: Any, total: int | None, clock: Callable[[], float] = time.monotonic
    ) -> Engine:
        d = self.destination
        sink = self.exported_sink
        report = ExportReport(
            destination=d.name,
            list_id=d.list_id,
            list_name=resolved.list_name,
            export_user=d.connection.export_user,
            sync_mode=d.sync_mode.value,
            dry_run=self.dry_run,
            sink=sink,
        )
        resume: CheckpointState | None = None
        if self.checkpoint is not None and not self.dry_run:
            resume = self.checkpoint.bind(self._fingerprint())
            if resume is not None:
                report.resumed_from = resume.position
                exported_before = resume.position - len(resume.outcomes)
                report.tally[OutcomeStatus.EXPORTED] += exported_before
                for outcome in resume.outcomes:
                    report.record(outcome)
        settings = EngineSettings(
            list_id=d.list_id,
            tags=tuple(d.tags),
            exclude_automations=not d.run_automations,
            mirror=d.sync_mode.value == "mirror",
            dry_run=self.dry_run,
            keep=self.keep,
            max_profiles=self.max_profiles,
            batch_size=self.batch_size,
            max_in_flight=self.max_in_flight,
            first_poll_delay=self.first_poll_delay,
            poll_interval=self.poll_interval,
            max_batch_resubmits=self.max_batch_resubmits,
            cancel_grace=self.cancel_grace,
            check_unsubscribed=self.check_unsubscribed,
            phone_e164=self.phone_e164,
            default_country_code=self.default_country_code,
        )
        return Engine(
            settings,
            self.mapper or resolved.mapper,
            report,
            total=total,
            checkpoint=None if self.dry_run else self.checkpoint,
            resume=resume,
            cancelled=lambda: self.cancel.cancelled,
            on_progress=self._progress_callback(total),
            clock=clock,
        )

    def _progress_callback(self, total: int | None) -> Callable[[Progress], None] | None:
        callbacks: list[Callable[[Progress], None]] = []
        if self.on_progress is not None:
            callbacks.append(self.on_progress)
        if self.progress:
            try:
                from tqdm.auto import tqdm  # noqa: PLC0415
            except ImportError as exc:
                msg = (
                    "progress=True needs tqdm: pip install 'ac-segment-export[progress]' "
                    "(or pass on_progress=...)."
                )
                raise ConfigurationError(msg) from exc
            bar = tqdm(total=total, unit="profile", desc=self.destination.name)

            def update(p: Progress) -> None:
                bar.n = p.settled
                bar.set_postfix(exported=p.exported, refresh=False)
                bar.refresh()

            callbacks.append(update)
            self._bar = bar
        if not callbacks:
            return None

        def emit(p: Progress) -> None:
            for callback in callbacks:
                callback(p)

        return emit

    def _finish(
        self,
        engine: Engine,
        started: float,
        stats: Any,
        *,
        interrupted: bool,
        baseline: tuple[int, int, int] = (0, 0, 0),
    ) -> bool:
        report = engine.report
        report.input_count = engine.read
        missing = report.input_count - report.accounted
        if missing > 0:  # the run was torn down inside its own code: count, never drop
            logger.error(
                "%d profiles read had no outcome when the run ended (a bug, or an interrupt "
                "inside the engine); they are counted as not attempted",
                missing,
            )
            report.count_only(OutcomeStatus.NOT_ATTEMPTED, missing)
        report.finished_at = dt.datetime.now(dt.timezone.utc)
        report.elapsed_seconds = time.monotonic() - started
        # The client may have served other calls before this run: count this run's only.
        report.requests = stats.requests - baseline[0]
        report.retries = stats.retries - baseline[1]
        report.rate_limited = stats.rate_limited - baseline[2]
        if engine.on_progress is not None:
            try:
                engine._progress(force=True)
            except KeyboardInterrupt:
                interrupted = True
        bar = getattr(self, "_bar", None)
        if bar is not None:
            bar.close()
        if self.checkpoint is not None and not self.dry_run:
            if report.stopped_early or interrupted:
                self.checkpoint.save_progress(engine.low_water_mark(), report.outcomes)
                flush = getattr(self.checkpoint, "flush", None)
                if flush is not None:
                    flush()
            else:
                self.checkpoint.complete()
        self.last_report = report
        logger.info("Export finished: %s", report.equation)
        return interrupted


class Exporter(_BaseExporter):
    """Stream profiles into an ActiveCampaign list, accounting for every one.

    Args:
        destination: Where to export (its connection must have data-privacy consent).
        client: The client to use; by default one is made from the connection and closed
            after the run.
        actor: The user running the export, checked against the connection's audience.
        mapper: Your own :class:`~ac_segment_export.model.FieldMapper` instead of the
            destination's mapping.
        dry_run: Map, validate, de-duplicate and diff against the list without writing.
        keep: Which of several profiles with one email wins: ``"first"`` or ``"last"``
            (``"last"`` reads a re-iterable source twice).
        max_profiles: The most profiles one export may send (1,000,000 by default).
        check_unsubscribed: Read the list's unsubscribed members first, to report them as
            skipped instead of sending them.
        phone_e164: Normalise phone numbers to E.164 (rejecting those that cannot be).
        default_country_code: The country code for E.164 numbers written without one.
        batch_size: Contacts per bulk-import request (at most 250).
        max_in_flight: Batches queued at ActiveCampaign before submission waits.
        first_poll_delay: Seconds after a submit before its first status check.
        poll_interval: Seconds between status checks of a batch.
        max_batch_resubmits: Times a batch that ended ``failed``/``interrupted`` is resent.
        cancel_grace: After a cancel, seconds to keep tracking the batches in flight before
            reporting the rest as unknown.
        cancel: A :class:`CancelToken` to stop the run from elsewhere.
        checkpoint: Where to keep confirmed progress, to resume an interrupted run.
        on_progress: Called with a :class:`Progress` about twice a second.
        progress: Show a progress bar (needs the ``progress`` extra: tqdm).
        exported_sink: Called with the outcome of every exported profile (they are counted
            but not kept in the report).

    Raises:
        ConsentRequiredError: The connection has no data-privacy consent (before any I/O).
        PermissionDeniedError: The actor may not use the connection (before any I/O).
        ConfigurationError: Invalid options, or a source longer than ``max_profiles``.
    """

    def __init__(
        self, destination: ExportDestination, *, client: Client | None = None, **options: Any
    ) -> None:
        super().__init__(destination, **options)
        self.client = client

    def run(self, profiles: Profiles) -> ExportReport:
        """Export *profiles* (any iterable of mappings); return the report.

        Raises:
            ExportAbortedError: The export stopped as a whole (Ctrl-C, a refused key,
                repeated failures); its ``report`` accounts for every profile read.
        """
        total = self._preflight(profiles)
        client = self.client or self.destination.connection.client()
        try:
            baseline = _stats_baseline(client.stats)
            resolved = self.destination.validate(client=client)
            engine = self._engine(resolved, total)
            started = time.monotonic()
            interrupted = self._drive(engine, client, profiles)
            interrupted = self._finish(
                engine, started, client.stats, interrupted=interrupted, baseline=baseline
            )
        finally:
            if self.client is None:
                client.close()
        return self._outcome(engine, interrupted=interrupted)

    def _outcome(self, engine: Engine, *, interrupted: bool) -> ExportReport:
        report = engine.report
        if interrupted:
            msg = f"The export was interrupted: {report.equation}"
            raise ExportAbortedError(msg, report=report) from KeyboardInterrupt()
        if engine.fatal:
            msg = f"The export stopped: {report.stop_reason}. {report.equation}"
            raise ExportAbortedError(msg, report=report)
        return report

    def _drive(self, engine: Engine, client: Client, profiles: Profiles) -> bool:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ac-export") as pool:
            return self._drive_with(engine, client, profiles, pool)

    def _drive_with(
        self, engine: Engine, client: Client, profiles: Profiles, pool: ThreadPoolExecutor
    ) -> bool:
        source: Iterator[Mapping[str, Any]] = iter(profiles)
        first_pass: Iterator[Mapping[str, Any]] | None = None
        gen = engine.run()
        send: Any = None
        throw: BaseException | None = None
        interrupted = False
        while True:
            try:
                command = gen.throw(throw) if throw is not None else gen.send(send)
            except StopIteration:
                return interrupted
            except KeyboardInterrupt:
                engine._halt("interrupted (Ctrl-C)")
                return True
            send = throw = None
            try:
                if isinstance(command, Call):
                    send = client.call(command.op)
                elif isinstance(command, Both):
                    send = _both(client, pool, command)
                elif isinstance(command, Sleep):
                    time.sleep(command.seconds)
                elif isinstance(command, Pull):
                    if command.n < 0:
                        first_pass = first_pass or iter(profiles)
                        send = list(islice(first_pass, -command.n))
                    else:
                        send = list(islice(source, command.n))
            except APIError as exc:
                throw = exc
            except KeyboardInterrupt:
                interrupted = True
                throw = Stop()


class AsyncExporter(_BaseExporter):
    """The asynchronous :class:`Exporter`: takes iterables and async iterables of profiles.

    Cancelling the task stops the export: batches in flight are reported as unknown, the
    rest as not attempted, and the partial report is kept in :attr:`last_report` before the
    cancellation propagates.
    """

    def __init__(
        self,
        destination: ExportDestination,
        *,
        client: AsyncClient | None = None,
        **options: Any,
    ) -> None:
        super().__init__(destination, **options)
        self.client = client

    async def run(self, profiles: Profiles | AsyncIterable[Mapping[str, Any]]) -> ExportReport:
        """Export *profiles*; see :meth:`Exporter.run`."""
        total = self._preflight(profiles) if not isinstance(profiles, AsyncIterable) else None
        if isinstance(profiles, AsyncIterable):
            self._preflight(())
            if self.keep == "last":
                msg = "keep='last' reads the source twice; an async iterable can be read once."
                raise ConfigurationError(msg)
        client = self.client or self.destination.connection.async_client()
        cancelled: asyncio.CancelledError | None = None
        try:
            baseline = _stats_baseline(client.stats)
            resolved = await self.destination.avalidate(client=client)
            engine = self._engine(resolved, total)
            started = time.monotonic()
            cancelled = await self._drive(engine, client, profiles)
            self._finish(
                engine, started, client.stats, interrupted=cancelled is not None, baseline=baseline
            )
        finally:
            if self.client is None:
                await client.aclose()
        if cancelled is not None:
            raise cancelled
        if engine.fatal:
            msg = f"The export stopped: {engine.report.stop_reason}. {engine.report.equation}"
            raise ExportAbortedError(msg, report=engine.report)
        return engine.report

    async def _drive(
        self,
        engine: Engine,
        client: AsyncClient,
        profiles: Profiles | AsyncIterable[Mapping[str, Any]],
    ) -> asyncio.CancelledError | None:
        pull = _puller(profiles)
        first_pass: Iterator[Mapping[str, Any]] | None = None
        gen: Generator[Any, Any, ExportReport] = engine.run()
        send: Any = None
        throw: BaseException | None = None
        cancelled: asyncio.CancelledError | None = None
        while True:
            try:
                command = gen.throw(throw) if throw is not None else gen.send(send)
            except StopIteration:
                return cancelled
            send = throw = None
            try:
                if isinstance(command, Call):
                    send = await client.call(command.op)
                elif isinstance(command, Both):
                    send = await _aboth(client, command)
                elif isinstance(command, Sleep):
                    await asyncio.sleep(command.seconds)
                elif isinstance(command, Pull):
                    if command.n < 0:
                        assert isinstance(profiles, Iterable)
                        first_pass = first_pass or iter(profiles)
                        send = list(islice(first_pass, -command.n))
                    else:
                        send = await pull(command.n)
            except APIError as exc:
                throw = exc
            except asyncio.CancelledError as exc:
                cancelled = exc
                throw = Stop()


def _stats_baseline(stats: Any) -> tuple[int, int, int]:
    return (stats.requests, stats.retries, stats.rate_limited)


def _both(client: Client, pool: ThreadPoolExecutor, command: Both) -> tuple[Any, Any]:
    """Send ``command.first`` and, once its pacing let it go, ``command.second`` alongside.

    The second request waits until the first has its rate-limit slots, so the concurrent
    pair never takes the first's slot (the bulk submit's, which is what sets an export's
    speed). Each result is a value or the :class:`APIError` raised.
    """
    paced = threading.Event()

    def second() -> Any:
        paced.wait()
        try:
            return client.call(command.second)
        except APIError as exc:
            return exc

    later = pool.submit(second)
    try:
        first: Any = client.call(command.first, on_paced=paced.set)
    except APIError as exc:
        first = exc
    finally:
        paced.set()
    return first, later.result()


async def _aboth(client: AsyncClient, command: Both) -> tuple[Any, Any]:
    """The async :func:`_both`: the two requests run concurrently on the event loop."""
    paced = asyncio.Event()

    async def first() -> Any:
        try:
            return await client.call(command.first, on_paced=paced.set)
        except APIError as exc:
            return exc
        finally:
            paced.set()

    async def second() -> Any:
        await paced.wait()
        try:
            return await client.call(command.second)
        except APIError as exc:
            return exc

    one, two = await asyncio.gather(first(), second())
    return one, two


def _puller(
    profiles: Profiles | AsyncIterable[Mapping[str, Any]],
) -> Callable[[int], Any]:
    if isinstance(profiles, AsyncIterable):
        aiter_: AsyncIterator[Mapping[str, Any]] = aiter(profiles)

        async def pull_async(n: int) -> list[Mapping[str, Any]]:
            out: list[Mapping[str, Any]] = []
            async for item in aiter_:
                out.append(item)
                if len(out) >= n:
                    break
            return out

        return pull_async
    it = iter(profiles)

    async def pull_sync(n: int) -> list[Mapping[str, Any]]:
        return list(islice(it, n))

    return pull_sync
