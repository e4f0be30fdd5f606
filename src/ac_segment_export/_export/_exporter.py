"""``Exporter`` and ``AsyncExporter``: two small drivers of one export engine."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib
import importlib.util
import json
import logging
import re
import signal
import threading
import time
from collections.abc import AsyncIterable, Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from ac_segment_export._core.errors import (
    APIError,
    ConfigurationError,
    ExportAbortedError,
    FieldMappingError,
    MirrorRefusedError,
)
from ac_segment_export._export._commands import (
    Call,
    Collect,
    Pull,
    Save,
    Sent,
    Sleep,
    SourceError,
    Start,
    Stop,
)
from ac_segment_export._export._engine import Engine, Target
from ac_segment_export._export._options import MAX_REQUESTS_IN_FLIGHT, ExportOptions
from ac_segment_export._export._report import ExportReport, Progress, RecordOutcome
from ac_segment_export._export._sources import (
    ArrowStreamable,
    AsyncSource,
    Source,
    SyncSource,
    mapped_columns,
    open_source,
)
from ac_segment_export._export._sync import SyncSession, SyncStateStore
from ac_segment_export._export._wire import AsyncWire, Wire
from ac_segment_export._model._destination import ExportMode

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Generator
    from types import FrameType

    from ac_segment_export._client import AsyncClient, Client
    from ac_segment_export._export._checkpoint import Checkpoint, CheckpointState
    from ac_segment_export._export._mirror import PartMembers, Segment
    from ac_segment_export._model import Actor, ExportDestination, FieldMapper

__all__ = ["AsyncExporter", "CancelToken", "Exporter"]

C = TypeVar("C")

logger = logging.getLogger("ac_segment_export")

Profiles = Iterable[Mapping[str, Any]]
#: What ``run`` takes: profiles, or a frame (pandas, polars, pyarrow, DuckDB: Arrow-streamable).
ProfileSource = Iterable[Mapping[str, Any]] | ArrowStreamable

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


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


class _BaseExporter(Generic[C]):
    """What both exporters share: the signature, the options, the parts of a run without I/O."""

    def __init__(
        self,
        destination: ExportDestination,
        *,
        client: C | None = None,
        actor: Actor | None = None,
        mapper: FieldMapper | None = None,
        options: ExportOptions = ExportOptions(),  # noqa: B008 - a frozen value
        checkpoint: Checkpoint | None = None,
        cancel: CancelToken | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        progress: bool = False,
        exported_sink: Callable[[RecordOutcome], None] | None = None,
        sync_state: SyncStateStore | None = None,
        full_refresh: bool = False,
    ) -> None:
        if not isinstance(cast("object", sync_state), SyncStateStore | None):
            msg = f"sync_state must be a SyncStateStore, not {type(sync_state).__name__}."
            raise ConfigurationError(msg)
        if not isinstance(cast("object", full_refresh), bool):
            msg = f"full_refresh must be True or False, not {full_refresh!r}."
            raise ConfigurationError(msg)
        _check_arguments(
            options=options,
            mapper=mapper,
            cancel=cancel,
            on_progress=on_progress,
            progress=progress,
            exported_sink=exported_sink,
        )
        self._check_client(client)
        self.destination = destination
        #: The client to use; by default one is made from the connection for each run.
        self.client = client
        self.actor = actor
        self.mapper = mapper
        self.options = options
        self.cancel = cancel or CancelToken()
        self.checkpoint = checkpoint
        self.on_progress = on_progress
        self.progress = progress
        self.exported_sink = exported_sink
        #: The report of the latest run (also when a run was cancelled by its task).
        self.last_report: ExportReport | None = None
        #: Incremental sync: the export's state (only changed contacts are sent).
        self.sync_state = sync_state
        self.full_refresh = full_refresh
        # A partitioned mirror export (PartitionedExport): a partition notes its members and
        # leaves the leavers to the driver, whose run is given the segment instead of input.
        self._part: PartMembers | None = None
        self._segment: Segment | None = None

    def _check_client(self, client: object) -> None:
        """Refuse a client of the other kind (a sync one for the async exporter, and back)."""
        from ac_segment_export._client import AsyncClient, Client  # noqa: PLC0415

        if client is None:
            return
        is_async = isinstance(self, AsyncExporter)
        wanted, other = (AsyncClient, Client) if is_async else (Client, AsyncClient)
        if isinstance(client, wanted):
            return
        mine, theirs = type(self).__name__, "Exporter" if is_async else "AsyncExporter"
        if isinstance(client, other):
            how = "conn.async_client(...)" if is_async else "conn.client(...)"
            needs = "an AsyncClient, not a Client" if is_async else "a Client, not an AsyncClient"
            msg = f"{mine} needs {needs}: build one with {how}, or use {theirs} with this client."
        else:
            msg = f"{mine}'s client must be a {wanted.__name__}, not {type(client).__name__}."
        raise TypeError(msg)

    def _preflight(
        self, profiles: object, *, allow_async: bool = False
    ) -> SyncSource | AsyncSource:
        """Everything checked before any request: the source, consent, permission, limits."""
        wanted = None
        if self.mapper is None and (named := mapped_columns(self.destination.mapping)):
            wanted = (named[0], *named[1])
        source = open_source(profiles, allow_async=allow_async, columns=wanted)
        self.destination.preflight(self.actor)
        total = source.total
        if total is not None and total > self.options.max_profiles:
            msg = (
                f"The source holds {total:,} profiles, more than max_profiles "
                f"({self.options.max_profiles:,}); raise the limit (within your ActiveCampaign "
                "contract) or export a smaller segment."
            )
            raise ConfigurationError(msg)
        if self.options.keep == "last" and not source.reiterable:
            msg = (
                "keep='last' reads the source twice; pass a list or another re-iterable "
                "source, not an iterator or generator."
            )
            raise ConfigurationError(msg)
        return source

    def _fingerprint(self) -> str:
        d = self.destination
        return f"list={d.list_id};name={d.name};mode={d.mode.value}"

    def sync_fingerprint(self) -> str:
        """What incremental sync's hashes depend on: a change forces a full refresh."""
        d = self.destination
        try:
            definition: object = d.to_dict(include_connection=False)
        except FieldMappingError:  # transforms without names, or a custom mapper: by repr
            definition = _ADDRESS.sub("", repr((d.mapping, d.list_id, d.tags, d.mode)))
        o = self.options
        if self.mapper is not None:
            definition = (definition, _ADDRESS.sub("", repr(self.mapper)))
        parts = (definition, d.run_automations, o.phone_e164, o.default_country_code)
        text = json.dumps(parts, sort_keys=True, default=str)
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()

    def _engine(
        self,
        resolved: Any,
        total: int | None,
        clock: Callable[[], float] = time.monotonic,
        client: object = None,
    ) -> Engine:
        d = self.destination
        o = _scaled(self.options, _poll_time_scale(client))
        sync = None
        if self.sync_state is not None:
            sync = SyncSession(
                self.sync_state,
                fingerprint=self.sync_fingerprint(),
                full_refresh=self.full_refresh,
                every=o.full_refresh_every,
                dry_run=o.dry_run,
            )
        report = ExportReport(
            destination=d.name,
            list_id=d.list_id,
            list_name=resolved.list_name,
            # The connection's export user, else whoever runs the export.
            export_user=d.connection.export_user or (self.actor.user if self.actor else None),
            mode=d.mode.value,
            dry_run=o.dry_run,
            time_scale=_time_scale(client),
            sink=self.exported_sink,
        )
        resume: CheckpointState | None = None
        checkpointing = self.checkpoint is not None and not o.dry_run
        if self.checkpoint is not None and checkpointing:
            resume = self.checkpoint.bind(self._fingerprint())
        target = Target(
            list_id=d.list_id,
            tags=tuple(d.tags),
            exclude_automations=not d.run_automations,
            mirror=d.mode is ExportMode.MIRROR,
        )
        return Engine(
            target,
            o,
            self.mapper or resolved.mapper,
            report,
            total=total,
            fingerprint=self._fingerprint() if checkpointing else None,
            resume=resume,
            cancelled=lambda: self.cancel.cancelled,
            on_progress=self._progress_callback(total),
            clock=clock,
            sync=sync,
            part=self._part,
            segment=self._segment,
        )

    def _progress_callback(self, total: int | None) -> Callable[[Progress], None] | None:
        callbacks: list[Callable[[Progress], None]] = []
        if self.on_progress is not None:
            callbacks.append(self.on_progress)
        if self.progress:
            tqdm = _tqdm_class()
            bar = tqdm(total=total, unit="profile", desc=self.destination.name)

            def update(p: Progress) -> None:
                bar.n = p.settled
                # A string: tqdm writes numbers its shortest way, 50,000 as "5e+4".
                bar.set_postfix(exported=f"{p.exported:,}", refresh=False)
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
        engine.finish(
            elapsed=time.monotonic() - started,
            # The client may have served other calls before this run: count this run's only.
            requests=stats.requests - baseline[0],
            retries=stats.retries - baseline[1],
            rate_limited=stats.rate_limited - baseline[2],
        )
        if engine.on_progress is not None:
            try:
                engine.progress(force=True)
            except KeyboardInterrupt:
                interrupted = True
        bar = getattr(self, "_bar", None)
        if bar is not None:
            bar.close()
        if engine.sync is not None:
            engine.sync.finish(complete=not (report.stopped_early or interrupted or engine.fatal))
            report.sync_problem = engine.sync.problem
        if self.checkpoint is not None and engine.checkpointing:
            if report.stopped_early or interrupted:
                if engine.input_checked:
                    self.checkpoint.save(engine.checkpoint_state())
                    flush = getattr(self.checkpoint, "flush", None)
                    if flush is not None:
                        flush()
            else:
                self.checkpoint.complete()
        self.last_report = report
        logger.info(
            "Export %r finished in %.1f s%s: %s",
            self.destination.name,
            report.elapsed_seconds,
            f" (stopped early: {report.stop_reason})" if report.stopped_early else "",
            report.equation,
        )
        return interrupted

    def _log_start(self, source: Source, client: object) -> None:
        d = self.destination
        total = source.total
        size = "size not known" if total is None else f"{total:,} profile{'s' * (total != 1)}"
        scale = _poll_time_scale(client)
        logger.info(
            "Export %r started: list %d, mode %s%s, source %s (%s)%s",
            d.name,
            d.list_id,
            d.mode.value,
            ", dry run" if self.options.dry_run else "",
            source.kind,
            size,
            f", server time x{scale:g}" if scale != 1.0 else "",
        )


class Exporter(_BaseExporter["Client"]):
    """Stream profiles into an ActiveCampaign list, accounting for every one.

    Args:
        destination: Where to export (its connection must have data-privacy consent).
        client: The client to use; by default one is made from the connection and closed
            after the run.
        actor: The user running the export, checked against the connection's audience.
        mapper: Your own :class:`~ac_segment_export.FieldMapper` instead of the
            destination's mapping.
        options: How the run goes: see :class:`ExportOptions` (dry run, limits, polling,
            mirror safety, …).
        cancel: A :class:`CancelToken` to stop the run from elsewhere.
        checkpoint: Where to keep confirmed progress, to resume an interrupted run.
        on_progress: Called with a :class:`Progress` about twice a second.
        progress: Show a progress bar (needs the ``progress`` extra: tqdm).
        exported_sink: Called with the outcome of every exported profile (they are counted
            but not kept in the report).
        sync_state: Incremental sync: the export's :class:`SyncStateStore`. Only profiles
            that are new or whose values changed since ActiveCampaign last confirmed them
            are sent; the others are ``unchanged``.
        full_refresh: With *sync_state*: send everything and rebuild the state.

    Raises:
        ConsentRequiredError: The connection has no data-privacy consent (before any I/O).
        PermissionDeniedError: The actor may not use the connection (before any I/O).
        ConfigurationError: Invalid options, or a source longer than ``max_profiles``.
    """

    def run(self, profiles: ProfileSource) -> ExportReport:
        """Export *profiles* (any iterable of mappings); return the report.

        Raises:
            ExportAbortedError: The export stopped as a whole (Ctrl-C, a refused key,
                repeated failures); its ``report`` accounts for every profile read.
        """
        source = self._preflight(profiles)
        assert isinstance(source, SyncSource)
        if self.mapper is None:
            source.check_columns(
                self.destination.mapping,
                allow_missing=self.options.allow_missing_columns,
                limit=self.options.max_profiles,
            )
        client = self.client or self.destination.connection.client()
        try:
            self._log_start(source, client)
            baseline = _stats_baseline(client.stats)
            resolved = self.destination.validate(client=client)
            engine = self._engine(resolved, source.total, client=client)
            started = time.monotonic()
            interrupted = self._drive(engine, client, source)
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
        _raise_if_fatal(engine)
        return report

    def _drive(self, engine: Engine, client: Client, profiles: Profiles) -> bool:
        # Bulk imports and status checks, each up to the bound (threads start when needed).
        workers = 2 * (self.options.max_requests_in_flight or MAX_REQUESTS_IN_FLIGHT)
        with (
            ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ac-export") as pool,
            _sigterm_as_interrupt(),
        ):
            return self._drive_with(engine, client, profiles, pool)

    def _drive_with(
        self, engine: Engine, client: Client, profiles: Profiles, pool: ThreadPoolExecutor
    ) -> bool:
        source = _Reader(iter(profiles))
        first_pass: _Reader | None = None
        wire = Wire(client, pool)
        gen = engine.run()
        send: Any = None
        throw: BaseException | None = None
        interrupted = False
        while True:
            try:
                command = gen.throw(throw) if throw is not None else gen.send(send)
            except StopIteration:
                wire.abandon()
                return interrupted
            except KeyboardInterrupt:
                engine.halt("interrupted (Ctrl-C or SIGTERM)")
                wire.abandon()
                return True
            send = throw = None
            try:
                if isinstance(command, Call):
                    wire.turn()
                    if command.doubt:
                        send = Sent(*client._call_doubt(command.op))
                    else:
                        send = client._call(command.op)
                elif isinstance(command, Start):
                    wire.start(command.op, command.token)
                elif isinstance(command, Collect):
                    send = wire.collect(command.timeout)
                elif isinstance(command, Sleep):
                    time.sleep(command.seconds)
                elif isinstance(command, Pull):
                    if command.first_pass:
                        first_pass = first_pass or _Reader(iter(profiles))
                        send, throw = first_pass.take(command.n)
                    else:
                        send, throw = source.take(command.n)
                elif isinstance(command, Save):
                    assert self.checkpoint is not None
                    self.checkpoint.save(command.state)
            except APIError as exc:
                throw = exc
            except KeyboardInterrupt:
                interrupted = True
                throw = Stop()


class AsyncExporter(_BaseExporter["AsyncClient"]):
    """The asynchronous :class:`Exporter`: takes iterables and async iterables of profiles.

    Cancelling the task stops the export: batches in flight are reported as unknown, the
    rest as not attempted, and the partial report is kept in :attr:`last_report` before the
    cancellation propagates.
    """

    async def run(self, profiles: ProfileSource | AsyncIterable[Mapping[str, Any]]) -> ExportReport:
        """Export *profiles*; see :meth:`Exporter.run`."""
        source = self._preflight(profiles, allow_async=True)
        if self.mapper is None:
            await source.acheck_columns(
                self.destination.mapping,
                allow_missing=self.options.allow_missing_columns,
                limit=self.options.max_profiles,
            )
        client = self.client or self.destination.connection.async_client()
        cancelled: asyncio.CancelledError | None = None
        try:
            self._log_start(source, client)
            baseline = _stats_baseline(client.stats)
            resolved = await self.destination.avalidate(client=client)
            engine = self._engine(resolved, source.total, client=client)
            started = time.monotonic()
            cancelled = await self._drive(engine, client, source)
            self._finish(
                engine, started, client.stats, interrupted=cancelled is not None, baseline=baseline
            )
        finally:
            if self.client is None:
                await client.aclose()
        if cancelled is not None:
            raise cancelled
        _raise_if_fatal(engine)
        return engine.report

    async def _drive(
        self,
        engine: Engine,
        client: AsyncClient,
        profiles: Profiles | AsyncIterable[Mapping[str, Any]],
    ) -> asyncio.CancelledError | None:
        with _sigterm_cancels(asyncio.current_task()):
            return await self._drive_with(engine, client, profiles)

    async def _drive_with(
        self,
        engine: Engine,
        client: AsyncClient,
        profiles: Profiles | AsyncIterable[Mapping[str, Any]],
    ) -> asyncio.CancelledError | None:
        source = _AsyncReader(profiles)
        first_pass: _Reader | None = None
        wire = AsyncWire(client)
        gen: Generator[Any, Any, ExportReport] = engine.run()
        send: Any = None
        throw: BaseException | None = None
        cancelled: asyncio.CancelledError | None = None
        while True:
            try:
                command = gen.throw(throw) if throw is not None else gen.send(send)
            except StopIteration:
                await wire.abandon()
                return cancelled
            send = throw = None
            try:
                if isinstance(command, Call):
                    await wire.turn()
                    if command.doubt:
                        send = Sent(*await client._call_doubt(command.op))
                    else:
                        send = await client._call(command.op)
                elif isinstance(command, Start):
                    await wire.start(command.op, command.token)
                elif isinstance(command, Collect):
                    send = await wire.collect(command.timeout)
                elif isinstance(command, Sleep):
                    await asyncio.sleep(command.seconds)
                elif isinstance(command, Pull):
                    if command.first_pass:
                        assert isinstance(profiles, Iterable)
                        first_pass = first_pass or _Reader(iter(profiles))
                        send, throw = first_pass.take(command.n)
                    else:
                        send, throw = await source.take(command.n)
                elif isinstance(command, Save):
                    assert self.checkpoint is not None
                    saving = asyncio.ensure_future(
                        asyncio.to_thread(self.checkpoint.save, command.state)
                    )
                    try:
                        await asyncio.shield(saving)
                    except asyncio.CancelledError:
                        await saving  # the write ends before anything else touches the files
                        raise
            except APIError as exc:
                throw = exc
            except asyncio.CancelledError as exc:
                cancelled = exc
                throw = Stop()


def _tqdm_class() -> Any:
    """The notebook progress bar where it can draw (ipywidgets installed), else the plain one.

    ``tqdm.auto`` in a notebook without ipywidgets warns and draws a plain bar; choosing the
    plain bar here gives the same bar without the warning.
    """
    try:
        widgets = importlib.util.find_spec("ipywidgets") is not None
    except (ImportError, ValueError):  # blocked or half-installed: no widgets
        widgets = False
    module = "tqdm.auto" if widgets else "tqdm.std"
    try:
        return importlib.import_module(module).tqdm
    except ImportError as exc:
        msg = (
            "progress=True needs tqdm: pip install 'ac-segment-export[progress]' "
            "(or pass on_progress=...)."
        )
        raise ConfigurationError(msg) from exc


def _poll_time_scale(client: object) -> float:
    """The client's own ``time_scale`` (1 when it has none): what poll timing is divided by.

    Only a client that says its scale (``Client(time_scale=...)``, ``emu.client()``) has its
    waits scaled, so options already divided by hand are not divided twice.
    """
    scale = getattr(client, "time_scale", 1.0)
    return scale if isinstance(scale, float) and scale > 0 else 1.0


def _scaled(options: ExportOptions, time_scale: float) -> ExportOptions:
    """*options* with their waits in the server's time (a time-scaled emulator's seconds)."""
    if time_scale == 1.0:
        return options
    return options.replace(
        first_poll_delay=options.first_poll_delay / time_scale,
        poll_interval=options.poll_interval / time_scale,
        max_batch_wait=options.max_batch_wait / time_scale,
        cancel_grace=options.cancel_grace / time_scale,
    )


def _raise_if_fatal(engine: Engine) -> None:
    """Raise the run-level error of a run that stopped as a whole."""
    report = engine.report
    if engine.mirror_refusal is not None:
        reason, leavers, active = engine.mirror_refusal
        msg = f"Mirror refused: {reason}. {report.equation}"
        raise MirrorRefusedError(msg, report=report, leavers=leavers, active=active)
    if engine.fatal:
        msg = f"The export stopped: {report.stop_reason}. {report.equation}"
        raise ExportAbortedError(msg, report=report) from engine.cause


def _check_arguments(
    *,
    options: object,
    mapper: object,
    cancel: object,
    on_progress: object,
    progress: object,
    exported_sink: object,
) -> None:
    """Refuse every invalid argument up front, with a :class:`ConfigurationError`."""
    if not isinstance(options, ExportOptions):
        msg = f"options must be an ExportOptions, not {type(options).__name__}."
        raise ConfigurationError(msg)
    if not isinstance(progress, bool):
        msg = f"progress must be True or False, not {progress!r}."
        raise ConfigurationError(msg)
    for name, value in (("on_progress", on_progress), ("exported_sink", exported_sink)):
        if value is not None and not callable(value):
            msg = f"{name} must be callable (or None), not {type(value).__name__}."
            raise ConfigurationError(msg)
    if mapper is not None and not callable(getattr(mapper, "map", None)):
        msg = f"mapper must have a map(profile) method, not {type(mapper).__name__}."
        raise ConfigurationError(msg)
    if cancel is not None and not isinstance(cancel, CancelToken):
        msg = f"cancel must be a CancelToken, not {type(cancel).__name__}."
        raise ConfigurationError(msg)


class _Reader:
    """Reads profiles from an iterator; an error comes after the profiles read before it."""

    def __init__(self, iterator: Iterator[Any]) -> None:
        self._it = iterator
        self._error: BaseException | None = None

    def take(self, n: int) -> tuple[list[Any], BaseException | None]:
        """Up to *n* profiles, or the source's error (as a :class:`SourceError`)."""
        if self._error is not None:
            return [], SourceError(self._error)
        out: list[Any] = []
        append = out.append
        try:
            for item in islice(self._it, n):
                append(item)
        except Exception as exc:  # noqa: BLE001 - the engine ends the run on it
            if not out:
                return [], SourceError(exc)
            self._error = exc
        return out, None


class _AsyncReader:
    """:class:`_Reader` for iterables and async iterables."""

    def __init__(self, profiles: Profiles | AsyncIterable[Mapping[str, Any]]) -> None:
        self._sync = None if isinstance(profiles, AsyncIterable) else _Reader(iter(profiles))
        self._ait: AsyncIterator[Any] | None = (
            aiter(profiles) if isinstance(profiles, AsyncIterable) else None
        )
        self._error: BaseException | None = None

    async def take(self, n: int) -> tuple[list[Any], BaseException | None]:
        """Up to *n* profiles, or the source's error."""
        if self._sync is not None:
            return self._sync.take(n)
        if self._error is not None:
            return [], SourceError(self._error)
        assert self._ait is not None
        out: list[Any] = []
        try:
            async for item in self._ait:
                out.append(item)
                if len(out) >= n:
                    break
        except Exception as exc:  # noqa: BLE001 - the engine ends the run on it
            if not out:
                return [], SourceError(exc)
            self._error = exc
        return out, None


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """While an export runs in the main thread, SIGTERM stops it like Ctrl-C (cleanly)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous is not signal.SIG_DFL:  # someone else handles it: leave it to them
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _sigterm_cancels(task: asyncio.Task[Any] | None) -> Iterator[None]:
    """While an async export runs, SIGTERM cancels its task (a clean stop, as for Ctrl-C)."""
    if task is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
    except (NotImplementedError, RuntimeError):  # not on this platform or loop
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


def _time_scale(client: object) -> float:
    """How much faster than real time the client's ActiveCampaign runs (1: the real one).

    A client may say so itself (a ``time_scale`` other than 1, as an emulator-wired client
    does); else a client sending through an emulator's in-process transport takes its scale.
    """
    scale = getattr(client, "time_scale", None)
    if scale is None or scale == 1.0:
        transport = getattr(getattr(client, "_http", None), "_transport", None)
        scale = getattr(transport, "time_scale", None)
    if isinstance(scale, (int, float)) and not isinstance(scale, bool) and scale > 0:
        return float(scale)
    return 1.0


def _stats_baseline(stats: Any) -> tuple[int, int, int]:
    return (stats.requests, stats.retries, stats.rate_limited)
