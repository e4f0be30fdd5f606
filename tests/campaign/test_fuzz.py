"""Property-based fuzz: hostile profiles, transforms and mappers never break the accounting.

Each example draws a seed, a profile count and a mapper kind; the seed builds a few hundred
profiles from a pool of hostile values (wrong types, None, NaN/inf, bytes, lone surrogates,
NUL, strings over 65,535 characters, objects whose ``__str__`` raises, mappings whose
lookups raise, non-mappings). They are exported through the in-process emulator with the
destination's mapping (whose transform raises now and then) or with a user mapper that
raises or returns None or a wrong type. Whatever happens: one outcome per profile, no error
out of ``run()`` but the documented run-level ones, no reason or error text carrying a lone
surrogate or a huge value, and every contact in the list reported exported.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ac_segment_export import (
    Attribute,
    Client,
    Connection,
    ExportAbortedError,
    ExportDestination,
    Exporter,
    ExportOptions,
    FieldMapping,
    MappedProfile,
    OutcomeStatus,
    RateLimits,
    RecordOutcome,
    Rejection,
    RetryPolicy,
)
from ac_segment_export.testing import ActiveCampaignEmulator, EmulatorLimits

HOST = "acme.api-us1.com"
KEY = "fuzz-key"
HUGE = "H" * 70_000  # over 65,535 characters
HUGE_EMAIL = "u" * 70_000 + "@example.com"
SURROGATE = "\ud800"
EXAMPLES = 10


class BadStr:
    def __str__(self) -> str:
        raise RuntimeError("__str__ " + SURROGATE + HUGE)

    __repr__ = __str__


class RaisingMapping(Mapping[str, Any]):
    """A mapping whose lookups raise (its keys say it has an email)."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def __getitem__(self, key: str) -> Any:
        raise self.exc

    def get(self, key: str, default: Any = None) -> Any:
        raise self.exc

    def __iter__(self) -> Iterator[str]:
        return iter(("email", "first"))

    def __len__(self) -> int:
        return 2


def nasty_value(rng: random.Random) -> Any:
    return rng.choice(
        [
            None,
            0,
            -1,
            True,
            3.5,
            math.nan,
            math.inf,
            -math.inf,
            b"bytes@example.com",
            SURROGATE,
            "a" + SURROGATE + "b",
            "nul\x00byte",
            HUGE,
            BadStr(),
            ["a", "list"],
            {"a": "dict"},
            "",
            "   ",
            "ok",
            "Ünïcödé ✓",
        ]
    )


def nasty_email(rng: random.Random, i: int) -> Any:
    return rng.choice(
        [
            f"user{i}@example.com",
            f"user{i}@example.com",
            f"user{i}@example.com",
            f"USER{i % 7}@EXAMPLE.COM",  # a duplicate now and then
            f"us{SURROGATE}er{i}@example.com",
            f"nul\x00{i}@example.com",
            HUGE_EMAIL,
            f"user{i}@example.com\x00",
            None,
            i,
            math.nan,
            f"user{i}@example.com".encode(),
            BadStr(),
            "not-an-email",
            "",
        ]
    )


def profiles(seed: int, n: int) -> list[Any]:
    rng = random.Random(seed)
    rows: list[Any] = []
    for i in range(n):
        roll = rng.random()
        if roll < 0.03:
            rows.append(rng.choice([None, 42, "a string", b"bytes", ["email"], BadStr()]))
        elif roll < 0.06:
            rows.append(RaisingMapping(rng.choice([KeyError("x"), RuntimeError(SURROGATE)])))
        else:
            row: dict[Any, Any] = {"email": nasty_email(rng, i)}
            for key in ("first", "last", "phone", "tier"):
                if rng.random() < 0.7:
                    row[key] = nasty_value(rng) if rng.random() < 0.5 else f"{key}{i}"
            if rng.random() < 0.05:
                row[object()] = "a key that is not a string"
            rows.append(row)
    return rows


def flaky_transform(value: Any) -> Any:
    """A transform that raises for some values (with an unprintable message)."""
    text = value if isinstance(value, str) else repr(type(value))
    if len(text) % 3 == 0:
        raise ValueError("transform failed on " + SURROGATE + HUGE)
    if len(text) % 5 == 0:
        raise BadStrError
    return text.upper()


class BadStrError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no text")


class UserMapper:
    """A user's mapper that misbehaves in one of several ways, depending on the profile."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.calls = 0

    def map(self, profile: Mapping[str, Any]) -> Any:
        self.calls += 1
        email = profile.get("email")
        roll = self.calls % 6
        if self.kind == "raising" and roll == 0:
            raise RuntimeError("mapper failed " + SURROGATE + HUGE)
        if self.kind == "none" and roll == 0:
            return None
        if self.kind == "wrong type":
            if roll == 0:
                return {"email": email}
            if roll == 1:
                return MappedProfile(email=email, first_name=42, fields="x")  # type: ignore[arg-type]
            if roll == 2:
                return Rejection(reason=BadStr())  # type: ignore[arg-type]
            if roll == 3:
                return MappedProfile(email=email, first_name=math.nan)  # type: ignore[arg-type]
        if roll == 4:
            return Rejection(reason="bad " + SURROGATE, field="first_name", email=email)
        first = profile.get("first")
        return MappedProfile(email=email, first_name=first if isinstance(first, str) else None)

    def email_of(self, profile: Mapping[str, Any]) -> Any:
        return profile.get("email")


def clean(text: str | None) -> bool:
    """No lone surrogate, and none of the huge values."""
    if text is None:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return len(text) < 65_535 and HUGE[:1000] not in text and "u" * 1000 not in text


def short(text: str | None) -> str:
    """*text* cut short for an assertion message (no huge values in the test's output)."""
    return repr(text)[:160]


def run_export(rows: list[Any], mapper_kind: str) -> None:
    emu = ActiveCampaignEmulator(api_key=KEY, limits=EmulatorLimits.unlimited(), time_scale=1000)
    list_id = emu.add_list("Fuzz list")
    emu.add_field("Tier", perstag="TIER")
    mapping = FieldMapping(
        email="email",
        first_name=Attribute("first", transform=flaky_transform),
        last_name="last",
        phone="phone",
        fields={"TIER": "tier"},
    )
    connection = Connection("Acme", HOST, KEY).accept_data_privacy_terms(
        accepted_by="qa@example.com"
    )
    destination = ExportDestination(connection, "Fuzz", list_id, mapping)
    mapper = None if mapper_kind == "mapping" else UserMapper(mapper_kind)
    exported: list[RecordOutcome] = []
    with Client(
        HOST,
        KEY,
        transport=emu.transport(),
        retry=RetryPolicy.for_tests(),
        rate_limits=RateLimits.unlimited(),
    ) as client:
        exporter = Exporter(
            destination,
            client=client,
            mapper=mapper,
            exported_sink=exported.append,
            options=ExportOptions(first_poll_delay=0.001, poll_interval=0.0005),
        )
        message: str | None = None
        try:
            report = exporter.run(rows)
        except ExportAbortedError as exc:  # the documented run-level error (and subclasses)
            message = str(exc)
            report = exc.report
    assert clean(message), short(message)
    assert report.balanced, report.equation
    assert report.input_count == len(rows)
    positions = [o.position for o in report.outcomes] + [o.position for o in exported]
    assert len(positions) == len(set(positions)), "a profile has two outcomes"
    assert set(positions) == set(range(len(rows))), "a profile has no outcome"
    assert all(o.status is not OutcomeStatus.EXPORTED for o in report.outcomes)
    dirty = [o for o in report.outcomes if not clean(o.reason)]
    assert not dirty, f"{len(dirty)} reasons hold a lone surrogate or a huge value: " + short(
        dirty[0].reason
    )
    assert clean(report.stop_reason), short(report.stop_reason)
    emu.settle()
    held = {e.lower() for e in emu.list_members(list_id)}
    exported_emails = {o.email.lower() for o in exported if o.email}
    assert held <= exported_emails, short(str(sorted(held - exported_emails)[:3]))
    assert len(exported_emails) == report.exported


@pytest.mark.timeout(300)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # fixed examples, no shrinking: quick to report
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(200, 400),
    mapper_kind=st.sampled_from(["mapping", "raising", "none", "wrong type"]),
)
def test_hostile_profiles_keep_the_accounting(seed: int, n: int, mapper_kind: str) -> None:
    print(f"[fuzz] seed={seed} n={n} mapper={mapper_kind}")
    run_export(profiles(seed, n), mapper_kind)


@pytest.mark.parametrize("mapper_kind", ["mapping", "raising", "none", "wrong type"])
def test_fixed_seeds(mapper_kind: str) -> None:
    """The same property on fixed seeds (what the campaign's note quotes)."""
    run_export(profiles(1234, 400), mapper_kind)
