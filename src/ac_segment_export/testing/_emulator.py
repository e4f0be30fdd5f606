"""The public emulator object: state, auth, account rate limit, faults and recording."""

from __future__ import annotations

import contextlib
import json
import random
import threading
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

import attrs

from ._api import Api, Call, Reply, json_reply
from ._clock import Clock, SlidingWindow, format_retry_after
from ._config import FAULT_KINDS, EmulatorLimits, FaultKind, Faults, Readings
from ._state import (
    Account,
    BatchOutcome,
    EmulatedBatch,
    EmulatedContact,
    EmulatedField,
    EmulatedList,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from ac_segment_export import AsyncClient, Audience, Client, ClientOptions, Connection

    from ._transport import EmulatorTransport

__all__ = ["ActiveCampaignEmulator", "RecordedRequest"]

API_PREFIX = "/api/3"
_GENERIC_FAULTS = frozenset({"500", "502", "503", "429", "drop", "html_200", "empty_200"})
_AFTER_WRITE_FAULTS = frozenset({"drop_after_write"})
_HTML_LOGIN = (
    b'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
    b"<title>Log in | ActiveCampaign</title></head><body>"
    b'<form method="post" action="/admin/index.php"><h1>Log in</h1>'
    b'<input type="text" name="user"><input type="password" name="pass">'
    b'<button type="submit">Log in</button></form></body></html>\n'
)


def _gateway_page(status: int, reason: str) -> bytes:
    return (
        f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {reason}</h1></center>\r\n</body>\r\n</html>\r\n"
    ).encode()


@attrs.frozen
class RecordedRequest:
    """One request the emulator answered (or dropped).

    The ``Api-Token`` header is never recorded. A ``"drop"`` fault and a
    ``"drop_after_write"`` fault both record ``status`` 0; they differ in `fault`,
    `processed_status` and `applied`: a ``"drop"`` never reached the API, a
    ``"drop_after_write"`` was carried out in full before the connection was dropped.

    Attributes:
        method: Upper-case HTTP method.
        path: The path relative to ``/api/3`` (``/contacts/5``); paths outside ``/api/3`` are
            kept whole.
        query: Query parameters; the last value wins when a key repeats.
        json: The parsed JSON body, or None (no body, not JSON, or ``record_bodies=False``).
        status: The response status; 0 when the connection was dropped.
        body_bytes: Size of the request body in bytes.
        fault: The injected fault that replaced or dropped the answer (``"500"``,
            ``"drop"``, ``"drop_after_write"``, ...), or None.
        processed_status: The status of the answer the API produced for the request,
            delivered or not: equal to `status` for an ordinary request, the status that was
            never sent for ``"drop_after_write"``, None when a fault took the request's
            place before it was processed.
        batch_id: The ``batchId`` of the bulk batch this request queued (also when the
            answer was then dropped), or None.
    """

    method: str
    path: str
    query: dict[str, str]
    json: Any
    status: int
    body_bytes: int
    fault: str | None = None
    processed_status: int | None = None
    batch_id: str | None = None

    @property
    def applied(self) -> bool:
        """Whether the request reached the API and took effect, answered or not."""
        return self.processed_status is not None

    @property
    def accepted_bulk_import(self) -> bool:
        """Whether this is a bulk import that queued a batch (answered or dropped after)."""
        return self.batch_id is not None


@attrs.define
class _ScriptedFault:
    kind: str
    count: int
    path: str | None

    def matches(self, path: str) -> bool:
        return self.path is None or path.startswith(self.path)


def _defaults() -> ClientOptions:
    from ac_segment_export import ClientOptions as _ClientOptions  # noqa: PLC0415

    return _ClientOptions()


class ActiveCampaignEmulator:
    """A faithful, stateful, offline emulation of one ActiveCampaign v3 account.

    Reach it in-process with `transport` (an httpx transport for both `httpx.Client` and
    `httpx.AsyncClient`) or over a real socket with `serve`. All state is guarded by one
    lock, so tests may inspect it while a server thread answers requests.

    Emulated time is real monotonic time multiplied by ``time_scale``, plus whatever
    `advance` added. Every limit window, the bulk batch lifecycle and ``Retry-After`` are
    measured in emulated time, so a ``time_scale`` of 100 makes a 60-second bulk window last
    0.6 real seconds.

    Bulk batches follow this model (emulated seconds after the submit): ``status: false``
    for the first 1.0 s, ``waiting`` until 1.25 s, ``claimed`` until 1.5 s, then ``active``
    for 2 ms per contact, then ``completed`` (or ``interrupted``/``failed`` when a fault says
    so). Their effects are applied at the end, lazily: whenever a request arrives or the
    state is inspected. Batches are processed independently (no queue between them);
    batches that end at the same moment are applied in submission order.

    Args:
        api_key: The only ``Api-Token`` accepted; any other value (or none) gets a 403.
        limits: The limits the account enforces (ActiveCampaign's by default).
        faults: Random faults to inject (none by default).
        time_scale: How much faster than real time emulated time runs.
        seed: Seed of the fault RNG (and of batch IDs), for deterministic runs.
        record_bodies: Keep each request's parsed JSON body in `requests` (and each
            batch's contact items in `batches`). Turn it off for large benchmarks to keep
            memory flat.
        readings: Which reading to play where ActiveCampaign's documentation is silent
            (`Readings`); the default plays the emulator's own choices.
    """

    def __init__(
        self,
        api_key: str = "test-key",
        *,
        limits: EmulatorLimits = EmulatorLimits(),  # noqa: B008 - frozen, so safe to share
        faults: Faults = Faults(),  # noqa: B008 - frozen, so safe to share
        time_scale: float = 1.0,
        seed: int = 0,
        record_bodies: bool = True,
        readings: Readings = Readings(),  # noqa: B008 - frozen, so safe to share
    ) -> None:
        self._api_key = api_key
        self._limits = limits
        self._faults = faults
        self._readings = readings
        self._clock = Clock(time_scale)
        self._record_bodies = record_bodies
        self._lock = threading.RLock()
        self._rng = random.Random(seed)  # noqa: S311 - faults, not cryptography
        self._id_rng = random.Random(f"batch-ids:{seed}")  # noqa: S311
        self._jitter_rng = random.Random(f"jitter:{seed}")  # noqa: S311
        self._account = Account(
            unsubscribed_in_failure=readings.unsubscribed_in_failure,
            extra_batch_status=readings.extra_batch_status,
            keep_batch_items=record_bodies,
        )
        self._window = SlidingWindow(limits.requests_per_second, 1.0)
        self._scripted: list[_ScriptedFault] = []
        self._requests: list[RecordedRequest] = []
        self._api = Api(
            self._account,
            limits,
            readings,
            new_batch_id=self._new_batch_id,
            batch_outcome=self._batch_outcome,
            bulk_rate_fault=self._bulk_rate_fault,
        )

    def __repr__(self) -> str:
        return (
            f"ActiveCampaignEmulator(contacts={len(self._account.contacts)}, "
            f"lists={len(self._account.lists)}, time_scale={self._clock.scale})"
        )

    # ------------------------------------------------------------ configuration

    @property
    def api_key(self) -> str:
        """The ``Api-Token`` the emulator accepts."""
        return self._api_key

    @property
    def limits(self) -> EmulatorLimits:
        """The limits the account enforces."""
        return self._limits

    @property
    def faults(self) -> Faults:
        """The random faults injected."""
        return self._faults

    @property
    def readings(self) -> Readings:
        """The readings played where ActiveCampaign's documentation is silent."""
        return self._readings

    @property
    def time_scale(self) -> float:
        """How much faster than real time emulated time runs."""
        return self._clock.scale

    @property
    def now(self) -> float:
        """The current emulated time, in emulated seconds since the emulator was made."""
        return self._clock.now()

    def advance(self, seconds: float) -> None:
        """Move emulated time forward without sleeping (batches that end meanwhile apply).

        Args:
            seconds: Emulated seconds to move forward; must not be negative.
        """
        with self._lock:
            self._clock.advance(seconds)
            self._account.tick(self._clock.now())

    def settle(self) -> None:
        """End every pending bulk batch now and apply its effects."""
        with self._lock:
            self._account.settle(self._clock.now())

    # --------------------------------------------------------------- transports

    def transport(self) -> EmulatorTransport:
        """Return an httpx transport (sync and async) answering from this emulator.

        Returns:
            A new `EmulatorTransport`; mount it with ``httpx.Client(transport=...)`` or
            ``httpx.AsyncClient(transport=...)``.
        """
        from ._transport import EmulatorTransport  # noqa: PLC0415 - import cycle

        return EmulatorTransport(self)

    def connection(
        self,
        display_name: str = "ActiveCampaign emulator",
        *,
        host: str | None = None,
        accepted_by: str | None = "tester@example.org",
        export_user: str | None = None,
        usable_by: Audience | None = None,
    ) -> Connection:
        """A :class:`~ac_segment_export.Connection` to this emulator, wired in one call.

        Its clients (``conn.client()``, ``conn.async_client()``, and the exporter's own when
        it is given no ``client=``) send through this emulator's transport, pace themselves
        to its limits on its clock and carry its ``time_scale``, from which the exporter
        takes its poll timing. Options you pass to ``conn.client(options)`` win over these.

        Args:
            display_name: The connection's name.
            host: ``None`` for the in-process transport with the host ``emulator.invalid``
                (a name that never resolves, so a copy of the connection can reach no real
                account), another host name for the in-process transport under that name,
                or the base URL of :meth:`serve` to go over the loopback socket.
            accepted_by: Who accepted the data-privacy terms (recorded as consent); ``None``
                for a connection without consent.
            export_user: The export user carried into reports.
            usable_by: Who may use the connection (admins by default).
        """
        from ac_segment_export import Audience as _Audience  # noqa: PLC0415 - optional layer

        from ._wiring import EMULATOR_HOST, EmulatedConnection  # noqa: PLC0415

        connection: Connection = EmulatedConnection(
            display_name,
            host or EMULATOR_HOST,
            self._api_key,
            usable_by=usable_by or _Audience.ADMINS,
            export_user=export_user,
            emulator=self,
        )
        if accepted_by is not None:
            connection = connection.accept_data_privacy_terms(accepted_by=accepted_by)
        return connection

    def client_options(self, options: ClientOptions | None = None) -> ClientOptions:
        """*options* (by default, the defaults) with what is left at its default wired here.

        The in-process transport, this emulator's rate limits on its clock (none when its
        limits are off), retry backoffs in its seconds, and its ``time_scale``. For a
        connection of your own: ``conn.client(emu.client_options())``.
        """
        from ._wiring import client_options  # noqa: PLC0415 - import cycle

        return client_options(self, options)

    def client(self, options: ClientOptions | None = None, *, host: str | None = None) -> Client:
        """A :class:`~ac_segment_export.Client` for this emulator, at its time scale.

        Args:
            options: Client options; the parts left at their defaults are wired here
                (:meth:`client_options`).
            host: The host the client names, as for :meth:`connection` (a connection's
                ``check_client`` wants the client of its own host).
        """
        return self.connection(host=host, accepted_by=None).client(options or _defaults())

    def async_client(
        self, options: ClientOptions | None = None, *, host: str | None = None
    ) -> AsyncClient:
        """An :class:`~ac_segment_export.AsyncClient` for this emulator (see :meth:`client`)."""
        return self.connection(host=host, accepted_by=None).async_client(options or _defaults())

    @contextlib.contextmanager
    def serve(self, port: int = 0, *, host: str = "127.0.0.1") -> Iterator[str]:
        """Serve the emulator over HTTP in a background thread.

        Args:
            port: TCP port; 0 picks a free one.
            host: Address to bind (loopback by default).

        Yields:
            The base URL, such as ``http://127.0.0.1:54321``.
        """
        from ._server import serve_in_thread  # noqa: PLC0415 - import cycle

        with serve_in_thread(self, host, port) as base_url:
            yield base_url

    # ------------------------------------------------------------------- faults

    def queue_fault(self, kind: FaultKind, *, count: int = 1, path: str | None = None) -> None:
        """Script a deterministic fault for the next matching request(s).

        ``"500"``, ``"502"``, ``"503"``, ``"429"``, ``"drop"``, ``"html_200"`` and
        ``"empty_200"`` replace the answer to the next matching request before it is
        authenticated or counted: nothing it asked for happens (``"drop"`` closes the
        connection with no answer). ``"drop_after_write"`` lets the next matching request
        be processed in full (authenticated, counted, its effects applied: a bulk batch
        queued, a contact written; or its error answer produced) and then closes the
        connection with no answer, so the client cannot tell it took effect; see
        `RecordedRequest.applied` and `accepted_bulk_imports`. ``"bulk_rate_limit"``
        answers the next bulk import request with the "Rate limit exceeded." body.
        ``"interrupt_batch"`` and ``"fail_batch"`` make the next *accepted* bulk batch end
        ``interrupted`` (only the first half of its contacts, rounded down, is applied; the
        rest is reported nowhere) or ``failed`` (nothing applied, nothing reported).

        Args:
            kind: The fault.
            count: How many requests (or batches) it affects.
            path: Only requests whose path, relative to ``/api/3``, starts with this.

        Raises:
            ValueError: For an unknown kind or a count below 1.
        """
        if kind not in FAULT_KINDS:
            msg = f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}"
            raise ValueError(msg)
        if count < 1:
            msg = f"count must be at least 1, got {count!r}"
            raise ValueError(msg)
        with self._lock:
            self._scripted.append(_ScriptedFault(kind, count, path))

    def _take_fault(self, kinds: frozenset[str], path: str) -> str | None:
        for fault in self._scripted:
            if fault.kind in kinds and fault.matches(path):
                fault.count -= 1
                if fault.count == 0:
                    self._scripted.remove(fault)
                return fault.kind
        return None

    def _bulk_rate_fault(self) -> bool:
        return self._take_fault(frozenset({"bulk_rate_limit"}), "/import/bulk_import") is not None

    def _batch_outcome(self) -> BatchOutcome:
        scripted = self._take_fault(
            frozenset({"interrupt_batch", "fail_batch"}), "/import/bulk_import"
        )
        if scripted == "interrupt_batch":
            return "interrupted"
        if scripted == "fail_batch":
            return "failed"
        faults = self._faults
        if faults.interrupted_batch_rate and self._rng.random() < faults.interrupted_batch_rate:
            return "interrupted"
        if faults.failed_batch_rate and self._rng.random() < faults.failed_batch_rate:
            return "failed"
        return "completed"

    def _new_batch_id(self) -> str:
        return str(uuid.UUID(int=self._id_rng.getrandbits(128), version=4))

    def _latency(self) -> float:
        faults = self._faults
        latency = faults.latency
        if faults.latency_jitter:
            with self._lock:
                latency += self._jitter_rng.uniform(-faults.latency_jitter, faults.latency_jitter)
        return self._clock.to_real(max(0.0, latency))

    # ----------------------------------------------------------------- dispatch

    def _rate_headers(self, now: float) -> tuple[tuple[str, str], ...]:
        return (
            ("RateLimit-Limit", str(self._limits.requests_per_second)),
            ("RateLimit-Remaining", str(self._window.remaining(now))),
        )

    def _fault_reply(self, kind: str, now: float) -> Reply | None:
        headers = self._rate_headers(now)
        if kind == "drop":
            return None
        if kind == "500":
            return json_reply(500, {"message": "Internal Server Error"}, headers)
        if kind == "502":
            return Reply(502, _gateway_page(502, "Bad Gateway"), "text/html", headers)
        if kind == "503":
            page = _gateway_page(503, "Service Temporarily Unavailable")
            return Reply(503, page, "text/html", headers)
        if kind == "429":
            retry = format_retry_after(self._clock.to_real(1.0), self._clock.scale)
            return json_reply(
                429, {"message": "Too Many Requests"}, (("Retry-After", retry), *headers)
            )
        if kind == "html_200":
            return Reply(200, _HTML_LOGIN, "text/html; charset=UTF-8", headers)
        return Reply(200, b"", "application/json", headers)  # empty_200

    def _random_fault(self) -> str | None:
        faults = self._faults
        if faults.server_error_rate and self._rng.random() < faults.server_error_rate:
            return self._rng.choice(("500", "502", "503"))
        if faults.drop_connection_rate and self._rng.random() < faults.drop_connection_rate:
            return "drop"
        return None

    def _drop_after_write(self, path: str) -> bool:
        if self._take_fault(_AFTER_WRITE_FAULTS, path) is not None:
            return True
        rate = self._faults.drop_after_write_rate
        return bool(rate) and self._rng.random() < rate

    def dispatch(
        self,
        method: str,
        raw_path: str,
        raw_query: str,
        *,
        token: str | None,
        body: bytes,
        base: str,
        arrived: float | None = None,
    ) -> Reply | None:
        """Answer one request; used by the transport and the server.

        Args:
            method: HTTP method.
            raw_path: URL path as sent (percent-encoded).
            raw_query: Query string as sent, without ``?``.
            token: The ``Api-Token`` header value, if any.
            body: The request body.
            base: ``scheme://host[:port]`` the request was addressed to.
            arrived: When the request arrived, on the emulator's clock (`now`); by default
                the moment of this call. The account's per-second window counts a request
                when it arrived, not when the emulator got round to it (after its body was
                parsed and other requests were handled).

        Returns:
            The reply, or None when the connection must be dropped without an answer.
        """
        if arrived is None:
            arrived = self._clock.now()
        method = method.upper()
        path = unquote(raw_path)
        if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
            path = path[len(API_PREFIX) :].rstrip("/") or "/"
            in_api = True
        else:
            in_api = False
        pairs = parse_qsl(raw_query, keep_blank_values=True)
        query = dict(pairs)
        data: Any = None
        valid = False
        if body:
            try:
                data = json.loads(body)
                valid = True
            except (ValueError, UnicodeDecodeError):
                pass
        with self._lock:
            now = self._clock.now()
            self._account.tick(now)
            fault, processed = self._answer(
                method, path, in_api, pairs, query, token, body, base, data, valid, arrived
            )
            reply = processed
            if fault is not None:
                reply = None if fault == "drop_after_write" else self._fault_reply(fault, now)
            self._requests.append(
                RecordedRequest(
                    method=method,
                    path=path,
                    query=query,
                    json=data if self._record_bodies else None,
                    status=0 if reply is None else reply.status,
                    body_bytes=len(body),
                    fault=fault,
                    processed_status=None if processed is None else processed.status,
                    batch_id=None if processed is None else processed.batch_id,
                )
            )
        return reply

    def _answer(  # noqa: PLR0917
        self,
        method: str,
        path: str,
        in_api: bool,  # noqa: FBT001
        pairs: list[tuple[str, str]],
        query: dict[str, str],
        token: str | None,
        body: bytes,
        base: str,
        data: Any,
        valid: bool,  # noqa: FBT001
        arrived: float,
    ) -> tuple[str | None, Reply | None]:
        """Return the fault injected (if any) and the API's answer (None if not processed)."""
        kind = self._take_fault(_GENERIC_FAULTS, path) or self._random_fault()
        if kind is not None:
            return kind, None
        after = "drop_after_write" if self._drop_after_write(path) else None
        return after, self._process(
            method, path, in_api, pairs, query, token, body, base, data, valid, arrived
        )

    def _process(  # noqa: PLR0917
        self,
        method: str,
        path: str,
        in_api: bool,  # noqa: FBT001
        pairs: list[tuple[str, str]],
        query: dict[str, str],
        token: str | None,
        body: bytes,
        base: str,
        data: Any,
        valid: bool,  # noqa: FBT001
        arrived: float,
    ) -> Reply:
        now = self._clock.now()
        if token != self._api_key:
            return json_reply(403, {"message": "Forbidden"}, self._rate_headers(now))
        if self._limits.enforce_rate_limits:
            wait = self._window.wait(arrived)
            if wait > 0:
                retry = format_retry_after(self._clock.to_real(wait), self._clock.scale)
                headers = (("Retry-After", retry), *self._rate_headers(now))
                status = self._readings.throttle_status
                return json_reply(status, {"message": "Too Many Requests"}, headers)
        self._window.hit(arrived)
        headers = self._rate_headers(now)
        if not in_api:
            return json_reply(404, {"message": f"No Result found for route {path}"}, headers)
        call = Call(method, path, query, pairs, body, base, data, valid)
        reply = self._api.handle(call, now)
        return attrs.evolve(reply, headers=reply.headers + headers)

    # ------------------------------------------------------------------ seeding

    def add_list(self, name: str, *, stringid: str | None = None) -> int:
        """Create a list.

        Args:
            name: The list name.
            stringid: Its string ID; derived from the name when omitted.

        Returns:
            The new list's ID.
        """
        with self._lock:
            return self._account.add_list(name, self._clock.now(), stringid=stringid).id

    def add_field(
        self,
        title: str,
        *,
        type: str = "text",
        perstag: str | None = None,
        options: tuple[str, ...] | list[str] = (),
    ) -> int:
        """Create a custom field.

        Args:
            title: The field title (unique, case-insensitively).
            type: The field type, such as ``text``, ``date`` or ``dropdown``.
            perstag: The personalization tag; derived from the title when omitted.
            options: Option labels of a choice field.

        Returns:
            The new field's ID.

        Raises:
            ValueError: When a field with this title exists.
        """
        with self._lock:
            if self._account.field_by_title(title) is not None:
                msg = f"a field titled {title!r} already exists"
                raise ValueError(msg)
            field = self._account.add_field(
                title, self._clock.now(), type=type, perstag=perstag, options=options
            )
            return field.id

    def add_contact(
        self,
        email: str,
        *,
        first_name: str = "",
        last_name: str = "",
        phone: str = "",
        lists: Mapping[int, int] | None = None,
    ) -> int:
        """Create a contact (the email is not syntax-checked, so odd data can be seeded).

        Args:
            email: The email, unique case-insensitively.
            first_name: First name.
            last_name: Last name.
            phone: Phone.
            lists: List ID → membership status to start with.

        Returns:
            The new contact's ID.

        Raises:
            ValueError: When a contact with this email exists.
            KeyError: When a list in ``lists`` does not exist.
        """
        with self._lock:
            account = self._account
            if email.lower() in account.by_email:
                msg = f"a contact with email {email!r} already exists"
                raise ValueError(msg)
            for list_id in lists or {}:
                if list_id not in account.lists:
                    raise KeyError(list_id)
            now = self._clock.now()
            contact = account.add_contact(
                email, now, first_name=first_name, last_name=last_name, phone=phone
            )
            for list_id, status in (lists or {}).items():
                account.set_membership(contact, list_id, status, now)
            return contact.id

    def set_membership(self, contact_id: int, list_id: int, status: int) -> None:
        """Set a contact's status in a list (0 unconfirmed, 1 active, 2 unsubscribed, 3 bounced).

        Args:
            contact_id: The contact.
            list_id: The list.
            status: The membership status.

        Raises:
            KeyError: When the contact or the list does not exist.
        """
        with self._lock:
            contact = self._account.contacts[contact_id]
            if list_id not in self._account.lists:
                raise KeyError(list_id)
            self._account.set_membership(contact, list_id, status, self._clock.now())

    def mark_bounced(self, email: str) -> None:
        """Record a hard bounce for a contact.

        The contact is marked bounced (``bounced_hard: "1"``) and each of its list
        memberships gets status 3. Bulk import then never subscribes it to any list; with
        ``Readings(unsubscribed_in_failure=True)`` it is not imported at all and its email
        is listed in ``failure``.

        Args:
            email: The contact's email; matched case-insensitively.

        Raises:
            KeyError: When no contact has this email.
        """
        with self._lock:
            self._tick()
            contact = self._account.by_email[email.lower()]
            self._account.mark_bounced(contact, self._clock.now())

    def exclude_email(self, email: str) -> None:
        """Put an email on the account's exclusion list (bulk import then skips it).

        Args:
            email: The email; matched case-insensitively.
        """
        with self._lock:
            self._account.excluded.add(email.lower())

    # --------------------------------------------------------------- inspection

    def _tick(self) -> None:
        self._account.tick(self._clock.now())

    def contact_by_email(self, email: str) -> EmulatedContact | None:
        """Look a contact up by email, case-insensitively.

        Args:
            email: The email.

        Returns:
            A snapshot of the contact, or None.
        """
        with self._lock:
            self._tick()
            contact = self._account.by_email.get(email.lower())
            return None if contact is None else self._account.snapshot_contact(contact)

    def contact(self, contact_id: int) -> EmulatedContact | None:
        """Look a contact up by ID.

        Args:
            contact_id: The contact ID.

        Returns:
            A snapshot of the contact, or None.
        """
        with self._lock:
            self._tick()
            contact = self._account.contacts.get(contact_id)
            return None if contact is None else self._account.snapshot_contact(contact)

    @property
    def contacts(self) -> list[EmulatedContact]:
        """Snapshots of every contact, in ID order."""
        with self._lock:
            self._tick()
            snapshot = self._account.snapshot_contact
            return [snapshot(c) for c in self._account.contacts.values()]

    @property
    def contact_count(self) -> int:
        """How many contacts the account holds."""
        with self._lock:
            self._tick()
            return len(self._account.contacts)

    @property
    def lists(self) -> list[EmulatedList]:
        """Snapshots of every list."""
        with self._lock:
            return [EmulatedList(x.id, x.name, x.stringid) for x in self._account.lists.values()]

    @property
    def fields(self) -> list[EmulatedField]:
        """Snapshots of every custom field."""
        with self._lock:
            return [
                EmulatedField(f.id, f.title, f.type, f.perstag, tuple(o for _, o in f.options))
                for f in self._account.fields.values()
            ]

    def list_members(self, list_id: int, status: int | None = None) -> dict[str, int]:
        """Return a list's members.

        Args:
            list_id: The list.
            status: Only members with this status; all when None.

        Returns:
            Email → membership status.

        Raises:
            KeyError: When the list does not exist.
        """
        with self._lock:
            self._tick()
            contacts = self._account.contacts
            return {
                contacts[m.contact_id].email: m.status
                for m in self._account.lists[list_id].members.values()
                if status is None or m.status == status
            }

    def field_values(self, contact_id: int) -> dict[int, str]:
        """Return a contact's custom field values.

        Args:
            contact_id: The contact.

        Returns:
            Field ID → value.

        Raises:
            KeyError: When the contact does not exist.
        """
        with self._lock:
            self._tick()
            contact = self._account.contacts[contact_id]
            return {field_id: v.value for field_id, v in contact.fields.items()}

    def contact_tags(self, contact_id: int) -> set[str]:
        """Return the names of a contact's tags.

        Args:
            contact_id: The contact.

        Returns:
            The tag names.

        Raises:
            KeyError: When the contact does not exist.
        """
        with self._lock:
            self._tick()
            return set(self._account.contacts[contact_id].tags or ())

    @property
    def batches(self) -> list[EmulatedBatch]:
        """Snapshots of every bulk import batch, in submission order."""
        with self._lock:
            now = self._clock.now()
            self._account.tick(now)
            return [self._account.snapshot_batch(b, now) for b in self._account.batches.values()]

    def batch(self, batch_id: str) -> EmulatedBatch | None:
        """Return a snapshot of one batch.

        Args:
            batch_id: The ``batchId`` the submit returned.

        Returns:
            The snapshot, or None for an unknown ID.
        """
        with self._lock:
            now = self._clock.now()
            self._account.tick(now)
            batch = self._account.batches.get(batch_id)
            return None if batch is None else self._account.snapshot_batch(batch, now)

    def accepted_bulk_imports(self) -> list[RecordedRequest]:
        """Return the recorded bulk import requests that queued a batch, oldest first.

        A request counts whether its answer was delivered or dropped by a
        ``"drop_after_write"`` fault; rejected and rate-limited ones do not. Each has a
        `RecordedRequest.batch_id`, which `batch` looks up.

        Returns:
            The requests (since the last `reset_requests`).
        """
        with self._lock:
            return [r for r in self._requests if r.batch_id is not None]

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request answered so far, oldest first (since the last `reset_requests`)."""
        with self._lock:
            return list(self._requests)

    def reset_requests(self) -> None:
        """Forget the recorded requests."""
        with self._lock:
            self._requests.clear()
