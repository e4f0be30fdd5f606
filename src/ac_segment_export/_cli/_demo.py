"""``ac-segment-export demo``: a sample export of generated profiles into the emulator.

Nothing leaves the machine: the emulator answers in-process, with ActiveCampaign's limits
(time-scaled so the demo takes seconds, not minutes).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from ac_segment_export import ExportDestination, Exporter, FieldMapping
from ac_segment_export.testing import ActiveCampaignEmulator

if TYPE_CHECKING:
    from collections.abc import Iterator

_FIRST = ["Ana", "Bruno", "Chloé", "Dmitri", "Eun-ji", "Farah", "Gustavo", "Hiro", "Inès", "Jon"]
_LAST = ["Ruiz", "Okafor", "Müller", "Nakamura", "Smith", "Kowalski", "Haddad", "Silva"]
_TIERS = ["Bronze", "Silver", "Gold", "Platinum"]
_API_KEY = "demo-api-key"


def sample_profiles(count: int, *, seed: int = 7) -> Iterator[dict[str, Any]]:
    """Generated customer profiles, with the mistakes real segments contain.

    About 1 in 50 has an invalid email and 1 in 40 repeats an earlier email in other case.
    """
    rng = random.Random(seed)  # noqa: S311 - sample data, not security
    for i in range(count):
        email = f"customer{i}@example.org"
        roll = rng.random()
        if roll < 0.02:
            email = f"customer{i}.example.org"  # no @
        elif roll < 0.045 and i > 10:
            email = f"CUSTOMER{rng.randrange(i)}@Example.org"  # a duplicate, other case
        yield {
            "EmailAddress": email,
            "FirstName": rng.choice(_FIRST),
            "LastName": rng.choice(_LAST),
            "Phone": f"+3460{rng.randrange(10**7):07d}",
            "Tier": rng.choice(_TIERS),
        }


def demo(profiles: int, time_scale: float) -> int:
    """Run the sample export and print its report; return the exit status."""
    emu = ActiveCampaignEmulator(api_key=_API_KEY, time_scale=time_scale, record_bodies=False)
    list_id = emu.add_list("VIP customers")
    emu.add_field("Loyalty tier", type="dropdown", perstag="LOYALTY_TIER", options=_TIERS)
    emu.add_contact("customer3@example.org", lists={list_id: 2})  # unsubscribed earlier
    emu.exclude_email("customer5@example.org")

    # One call wires everything to the emulator: its transport, its rate limits on its clock,
    # and its time scale, from which the exporter takes its poll timing.
    connection = emu.connection(
        "Marketing AC", accepted_by="ana@contoso.com", export_user="ana@contoso.com"
    )
    destination = ExportDestination(
        connection,
        "VIP customers",
        list_id,
        FieldMapping(
            email="EmailAddress",
            first_name="FirstName",
            last_name="LastName",
            phone="Phone",
            fields={"LOYALTY_TIER": "Tier"},
        ),
    )
    print(
        f"Exporting {profiles:,} generated profiles into the built-in ActiveCampaign "
        f"emulator (ActiveCampaign's limits, time x{time_scale:g})..."
    )
    report = Exporter(destination).run(sample_profiles(profiles))
    print(report.summary())
    shown = report.outcomes[:8]
    if shown:
        print("\nSome profiles that were not exported:")
        for outcome in shown:
            print(
                f"  #{outcome.position} {outcome.email}: {outcome.status.value} - {outcome.reason}"
            )
    members = emu.list_members(list_id, status=1)
    print(f"\nThe emulated list now has {len(members):,} active members.")
    return 0 if report.balanced else 1
