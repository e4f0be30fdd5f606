"""Mirror with the workspace: a leaver who comes back is re-subscribed, unless it acted itself."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from ac_segment_export import (
    ExportDestination,
    ExportMode,
    MirrorRefusedError,
    OutcomeStatus,
    RunStatus,
)

from .conftest import FAST, MAPPING, rows

if TYPE_CHECKING:
    from ac_segment_export import Connection, Workspace
    from ac_segment_export.testing import ActiveCampaignEmulator

NAME = "Mirror"
OPTIONS = FAST.replace(max_unsubscribe_fraction=0.5)


@pytest.fixture
def mirror(any_ws: tuple[Workspace, Connection]) -> Workspace:
    ws, connection = any_ws
    destination = ExportDestination(connection, NAME, 1, MAPPING, mode=ExportMode.MIRROR)
    ws.save_export(destination, options=OPTIONS)
    return ws


def _status(emu: ActiveCampaignEmulator, i: int) -> int:
    return emu.list_members(1)[f"user{i}@example.com"]


def _contact_id(emu: ActiveCampaignEmulator, i: int) -> int:
    contact = emu.contact_by_email(f"user{i}@example.com")
    assert contact is not None
    return contact.id


def test_a_leaver_only_mirror_unsubscribed_is_re_subscribed_when_it_returns(
    mirror: Workspace, emu: ActiveCampaignEmulator
) -> None:
    mirror.run(NAME, rows(20))
    left = mirror.run(NAME, rows(15))  # user15..19 leave the segment
    assert left.unsubscribed == 5
    assert all(_status(emu, i) == 2 for i in range(15, 20))
    emu.advance(5)
    back = mirror.run(NAME, rows(20))
    assert back.resubscribed == 5
    assert back.exported == 5
    assert back.counts["unchanged"] == 15
    assert all(_status(emu, i) == 1 for i in range(15, 20))
    kept = {o.email: o for o in back.by_status(OutcomeStatus.EXPORTED)}
    assert set(kept) == {f"user{i}@example.com" for i in range(15, 20)}
    assert all(
        "re-subscribed: mirror had unsubscribed it" in (o.reason or "") for o in kept.values()
    )
    assert mirror.history(NAME)[0].status is RunStatus.SUCCEEDED
    again = mirror.run(NAME, rows(20))
    assert again.exported == 0
    assert again.counts["unchanged"] == 20
    assert again.unsubscribed == 0  # unchanged profiles are segment members


def test_a_contact_that_unsubscribed_itself_is_never_re_subscribed(
    mirror: Workspace, emu: ActiveCampaignEmulator
) -> None:
    mirror.run(NAME, rows(20))
    mirror.run(NAME, rows(15))  # mirror unsubscribes user15..19
    emu.advance(5)
    # user16 re-subscribed in ActiveCampaign and then unsubscribed itself.
    emu.set_membership(_contact_id(emu, 16), 1, 1)
    emu.advance(5)
    emu.set_membership(_contact_id(emu, 16), 1, 2)
    # user3 (never a leaver) unsubscribed itself.
    emu.set_membership(_contact_id(emu, 3), 1, 2)
    emu.advance(5)
    back = mirror.run(NAME, rows(20))
    assert back.resubscribed == 4
    assert _status(emu, 16) == 2
    assert _status(emu, 3) == 2
    skipped = {o.email: o.reason for o in back.by_status(OutcomeStatus.SKIPPED)}
    assert set(skipped) == {"user16@example.com", "user3@example.com"}
    assert "unsubscribed itself" in (skipped["user16@example.com"] or "")
    assert "never re-subscribed" in (skipped["user3@example.com"] or "")
    later = mirror.run(NAME, rows(20))  # mirror's record of user16 is gone: skipped for good
    assert later.resubscribed == 0
    assert _status(emu, 16) == 2
    assert later.counts["skipped"] == 2


def test_a_dry_run_says_who_would_be_re_subscribed_and_writes_nothing(
    mirror: Workspace, emu: ActiveCampaignEmulator
) -> None:
    mirror.run(NAME, rows(20))
    mirror.run(NAME, rows(15))
    emu.advance(5)
    emu.reset_requests()
    preview = mirror.run(NAME, rows(20), dry_run=True)
    assert all(r.method == "GET" for r in emu.requests)
    assert preview.resubscribed == 0
    assert preview.would_subscribe == 5
    assert all(_status(emu, i) == 2 for i in range(15, 20))
    assert mirror.run(NAME, rows(20)).resubscribed == 5  # the record was kept


def test_the_mirror_guards_are_part_of_the_saved_options(
    mirror: Workspace, emu: ActiveCampaignEmulator
) -> None:
    mirror.run(NAME, rows(20))
    with pytest.raises(MirrorRefusedError, match="max_unsubscribe_fraction"):
        mirror.run(NAME, rows(5))  # 15 of 20 would leave: more than 50%
    assert all(_status(emu, i) == 1 for i in range(20))
    assert mirror.history(NAME)[0].status is RunStatus.REFUSED
    with pytest.raises(MirrorRefusedError, match="allow_empty"):
        mirror.run(NAME, [])
    assert mirror.get_export(NAME).options.max_unsubscribe_fraction == 0.5
