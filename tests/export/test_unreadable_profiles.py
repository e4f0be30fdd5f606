"""A source's unreadable records are rejected with their reason, and make mirror stand down."""

from __future__ import annotations

from typing import Any

import ac_segment_export as acx
from ac_segment_export.testing import ActiveCampaignEmulator


def _destination(emu: ActiveCampaignEmulator, list_id: int, *, mirror: bool = False) -> Any:
    return acx.ExportDestination(
        emu.connection(),
        "Segment",
        list_id,
        acx.FieldMapping(email="email"),
        mode="mirror" if mirror else "upsert",
    )


def test_an_unreadable_record_is_rejected_at_its_position_with_its_reason() -> None:
    emu = ActiveCampaignEmulator(time_scale=1000)
    list_id = emu.add_list("L")
    rows: list[Any] = [
        {"email": "a@example.org"},
        acx.UnreadableProfile("line 3: 3 fields, the header has 1"),
        {"email": "b@example.org"},
    ]
    report = acx.Exporter(_destination(emu, list_id)).run(rows)
    assert report.balanced
    assert report.counts["exported"] == 2
    (outcome,) = report.outcomes
    assert outcome.position == 1
    assert outcome.status is acx.OutcomeStatus.REJECTED
    assert outcome.reason == "line 3: 3 fields, the header has 1"
    assert set(emu.list_members(list_id, status=1)) == {
        "a@example.org",
        "b@example.org",
    }


def test_mirror_unsubscribes_no_one_when_an_owner_is_unknown() -> None:
    emu = ActiveCampaignEmulator(time_scale=1000)
    list_id = emu.add_list("L")
    emu.add_contact("stays@example.org", lists={list_id: 1})
    emu.add_contact("leaver@example.org", lists={list_id: 1})
    rows: list[Any] = [
        {"email": "stays@example.org"},
        acx.UnreadableProfile("line 3: not JSON"),
    ]
    report = acx.Exporter(_destination(emu, list_id, mirror=True)).run(rows)
    assert report.balanced
    assert "mirror skipped" in (report.stop_reason or "")
    assert "mirror skipped" in report.summary()
    active = set(emu.list_members(list_id, status=1))
    assert active == {"stays@example.org", "leaver@example.org"}


def test_mirror_goes_on_when_the_unreadable_record_names_its_owner() -> None:
    emu = ActiveCampaignEmulator(time_scale=1000)
    list_id = emu.add_list("L")
    emu.add_contact("stays@example.org", lists={list_id: 1})
    emu.add_contact("broken@example.org", lists={list_id: 1})
    emu.add_contact("leaver@example.org", lists={list_id: 1})
    rows: list[Any] = [
        {"email": "stays@example.org"},
        acx.UnreadableProfile("line 3: 4 fields, the header has 2", email="broken@example.org"),
    ]
    options = acx.ExportOptions(max_unsubscribe_fraction=0.9)
    report = acx.Exporter(_destination(emu, list_id, mirror=True), options=options).run(rows)
    assert report.balanced
    active = set(emu.list_members(list_id, status=1))
    assert active == {"stays@example.org", "broken@example.org"}
