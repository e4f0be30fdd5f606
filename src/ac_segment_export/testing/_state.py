"""The emulated account: contacts, lists, fields, tags, memberships and bulk batches.

Everything here is plain data plus the domain rules (upserts, the no-re-subscribe rule of
bulk import, the batch lifecycle). Nothing here knows about HTTP; the caller holds the
emulator's lock.
"""

from __future__ import annotations

import heapq
import re
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Literal

import attrs

from ._email import fails_processing

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "BATCH_ACTIVE_AFTER",
    "BATCH_CLAIMED_AFTER",
    "BATCH_EXTRA_PHASE",
    "BATCH_SECONDS_PER_CONTACT",
    "BATCH_WAITING_AFTER",
    "Account",
    "EmulatedBatch",
    "EmulatedContact",
    "EmulatedField",
    "EmulatedList",
]

BATCH_WAITING_AFTER = 1.0
"""Emulated seconds after a submit during which ``import/info`` answers ``status: false``."""
BATCH_CLAIMED_AFTER = 1.25
"""Emulated seconds after a submit at which a batch moves from ``waiting`` to ``claimed``."""
BATCH_ACTIVE_AFTER = 1.5
"""Emulated seconds after a submit at which a batch starts processing (``active``)."""
BATCH_SECONDS_PER_CONTACT = 0.002
"""Emulated processing time per contact while a batch is ``active``."""
BATCH_EXTRA_PHASE = 0.25
"""Emulated seconds of the undocumented phase ``Readings.extra_batch_status`` adds."""

BatchOutcome = Literal["completed", "interrupted", "failed"]


# --------------------------------------------------------------------------- records


@attrs.define(slots=True, eq=False)
class _Membership:
    id: int
    contact_id: int
    list_id: int
    status: int
    sdate: float
    udate: float
    sourceid: int = 0


@attrs.define(slots=True, eq=False)
class _FieldValue:
    id: int
    field_id: int
    value: str
    cdate: float
    udate: float


@attrs.define(slots=True, eq=False)
class _Contact:
    id: int
    email: str
    first_name: str
    last_name: str
    phone: str
    cdate: float
    udate: float
    fields: dict[int, _FieldValue] = attrs.Factory(dict)
    lists: dict[int, _Membership] = attrs.Factory(dict)
    tags: set[str] | None = None  # created on first tag: most contacts have none
    bounced: bool = False


@attrs.define(slots=True, eq=False)
class _List:
    id: int
    name: str
    stringid: str
    sender_url: str
    sender_reminder: str
    cdate: float
    members: dict[int, _Membership] = attrs.Factory(dict)


@attrs.define(slots=True, eq=False)
class _Field:
    id: int
    title: str
    type: str
    perstag: str
    descript: str | None
    defval: str | None
    visible: str
    ordernum: int
    cdate: float
    options: list[tuple[int, str]] = attrs.Factory(list)


@attrs.define(slots=True, eq=False)
class _Batch:
    id: str
    seq: int
    submitted: float
    ends: float
    contacts: list[dict[str, Any]]
    size: int
    outcome: BatchOutcome
    done: bool = False
    success: list[str] = attrs.Factory(list)
    failure: list[str] = attrs.Factory(list)
    attempts: int = 0
    extra_phase: float = 0.0
    items: list[dict[str, Any]] | None = None  # kept for inspection when bodies are recorded

    def __lt__(self, other: _Batch) -> bool:
        return (self.ends, self.seq) < (other.ends, other.seq)


# ----------------------------------------------------------------- public snapshots


@attrs.frozen
class EmulatedContact:
    """A snapshot of one emulated contact.

    Attributes:
        id: The contact ID.
        email: The email as stored (original case).
        first_name: First name.
        last_name: Last name.
        phone: Phone, exactly as submitted.
        lists: List ID → membership status (0 unconfirmed, 1 active, 2 unsubscribed,
            3 bounced).
        fields: Custom field ID → value.
        tags: Names of the tags attached to the contact.
        bounced: Whether the contact hard-bounced (see
            `ActiveCampaignEmulator.mark_bounced`).
    """

    id: int
    email: str
    first_name: str
    last_name: str
    phone: str
    lists: Mapping[int, int]
    fields: Mapping[int, str]
    tags: frozenset[str]
    bounced: bool = False


@attrs.frozen
class EmulatedList:
    """A snapshot of one emulated list.

    Attributes:
        id: The list ID.
        name: The list name.
        stringid: The list's URL-safe string ID.
    """

    id: int
    name: str
    stringid: str


@attrs.frozen
class EmulatedField:
    """A snapshot of one emulated custom field.

    Attributes:
        id: The field ID.
        title: The field title.
        type: The field type (``text``, ``dropdown``, ...).
        perstag: The personalization tag, upper case.
        options: The option labels of a choice field.
    """

    id: int
    title: str
    type: str
    perstag: str
    options: tuple[str, ...]


@attrs.frozen
class EmulatedBatch:
    """A snapshot of one bulk import batch.

    Attributes:
        id: The batch ID (a UUID string), as returned in ``batchId``.
        status: ``"queued"`` while ``import/info`` still answers ``status: false``, then
            ``"waiting"``, ``"claimed"``, (``Readings.extra_batch_status`` when set,)
            ``"active"``, and finally ``"completed"``, ``"interrupted"`` or ``"failed"``.
        contact_count: How many contacts the request held.
        success: IDs (strings) of the contacts the batch created; empty until it ends.
        failure: Emails the batch failed on; empty until it ends.
        attempts: How many times ``GET /import/info`` asked about this batch.
        submitted_at: Emulated time of the submit, in emulated seconds.
        ends_at: Emulated time at which the batch ends (or ended).
        info_status: Exactly what ``GET /import/info`` reports as ``status`` now: False
            before a status is set, then the status string (unlike `status`, never
            ambiguous when ``Readings.extra_batch_status`` is ``"queued"``).
        contacts: The request's contact items as submitted (read-only; the same objects
            as in `RecordedRequest.json`). Empty when the emulator was made with
            ``record_bodies=False``.
        emails: The ``email`` of each item of `contacts`, in order (empty likewise).
    """

    id: str
    status: str
    contact_count: int
    success: tuple[str, ...]
    failure: tuple[str, ...]
    attempts: int
    submitted_at: float
    ends_at: float
    info_status: str | bool = False
    contacts: tuple[Mapping[str, Any], ...] = ()
    emails: tuple[str, ...] = ()


# ---------------------------------------------------------------------------- helpers

_NON_TAG = re.compile(r"[^A-Z0-9]+")
_NON_TAG_GIVEN = re.compile(r"[^A-Z0-9_]+")
_NON_SLUG = re.compile(r"[^a-z0-9]+")


def derive_perstag(title: str) -> str:
    """Derive a personalization tag from a field title (``"Loyalty tier"`` → ``LOYALTY_TIER``)."""
    return _NON_TAG.sub("_", title.upper()).strip("_")


def normalize_perstag(perstag: str) -> str:
    """Normalise a perstag given by the caller: upper case, only ``A-Z0-9_`` kept."""
    return _NON_TAG_GIVEN.sub("", perstag.upper())


def derive_stringid(name: str) -> str:
    """Derive a list ``stringid`` from its name (``"VIP customers"`` → ``vip-customers``)."""
    return _NON_SLUG.sub("-", name.lower()).strip("-")


class Account:
    """The mutable state of one emulated ActiveCampaign account."""

    def __init__(
        self,
        wall_start: datetime | None = None,
        *,
        unsubscribed_in_failure: bool = False,
        extra_batch_status: str | None = None,
        keep_batch_items: bool = True,
    ) -> None:
        self.wall_start = wall_start or datetime.now(timezone.utc).replace(microsecond=0)
        self.unsubscribed_in_failure = unsubscribed_in_failure
        self.extra_batch_status = extra_batch_status
        self.keep_batch_items = keep_batch_items
        self.contacts: dict[int, _Contact] = {}
        self.by_email: dict[str, _Contact] = {}
        self.lists: dict[int, _List] = {}
        self.fields: dict[int, _Field] = {}
        self.tags: dict[str, str] = {}  # lower-cased name → name as first created
        self.excluded: set[str] = set()
        self.batches: dict[str, _Batch] = {}
        self._pending: list[_Batch] = []
        self._next = {"contact": 1, "list": 1, "field": 1, "value": 1, "member": 1, "option": 1}
        self._batch_seq = 0
        self.version = 0  # bumped whenever a contact is created or deleted

    # ------------------------------------------------------------------ misc

    def _new_id(self, kind: str) -> int:
        value = self._next[kind]
        self._next[kind] = value + 1
        return value

    def iso(self, emulated: float) -> str:
        """Render an emulated time as an ISO 8601 timestamp with offset."""
        return (self.wall_start + timedelta(seconds=emulated)).isoformat(timespec="seconds")

    def date(self, emulated: float) -> str:
        """Render the calendar date (``YYYY-MM-DD``) of an emulated time."""
        return (self.wall_start + timedelta(seconds=emulated)).date().isoformat()

    # ---------------------------------------------------------------- lists

    def add_list(
        self,
        name: str,
        now: float,
        *,
        stringid: str | None = None,
        sender_url: str = "",
        sender_reminder: str = "",
    ) -> _List:
        """Create a list."""
        lst = _List(
            id=self._new_id("list"),
            name=name,
            stringid=stringid if stringid is not None else derive_stringid(name),
            sender_url=sender_url,
            sender_reminder=sender_reminder,
            cdate=now,
        )
        self.lists[lst.id] = lst
        return lst

    # --------------------------------------------------------------- fields

    def field_by_title(self, title: str) -> _Field | None:
        """Find a field by title, case-insensitively."""
        wanted = title.casefold()
        return next((f for f in self.fields.values() if f.title.casefold() == wanted), None)

    def add_field(
        self,
        title: str,
        now: float,
        *,
        type: str = "text",
        perstag: str | None = None,
        options: Iterable[str] = (),
        descript: str | None = None,
        defval: str | None = None,
        visible: str = "1",
    ) -> _Field:
        """Create a custom field."""
        field = _Field(
            id=self._new_id("field"),
            title=title,
            type=type,
            perstag=normalize_perstag(perstag) if perstag else derive_perstag(title),
            descript=descript,
            defval=defval,
            visible=visible,
            ordernum=len(self.fields) + 1,
            cdate=now,
        )
        field.options = [(self._new_id("option"), label) for label in options]
        self.fields[field.id] = field
        return field

    # ------------------------------------------------------------- contacts

    def add_contact(
        self, email: str, now: float, *, first_name: str = "", last_name: str = "", phone: str = ""
    ) -> _Contact:
        """Create a contact; the caller has checked that the email is free."""
        contact = _Contact(
            id=self._new_id("contact"),
            email=email,
            first_name=first_name,
            last_name=last_name,
            phone=phone,
            cdate=now,
            udate=now,
        )
        self.contacts[contact.id] = contact
        key = email.lower()
        self.by_email[email if key == email else key] = contact  # share the common string
        self.version += 1
        return contact

    def change_email(self, contact: _Contact, email: str) -> None:
        """Give a contact a new email, keeping the index in step."""
        del self.by_email[contact.email.lower()]
        contact.email = email
        self.by_email[email.lower()] = contact

    def delete_contact(self, contact: _Contact) -> None:
        """Remove a contact and its memberships."""
        del self.contacts[contact.id]
        del self.by_email[contact.email.lower()]
        self.version += 1
        for list_id in contact.lists:
            self.lists[list_id].members.pop(contact.id, None)

    def delete_list(self, lst: _List) -> None:
        """Remove a list and every membership in it."""
        del self.lists[lst.id]
        for contact_id in lst.members:
            contact = self.contacts.get(contact_id)
            if contact is not None:
                contact.lists.pop(lst.id, None)

    def delete_field(self, field: _Field) -> None:
        """Remove a custom field and every contact's value of it."""
        del self.fields[field.id]
        for contact in self.contacts.values():
            contact.fields.pop(field.id, None)

    def set_field_value(
        self, contact: _Contact, field_id: int, value: str, now: float
    ) -> _FieldValue:
        """Set one custom field value on a contact."""
        current = contact.fields.get(field_id)
        if current is None:
            current = _FieldValue(self._new_id("value"), field_id, value, now, now)
            contact.fields[field_id] = current
        else:
            current.value = value
            current.udate = now
        contact.udate = now
        return current

    def set_membership(
        self, contact: _Contact, list_id: int, status: int, now: float, *, sourceid: int = 0
    ) -> _Membership:
        """Set a contact's status in a list, creating the membership when needed."""
        member = contact.lists.get(list_id)
        if member is None:
            member = _Membership(self._new_id("member"), contact.id, list_id, status, now, now)
            contact.lists[list_id] = member
            self.lists[list_id].members[contact.id] = member
        else:
            member.status = status
            member.udate = now
        member.sourceid = sourceid
        return member

    def add_tag(self, contact: _Contact, name: str) -> None:
        """Attach a tag to a contact, creating the tag when it does not exist."""
        canonical = self.tags.setdefault(name.lower(), name)
        if contact.tags is None:
            contact.tags = set()
        contact.tags.add(canonical)

    # -------------------------------------------------------------- batches

    def submit_batch(
        self, batch_id: str, contacts: list[dict[str, Any]], now: float, outcome: BatchOutcome
    ) -> _Batch:
        """Queue a bulk import batch (already validated) for processing."""
        self._batch_seq += 1
        extra = BATCH_EXTRA_PHASE if self.extra_batch_status is not None else 0.0
        ends = now + BATCH_ACTIVE_AFTER + extra + BATCH_SECONDS_PER_CONTACT * len(contacts)
        batch = _Batch(batch_id, self._batch_seq, now, ends, contacts, len(contacts), outcome)
        batch.extra_phase = extra
        if self.keep_batch_items:
            batch.items = contacts
        self.batches[batch_id] = batch
        heapq.heappush(self._pending, batch)
        return batch

    def tick(self, now: float) -> None:
        """Apply every batch whose processing has ended by ``now``, in the order they end."""
        pending = self._pending
        while pending and pending[0].ends <= now:
            self._finish(heapq.heappop(pending))

    def settle(self, now: float) -> None:
        """End every pending batch now."""
        while self._pending:
            batch = heapq.heappop(self._pending)
            batch.ends = min(batch.ends, now)
            self._finish(batch)

    def info_status(self, batch: _Batch, now: float) -> str | bool:
        """Return what ``import/info`` reports as ``status`` at ``now`` (False: none set)."""
        if batch.done:
            return batch.outcome
        age = now - batch.submitted
        if age < BATCH_WAITING_AFTER:
            return False
        if age < BATCH_CLAIMED_AFTER:
            return "waiting"
        if age < BATCH_ACTIVE_AFTER:
            return "claimed"
        if age < BATCH_ACTIVE_AFTER + batch.extra_phase and self.extra_batch_status is not None:
            return self.extra_batch_status
        return "active"

    def batch_status(self, batch: _Batch, now: float) -> str:
        """Return a batch's lifecycle status at ``now`` (``queued`` = no status set yet)."""
        status = self.info_status(batch, now)
        return "queued" if status is False else str(status)

    def snapshot_batch(self, batch: _Batch, now: float) -> EmulatedBatch:
        """Return a public snapshot of a batch."""
        return EmulatedBatch(
            id=batch.id,
            status=self.batch_status(batch, now),
            contact_count=batch.size,
            success=tuple(batch.success),
            failure=tuple(batch.failure),
            attempts=batch.attempts,
            submitted_at=batch.submitted,
            ends_at=batch.ends,
            info_status=self.info_status(batch, now),
            contacts=tuple(batch.items or ()),
            emails=tuple(str(item["email"]) for item in batch.items or ()),
        )

    def _finish(self, batch: _Batch) -> None:
        batch.done = True
        contacts = batch.contacts
        batch.contacts = []  # keep memory flat: the items are not needed any more
        if batch.outcome == "failed":
            contacts = []
        elif batch.outcome == "interrupted":
            contacts = contacts[: batch.size // 2]
        now = batch.ends
        for item in contacts:
            self._import_one(batch, item, now)

    def _import_one(self, batch: _Batch, item: dict[str, Any], now: float) -> None:
        email: str = item["email"]
        key = email.lower()
        if key in self.excluded or fails_processing(email):
            batch.failure.append(email)
            return
        contact = self.by_email.get(key)
        if (
            contact is not None
            and self.unsubscribed_in_failure
            and _cannot_subscribe(contact, item)
        ):
            batch.failure.append(email)  # Readings(unsubscribed_in_failure=True)
            return
        if contact is None:
            contact = self.add_contact(email, now)
            batch.success.append(str(contact.id))
        else:
            contact.udate = now
        first = item.get("first_name")
        if first is not None:
            contact.first_name = str(first)
        last = item.get("last_name")
        if last is not None:
            contact.last_name = str(last)
        phone = item.get("phone")
        if phone is not None:
            contact.phone = str(phone)
        for entry in item.get("fields") or ():
            if int(entry["id"]) in self.fields:  # not deleted while the batch was pending
                self.set_field_value(contact, int(entry["id"]), _text(entry.get("value")), now)
        for tag in item.get("tags") or ():
            self.add_tag(contact, str(tag))
        for entry in item.get("subscribe") or ():
            list_id = int(entry["listid"])
            if list_id not in self.lists:
                continue  # deleted while the batch was pending
            member = contact.lists.get(list_id)
            if contact.bounced or (member is not None and member.status in (2, 3)):
                continue  # bulk import never re-subscribes an unsubscribed or bounced contact
            self.set_membership(contact, list_id, 1, now)
        for entry in item.get("unsubscribe") or ():
            if int(entry["listid"]) in self.lists:
                self.set_membership(contact, int(entry["listid"]), 2, now)

    # ------------------------------------------------------------ snapshots

    def snapshot_contact(self, contact: _Contact) -> EmulatedContact:
        """Return a public snapshot of a contact."""
        return EmulatedContact(
            id=contact.id,
            email=contact.email,
            first_name=contact.first_name,
            last_name=contact.last_name,
            phone=contact.phone,
            lists={list_id: m.status for list_id, m in contact.lists.items()},
            fields={field_id: v.value for field_id, v in contact.fields.items()},
            tags=frozenset(contact.tags or ()),
            bounced=contact.bounced,
        )

    def mark_bounced(self, contact: _Contact, now: float) -> None:
        """Record a hard bounce: the contact is bounced and so is each of its memberships."""
        contact.bounced = True
        contact.udate = now
        for member in contact.lists.values():
            member.status = 3
            member.udate = now


def _cannot_subscribe(contact: _Contact, item: dict[str, Any]) -> bool:
    """Tell whether a bulk item's contact bounced or left a list the item subscribes it to."""
    if contact.bounced:
        return True
    for entry in item.get("subscribe") or ():
        member = contact.lists.get(int(entry["listid"]))
        if member is not None and member.status in (2, 3):
            return True
    return False


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)
