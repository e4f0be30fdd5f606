"""Settle, on a real account, what the emulator assumes where ActiveCampaign's docs are open.

``python -m ac_segment_export.testing probe --yes-create-a-scratch-list --email-domain
example.org`` reads the account's API URL and key from ``AC_API_URL`` and ``AC_API_KEY``
(``--url`` overrides the URL; the key is only ever read from the environment, and is never
printed, logged or written). It creates a scratch list, a scratch custom field and a few
test contacts named ``probe-<random>-<role>@<domain>``, exercises each behaviour below,
prints one verdict per behaviour (*confirmed*: the account behaves as the emulator does by
default; *contradicted*: it does not, and the `Readings` (or limit) that plays what it does
is named; *could not tell*), optionally writes them as JSON for an issue report, and
removes everything it created, even when a step fails.

The probe talks to the raw API with plain httpx (it measures the API, so it shares nothing
with the package's client), and paces itself below the account's 5 requests a second,
except for the burst that ``--include-rate-limit`` sends on purpose (that option spends
the account's rate budget for a minute: about 25 single-contact bulk imports and a burst
of 30 requests).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import secrets
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import attrs
import httpx

from ._config import DOCUMENTED_BATCH_STATUSES
from ._email import is_valid_email

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

__all__ = ["ProbeError", "ProbeReport", "Verdict", "api_base_url", "main", "run_probe"]

VerdictKind = Literal["confirmed", "contradicted", "could not tell"]
_END_STATUSES = frozenset({"completed", "failed", "interrupted"})
_NO_READING = "none: no Reading plays another answer (open an issue)"
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class ProbeError(Exception):
    """The probe could not run (bad arguments, refused key, no scratch list)."""


@attrs.frozen
class Verdict:
    """What the probe learnt about one behaviour.

    Attributes:
        behaviour: A stable key, such as ``failure_index_base``.
        title: What the behaviour is, in words.
        verdict: ``"confirmed"`` (the account does what the emulator does by default),
            ``"contradicted"`` or ``"could not tell"``.
        observed: What the account answered (emails and the account name redacted).
        emulator_default: What the emulator does with ``Readings()`` and default limits.
        matching_reading: The emulator setting that plays what the account did.
    """

    behaviour: str
    title: str
    verdict: VerdictKind
    observed: str
    emulator_default: str
    matching_reading: str


@attrs.frozen
class ProbeReport:
    """The outcome of one probe run.

    Attributes:
        verdicts: One verdict per behaviour, in the order probed.
        removed: What the clean-up removed (``"list 12"``, ``"contact 40"``, ...).
        left_behind: What the clean-up could not remove or confirm removed; empty when
            the account is as it was.
        errors: Steps that failed, with the error (redacted).
        host: The API host with the account name replaced by ``<account>``.
    """

    verdicts: tuple[Verdict, ...]
    removed: tuple[str, ...]
    left_behind: tuple[str, ...]
    errors: tuple[str, ...]
    host: str

    def verdict(self, behaviour: str) -> Verdict:
        """Return the verdict for one behaviour key.

        Raises:
            KeyError: When the behaviour was not probed.
        """
        for item in self.verdicts:
            if item.behaviour == behaviour:
                return item
        raise KeyError(behaviour)

    def to_json(self) -> dict[str, Any]:
        """Return the report as JSON-ready data (no key, no emails, no account name)."""
        return {
            "probe": "ac_segment_export.testing probe",
            "version": _version(),
            "host": self.host,
            "verdicts": [attrs.asdict(v) for v in self.verdicts],
            "cleanup": {"removed": list(self.removed), "left_behind": list(self.left_behind)},
            "errors": list(self.errors),
        }

    def table(self) -> str:
        """Render the verdicts as a plain-text table, with what was observed under each."""
        headers = ("behaviour", "verdict", "emulator default", "matching reading")
        rows = [(v.title, v.verdict, v.emulator_default, v.matching_reading) for v in self.verdicts]
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers[:3])]
        heads = zip(headers, [*widths, 0], strict=True)
        lines = ["  ".join(h.ljust(w) for h, w in heads).rstrip()]
        lines.append("  ".join("-" * w for w in [*widths, len(headers[3])]))
        for row, item in zip(rows, self.verdicts, strict=True):
            cells = zip(row, [*widths, 0], strict=True)
            lines.append("  ".join(c.ljust(w) for c, w in cells).rstrip())
            lines.append(f"    observed: {item.observed}")
        lines.append("")
        lines.append(f"removed: {', '.join(self.removed) or 'nothing'}")
        if self.left_behind:
            lines.append(f"LEFT BEHIND (remove by hand): {', '.join(self.left_behind)}")
        lines.extend(f"error: {error}" for error in self.errors)
        return "\n".join(lines)


def _version() -> str:
    try:
        from importlib.metadata import version  # noqa: PLC0415

        return version("ac-segment-export")
    except Exception:  # noqa: BLE001 - any failure just means "unknown"
        return "unknown"


def api_base_url(url: str) -> str:
    """Normalise an account URL to ``https://<host>/api/3``.

    Accepts the URL of the account's Settings > Developer page with or without a scheme,
    a trailing slash or ``/api/3``. Plain ``http://`` is refused except on loopback (the
    key would travel in clear).

    Args:
        url: The account URL.

    Returns:
        The ``/api/3`` base URL.

    Raises:
        ProbeError: When the URL cannot be used.
    """
    text = url.strip().rstrip("/")
    if not text:
        msg = "no account URL: set AC_API_URL or pass --url"
        raise ProbeError(msg)
    if "://" not in text:
        text = f"https://{text}"
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        msg = f"not an http(s) URL: {url!r}"
        raise ProbeError(msg)
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        msg = "plain http:// is only accepted for loopback hosts; use https://"
        raise ProbeError(msg)
    path = parts.path.rstrip("/")
    path = path.removesuffix("/api/3")
    return f"{parts.scheme}://{parts.netloc}{path}/api/3"


def _redacted_host(base: str) -> str:
    host = urlsplit(base).hostname or ""
    if host in _LOOPBACK:
        return host
    _label, dot, rest = host.partition(".")
    return f"<account>{dot}{rest}" if dot else "<account>"


# --------------------------------------------------------------------------- HTTP


class _Http:
    """Plain httpx with pacing and a polite retry of throttled answers."""

    def __init__(
        self,
        base: str,
        api_key: str,
        *,
        transport: httpx.BaseTransport | None,
        pace: float,
        sleep: Callable[[float], None],
        timeout: float,
    ) -> None:
        self._client = httpx.Client(
            base_url=base,
            headers={
                "Api-Token": api_key,
                "Accept": "application/json",
                "User-Agent": f"ac-segment-export-probe/{_version()}",
            },
            transport=transport,
            timeout=timeout,
        )
        self._pace = pace
        self._sleep = sleep
        self._last = -math.inf

    def close(self) -> None:
        self._client.close()

    def _wait(self) -> None:
        gap = self._last + self._pace - time.monotonic()
        if gap > 0:
            self._sleep(gap)
        self._last = time.monotonic()

    def request(
        self, method: str, path: str, *, body: object = None, params: dict[str, Any] | None = None
    ) -> httpx.Response:
        """Send one paced request, waiting out and resending throttled answers.

        A 429, or a 503 with ``Retry-After``, was not processed: it is sent again after the
        wait, up to three times.
        """
        for attempt in range(4):
            self._wait()
            response = self._client.request(
                method, path, json=body, params=params, headers=_content_type(body)
            )
            wait = _throttle_wait(response)
            if wait is None or attempt == 3:
                return response
            self._sleep(min(wait, 60.0))
        raise AssertionError  # pragma: no cover - the loop always returns

    def burst(self, path: str, count: int, workers: int) -> list[httpx.Response]:
        """Send ``count`` GETs at once from ``workers`` threads, without pacing."""

        def one(_: int) -> httpx.Response:
            return self._client.get(path)

        with ThreadPoolExecutor(max_workers=workers) as pool:
            responses = list(pool.map(one, range(count)))
        self._last = time.monotonic()
        return responses


def _content_type(body: object) -> dict[str, str]:
    return {} if body is None else {"Content-Type": "application/json"}


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("Retry-After")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


def _throttle_wait(response: httpx.Response) -> float | None:
    body = _json(response)
    if isinstance(body, dict) and "failureReasons" in body:
        return None  # the bulk import limit: a minute's window, reported, never waited out
    if response.status_code == 429:
        return _retry_after(response) or 1.0
    if response.status_code == 503:
        return _retry_after(response)
    return None


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _brief(response: httpx.Response, limit: int = 240) -> str:
    text = response.text.strip().replace("\n", " ")
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{response.status_code} {text}"


class _StepError(Exception):
    pass


def _expect(response: httpx.Response, *statuses: int, what: str) -> Any:
    if response.status_code not in statuses:
        msg = f"{what}: expected {'/'.join(map(str, statuses))}, got {_brief(response)}"
        raise _StepError(msg)
    return _json(response)


# --------------------------------------------------------------------------- the probe


@attrs.define
class _Run:
    http: _Http
    domain: str
    tag: str
    poll_interval: float
    batch_timeout: float
    sleep: Callable[[float], None]
    verdicts: list[Verdict] = attrs.Factory(list)
    errors: list[str] = attrs.Factory(list)
    emails: list[str] = attrs.Factory(list)
    batches: dict[str, bool] = attrs.Factory(dict)  # batch ID -> seen ending
    list_id: str | None = None
    field_id: str | None = None
    field_deleted: bool = False
    redactions: tuple[str, ...] = ()

    def email(self, role: str) -> str:
        address = f"probe-{self.tag}-{role}@{self.domain}"
        self.emails.append(address)
        return address

    def redact(self, text: str) -> str:
        for secret in self.redactions:
            if len(secret) >= 8:  # a real key; shorter ones (tests) would mangle the text
                text = text.replace(secret, "<redacted>")
        return text.replace(f"@{self.domain}", "@<domain>")

    def add(  # noqa: PLR0917
        self,
        behaviour: str,
        title: str,
        verdict: VerdictKind,
        observed: str,
        default: str,
        reading: str,
    ) -> None:
        self.verdicts.append(
            Verdict(behaviour, title, verdict, self.redact(observed), default, reading)
        )

    @contextlib.contextmanager
    def step(self, name: str, pending: Sequence[tuple[str, str, str]]) -> Iterator[None]:
        """Run a step; on an error, each behaviour it had not decided yet is "could not tell"."""
        before = {v.behaviour for v in self.verdicts}
        try:
            yield
        except (httpx.HTTPError, _StepError, ValueError, KeyError, TypeError) as exc:
            message = self.redact(f"{name}: {type(exc).__name__}: {exc}")
            self.errors.append(message)
            for behaviour, title, default in pending:
                if behaviour not in before and behaviour not in {
                    v.behaviour for v in self.verdicts
                }:
                    self.add(behaviour, title, "could not tell", message, default, "-")

    def poll(self, batch_id: str, *, deadline: float) -> tuple[list[object], Any]:
        """Poll ``import/info`` until the batch ends; return the statuses seen and the last body."""
        seen: list[object] = []
        body: Any = None
        while True:
            response = self.http.request("GET", "/import/info", params={"batchId": batch_id})
            body = _expect(response, 200, what="GET /import/info")
            status = body.get("status") if isinstance(body, dict) else None
            if not seen or seen[-1] != status:
                seen.append(status)
            if isinstance(status, str) and status in _END_STATUSES:
                self.batches[batch_id] = True
                return seen, body
            if time.monotonic() >= deadline:
                return seen, body
            self.sleep(self.poll_interval)


_FIELD_SHAPE = ("fields_create_shape", "POST /fields answer shape", '201 {"field": {...}}')
_UNKNOWN_BATCH = (
    "unknown_batch_id",
    "import/info for an unknown batchId",
    '404 {"message": ...}',
)
_INDEX_BASE = (
    "failure_index_base",
    "failureReasons[].contact base",
    "0-based index into contacts",
)
_SUCCESS_KEY = ("bulk_success_key", "queued bulk answer: success key", '"Success" (capital S)')
_SUCCESS_STATUS = ("bulk_success_status", "queued bulk answer: status code", "200")
_STATUS_FALSE = (
    "status_false_after_submit",
    "import/info right after submit",
    "status: false (for about 1 s)",
)
_STATUSES = (
    "batch_statuses",
    "batch statuses seen while polling",
    "only the six documented ones",
)
_UNSUB_FAILURE = (
    "unsubscribed_in_failure",
    "unsubscribed contact in import/info failure",
    "not listed in failure",
)
_RESUBSCRIBE = (
    "bulk_never_resubscribes",
    "bulk import re-subscribes an unsubscribed contact",
    "never (stays unsubscribed)",
)
_BULK_RATE = (
    "bulk_rate_limit",
    "bulk rate-limit answer (single-contact)",
    '400 {"success": 0, "message": "Rate limit exceeded.", ...}',
)
_THROTTLE = ("throttle_status", "over 5 requests/second: status", "429")
_RETRY_AFTER = ("throttle_retry_after", "over 5 requests/second: Retry-After", "sent")


def _probe_field(run: _Run) -> None:
    behaviour, title, default = _FIELD_SHAPE
    with run.step("scratch field", [_FIELD_SHAPE]):
        response = run.http.request(
            "POST",
            "/fields",
            body={
                "field": {
                    "type": "text",
                    "title": f"acx probe {run.tag}",
                    "perstag": f"ACX_PROBE_{run.tag.upper()}",
                    "descript": "Scratch field of the ac-segment-export probe; safe to delete.",
                    "visible": 0,
                }
            },
        )
        body = _expect(response, 200, 201, what="POST /fields")
        if not isinstance(body, dict):
            msg = f"POST /fields answered no JSON object: {_brief(response)}"
            raise _StepError(msg)
        observed = f"{response.status_code} with keys {sorted(body)}"
        if isinstance(body.get("field"), dict):
            run.field_id = str(body["field"].get("id"))
            run.add(behaviour, title, "confirmed", observed, default, "Readings()")
        elif isinstance(body.get("fields"), list):
            mine = [
                f
                for f in body["fields"]
                if isinstance(f, dict) and f.get("title") == f"acx probe {run.tag}"
            ]
            if mine:
                run.field_id = str(mine[0].get("id"))
            run.add(
                behaviour,
                title,
                "contradicted",
                observed,
                default,
                'Readings(fields_create_shape="fields")',
            )
        else:
            run.add(behaviour, title, "could not tell", observed, default, "-")
        if run.field_id is not None:
            deleted = run.http.request("DELETE", f"/fields/{run.field_id}")
            run.field_deleted = deleted.is_success


def _probe_unknown_batch(run: _Run) -> None:
    behaviour, title, default = _UNKNOWN_BATCH
    with run.step("unknown batchId", [_UNKNOWN_BATCH]):
        response = run.http.request("GET", "/import/info", params={"batchId": str(uuid.uuid4())})
        body = _json(response)
        if response.status_code == 404 and isinstance(body, dict) and "message" in body:
            verdict: VerdictKind = "confirmed"
            reading = "Readings()"
        else:
            verdict, reading = "contradicted", _NO_READING
        run.add(behaviour, title, verdict, _brief(response), default, reading)


def _probe_index_base(run: _Run) -> None:
    behaviour, title, default = _INDEX_BASE
    with run.step("rejected bulk import", [_INDEX_BASE]):
        contacts: list[dict[str, Any]] = [{"email": run.email(f"index{k}")} for k in range(5)]
        contacts[2] = {"email": f"probe-{run.tag}-not-an-email"}
        response = run.http.request("POST", "/import/bulk_import", body={"contacts": contacts})
        body = _json(response)
        if response.is_success:
            if isinstance(body, dict) and body.get("batchId"):
                run.batches[str(body["batchId"])] = False
            run.add(behaviour, title, "could not tell", _brief(response), default, "-")
            return
        reasons = body.get("failureReasons") if isinstance(body, dict) else None
        positions = [
            r.get("contact") for r in reasons or () if isinstance(r, dict) and "contact" in r
        ]
        observed = (
            f"{response.status_code}; invalid item at 0-based position 2; contact={positions}"
        )
        if positions in ([2], ["2"]):
            run.add(behaviour, title, "confirmed", observed, default, "Readings()")
        elif positions in ([3], ["3"]):
            reading = "Readings(failure_index_base=1)"
            run.add(behaviour, title, "contradicted", observed, default, reading)
        else:
            run.add(behaviour, title, "could not tell", observed, default, "-")


def _contact_id(body: Any) -> str:
    contact = body.get("contact") if isinstance(body, dict) else None
    if not isinstance(contact, dict) or contact.get("id") in (None, ""):
        msg = "contact/sync answered no contact id"
        raise _StepError(msg)
    return str(contact["id"])


def _unsubscribed_contact(run: _Run) -> tuple[str, str]:
    """Create a test contact, subscribe it to the scratch list and unsubscribe it."""
    http = run.http
    unsub = run.email("unsubscribed")
    synced = http.request("POST", "/contact/sync", body={"contact": {"email": unsub}})
    unsub_id = _contact_id(_expect(synced, 200, 201, what="POST /contact/sync"))
    for status in (1, 2):
        member = {"contactList": {"list": run.list_id, "contact": unsub_id, "status": status}}
        _expect(
            http.request("POST", "/contactLists", body=member), 200, 201, what="POST /contactLists"
        )
    return unsub, unsub_id


def _judge_queued(run: _Run, response: httpx.Response, body: dict[str, Any]) -> None:
    keys = sorted(k for k in body if k.lower() == "success")
    behaviour, title, default = _SUCCESS_KEY
    observed = f"keys {sorted(body)}"
    if keys == ["Success"]:
        run.add(behaviour, title, "confirmed", observed, default, "Readings()")
    elif keys == ["success"]:
        run.add(behaviour, title, "contradicted", observed, default, _NO_READING)
    else:
        run.add(behaviour, title, "could not tell", observed, default, "-")
    behaviour, title, default = _SUCCESS_STATUS
    code = response.status_code
    verdict: VerdictKind = "confirmed" if code == 200 else "contradicted"
    reading = "Readings()" if code == 200 else _NO_READING
    run.add(behaviour, title, verdict, str(code), default, reading)


def _judge_lifecycle(run: _Run, seen: list[object]) -> None:
    behaviour, title, default = _STATUS_FALSE
    if seen[0] is False:
        run.add(behaviour, title, "confirmed", "status: false", default, "Readings()")
    else:
        observed = f"first answer had status {seen[0]!r} (false may only last a moment)"
        run.add(behaviour, title, "could not tell", observed, default, "-")
    behaviour, title, default = _STATUSES
    strings = [s for s in seen if s is not False]
    odd = [s for s in strings if not (isinstance(s, str) and s in DOCUMENTED_BATCH_STATUSES)]
    observed = f"in order: {seen}"
    if odd:
        reading = f"Readings(extra_batch_status={odd[0]!r})"
        run.add(behaviour, title, "contradicted", observed, default, reading)
    else:
        run.add(behaviour, title, "confirmed", observed, default, "Readings()")


def _judge_unsubscribed(run: _Run, ended: object, final: Any, unsub: str, unsub_id: str) -> None:
    failure = final.get("failure") if isinstance(final, dict) else None
    behaviour, title, default = _UNSUB_FAILURE
    if ended != "completed" or not isinstance(failure, list):
        observed = f"the batch did not complete (last status {ended!r})"
        run.add(behaviour, title, "could not tell", observed, default, "-")
    elif any(isinstance(f, str) and f.lower() == unsub.lower() for f in failure):
        observed = f"failure lists it: {failure}"
        reading = "Readings(unsubscribed_in_failure=True)"
        run.add(behaviour, title, "contradicted", observed, default, reading)
    else:
        observed = f"failure: {failure}"
        run.add(behaviour, title, "confirmed", observed, default, "Readings()")
    behaviour, title, default = _RESUBSCRIBE
    lists = _expect(
        run.http.request("GET", f"/contacts/{unsub_id}/contactLists"),
        200,
        what="GET /contacts/{id}/contactLists",
    )
    statuses = [
        str(m.get("status"))
        for m in (lists.get("contactLists") if isinstance(lists, dict) else None) or ()
        if isinstance(m, dict) and str(m.get("list")) == run.list_id
    ]
    observed = f"membership status after the import: {statuses}"
    if ended != "completed":
        run.add(behaviour, title, "could not tell", observed, default, "-")
    elif statuses == ["2"]:
        run.add(behaviour, title, "confirmed", observed, default, "Readings()")
    elif statuses == ["1"]:
        run.add(behaviour, title, "contradicted", observed, default, _NO_READING)
    else:
        run.add(behaviour, title, "could not tell", observed, default, "-")


def _probe_bulk(run: _Run) -> None:
    pending = [_SUCCESS_KEY, _SUCCESS_STATUS, _STATUS_FALSE, _STATUSES, _UNSUB_FAILURE]
    pending.append(_RESUBSCRIBE)
    with run.step("bulk import lifecycle", pending):
        http = run.http
        unsub, unsub_id = _unsubscribed_contact(run)
        subscribe = [{"listid": run.list_id}]
        contacts = [
            {"email": run.email("fresh1"), "subscribe": subscribe},
            {"email": run.email("fresh2"), "subscribe": subscribe},
            {"email": unsub, "subscribe": subscribe},
        ]
        response = http.request("POST", "/import/bulk_import", body={"contacts": contacts})
        body = _expect(response, 200, 201, 202, what="POST /import/bulk_import")
        if not isinstance(body, dict) or not body.get("batchId"):
            msg = f"bulk import answered no batchId: {_brief(response)}"
            raise _StepError(msg)
        batch_id = str(body["batchId"])
        run.batches[batch_id] = False
        deadline = time.monotonic() + run.batch_timeout
        _judge_queued(run, response, body)
        seen, final = run.poll(batch_id, deadline=deadline)
        _judge_lifecycle(run, seen)
        _judge_unsubscribed(run, seen[-1], final, unsub, unsub_id)


def _probe_bulk_rate_limit(run: _Run, tries: int) -> None:
    behaviour, title, default = _BULK_RATE
    with run.step("bulk rate limit", [_BULK_RATE]):
        item = {"contacts": [{"email": run.email("ratelimit")}]}
        for sent in range(1, tries + 1):
            response = run.http.request("POST", "/import/bulk_import", body=item)
            body = _json(response)
            if response.is_success:
                if isinstance(body, dict) and body.get("batchId"):
                    run.batches[str(body["batchId"])] = False
                continue
            message = body.get("message") if isinstance(body, dict) else None
            observed = f"after {sent} single-contact imports: {_brief(response)}"
            if not (isinstance(message, str) and "rate limit" in message.lower()):
                run.add(behaviour, title, "could not tell", observed, default, "-")
            elif response.status_code == 400:
                run.add(behaviour, title, "confirmed", observed, default, "EmulatorLimits()")
            elif response.status_code == 429:
                reading = "EmulatorLimits(bulk_rate_limit_status=429)"
                run.add(behaviour, title, "contradicted", observed, default, reading)
            else:
                run.add(behaviour, title, "contradicted", observed, default, _NO_READING)
            return
        observed = f"no rate-limit answer after {tries} single-contact imports"
        run.add(behaviour, title, "could not tell", observed, default, "-")


def _probe_throttle(run: _Run, count: int, workers: int) -> None:
    with run.step("request burst", [_THROTTLE, _RETRY_AFTER]):
        responses = run.http.burst("/users/me", count, workers)
        codes = [r.status_code for r in responses]
        limited = [r for r in responses if r.status_code in (429, 503)]
        observed = "statuses " + ", ".join(f"{c}x{codes.count(c)}" for c in sorted(set(codes)))
        behaviour, title, default = _THROTTLE
        kinds = {r.status_code for r in limited}
        if not limited:
            run.add(behaviour, title, "could not tell", observed, default, "-")
        elif kinds == {429}:
            run.add(behaviour, title, "confirmed", observed, default, "Readings()")
        else:
            reading = "Readings(throttle_status=503)"
            if kinds == {429, 503}:
                reading += " (both seen: test both readings)"
            run.add(behaviour, title, "contradicted", observed, default, reading)
        behaviour, title, default = _RETRY_AFTER
        waits = [_retry_after(r) for r in limited]
        if not limited:
            run.add(behaviour, title, "could not tell", observed, default, "-")
        elif all(w is not None for w in waits):
            seen = sorted({r.headers["Retry-After"] for r in limited})
            run.add(behaviour, title, "confirmed", f"Retry-After {seen}", default, "Readings()")
        else:
            observed = f"{waits.count(None)} of {len(limited)} throttled answers lacked it"
            run.add(behaviour, title, "contradicted", observed, default, _NO_READING)
        longest = max((w or 1.0 for w in waits), default=0.0)
        if longest:
            run.sleep(min(longest, 60.0))


def _delete_contacts(run: _Run, address: str, removed: list[str], left: list[str]) -> None:
    try:
        found = _expect(
            run.http.request("GET", "/contacts", params={"email": address}),
            200,
            what="GET /contacts",
        )
        for contact in found.get("contacts") or ():
            contact_id = str(contact["id"])
            gone = run.http.request("DELETE", f"/contacts/{contact_id}")
            (removed if gone.is_success else left).append(f"contact {contact_id}")
    except (httpx.HTTPError, _StepError, KeyError, TypeError, AttributeError) as exc:
        left.append(run.redact(f"contact {address} ({type(exc).__name__})"))


def _cleanup(run: _Run) -> tuple[list[str], list[str]]:
    removed: list[str] = []
    left: list[str] = []
    http = run.http
    deadline = time.monotonic() + run.batch_timeout
    for batch_id, ended in list(run.batches.items()):
        if ended:
            continue
        try:
            seen, _ = run.poll(batch_id, deadline=deadline)
        except (httpx.HTTPError, _StepError) as exc:
            run.errors.append(run.redact(f"clean-up, batch {batch_id}: {exc}"))
            seen = []
        if not seen or not (isinstance(seen[-1], str) and seen[-1] in _END_STATUSES):
            left.append(f"batch {batch_id} had not ended: its contacts may appear later")
    for address in dict.fromkeys(run.emails):
        _delete_contacts(run, address, removed, left)
    if run.field_id is not None:
        if run.field_deleted:
            removed.append(f"field {run.field_id}")
        else:
            try:
                gone = http.request("DELETE", f"/fields/{run.field_id}")
                (removed if gone.is_success else left).append(f"field {run.field_id}")
            except httpx.HTTPError:
                left.append(f"field {run.field_id}")
    if run.list_id is not None:
        try:
            gone = http.request("DELETE", f"/lists/{run.list_id}")
            (removed if gone.is_success else left).append(f"list {run.list_id}")
        except httpx.HTTPError:
            left.append(f"list {run.list_id}")
    return removed, left


def run_probe(
    url: str,
    api_key: str,
    *,
    email_domain: str,
    include_rate_limit: bool = False,
    transport: httpx.BaseTransport | None = None,
    pace: float = 0.25,
    poll_interval: float = 1.0,
    batch_timeout: float = 600.0,
    bulk_rate_tries: int = 25,
    burst: int = 30,
    sleep: Callable[[float], None] = time.sleep,
    timeout: float = 30.0,
) -> ProbeReport:
    """Probe a real account (or an emulator) and clean up after.

    Args:
        url: The account's API URL (see `api_base_url`).
        api_key: The account's API key; it is only sent in the ``Api-Token`` header.
        email_domain: A domain the caller owns; test contacts are
            ``probe-<random>-<role>@<domain>``.
        include_rate_limit: Also probe the throttling answer and the bulk rate-limit
            answer (spends the account's rate budget for about a minute).
        transport: An httpx transport to use instead of the network (tests).
        pace: Least real seconds between two requests (0.25 = 4 a second).
        poll_interval: Real seconds between two ``import/info`` polls.
        batch_timeout: Longest real wait for a batch to end.
        bulk_rate_tries: Most single-contact bulk imports sent to reach the bulk limit.
        burst: Requests sent at once to exceed the 5 requests a second.
        sleep: The sleep function (tests may shorten it).
        timeout: Per-request timeout, in seconds.

    Returns:
        The report.

    Raises:
        ProbeError: When the key is refused or the scratch list cannot be made (nothing
            is left behind in that case).
    """
    base = api_base_url(url)
    if not is_valid_email(f"probe@{email_domain}"):
        msg = f"not an email domain: {email_domain!r}"
        raise ProbeError(msg)
    http = _Http(base, api_key, transport=transport, pace=pace, sleep=sleep, timeout=timeout)
    run = _Run(
        http=http,
        domain=email_domain,
        tag=secrets.token_hex(4),
        poll_interval=poll_interval,
        batch_timeout=batch_timeout,
        sleep=sleep,
        redactions=(api_key, urlsplit(base).hostname or ""),
    )
    removed: list[str] = []
    left: list[str] = []
    try:
        me = http.request("GET", "/users/me")
        if me.status_code != 200:
            msg = f"GET /users/me answered {me.status_code}: check AC_API_URL and AC_API_KEY"
            raise ProbeError(msg)
        created = http.request(
            "POST",
            "/lists",
            body={
                "list": {
                    "name": f"ac-segment-export probe {run.tag}",
                    "stringid": f"acx-probe-{run.tag}",
                    "sender_url": f"https://{email_domain}",
                    "sender_reminder": "Scratch list of the ac-segment-export probe; "
                    "safe to delete.",
                }
            },
        )
        body = _json(created)
        lst = body.get("list") if isinstance(body, dict) else None
        if not created.is_success or not isinstance(lst, dict) or lst.get("id") is None:
            msg = run.redact(f"could not create the scratch list: {_brief(created)}")
            raise ProbeError(msg)
        run.list_id = str(lst["id"])
        _probe_field(run)
        _probe_unknown_batch(run)
        _probe_index_base(run)
        _probe_bulk(run)
        if include_rate_limit:
            _probe_bulk_rate_limit(run, bulk_rate_tries)
            _probe_throttle(run, burst, workers=min(10, burst))
    finally:
        try:
            removed, left = _cleanup(run)
        finally:
            http.close()
    return ProbeReport(
        verdicts=tuple(run.verdicts),
        removed=tuple(removed),
        left_behind=tuple(left),
        errors=tuple(run.errors),
        host=_redacted_host(base),
    )


# --------------------------------------------------------------------------- command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ac_segment_export.testing probe",
        description=(
            "Check, on a real ActiveCampaign account, each behaviour the emulator assumes "
            "where the docs are open. Reads AC_API_URL and AC_API_KEY from the environment. "
            "Creates a scratch list, a scratch field and a few test contacts, and removes "
            "them at the end."
        ),
    )
    parser.add_argument("--url", help="the account's API URL (default: $AC_API_URL)")
    parser.add_argument(
        "--email-domain",
        required=True,
        help="a domain you own; test contacts are probe-<random>-<role>@DOMAIN",
    )
    parser.add_argument(
        "--yes-create-a-scratch-list",
        action="store_true",
        help="confirm that the probe may create (and then delete) a list, a field, contacts",
    )
    parser.add_argument(
        "--include-rate-limit",
        action="store_true",
        help="also probe the 429/503 and bulk rate-limit answers (spends the rate budget)",
    )
    parser.add_argument("--json", metavar="PATH", help="write the verdicts as JSON to PATH")
    parser.add_argument(
        "--batch-timeout",
        type=float,
        default=600.0,
        help="longest wait, in seconds, for a bulk batch to end (default 600)",
    )
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    environ: dict[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
    **tuning: Any,
) -> int:
    """Run the probe from the command line.

    Args:
        argv: Arguments after ``probe`` (``sys.argv[2:]`` when None).
        environ: The environment to read ``AC_API_URL`` and ``AC_API_KEY`` from.
        transport: An httpx transport to use instead of the network (tests).
        **tuning: Further keyword arguments of `run_probe` (tests).

    Returns:
        0 when the probe ran and left nothing behind; 1 when it could not run or left
        something behind; 2 for a usage error.
    """
    parser = _parser()
    args = parser.parse_args(sys.argv[2:] if argv is None else argv)
    env = os.environ if environ is None else environ
    if not args.yes_create_a_scratch_list:
        parser.error("refusing to run without --yes-create-a-scratch-list")
    key = env.get("AC_API_KEY", "")
    if not key:
        parser.error("set AC_API_KEY in the environment (the key is never read from arguments)")
    url = args.url or env.get("AC_API_URL", "")
    try:
        report = run_probe(
            url,
            key,
            email_domain=args.email_domain,
            include_rate_limit=args.include_rate_limit,
            transport=transport,
            batch_timeout=args.batch_timeout,
            **tuning,
        )
    except ProbeError as exc:
        sys.stderr.write(f"probe: {str(exc).replace(key, '<redacted>')}\n")
        return 1
    sys.stdout.write(report.table() + "\n")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(report.to_json(), handle, indent=2)
            handle.write("\n")
    return 1 if report.left_behind else 0
