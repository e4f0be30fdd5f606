"""An export through answers that echo the API key: no report, outcome or log shows it."""

from __future__ import annotations

import base64
import json
import logging
import urllib.parse
from typing import TYPE_CHECKING

import httpx

from ac_segment_export import Client, Exporter, ExportReport, OutcomeStatus, RateLimits, RetryPolicy

from .conftest import API_KEY, HOST, fast, profile

if TYPE_CHECKING:
    import pytest

    from ac_segment_export import ExportDestination
    from ac_segment_export.testing import ActiveCampaignEmulator

FORMS = [
    API_KEY,
    API_KEY.upper(),
    urllib.parse.quote(API_KEY, safe=""),
    json.dumps(API_KEY)[1:-1],
    base64.b64encode(API_KEY.encode()).decode(),
]
ECHO = " | ".join(FORMS)


def assert_clean(text: str) -> None:
    """None of the key's forms in *text*."""
    for form in FORMS:
        assert form.lower() not in text.lower(), text


class Echoing(httpx.BaseTransport):
    """The emulator, with answers rewritten to echo the key.

    A bulk import holding *culprit* is rejected naming it with a reason that holds the key;
    the first *failing_checks* status checks answer a 500 holding the key; contact/sync of
    *culprit* answers a 422 holding the key; the first bulk import gets a 503 page holding it.
    """

    def __init__(self, inner: httpx.BaseTransport, culprit: str, failing_checks: int) -> None:
        self.inner = inner
        self.culprit = culprit
        self.failing_checks = failing_checks
        self.throttled = False
        self.rewritten = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/3/")
        if path == "import/bulk_import" and request.method == "POST":
            if not self.throttled:
                self.throttled = True
                return self._answer(503, html=f"<html><h1>Busy</h1>{ECHO}</html>")
            emails = [c["email"] for c in json.loads(request.content)["contacts"]]
            if self.culprit in emails:
                reasons = [
                    {"contact": emails.index(self.culprit), "failureReason": f"bad ({ECHO})"},
                    f"token {ECHO}",
                ]
                return self._answer(
                    400, json={"success": 0, "message": ECHO, "failureReasons": reasons}
                )
        if path == "import/info" and self.failing_checks > 0:
            self.failing_checks -= 1
            return self._answer(500, json={"message": f"backend error for Api-Token {ECHO}"})
        if path == "contact/sync" and self.culprit.encode() in request.content:
            errors = [{"title": f"Invalid contact {ECHO}", "detail": ECHO, "code": API_KEY}]
            return self._answer(422, json={"errors": errors, "message": ECHO})
        return self.inner.handle_request(request)

    def _answer(self, status: int, **content: object) -> httpx.Response:
        self.rewritten += 1
        return httpx.Response(status, **content)  # type: ignore[arg-type]


def _client(transport: Echoing) -> Client:
    return Client(
        HOST,
        API_KEY,
        transport=transport,
        retry=RetryPolicy.for_tests(),
        rate_limits=RateLimits.unlimited(),
    )


def _assert_report_clean(report: ExportReport, caplog: pytest.LogCaptureFixture) -> None:
    assert_clean(report.to_json())
    assert_clean(report.summary())
    assert_clean(repr(report))
    assert_clean(str(report.stop_reason))
    for outcome in report.outcomes:
        assert_clean(str(outcome.reason))
        assert_clean(json.dumps(outcome.to_dict()))
    assert caplog.records
    assert_clean(caplog.text)
    for record in caplog.records:
        assert_clean(record.getMessage())


def test_bulk_rejection_and_failed_status_checks_do_not_show_the_key(
    emu: ActiveCampaignEmulator,
    destination: ExportDestination,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A 503 page, a bulk 400 naming a contact and 500s on status checks all echo the key."""
    transport = Echoing(emu.transport(), "user3@example.com", failing_checks=8)
    with caplog.at_level(logging.DEBUG), _client(transport) as client:
        report = Exporter(destination, client=client, options=fast()).run(
            [profile(i) for i in range(30)]
        )
    rejected = report.by_status(OutcomeStatus.REJECTED)
    assert [o.position for o in rejected] == [3]
    assert "[redacted]" in (rejected[0].reason or "")
    assert report.exported == 29
    assert transport.rewritten >= 1 + 1 + 8
    # Status checks failed (and were retried) with the key in their answers.
    assert any("Retrying GET import/info" in r.getMessage() for r in caplog.records)
    _assert_report_clean(report, caplog)


def test_untrackable_batches_do_not_show_the_key(
    emu: ActiveCampaignEmulator,
    destination: ExportDestination,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every status check fails with the key in the answer: the unknown outcomes are clean."""
    transport = Echoing(emu.transport(), "nobody@example.com", failing_checks=10_000)
    with caplog.at_level(logging.DEBUG), _client(transport) as client:
        report = Exporter(destination, client=client, options=fast()).run(
            [profile(i) for i in range(20)]
        )
    unknown = report.by_status(OutcomeStatus.UNKNOWN)
    assert len(unknown) == 20
    assert all("[redacted]" in (o.reason or "") for o in unknown)
    _assert_report_clean(report, caplog)


def test_a_failed_small_remainder_does_not_show_the_key(
    emu: ActiveCampaignEmulator,
    destination: ExportDestination,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Five profiles go through contact/sync; the 422 for one echoes the key."""
    transport = Echoing(emu.transport(), "user2@example.com", failing_checks=0)
    with caplog.at_level(logging.DEBUG), _client(transport) as client:
        report = Exporter(destination, client=client, options=fast()).run(
            [profile(i) for i in range(5)]
        )
    failed = [o for o in report.outcomes if o.position == 2]
    assert failed
    assert failed[0].status is not OutcomeStatus.EXPORTED
    assert "[redacted]" in (failed[0].reason or "")
    _assert_report_clean(report, caplog)
