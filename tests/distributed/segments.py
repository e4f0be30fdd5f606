"""A segment with duplicates spread far apart, and the destination workers rebuild."""

from __future__ import annotations

from typing import Any

import attrs

import ac_segment_export as acx

KEY_ENV = "ACX_TEST_DISTRIBUTED_KEY"
API_KEY = "distributed-key"
#: Emulated time runs this much faster: 100 bulk imports a minute become 2,000.
SCALE = 20.0


def segment(n: int) -> tuple[list[dict[str, Any]], set[str]]:
    """*n* rows: every 10th repeats an earlier email (other case, spaces), every 25th is bad.

    Returns the rows and the distinct normalised emails that should be exported.
    """
    rows: list[dict[str, Any]] = []
    unique: set[str] = set()
    for i in range(n):
        if i % 25 == 24:
            rows.append({"email": f"not-an-email-{i}", "first": f"Bad{i}"})
        elif i % 10 == 9:
            earlier = (i * 7) % (i - 1)  # far back, so it lies in another input chunk
            rows.append({"email": f"  Person{earlier}@Example.com ", "first": f"Dup{i}"})
            if earlier % 25 == 24 or earlier % 10 == 9:
                unique.add(f"person{earlier}@example.com")
        else:
            rows.append({"email": f"person{i}@example.com", "first": f"P{i}"})
            unique.add(f"person{i}@example.com")
    return rows, unique


def destination(base_url: str, list_id: int) -> acx.ExportDestination:
    conn = acx.Connection(display_name="AC", host=base_url, api_key=API_KEY)
    conn = conn.accept_data_privacy_terms(accepted_by="ana@example.com")
    return acx.ExportDestination(
        connection=conn,
        name="Distributed segment",
        list_id=list_id,
        mapping=acx.FieldMapping(email="email", first_name="first"),
    )


def job(
    base_url: str,
    list_id: int,
    budget: acx.RedisRateBudget | None,
    partitions: int = 4,
    **options: Any,
) -> acx.PartitionedExport:
    """The partitioned export of :func:`segment` to the emulator at *base_url*."""
    return acx.PartitionedExport(
        destination=acx.StoredDestination.of(destination(base_url, list_id), api_key_env=KEY_ENV),
        partitions=partitions,
        rate_budget=budget,
        options=acx.ExportOptions(
            first_poll_delay=0.05, poll_interval=0.05, check_unsubscribed=False, **options
        ),
        client_options=acx.ClientOptions(
            retry=acx.RetryPolicy(initial_backoff=0.01, jitter=0.01), timeout=10.0
        ),
    )


def mirror_job(
    base_url: str,
    list_id: int,
    budget: acx.RedisRateBudget | None,
    partitions: int = 4,
    **options: Any,
) -> acx.PartitionedExport:
    """:func:`job` in mirror mode."""
    plain = job(base_url, list_id, budget, partitions, **options)
    dest = attrs.evolve(destination(base_url, list_id), mode=acx.ExportMode.MIRROR)
    stored = acx.StoredDestination.of(dest, api_key_env=KEY_ENV)
    return attrs.evolve(plain, destination=stored)


def seed_members(emu: Any, list_id: int, unique: set[str], leavers: int) -> set[str]:
    """Subscribe half the segment and *leavers* others to the list; return the leavers."""
    for email in sorted(unique)[::2]:
        emu.add_contact(email, lists={list_id: 1})
    out = {f"leaver{i}@example.com" for i in range(leavers)}
    for email in sorted(out):
        emu.add_contact(email, lists={list_id: 1})
    return out
