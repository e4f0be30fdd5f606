"""Exporting a segment in partitions: the engine-neutral recipe the Dask and Spark helpers use.

A segment too large for one machine is split by a stable hash of each profile's normalised
email, so all the profiles that share an email land in one partition and each partition's
de-duplication is exact for the whole segment. Each partition is exported by an ordinary
:class:`~ac_segment_export.Exporter` on a worker, paced by the shared budget; the partial
reports merge into one (:meth:`ExportReport.merge`).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ac_segment_export._core.config import ClientOptions
from ac_segment_export._core.errors import (
    ConfigurationError,
    ExportAbortedError,
    MirrorRefusedError,
)
from ac_segment_export._core.pacing import SharedPacing
from ac_segment_export._export._exporter import Exporter
from ac_segment_export._export._mirror import PartMembers, Segment
from ac_segment_export._export._options import ExportOptions
from ac_segment_export._export._report import ExportReport
from ac_segment_export._model._destination import ExportDestination, ExportMode
from ac_segment_export._model._mapping import FieldMapping

if TYPE_CHECKING:
    from ac_segment_export._model import Attribute, ResolvedDestination

__all__ = ["PartitionResult", "PartitionedExport", "StoredDestination", "partition_of"]


def partition_of(email: object, partitions: int) -> int:
    """The partition (``0 .. partitions - 1``) of a profile with this email.

    A stable hash (BLAKE2b) of the email as the exporter de-duplicates it (``str``, stripped,
    lower-cased), the same in every process, machine and Python version. A missing email
    (``None``) belongs to partition 0, where it is rejected like any other.

    Raises:
        ConfigurationError: *partitions* is not a positive integer.
    """
    count: object = partitions
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        msg = f"partitions must be a positive integer, not {partitions!r}."
        raise ConfigurationError(msg)
    if email is None:
        return 0
    key = str(email).strip().lower().encode("utf-8", "surrogatepass")
    digest = hashlib.blake2b(key, digest_size=8).digest()
    return int.from_bytes(digest, "big") % partitions


@attrs.frozen
class StoredDestination:
    """A destination as stored data, rebuilt where it is called: a picklable ``destination``.

    Made by :meth:`of` from a destination and the name of an environment variable; the API
    key is not in it. Called on a worker, it loads the destination back with
    :meth:`ExportDestination.from_dict`, reading the key from that variable in the worker's
    environment (or asking ``secret_provider`` for ``api_key_ref``).

    Attributes:
        data: What :meth:`ExportDestination.to_dict` stored (no key).
        transforms: The mapping's transforms by name (picklable callables).
        secret_provider: For a key stored by reference: a picklable callable returning it.
    """

    data: dict[str, Any]
    transforms: Mapping[str, Callable[[Any], Any]] | None = None
    secret_provider: Callable[[str], Any] | None = None

    @classmethod
    def of(
        cls,
        destination: ExportDestination,
        *,
        api_key_env: str | None = None,
        api_key_ref: str | None = None,
        transforms: Mapping[str, Callable[[Any], Any]] | None = None,
        secret_provider: Callable[[str], Any] | None = None,
    ) -> StoredDestination:
        """Store *destination* with its key referenced by environment variable or reference.

        Raises:
            ConfigurationError: Neither or both of ``api_key_env`` and ``api_key_ref``.
        """
        if (api_key_env is None) == (api_key_ref is None):
            msg = "Pass one of api_key_env and api_key_ref: the key itself never travels."
            raise ConfigurationError(msg)
        data = destination.to_dict(
            api_key_env=api_key_env, api_key_ref=api_key_ref, transforms=transforms
        )
        return cls(data, dict(transforms) if transforms else None, secret_provider)

    def __call__(self) -> ExportDestination:
        """The destination, its key read where this runs."""
        return ExportDestination.from_dict(
            self.data, transforms=self.transforms, secret_provider=self.secret_provider
        )


def _factory(_: object, __: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, ExportDestination) or not callable(value):
        msg = (
            "destination must be a picklable callable that returns the ExportDestination "
            "on each worker (a connection's API key is a Secret, which never pickles: have "
            f"the callable read it from the worker's environment), not {type(value).__name__}."
        )
        raise ConfigurationError(msg)


def _budget(_: object, __: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, SharedPacing):
        msg = f"rate_budget must be a RedisRateBudget or None, not {type(value).__name__}."
        raise ConfigurationError(msg)


def _count(_: object, __: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        msg = f"partitions must be a positive integer, not {value!r}."
        raise ConfigurationError(msg)


@attrs.frozen
class PartitionResult:
    """What one partition's worker sends back: its report, and why it stopped, if it did.

    Attributes:
        partition: The partition's index.
        report: The partition's report (it balances, also when the export stopped).
        error: The message of the error that stopped the partition's export, or ``None``.
        members: Mirror mode: the segment members the partition read, as stable 64-bit
            hashes of their normalised emails (8 bytes a profile), for the driver's mirror
            step; ``None`` otherwise (or when the partition stopped).
        unreadable: Mirror mode: records the partition could not read, whose owners are
            unknown (any makes the driver skip the mirror step).
    """

    partition: int
    report: ExportReport
    error: str | None = None
    members: bytes | None = attrs.field(default=None, repr=False)
    unreadable: int = 0


@attrs.frozen(kw_only=True)
class PartitionedExport:
    """One segment exported in partitions by several workers sharing one rate budget.

    The recipe for any engine (Dask and Spark have theirs: :func:`export_dask_dataframe`,
    :func:`export_spark_dataframe`): on the driver, :meth:`prepare`; split the profiles
    with :meth:`partition_key` (or :func:`partition_of`); on each worker,
    :meth:`export_partition`; back on the driver, :meth:`merge` the results.

    The job pickles, so it travels to workers; its ``destination`` is therefore a callable
    that builds the :class:`ExportDestination` where it runs (an API key never pickles).

    Mirror mode: each partition exports as an upsert and sends back the stable hashes of
    the emails of its segment members (:attr:`PartitionResult.members`); once every
    partition is confirmed, :meth:`merge` reads the list's active members on the driver and
    unsubscribes the leavers, with the single-process mirror's rules: no unsubscribe at all
    when a partition stopped, failed as a whole or could not read a record, the
    ``max_unsubscribe_fraction`` and ``allow_empty`` guards, and profiles that failed or
    whose fate is unknown counted as members (they stay subscribed).

    Attributes:
        destination: A picklable callable returning the export's destination.
        partitions: How many partitions the segment is split into.
        rate_budget: The shared budget every worker paces with (a :class:`RedisRateBudget`).
            ``None`` leaves each worker pacing alone: only right for one worker at a time.
        options: The export options of every partition.
        client_options: Timeout and retries of the workers' clients (their ``rate_limits``
            become ``rate_budget``).

    Raises:
        ConfigurationError: An argument has the wrong type.
    """

    destination: Callable[[], ExportDestination] = attrs.field(validator=_factory)
    partitions: int = attrs.field(validator=_count)
    rate_budget: SharedPacing | None = attrs.field(default=None, validator=_budget)
    options: ExportOptions = attrs.field(factory=ExportOptions)
    client_options: ClientOptions = attrs.field(factory=ClientOptions)

    def _destination(self) -> ExportDestination:
        made: object = self.destination()
        if not isinstance(made, ExportDestination):
            msg = f"destination() returned a {type(made).__name__}, not an ExportDestination."
            raise ConfigurationError(msg)
        return made

    def _client_options(self) -> ClientOptions:
        if self.rate_budget is None:
            return self.client_options
        return attrs.evolve(self.client_options, rate_limits=self.rate_budget)

    def email_attribute(self) -> Attribute:
        """The profile attribute holding the email (the destination's mapping's)."""
        return _email_attribute(self._destination())

    def partition_key(self, profile: Mapping[str, Any], attribute: Attribute | None = None) -> int:
        """The partition of one profile (read through the mapping's email attribute)."""
        attribute = attribute or self.email_attribute()
        return partition_of(read_email(profile, attribute), self.partitions)

    def prepare(self) -> ResolvedDestination:
        """On the driver, before any worker starts: the checks that fail fast.

        The destination is built and checked (consent, mode, the list and every mapped
        field), and the shared budget is reached, so a wrong URL, key or list stops the job
        before any profile is sent.

        Raises:
            RateBudgetUnavailableError: The shared budget cannot be reached.
            ConfigurationError: A bad destination.
        """
        destination = self._destination()
        check = getattr(self.rate_budget, "check", None)
        if check is not None:
            check()
        destination.preflight(None)
        with destination.connection.client(self._client_options()) as client:
            return destination.validate(client=client)

    def export_partition(
        self, partition: int, profiles: Iterable[Mapping[str, Any]]
    ) -> PartitionResult:
        """On a worker: export one partition's profiles; the result always holds a report.

        When *profiles* is a sequence, each profile's partition is checked first: a
        profile in the wrong partition would break the exact de-duplication, so such a
        partition is refused before anything is sent.

        Raises:
            ConfigurationError: A profile belongs to another partition (nothing was sent).
            RateBudgetUnavailableError: The shared budget could not be reached at the start.
        """
        destination = self._destination()
        if isinstance(profiles, Sequence):
            attribute = _email_attribute(destination)
            for position, profile in enumerate(profiles):
                if isinstance(profile, Mapping):
                    found = partition_of(read_email(profile, attribute), self.partitions)
                    if found != partition:
                        msg = (
                            f"Profile {position} of partition {partition} belongs to partition "
                            f"{found}: split the segment with partition_of() so that every "
                            "email lands in one partition."
                        )
                        raise ConfigurationError(msg)
        return self._export(partition, destination, profiles)

    def _export(
        self, partition: int, destination: ExportDestination, profiles: Iterable[Any]
    ) -> PartitionResult:
        part = PartMembers() if destination.mode is ExportMode.MIRROR else None
        with destination.connection.client(self._client_options()) as client:
            exporter = Exporter(destination, client=client, options=self.options)
            exporter._part = part  # the package's own handshake
            try:
                report = exporter.run(profiles)
            except ExportAbortedError as exc:
                return PartitionResult(partition, exc.report, str(exc))
        if part is None:
            return PartitionResult(partition, report)
        return PartitionResult(partition, report, None, part.to_bytes(), part.unreadable)

    def merge(self, results: Iterable[PartitionResult]) -> ExportReport:
        """On the driver: one balanced report of the whole segment, in partition order.

        In mirror mode, once every partition's result is in, this is the mirror step too:
        the list's active members are read and the leavers (members of no partition) are
        unsubscribed, accounted in the report as a single-process mirror accounts them
        (``leavers``, ``unsubscribed``, ``leavers_remaining``, ``leavers_unknown``,
        ``mirror_problem``; ``would_unsubscribe`` in a dry run). No one is unsubscribed
        when a result is missing (pass one for every partition, an empty one from
        ``export_partition(i, [])``), when a partition stopped or could not read a record:
        the report's ``stop_reason`` says why.

        Raises:
            ExportAbortedError: A partition's export stopped as a whole, or the mirror step
                did not complete; its ``report`` is the merged report (every profile of
                every partition accounted for).
            MirrorRefusedError: Mirror refused (an empty segment without ``allow_empty``,
                more leavers than ``max_unsubscribe_fraction``): no one was unsubscribed.
            ConfigurationError: No results.
        """
        return self._merge(results, every=range(self.partitions))

    def _merge(self, results: Iterable[PartitionResult], *, every: Iterable[int]) -> ExportReport:
        """:meth:`merge`; *every* is the partitions whose results must be in (mirror)."""
        ordered = sorted(results, key=lambda r: r.partition)
        report = ExportReport.merge([r.report for r in ordered])
        errors = [f"partition {r.partition}: {r.error}" for r in ordered if r.error]
        if report.mode == ExportMode.MIRROR.value:
            stopped = bool(errors)
            missing = sorted(set(every) - {r.partition for r in ordered})
            if missing:
                errors.append(f"no result for partition(s) {_listed(missing)}")
            report = self._mirror(ordered, report, set(every), stopped=stopped)
        if errors:
            msg = f"{len(errors)} partition(s) stopped: {'; '.join(errors)}"
            raise ExportAbortedError(msg, report=report)
        return report

    def _mirror(
        self,
        ordered: Sequence[PartitionResult],
        merged: ExportReport,
        every: set[int],
        *,
        stopped: bool,
    ) -> ExportReport:
        """The driver's mirror step, after every partition is confirmed (or why it is skipped)."""
        why = _mirror_skipped(ordered, merged, every, stopped=stopped)
        if why is not None:
            prefix = f"{merged.stop_reason}; " if merged.stop_reason else ""
            merged.stop_reason = f"{prefix}mirror skipped: {why}; no one was unsubscribed"
            return merged
        segment = Segment(r.members for r in ordered if r.members is not None)
        destination = self._destination()
        with destination.connection.client(self._client_options()) as client:
            exporter = Exporter(destination, client=client, options=self.options)
            exporter._segment = segment  # the package's own handshake
            try:
                step = exporter.run([])
            except MirrorRefusedError as exc:
                whole = ExportReport.merge([merged, exc.report])
                reason = str(exc).removesuffix(exc.report.equation).rstrip()
                msg = f"{reason} {whole.equation}"
                raise MirrorRefusedError(
                    msg, report=whole, leavers=exc.leavers, active=exc.active
                ) from exc
            except ExportAbortedError as exc:
                whole = ExportReport.merge([merged, exc.report])
                msg = f"The mirror step stopped: {exc.report.stop_reason}. {whole.equation}"
                raise ExportAbortedError(msg, report=whole) from exc
        return ExportReport.merge([merged, step])

    def split(self, profiles: Iterable[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
        """The profiles in their partitions, in memory (for small segments and tests)."""
        attribute = self.email_attribute()
        parts: list[list[Mapping[str, Any]]] = [[] for _ in range(self.partitions)]
        for profile in profiles:
            parts[partition_of(read_email(profile, attribute), self.partitions)].append(profile)
        return parts


def _mirror_skipped(
    ordered: Sequence[PartitionResult], merged: ExportReport, every: set[int], *, stopped: bool
) -> str | None:
    """Why the mirror step must not run (``None``: it may)."""
    missing = sorted(every - {r.partition for r in ordered})
    if missing:
        return (
            f"no result for partition(s) {_listed(missing)}, whose members would be taken "
            "for leavers (pass a result for every partition)"
        )
    if stopped or merged.stopped_early:
        stops = [r.partition for r in ordered if r.error or r.report.stopped_early]
        return f"partition(s) {_listed(stops)} did not finish cleanly"
    unknown = [r.partition for r in ordered if r.members is None]
    if unknown:
        return f"partition(s) {_listed(unknown)} sent back no members"
    unreadable = sum(r.unreadable for r in ordered)
    if unreadable:
        return (
            f"{unreadable:,} records of the input could not be read, so their owners are "
            "unknown and could be members"
        )
    return None


def _listed(partitions: Sequence[int]) -> str:
    shown = ", ".join(map(str, partitions[:10]))
    return shown + (f" and {len(partitions) - 10} more" if len(partitions) > 10 else "")


def _email_attribute(destination: ExportDestination) -> Attribute:
    mapping = destination.mapping
    if not isinstance(mapping, FieldMapping):
        msg = (
            "A partitioned export needs a FieldMapping (its email attribute decides each "
            f"profile's partition), not a {type(mapping).__name__}."
        )
        raise ConfigurationError(msg)
    return mapping.email


def read_email(profile: Mapping[str, Any], attribute: Attribute) -> object:
    """The profile's email as the mapping reads it (its transform applied), or ``None``."""
    try:
        value = profile.get(attribute.name)
        if value is not None and attribute.transform is not None:
            value = attribute.transform(value)
    except Exception:  # noqa: BLE001 - an unreadable email is rejected by the worker
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
