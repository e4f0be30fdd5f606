"""The client end to end over a real socket: a small export scenario, sync and async."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import anyio
import httpx
import pytest

import ac_segment_export as acx

if TYPE_CHECKING:
    from ac_segment_export.testing import ActiveCampaignEmulator

KEY = "e2e-key"
PEOPLE = [("ada@example.com", "Ada"), ("Grace@Example.com", "Grace"), ("alan@example.com", "Alan")]
BULK = [
    acx.BulkImportContact(email=f"bulk{i:02}@example.com", first_name=f"B{i}") for i in range(40)
]


def _options(emu: ActiveCampaignEmulator) -> dict[str, object]:
    """Pacing to the emulator's time-scaled limits, quick retries."""
    return {
        "rate_limits": acx.RateLimits().scaled(emu.time_scale),
        "retry": acx.RetryPolicy(initial_backoff=0.01, jitter=0.01, max_attempts=6),
        "timeout": 5.0,
    }


def _assert_final_state(emu: ActiveCampaignEmulator, list_id: int) -> None:
    members = emu.list_members(list_id)
    assert len(members) == len(PEOPLE) + len(BULK)
    assert set(members.values()) == {1}
    assert members["Grace@Example.com"] == 1
    assert emu.contact_count == len(PEOPLE) + len(BULK)
    # Pacing keeps 429s rare; over a socket, connection set-up jitter can still cause one,
    # and then it must have been retried (tests/client/test_pacing.py asserts zero).
    assert sum(r.status == 429 for r in emu.requests) <= 2


def test_sync_scenario(emu: ActiveCampaignEmulator, base_url: str) -> None:
    """Verify the key, create a list, sync contacts, bulk import, poll, and read back."""
    with acx.Client(base_url, KEY, **_options(emu)) as client:  # type: ignore[arg-type]
        assert client.base_url == base_url + "/api/3/"
        assert client.users.me().username == "emulator"
        segment = client.lists.create("E2E Segment")
        for email, name in PEOPLE:
            contact = client.contacts.sync(acx.ContactInput(email=email, first_name=name))
            client.memberships.subscribe(contact.id, segment.id)
        again = client.contacts.sync(
            acx.ContactInput(email="GRACE@example.com", last_name="Hopper")
        )
        assert again.first_name == "Grace"
        queued = client.bulk_import.submit(
            [
                acx.BulkImportContact(
                    email=c.email, first_name=c.first_name, subscribe=(segment.id,)
                )
                for c in BULK
            ]
        )
        assert queued.queued_contacts == len(BULK)
        statuses = []
        deadline = time.monotonic() + 5
        while True:
            info = client.bulk_import.info(queued.batch_id)
            statuses.append(info.status)
            if info.is_final or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        assert statuses[0] is None  # status: false right after the submit
        assert info.status is acx.BatchStatus.COMPLETED
        assert len(info.success) == len(BULK)
        members = list(
            client.contacts.iterate(list_id=segment.id, status=acx.MembershipStatus.ACTIVE)
        )
        assert sorted(c.email.lower() for c in members) == sorted(
            [e.lower() for e, _ in PEOPLE] + [c.email for c in BULK]
        )
        assert client.stats.retries == client.stats.rate_limited
    _assert_final_state(emu, segment.id)


@pytest.mark.anyio
async def test_async_scenario(emu: ActiveCampaignEmulator, base_url: str) -> None:
    """The same scenario with AsyncClient, the syncs running concurrently."""
    async with acx.AsyncClient(base_url, KEY, **_options(emu)) as client:  # type: ignore[arg-type]
        assert (await client.users.me()).id == 1
        segment = await client.lists.create("E2E Segment")

        async def add(email: str, name: str) -> None:
            contact = await client.contacts.sync(acx.ContactInput(email=email, first_name=name))
            await client.memberships.subscribe(contact.id, segment.id)

        async with anyio.create_task_group() as tg:
            for email, name in PEOPLE:
                tg.start_soon(add, email, name)
        queued = await client.bulk_import.submit(
            [acx.BulkImportContact(email=c.email, subscribe=(segment.id,)) for c in BULK]
        )
        info = await client.bulk_import.info(queued.batch_id)
        assert info.status is None
        with anyio.fail_after(5):
            while not info.is_final:
                await anyio.sleep(0.01)
                info = await client.bulk_import.info(queued.batch_id)
        assert info.status is acx.BatchStatus.COMPLETED
        count = 0
        async for _ in client.contacts.iterate(list_id=segment.id):
            count += 1
        assert count == len(PEOPLE) + len(BULK)
        assert client.stats.retries == client.stats.rate_limited
    _assert_final_state(emu, segment.id)


def test_dropped_connection_is_retried_over_the_socket(
    emu: ActiveCampaignEmulator, base_url: str
) -> None:
    """A connection the server closes without answering is retried for a read."""
    with acx.Client(base_url, KEY, **_options(emu)) as client:  # type: ignore[arg-type]
        client.users.me()  # open a keep-alive connection first
        emu.queue_fault("drop", count=2)
        assert client.users.me().id == 1
        assert [r.status for r in emu.requests] == [200, 0, 0, 200]
        assert client.stats.retries == 2


def test_dropped_create_is_not_retried_over_the_socket(
    emu: ActiveCampaignEmulator, base_url: str
) -> None:
    """POST /contacts dropped mid-request surfaces as APIConnectionError after one try."""
    with acx.Client(base_url, KEY, **_options(emu)) as client:  # type: ignore[arg-type]
        emu.queue_fault("drop", path="/contacts")
        with pytest.raises(acx.APIConnectionError) as caught:
            client.contacts.create(acx.ContactInput(email="once@example.com"))
        assert isinstance(caught.value.__cause__, httpx.HTTPError)
        assert "127.0.0.1" in str(caught.value)
        assert [r.status for r in emu.requests] == [0]


@pytest.mark.anyio
async def test_async_dropped_connection_is_retried(
    emu: ActiveCampaignEmulator, base_url: str
) -> None:
    """Async over the socket: a drop and a 503 are retried, a 429 waits Retry-After."""
    async with acx.AsyncClient(base_url, KEY, **_options(emu)) as client:  # type: ignore[arg-type]
        emu.queue_fault("drop")
        emu.queue_fault("503")
        emu.queue_fault("429")
        started = time.perf_counter()
        assert (await client.users.me()).id == 1
        assert time.perf_counter() - started >= 1 / emu.time_scale
        assert [r.status for r in emu.requests] == [0, 503, 429, 200]


def test_html_200_over_the_socket_is_an_error(emu: ActiveCampaignEmulator, base_url: str) -> None:
    """An HTML login page under 200 is refused over the wire too."""
    with acx.Client(base_url, KEY, **_options(emu)) as client:  # type: ignore[arg-type]
        emu.queue_fault("html_200")
        with pytest.raises(acx.APIResponseValidationError, match="HTML page"):
            client.lists.get(1)


def test_bad_key_over_the_socket(emu: ActiveCampaignEmulator, base_url: str) -> None:
    """A wrong key is an AuthenticationError over the socket, as through the transport."""
    with acx.Client(base_url, "not-the-key", **_options(emu)) as client:  # type: ignore[arg-type]
        with pytest.raises(acx.AuthenticationError, match="Settings > Developer"):
            client.users.me()
