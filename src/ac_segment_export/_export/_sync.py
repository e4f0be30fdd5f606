"""Incremental sync: send only what changed since ActiveCampaign last confirmed it.

A :class:`SyncStateStore` keeps, for one saved export, a pair of 64-bit hashes (see
:func:`stable_hash`) for every contact ActiveCampaign *confirmed* (its batch ``completed``
and it is not in ``failure``): the hash of its normalised email and the hash of exactly what
was sent for it (the encoded bulk-import contact: names, phone, fields, tags and the list it
is subscribed to). A run loads the pairs into a compact table (:class:`SyncSession`), and
the engine asks it, for each profile that passed every check, whether that contact was
confirmed with these very values: then it is ``unchanged`` and not sent. Pairs are written
only from confirmed outcomes, as they are confirmed, so a crash never records a contact that
was not imported.

A run sends everything (a *full refresh*) and rebuilds the state when asked to, when the
export's definition changed (the hashes no longer mean the same), or when the last full
refresh is older than ``ExportOptions.full_refresh_every``. A full refresh that did not end
is continued by the next run (the pairs written so far are exact) and completed by it.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Protocol, runtime_checkable
from zlib import adler32 as _adler32
from zlib import crc32 as _crc32

import attrs

from ac_segment_export._export._index import EmailIndex

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

__all__ = [
    "MirrorUnsubscribe",
    "SyncMeta",
    "SyncSession",
    "SyncStateStore",
    "stable_hash",
]


logger = logging.getLogger("ac_segment_export")


_TOP = 1 << 63
_WRAP = 1 << 64


def stable_hash(data: bytes) -> int:
    """A 64-bit signed hash of *data*, the same in every process (never 0).

    CRC-32 and Adler-32 side by side: a fraction of a cryptographic digest's cost, which a
    million profiles a run pay twice each. For the values, a change goes unseen only if both
    checksums of that contact's new values equal the stored ones (CRC-32 alone catches every
    change of up to 32 consecutive bits); two emails sharing a hash only cost a resend (the
    stored pair of one does not match the other's values, which include its email).
    """
    value = (_adler32(data) << 32) | _crc32(data)  # CRC-32 low: tables index by low bits
    return (value - _WRAP if value >= _TOP else value) or 1


@attrs.frozen
class SyncMeta:
    """What a sync state knows about itself.

    Attributes:
        fingerprint: The export definition the hashes were made with (list, mapping, tags,
            mode, the options that change what is sent).
        full_refresh_at: When the last *completed* full refresh started (UTC).
        refresh_started_at: When a full refresh that has not completed yet started (UTC).
    """

    fingerprint: str
    full_refresh_at: dt.datetime | None = None
    refresh_started_at: dt.datetime | None = None


@attrs.frozen
class MirrorUnsubscribe:
    """A contact mirror unsubscribed, and its membership as mirror left it.

    Attributes:
        email_hash: :func:`stable_hash` of the normalised email.
        status: The list status mirror left (2: unsubscribed).
        membership_updated: ActiveCampaign's timestamp of that membership then (its
            ``udate``), ISO 8601.
    """

    email_hash: int
    status: int
    membership_updated: str


@runtime_checkable
class SyncStateStore(Protocol):
    """Where one export's sync state is kept (the workspace ships a SQLite one).

    A platform with its own database implements these methods. The hashes are 64-bit signed
    integers. Each call that writes must be durable when it returns: the engine calls
    :meth:`confirm` as soon as ActiveCampaign confirmed a batch.
    """

    def meta(self) -> SyncMeta | None:
        """The state's metadata, or ``None`` for a state never written."""
        ...

    def set_meta(self, meta: SyncMeta, *, clear: bool = False) -> None:
        """Store *meta*; with *clear*, drop every confirmed pair first (a full refresh)."""
        ...

    def entries(self) -> Iterable[tuple[int, int]]:
        """Every confirmed ``(email_hash, values_hash)`` pair."""
        ...

    def confirm(self, entries: Sequence[tuple[int, int]]) -> None:
        """Record these pairs as confirmed (replacing a contact's earlier pair)."""
        ...

    def forget(self, email_hashes: Sequence[int]) -> None:
        """Drop the pairs of these contacts (mirror unsubscribed them)."""
        ...

    def mirror_unsubscribes(self) -> Iterable[MirrorUnsubscribe]:
        """The contacts mirror unsubscribed and has not re-subscribed since."""
        ...

    def record_unsubscribes(self, records: Sequence[MirrorUnsubscribe]) -> None:
        """Record contacts mirror unsubscribed (replacing earlier records of them)."""
        ...

    def drop_unsubscribes(self, email_hashes: Sequence[int]) -> None:
        """Drop the records of these contacts (re-subscribed, or seen to act themselves)."""
        ...


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class SyncSession:
    """One run's view of a sync state: the filter before batching, and the confirmation hook.

    Args:
        store: The export's state.
        fingerprint: The export definition of this run.
        full_refresh: Send everything and rebuild the state.
        every: ``ExportOptions.full_refresh_every``, in seconds.
        dry_run: Read the state, write nothing.
        now: The clock (UTC), for tests.
    """

    __slots__ = (
        "_index",
        "_lookup",
        "_sent",
        "dry_run",
        "full",
        "meta",
        "mirror",
        "problem",
        "reason",
        "store",
    )

    def __init__(
        self,
        store: SyncStateStore,
        *,
        fingerprint: str,
        full_refresh: bool = False,
        every: float = 7 * 86400.0,
        dry_run: bool = False,
        now: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        self.store = store
        self.dry_run = dry_run
        #: What failed when the store could not be written (``None``: nothing).
        self.problem: str | None = None
        started = now()
        meta = store.meta()
        clear = True
        #: Why this run is a full refresh (``None``: it is incremental).
        self.reason: str | None
        if full_refresh:
            self.reason = "full refresh asked for"
        elif meta is None:
            self.reason = "first run: no sync state yet"
        elif meta.fingerprint != fingerprint:
            self.reason = "the export's definition changed since the state was written"
        elif meta.refresh_started_at is not None:
            self.reason = "continuing the full refresh that had not completed"
            clear = False
        elif meta.full_refresh_at is None or (
            (started - meta.full_refresh_at).total_seconds() >= every
        ):
            self.reason = "the last full refresh is older than full_refresh_every"
        else:
            self.reason = None
            clear = False
        #: Whether this run sends every profile that is not confirmed in this refresh.
        self.full = self.reason is not None
        if clear:
            kept_at = meta.full_refresh_at if meta and meta.fingerprint == fingerprint else None
            meta = SyncMeta(fingerprint, kept_at, started)
            if not dry_run:
                store.set_meta(meta, clear=True)
        assert meta is not None
        self.meta = meta
        self._index = EmailIndex(with_values=True)
        if not clear:
            add = self._index.add_hash
            for email_hash, values_hash in store.entries():
                add(email_hash, values_hash)
        self._lookup = self._index.get_hash
        #: The hashes of the contacts sent, by input position, until they are confirmed.
        self._sent: dict[int, tuple[int, int]] = {}
        #: Mirror's record of the contacts it unsubscribed, by email hash (read when needed).
        self.mirror: dict[int, MirrorUnsubscribe] | None = None

    def __len__(self) -> int:
        return len(self._index)

    def unchanged(self, key: str, encoded: bytes, position: int) -> bool:
        """Whether the contact was confirmed with these values; else remember what is sent.

        Called once a profile: :func:`stable_hash` is written out here.
        """
        data = key.encode()
        email_hash = (_adler32(data) << 32) | _crc32(data)
        values_hash = (_adler32(encoded) << 32) | _crc32(encoded)
        email_hash = (email_hash - _WRAP if email_hash >= _TOP else email_hash) or 1
        values_hash = (values_hash - _WRAP if values_hash >= _TOP else values_hash) or 1
        if self._lookup(email_hash) == values_hash:
            return True
        self._sent[position] = (email_hash, values_hash)
        return False

    def _write(self, what: str, call: Callable[[], object]) -> None:
        """A write to the store; the first failure stops them, and the run goes on.

        A state that misses writes only makes the next run send more (contacts not recorded
        are sent again; a contact mirror could not record is never re-subscribed), so a
        failing store never stops an export: the report's ``sync_problem`` says what failed.
        """
        if self.dry_run or self.problem is not None:
            return
        try:
            call()
        except Exception as exc:  # noqa: BLE001 - any store's failure, reported
            self.problem = (
                f"the sync state could not be written ({what}: {type(exc).__name__}: {exc}); "
                "nothing more was recorded this run, so the next run sends more"
            )
            logger.error("Incremental sync: %s", self.problem)

    def confirm(self, positions: Sequence[int]) -> None:
        """ActiveCampaign confirmed these positions: write their pairs to the store."""
        sent = self._sent
        entries = [sent.pop(p) for p in positions if p in sent]
        if entries:
            self._write("confirming contacts", lambda: self.store.confirm(entries))

    def forget(self, keys: Iterable[str]) -> None:
        """Mirror unsubscribed these contacts: they are no longer in sync."""
        hashes = [stable_hash(k.encode()) for k in keys]
        if hashes:
            self._write("forgetting unsubscribed contacts", lambda: self.store.forget(hashes))

    def unsubscribed_by_mirror(self, key: str) -> MirrorUnsubscribe | None:
        """Mirror's record of the contact with this email key, if mirror unsubscribed it."""
        if self.mirror is None:
            try:
                self.mirror = {r.email_hash: r for r in self.store.mirror_unsubscribes()}
            except Exception as exc:  # noqa: BLE001 - without the record, nobody is re-subscribed
                self.mirror = {}
                self.problem = self.problem or (
                    f"mirror's record could not be read ({type(exc).__name__}: {exc}); no "
                    "returning contact was re-subscribed"
                )
                logger.error("Incremental sync: %s", self.problem)
        if not self.mirror:
            return None
        return self.mirror.get(stable_hash(key.encode()))

    def record_unsubscribes(self, records: Sequence[MirrorUnsubscribe]) -> None:
        """Mirror unsubscribed these contacts (with their memberships as it left them)."""
        if records:
            self._write(
                "recording mirror's unsubscribes", lambda: self.store.record_unsubscribes(records)
            )

    def drop_unsubscribe(self, record: MirrorUnsubscribe) -> None:
        """The contact was re-subscribed, or acted itself: mirror's record of it goes."""
        self._write(
            "dropping mirror's record", lambda: self.store.drop_unsubscribes((record.email_hash,))
        )
        if self.mirror is not None:
            self.mirror.pop(record.email_hash, None)

    def finish(self, *, complete: bool) -> None:
        """The run ended; a full refresh that went through completes."""
        if self.dry_run or not complete or self.meta.refresh_started_at is None:
            return
        meta = SyncMeta(self.meta.fingerprint, self.meta.refresh_started_at, None)
        self._write("completing the full refresh", lambda: self.store.set_meta(meta))
        self.meta = meta
