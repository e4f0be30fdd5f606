"""Retries under injected faults: what is retried, how often, and how long it waits."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import httpx
import pytest

import ac_segment_export as acx
from ac_segment_export.testing import ActiveCampaignEmulator, EmulatorLimits, Faults

if TYPE_CHECKING:
    from collections.abc import Callable

NEW = acx.ContactInput(email="new@example.com", first_name="New")


def statuses(emu: ActiveCampaignEmulator) -> list[int]:
    """The status of every request the emulator saw (0 = dropped)."""
    return [r.status for r in emu.requests]


@pytest.mark.parametrize("kind", ["500", "502", "503", "drop"])
def test_idempotent_reads_are_retried(
    client: acx.Client, emu: ActiveCampaignEmulator, kind: str
) -> None:
    """A read that meets 5xx or a dropped connection is retried until it succeeds."""
    emu.queue_fault(kind, count=2)  # type: ignore[arg-type]
    user = client.users.me()
    assert user.id == 1
    first = 0 if kind == "drop" else int(kind)
    assert statuses(emu) == [first, first, 200]
    assert (client.stats.requests, client.stats.retries) == (3, 2)


@pytest.mark.parametrize("kind", ["500", "drop"])
def test_sync_and_memberships_are_retried(
    client: acx.Client, emu: ActiveCampaignEmulator, kind: str
) -> None:
    """contact/sync and contactLists are safe to repeat, so a 500 or drop is retried."""
    list_id = emu.add_list("L")
    emu.queue_fault(kind, path="/contact/sync")  # type: ignore[arg-type]
    contact = client.contacts.sync(NEW)
    emu.queue_fault(kind, path="/contactLists")  # type: ignore[arg-type]
    client.memberships.subscribe(contact.id, list_id)
    assert emu.list_members(list_id) == {"new@example.com": 1}
    assert client.stats.retries == 2
    assert emu.contact_count == 1


@pytest.mark.parametrize(
    ("kind", "error"), [("500", acx.ServerError), ("drop", acx.APIConnectionError)]
)
def test_create_contact_is_not_retried_after_unclear_failure(
    client: acx.Client,
    emu: ActiveCampaignEmulator,
    kind: str,
    error: type[Exception],
) -> None:
    """POST /contacts after a 500 or a drop may have been processed: it is not repeated."""
    emu.queue_fault(kind, path="/contacts")  # type: ignore[arg-type]
    with pytest.raises(error):
        client.contacts.create(NEW)
    assert len(emu.requests) == 1
    assert client.stats.retries == 0


def test_create_list_and_field_are_not_retried_after_500(
    client: acx.Client, emu: ActiveCampaignEmulator
) -> None:
    """POST /lists and POST /fields are not repeated after a 500 either."""
    emu.queue_fault("500", count=2)
    with pytest.raises(acx.ServerError):
        client.lists.create("Once")
    with pytest.raises(acx.ServerError):
        client.fields.create("Once")
    assert len(emu.requests) == 2


def test_create_contact_is_retried_after_429(
    client: acx.Client, emu: ActiveCampaignEmulator
) -> None:
    """A 429 means the request was not processed, so even POST /contacts is retried."""
    emu.queue_fault("429", path="/contacts")
    contact = client.contacts.create(NEW)
    assert statuses(emu) == [429, 201]
    assert emu.contact_count == 1
    assert contact.email == "new@example.com"
    assert client.stats.rate_limited == 1


def test_gives_up_after_max_attempts(
    make_client: Callable[..., acx.Client], emu: ActiveCampaignEmulator
) -> None:
    """After max_attempts failures the last error is raised, and no more requests go out."""
    client = make_client(retry=acx.RetryPolicy.for_tests(max_attempts=3))
    emu.queue_fault("502", count=10)
    with pytest.raises(acx.ServerError) as caught:
        client.lists.get(1)
    assert caught.value.status_code == 502
    assert statuses(emu) == [502, 502, 502]
    assert (client.stats.requests, client.stats.retries) == (3, 2)


def test_never_policy_makes_one_attempt(
    make_client: Callable[..., acx.Client], emu: ActiveCampaignEmulator
) -> None:
    """RetryPolicy.never() sends a failing request exactly once."""
    client = make_client(retry=acx.RetryPolicy.never())
    emu.queue_fault("500")
    with pytest.raises(acx.ServerError):
        client.users.me()
    assert len(emu.requests) == 1


def test_retry_after_is_honoured(
    make_client: Callable[..., acx.Client], caplog: pytest.LogCaptureFixture
) -> None:
    """The client waits at least Retry-After (time-scaled) and logs the retry at INFO."""
    emu = ActiveCampaignEmulator(api_key="test-key", time_scale=5.0)
    client = make_client(emulator=emu, retry=acx.RetryPolicy(initial_backoff=0, jitter=0))
    emu.queue_fault("429")
    with caplog.at_level(logging.INFO, logger="ac_segment_export"):
        started = time.perf_counter()
        client.users.me()
        elapsed = time.perf_counter() - started
    assert statuses(emu) == [429, 200]
    assert elapsed >= 0.2  # Retry-After "0.200": one emulated second at 5x
    assert elapsed < 1.0
    [record] = [r for r in caplog.records if r.getMessage().startswith("Retrying")]
    assert record.levelno == logging.INFO
    assert record.getMessage() == (
        "Retrying GET users/me in 0.20 s after RateLimitError "
        "(rate limited; 1 of 900 s of rate-limit waiting used)"
    )


def test_retry_after_is_capped(
    make_client: Callable[..., acx.Client], emu: ActiveCampaignEmulator
) -> None:
    """A Retry-After beyond max_retry_after waits only the cap."""
    client = make_client(retry=acx.RetryPolicy(max_retry_after=0.05, jitter=0))
    emu.queue_fault("429")  # Retry-After: 1 second at time_scale 1
    started = time.perf_counter()
    client.users.me()
    assert 0.05 <= time.perf_counter() - started < 0.5


def test_bulk_rate_limit_body_is_retried(
    make_client: Callable[..., acx.Client], emu: ActiveCampaignEmulator
) -> None:
    """The bulk 'Rate limit exceeded.' answer is retried after bulk_rate_limit_wait."""
    client = make_client(retry=acx.RetryPolicy(bulk_rate_limit_wait=0.1, jitter=0))
    emu.queue_fault("bulk_rate_limit")
    started = time.perf_counter()
    queued = client.bulk_import.submit(
        [acx.BulkImportContact(email=f"b{i}@example.com") for i in range(3)]
    )
    assert time.perf_counter() - started >= 0.1
    assert queued.queued_contacts == 3
    assert statuses(emu) == [400, 200]
    assert len(emu.batches) == 1
    assert client.stats.rate_limited == 1


def test_bulk_rate_limit_at_429_is_retried(make_client: Callable[..., acx.Client]) -> None:
    """The same body under 429 (an emulator option) is retried too."""
    emu = ActiveCampaignEmulator(
        api_key="test-key",
        limits=EmulatorLimits(enforce_rate_limits=False, bulk_rate_limit_status=429),
    )
    client = make_client(emulator=emu)
    emu.queue_fault("bulk_rate_limit")
    client.bulk_import.submit([acx.BulkImportContact(email="one@example.com")])
    assert statuses(emu) == [429, 200]


def test_bulk_rejection_is_not_retried(client: acx.Client, emu: ActiveCampaignEmulator) -> None:
    """A bulk 400 with per-contact reasons is final."""
    with pytest.raises(acx.BulkImportRejectedError):
        client.bulk_import.submit([acx.BulkImportContact(email="bad")])
    assert statuses(emu) == [400]


def test_for_tests_retries_instantly(
    make_client: Callable[..., acx.Client], emu: ActiveCampaignEmulator
) -> None:
    """RetryPolicy.for_tests() retries five 429s (Retry-After 1 s each) without sleeping."""
    client = make_client(retry=acx.RetryPolicy.for_tests())
    emu.queue_fault("429", count=5)
    started = time.perf_counter()
    client.users.me()
    assert time.perf_counter() - started < 0.5
    assert statuses(emu) == [429] * 5 + [200]


def test_backoff_grows_between_attempts(
    make_client: Callable[..., acx.Client], emu: ActiveCampaignEmulator
) -> None:
    """With backoff on, two 500s wait initial + 2*initial before the third try."""
    client = make_client(retry=acx.RetryPolicy(initial_backoff=0.05, jitter=0))
    emu.queue_fault("500", count=2)
    started = time.perf_counter()
    client.users.me()
    assert time.perf_counter() - started >= 0.15


def test_max_elapsed_stops_retrying(
    make_client: Callable[..., acx.Client], emu: ActiveCampaignEmulator
) -> None:
    """No retry starts once max_elapsed has passed, however many attempts are left."""
    client = make_client(
        retry=acx.RetryPolicy(
            max_attempts=50, initial_backoff=0.1, max_backoff=0.1, jitter=0, max_elapsed=0.25
        )
    )
    emu.queue_fault("500", count=50)
    with pytest.raises(acx.ServerError):
        client.users.me()
    assert 2 <= len(emu.requests) <= 4


# -- async ------------------------------------------------------------------------------------

pytest_anyio = pytest.mark.anyio


@pytest_anyio
async def test_async_retries(aclient: acx.AsyncClient, emu: ActiveCampaignEmulator) -> None:
    """Async: reads retried after 502 and drop; POST /contacts not after 500, yes after 429."""
    emu.queue_fault("502")
    emu.queue_fault("drop")
    assert (await aclient.users.me()).id == 1
    assert statuses(emu) == [502, 0, 200]
    emu.reset_requests()
    emu.queue_fault("500", path="/contacts")
    with pytest.raises(acx.ServerError):
        await aclient.contacts.create(NEW)
    assert statuses(emu) == [500]
    emu.reset_requests()
    emu.queue_fault("429", path="/contacts")
    await aclient.contacts.create(NEW)
    assert statuses(emu) == [429, 201]
    assert aclient.stats.retries == 3


@pytest_anyio
async def test_async_retry_after_is_honoured(make_aclient: Callable[..., acx.AsyncClient]) -> None:
    """Async: the wait after a 429 is at least Retry-After."""
    emu = ActiveCampaignEmulator(api_key="test-key", time_scale=5.0)
    client = make_aclient(emulator=emu, retry=acx.RetryPolicy(initial_backoff=0, jitter=0))
    emu.queue_fault("429")
    started = time.perf_counter()
    await client.users.me()
    assert time.perf_counter() - started >= 0.2
    assert statuses(emu) == [429, 200]


@pytest_anyio
async def test_async_gives_up(
    make_aclient: Callable[..., acx.AsyncClient], emu: ActiveCampaignEmulator
) -> None:
    """Async: max_attempts bounds the tries."""
    client = make_aclient(retry=acx.RetryPolicy.for_tests(max_attempts=2))
    emu.queue_fault("drop", count=5)
    with pytest.raises(acx.APIConnectionError):
        await client.lists.get(1)
    assert statuses(emu) == [0, 0]


def test_real_429s_are_waited_out(make_client: Callable[..., acx.Client]) -> None:
    """Unpaced, the emulator's own 5/s limit answers 429; waiting Retry-After gets through."""
    emu = ActiveCampaignEmulator(api_key="test-key", time_scale=10.0)
    client = make_client(
        emulator=emu,
        rate_limits=acx.RateLimits.unlimited(),
        retry=acx.RetryPolicy(initial_backoff=0, jitter=0, max_attempts=10),
    )
    started = time.perf_counter()
    for _ in range(12):
        client.users.me()
    elapsed = time.perf_counter() - started
    rejected = statuses(emu).count(429)
    assert rejected > 0
    assert statuses(emu).count(200) == 12
    assert client.stats.rate_limited == rejected == client.stats.retries
    assert elapsed >= 0.1  # 12 requests at 5 per emulated second need > 2 windows of 0.1 s


def test_random_faults_are_retried_to_success(make_client: Callable[..., acx.Client]) -> None:
    """Seeded 5xx and drop rates: every read still succeeds, one retry per failed attempt."""
    emu = ActiveCampaignEmulator(
        api_key="test-key",
        limits=EmulatorLimits.unlimited(),
        faults=Faults(server_error_rate=0.25, drop_connection_rate=0.1),
        seed=3,
    )
    client = make_client(emulator=emu, retry=acx.RetryPolicy.for_tests(max_attempts=10))
    for i in range(30):
        emu.add_list(f"L{i}")
    for i in range(30):
        assert client.lists.get(i + 1).name == f"L{i}"
    failed = sum(s != 200 for s in statuses(emu))
    assert failed > 0
    assert client.stats.retries == failed
    assert client.stats.requests == len(emu.requests) == 30 + failed


# -- rate limits have a budget of their own (defect 6) ---------------------------------------


def test_many_429s_do_not_use_up_the_attempts(
    client: acx.Client, emu: ActiveCampaignEmulator
) -> None:
    """Twenty 429s in a row (more than max_attempts) are waited out and the read succeeds."""
    emu.queue_fault("429", count=20)
    assert client.users.me().id == 1
    assert statuses(emu) == [429] * 20 + [200]
    assert (client.stats.rate_limited, client.stats.retries) == (20, 20)


def test_rate_limits_and_failures_are_counted_apart(
    make_client: Callable[..., acx.Client], emu: ActiveCampaignEmulator
) -> None:
    """max_attempts counts failures only: 429s between them do not bring the end nearer."""
    client = make_client(retry=acx.RetryPolicy.for_tests(max_attempts=3))
    for _ in range(2):
        emu.queue_fault("429", count=4, path="/users")
        emu.queue_fault("500", path="/users")
    assert client.users.me().id == 1
    assert statuses(emu) == ([429] * 4 + [500]) * 2 + [200]
    emu.reset_requests()
    emu.queue_fault("500", count=1)
    emu.queue_fault("429", count=3)
    emu.queue_fault("500", count=5)
    with pytest.raises(acx.ServerError):
        client.users.me()
    assert statuses(emu) == [500, 429, 429, 429, 500, 500]


def test_rate_limit_budget_is_enforced(
    make_client: Callable[..., acx.Client], emu: ActiveCampaignEmulator
) -> None:
    """Once the Retry-After waits would exceed max_rate_limit_wait, the 429 is raised.

    With backoff off nothing is slept, but each 429 still costs its Retry-After (1 s here).
    """
    client = make_client(retry=acx.RetryPolicy(backoff=False, max_rate_limit_wait=5.0))
    emu.queue_fault("429", count=50)
    started = time.perf_counter()
    with pytest.raises(acx.RateLimitError) as caught:
        client.users.me()
    assert time.perf_counter() - started < 0.5
    assert caught.value.status_code == 429
    assert caught.value.maybe_applied is False
    assert statuses(emu) == [429] * 6  # 5 waits of 1 s fit in the budget, the sixth does not
    assert client.stats.rate_limited == 6


def test_rate_limit_budget_charges_at_least_a_second(
    make_client: Callable[..., acx.Client],
) -> None:
    """A server answering Retry-After: 0 forever is not retried forever."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "0"}, json={"message": "slow"})

    client = make_client(
        retry=acx.RetryPolicy(backoff=False, max_rate_limit_wait=3.0),
        transport=httpx.MockTransport(handler),
    )
    with pytest.raises(acx.RateLimitError):
        client.users.me()
    assert client.stats.requests == 4


def test_max_elapsed_does_not_cut_rate_limit_waits_short(
    make_client: Callable[..., acx.Client],
) -> None:
    """max_elapsed bounds failures; five waits of 0.02 s past a 0.05 s max_elapsed still go."""
    emu = ActiveCampaignEmulator(
        api_key="test-key", limits=EmulatorLimits.unlimited(), time_scale=50.0
    )
    client = make_client(
        emulator=emu, retry=acx.RetryPolicy(max_elapsed=0.05, initial_backoff=0, jitter=0)
    )
    emu.queue_fault("429", count=5)  # Retry-After 0.02 s each
    started = time.perf_counter()
    assert client.users.me().id == 1
    assert time.perf_counter() - started >= 0.1
    assert statuses(emu) == [429] * 5 + [200]


def test_never_raises_the_first_rate_limit(
    make_client: Callable[..., acx.Client], emu: ActiveCampaignEmulator
) -> None:
    """RetryPolicy.never() makes one attempt, whatever the answer."""
    client = make_client(retry=acx.RetryPolicy.never())
    emu.queue_fault("429")
    with pytest.raises(acx.RateLimitError):
        client.users.me()
    assert statuses(emu) == [429]


# -- 503 is throttling too ---------------------------------------------------------------------


def test_503_is_retried_as_a_rate_limit_even_for_creates(
    client: acx.Client, emu: ActiveCampaignEmulator
) -> None:
    """A 503 refused the request: POST /contacts is retried, and it counts as rate limited."""
    emu.queue_fault("503", count=8, path="/contacts")
    contact = client.contacts.create(NEW)
    assert contact.email == "new@example.com"
    assert statuses(emu) == [503] * 8 + [201]
    assert emu.contact_count == 1
    assert (client.stats.rate_limited, client.stats.retries) == (8, 8)


def test_503_retry_after_is_honoured(make_client: Callable[..., acx.Client]) -> None:
    """A 503 with Retry-After waits that long (capped like a 429's)."""
    answers = [
        httpx.Response(503, headers={"Retry-After": "0.15"}, text="<html>busy</html>"),
        httpx.Response(200, json={"user": {"id": "1", "username": "admin"}}),
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        return answers.pop(0)

    client = make_client(
        retry=acx.RetryPolicy(initial_backoff=0, jitter=0),
        transport=httpx.MockTransport(handler),
    )
    started = time.perf_counter()
    assert client.users.me().id == 1
    assert time.perf_counter() - started >= 0.15
    assert client.stats.rate_limited == 1


def test_503_budget_spent_raises_service_unavailable(
    make_client: Callable[..., acx.Client], emu: ActiveCampaignEmulator
) -> None:
    """A 503 that outlasts the rate-limit budget is raised as ServiceUnavailableError."""
    client = make_client(
        retry=acx.RetryPolicy(backoff=False, max_rate_limit_wait=2.0, initial_backoff=0, jitter=0)
    )
    emu.queue_fault("503", count=10)  # no Retry-After: each costs the least charge, 1 s
    with pytest.raises(acx.ServiceUnavailableError) as caught:
        client.lists.create("Throttled")
    assert isinstance(caught.value, acx.RateLimitError)
    assert caught.value.maybe_applied is False
    assert statuses(emu) == [503] * 3


@pytest_anyio
async def test_async_many_429s_and_503s_are_waited_out(
    aclient: acx.AsyncClient, emu: ActiveCampaignEmulator
) -> None:
    """Async: twenty 429s, then 503s on a create, do not use up max_attempts."""
    emu.queue_fault("429", count=20)
    assert (await aclient.users.me()).id == 1
    emu.queue_fault("503", count=7, path="/contacts")
    await aclient.contacts.create(NEW)
    assert statuses(emu) == [429] * 20 + [200] + [503] * 7 + [201]
    assert aclient.stats.rate_limited == 27


@pytest_anyio
async def test_async_rate_limit_budget_is_enforced(
    make_aclient: Callable[..., acx.AsyncClient], emu: ActiveCampaignEmulator
) -> None:
    """Async: the budget ends rate-limit retries too."""
    client = make_aclient(retry=acx.RetryPolicy(backoff=False, max_rate_limit_wait=3.0))
    emu.queue_fault("429", count=10)
    with pytest.raises(acx.RateLimitError):
        await client.users.me()
    assert statuses(emu) == [429] * 4
