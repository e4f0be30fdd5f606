"""Mirror never unsubscribes a segment member, and refuses to empty or halve a list."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import attrs
import httpx
import pytest

from ac_segment_export import (
    Attribute,
    ExportAbortedError,
    ExportDestination,
    Exporter,
    ExportMode,
    FieldMapping,
    MirrorRefusedError,
    MissingColumnError,
    OutcomeStatus,
)

from .conftest import fast, make_client, make_emulator

#: Mirror tests read segments of emails only.
EMAILS = FieldMapping(email="email")

if TYPE_CHECKING:
    from ac_segment_export import Connection
    from ac_segment_export.testing import ActiveCampaignEmulator


def _account(members: int) -> ActiveCampaignEmulator:
    emu = make_emulator()
    emu.add_list("VIP customers")
    emu.add_field("Tier", perstag="TIER")
    emu.add_field("Score", type="number", perstag="SCORE")
    for i in range(members):
        emu.add_contact(f"m{i}@example.com", lists={1: 1})
    return emu


def _mirror(connection: Connection, mapping: FieldMapping = EMAILS) -> ExportDestination:
    return ExportDestination(connection, "VIP mirror", 1, mapping, mode=ExportMode.MIRROR)


def _active(emu: ActiveCampaignEmulator) -> set[str]:
    return {e for e, s in emu.list_members(1).items() if s == 1}


def test_rejected_members_stay_subscribed(connection: Connection) -> None:
    """3 of 10 members have a bad Score: rejected, and still subscribed (not leavers)."""
    emu = _account(12)
    mapping = attrs.evolve(EMAILS, fields={"SCORE": "score"})
    rows: list[dict[str, Any]] = [{"email": f"m{i}@example.com", "score": i} for i in range(10)]
    for i in (2, 5, 7):
        rows[i]["score"] = "n/a"
    with make_client(emu) as client:
        report = Exporter(_mirror(connection, mapping), client=client, options=fast()).run(rows)
    assert [o.position for o in report.by_status(OutcomeStatus.REJECTED)] == [2, 5, 7]
    assert report.unsubscribed == 2  # m10 and m11, the only leavers
    assert report.leavers == 2
    assert _active(emu) == {f"m{i}@example.com" for i in range(10)}


def test_a_mapping_typo_that_rejects_every_row_unsubscribes_no_one(
    connection: Connection,
) -> None:
    def boom(value: object) -> str:
        raise ValueError("typo")

    emu = _account(600)
    mapping = FieldMapping(email="email", first_name=Attribute("first", transform=boom))
    rows = [{"email": f"m{i}@example.com", "first": "A"} for i in range(600)]
    with make_client(emu) as client:
        report = Exporter(_mirror(connection, mapping), client=client, options=fast()).run(rows)
    assert report.counts["rejected"] == 600
    assert report.unsubscribed == 0
    assert len(_active(emu)) == 600


def test_a_raising_user_mapper_still_counts_the_email_as_a_member(
    connection: Connection,
) -> None:
    """A mapper that raises for a profile: the destination's email reader still reads it."""
    emu = _account(4)
    dest = _mirror(connection)
    with make_client(emu) as client:
        resolved = dest.validate(client=client)

        class Flaky:
            def map(self, profile: Any) -> Any:
                if profile["email"].startswith("m1"):
                    raise RuntimeError("flaky")
                return resolved.mapper.map(profile)

            def email_of(self, profile: Any) -> str | None:
                return resolved.mapper.email_of(profile)

        rows = [{"email": f"m{i}@example.com"} for i in range(4)]
        report = Exporter(dest, client=client, mapper=Flaky(), options=fast()).run(rows)
    assert report.counts["rejected"] == 1
    assert report.unsubscribed == 0
    assert len(_active(emu)) == 4


def test_an_empty_segment_is_refused_unless_allowed(connection: Connection) -> None:
    emu = _account(600)
    with make_client(emu) as client:
        with pytest.raises(MirrorRefusedError) as caught:
            Exporter(_mirror(connection), client=client, options=fast()).run([])
        assert "allow_empty=True" in str(caught.value)
        assert caught.value.report.balanced
        assert len(_active(emu)) == 600
        assert not [r for r in emu.requests if r.method == "POST"]

        report = Exporter(_mirror(connection), client=client, options=fast(allow_empty=True)).run(
            []
        )
    assert report.unsubscribed == 600
    assert not _active(emu)


def test_a_segment_whose_emails_cannot_be_read_counts_as_empty(connection: Connection) -> None:
    emu = _account(50)
    rows = [{"email": None} for i in range(50)]  # an email column holding nothing
    with make_client(emu) as client, pytest.raises(MirrorRefusedError):
        Exporter(_mirror(connection), client=client, options=fast()).run(rows)
    assert len(_active(emu)) == 50


def test_a_misnamed_email_column_is_refused_before_any_request(connection: Connection) -> None:
    emu = _account(50)
    rows = [{"mail": f"m{i}@example.com"} for i in range(50)]  # the email column is misnamed
    with make_client(emu) as client, pytest.raises(MissingColumnError) as caught:
        Exporter(_mirror(connection), client=client, options=fast()).run(rows)
    assert caught.value.suggestions == {"email": "mail"}
    assert emu.requests == []
    assert len(_active(emu)) == 50


def test_more_than_half_the_list_is_refused_before_any_unsubscribe(
    connection: Connection,
) -> None:
    emu = _account(600)
    rows = [{"email": f"m{i}@example.com"} for i in range(100)]
    with make_client(emu) as client:
        with pytest.raises(MirrorRefusedError) as caught:
            Exporter(_mirror(connection), client=client, options=fast()).run(rows)
        error = caught.value
        assert (error.leavers, error.active) == (500, 600)
        assert "500 of the list's 600" in str(error)
        assert error.report.exported == 100
        assert len(_active(emu)) == 600
        unsubscribes = [
            r
            for r in emu.requests
            if r.path == "/import/bulk_import" and "unsubscribe" in r.json["contacts"][0]
        ]
        assert not unsubscribes

        report = Exporter(
            _mirror(connection), client=client, options=fast(max_unsubscribe_fraction=0.9)
        ).run(rows)
    assert report.unsubscribed == 500
    assert len(_active(emu)) == 100


def test_dry_run_refuses_too(connection: Connection) -> None:
    emu = _account(10)
    with make_client(emu) as client, pytest.raises(MirrorRefusedError):
        Exporter(_mirror(connection), client=client, options=fast(dry_run=True)).run(
            [{"email": "m0@example.com"}]
        )


class _FailSecondUnsubscribe(httpx.BaseTransport):
    """Answers the second unsubscribe bulk request with a 400 (surely not applied)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.unsubscribes = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/import/bulk_import"):
            body = json.loads(request.read())
            if "unsubscribe" in body["contacts"][0]:
                self.unsubscribes += 1
                if self.unsubscribes == 2:
                    return httpx.Response(400, json={"message": "Bad request"})
        return self.inner.handle_request(request)


def test_a_mirror_that_fails_part_way_says_so(connection: Connection) -> None:
    emu = _account(1000)
    rows = [{"email": f"m{i}@example.com"} for i in range(420)]  # 580 leavers, 3 chunks
    transport = _FailSecondUnsubscribe(emu.transport())
    with make_client(emu, transport=transport) as client:
        with pytest.raises(ExportAbortedError) as caught:
            Exporter(
                _mirror(connection), client=client, options=fast(max_unsubscribe_fraction=1.0)
            ).run(rows)
    report = caught.value.report
    assert report.balanced
    assert report.exported == 420
    assert report.leavers == 580
    # The refused request's 250 leavers stay subscribed; the other chunks went through.
    assert report.unsubscribed == 330
    assert report.leavers_remaining == 250
    assert report.leavers_unknown == 0
    assert report.stopped_early
    assert "250 leavers are still subscribed" in (report.stop_reason or "")
    assert "250 still subscribed" in report.summary()
    assert len(_active(emu)) == 420 + 250
