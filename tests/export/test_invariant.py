"""The accounting invariant over randomised inputs and emulator faults (hypothesis)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ac_segment_export import (
    Connection,
    ExportDestination,
    Exporter,
    MissingColumnError,
    OutcomeStatus,
    RecordOutcome,
    RetryPolicy,
    UnsupportedSourceError,
)
from ac_segment_export.testing import Faults

from .conftest import API_KEY, HOST, MAPPING, consented, fast, make_client, make_emulator

BAD_EMAILS = [
    "not-an-email",
    "a@b",
    "x..y@example.com",
    "o'neil@example.com",
    "ü@example.com",
    "a@@example.com",
    "@example.com",
    "user@example",
    "sp ace@example.com",
    ".dot@example.com",
]
NAMES = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)


def _case(text: str, mask: int) -> str:
    return "".join(c.upper() if mask >> (i % 16) & 1 else c for i, c in enumerate(text))


@st.composite
def special_row(draw: st.DrawFn) -> Any:
    kind = draw(st.sampled_from(["valid", "valid", "valid", "bad", "missing", "nonmapping"]))
    if kind == "nonmapping":
        return draw(st.sampled_from([["email", "x@example.com"], "x@example.com", 42, None]))
    if kind == "missing":
        return draw(
            st.sampled_from(
                [{}, {"email": None}, {"email": ""}, {"email": "   "}, {"first": "NoEmail"}]
            )
        )
    if kind == "bad":
        return {"email": draw(st.sampled_from(BAD_EMAILS)), "first": draw(NAMES)}
    n = draw(st.integers(0, 11))
    email = _case(f"pool{n}@Example.com", draw(st.integers(0, 0xFFFF)))
    if draw(st.booleans()):
        email = f"  {email} "
    row: dict[str, Any] = {"email": email}
    if draw(st.booleans()):
        row["first"] = draw(NAMES)
    if draw(st.booleans()):
        row["last"] = draw(NAMES)
    if draw(st.booleans()):
        row["tier"] = draw(st.sampled_from(["gold", "Silber", "銀", ""]))
    if draw(st.booleans()):
        row["phone"] = "+34 600 000 000"
    return row


def _expected(
    rows: list[Any], *, keep: str, unsubscribed: set[str], excluded: set[str]
) -> tuple[dict[int, OutcomeStatus], list[str]]:
    """Each position's status, computed without the engine; and the emails sent, in order."""
    keys: dict[int, str] = {}
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            continue
        email = row.get("email")
        if not isinstance(email, str) or not email.strip() or email.strip() in BAD_EMAILS:
            continue
        keys[i] = email.strip().lower()
    winner: dict[str, int] = {}
    for i, key in keys.items():
        if keep == "first":
            winner.setdefault(key, i)
        else:
            winner[key] = i
    status: dict[int, OutcomeStatus] = {}
    sent: list[int] = []
    for i in range(len(rows)):
        if i not in keys:
            status[i] = OutcomeStatus.REJECTED
        elif winner[keys[i]] != i:
            status[i] = OutcomeStatus.DUPLICATE
        elif keys[i] in unsubscribed:
            status[i] = OutcomeStatus.SKIPPED
        else:
            sent.append(i)
            status[i] = OutcomeStatus.FAILED if keys[i] in excluded else OutcomeStatus.EXPORTED
    # The last partial batch of 10 or fewer goes through contact/sync, which the emulator
    # does not check against the exclusion list.
    remainder = len(sent) % 250
    if 0 < remainder <= 10:
        for i in sent[-remainder:]:
            status[i] = OutcomeStatus.EXPORTED
    return status, [keys[i] for i in sent if status[i] is OutcomeStatus.EXPORTED]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    special=st.lists(special_row(), max_size=40),
    filler=st.integers(0, 520),
    shuffle_seed=st.integers(0, 2**32),
    keep=st.sampled_from(["first", "first", "last"]),
    unsubscribed=st.sets(st.integers(0, 11), max_size=3),
    active=st.sets(st.integers(0, 11), max_size=3),
    excluded=st.sets(st.integers(0, 11), max_size=2),
    faults=st.fixed_dictionaries(
        {
            "server_error_rate": st.sampled_from([0.0, 0.05, 0.15]),
            "drop_connection_rate": st.sampled_from([0.0, 0.05, 0.1]),
            "interrupted_batch_rate": st.sampled_from([0.0, 0.3]),
            "failed_batch_rate": st.sampled_from([0.0, 0.2]),
        }
    ),
    storm=st.integers(0, 5),
    seed=st.integers(0, 1000),
)
def test_every_profile_is_accounted_for_once(
    special: list[Any],
    filler: int,
    shuffle_seed: int,
    keep: str,
    unsubscribed: set[int],
    active: set[int],
    excluded: set[int],
    faults: dict[str, float],
    storm: int,
    seed: int,
) -> None:
    """Random rows and faults: one outcome per position, the expected status, the list state."""
    rows = special + [{"email": f"filler{i}@example.com", "first": "F"} for i in range(filler)]
    random.Random(shuffle_seed).shuffle(rows)
    emu = make_emulator(faults=Faults(**faults), seed=seed)
    list_id = emu.add_list("VIP customers")
    emu.add_field("Tier", perstag="TIER")
    unsub_keys = {f"pool{n}@example.com" for n in unsubscribed}
    active_keys = {f"pool{n}@example.com" for n in active - unsubscribed}
    for key in sorted(unsub_keys):
        emu.add_contact(key, lists={list_id: 2})
    for key in sorted(active_keys):
        emu.add_contact(key, lists={list_id: 1})
    excluded_keys = {f"pool{n}@example.com" for n in excluded}
    for key in excluded_keys:
        emu.exclude_email(key)
    if storm:
        emu.queue_fault("429", count=storm)
        emu.queue_fault("503", count=2, path="/import/bulk_import")
        emu.queue_fault("bulk_rate_limit", count=1)
    connection = consented(Connection("Acme", HOST, API_KEY))
    destination = ExportDestination(connection, "VIP export", list_id, MAPPING)
    exported: list[RecordOutcome] = []
    with make_client(emu, retry=RetryPolicy.for_tests(max_attempts=12)) as client:
        exporter = Exporter(
            destination,
            client=client,
            exported_sink=exported.append,
            # Sparse random rows: a mapped column may be absent from all of them.
            options=fast(keep=keep, max_batch_resubmits=10, allow_missing_columns=True),
        )
        head = rows[:500]
        if head and not any(isinstance(row, dict) for row in head):
            with pytest.raises(UnsupportedSourceError):
                exporter.run(rows)
            assert emu.requests == []
            return
        if head and not any(isinstance(row, dict) and "email" in row for row in head):
            with pytest.raises(MissingColumnError):  # no profile has an email column
                exporter.run(rows)
            assert emu.requests == []
            return
        report = exporter.run(rows)

    assert report.balanced, report.equation
    assert report.input_count == len(rows)
    assert report.accounted == len(rows)
    assert len(report.outcomes) + report.exported == len(rows)
    outcomes = report.outcomes + exported
    positions = [o.position for o in outcomes]
    assert len(positions) == len(set(positions)), "a position has two outcomes"
    assert set(positions) == set(range(len(rows)))
    want, sent_keys = _expected(rows, keep=keep, unsubscribed=unsub_keys, excluded=excluded_keys)
    got = {o.position: o.status for o in outcomes}
    wrong = {i: (got[i], want[i], rows[i]) for i in want if got[i] is not want[i]}
    assert not wrong
    assert {o.email for o in exported} == {
        rows[i]["email"].strip().split("@")[0]
        + "@"
        + rows[i]["email"].strip().split("@")[1].lower()
        for i, s in want.items()
        if s is OutcomeStatus.EXPORTED
    }
    members = {e.lower(): s for e, s in emu.list_members(list_id).items()}
    expected_members = dict.fromkeys(unsub_keys, 2)
    expected_members.update(dict.fromkeys(active_keys | set(sent_keys), 1))
    assert members == expected_members
