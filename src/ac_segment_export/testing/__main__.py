"""The emulator's command line: serve it, or probe a real account.

``python -m ac_segment_export.testing --port 8080`` (or ``... serve --port 8080``) serves
until interrupted and prints the base URL on its first line of output.
``python -m ac_segment_export.testing probe --help`` describes the probe, which checks on a
real account the behaviours the emulator assumes where the docs are open.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import TYPE_CHECKING

from ._config import EmulatorLimits
from ._emulator import ActiveCampaignEmulator

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import FrameType

__all__ = ["describe_demo_data", "main", "seed_demo_data"]


def seed_demo_data(emulator: ActiveCampaignEmulator) -> dict[str, dict[str, int]]:
    """Give an emulator a small, recognisable account: two lists, three fields, contacts.

    Args:
        emulator: The emulator to seed.

    Returns:
        The IDs created: ``{"lists": {name: id}, "fields": {title: id}, "contacts":
        {email: id}}``.
    """
    newsletter = emulator.add_list("Newsletter")
    vip = emulator.add_list("VIP customers")
    fields = {
        "Loyalty tier": emulator.add_field(
            "Loyalty tier", type="dropdown", options=("Bronze", "Silver", "Gold")
        ),
        "Signup date": emulator.add_field("Signup date", type="date"),
        "Favourite colour": emulator.add_field("Favourite colour"),
    }
    people = [
        ("ana.ruiz@example.org", "Ana", "Ruiz", "+34600000001", 1),
        ("ben.okafor@example.org", "Ben", "Okafor", "+2348000000002", 1),
        ("chloe.martin@example.org", "Chloé", "Martin", "", 2),
        ("dev.patel@example.org", "Dev", "Patel", "+447700900003", 0),
    ]
    contacts = {}
    for email, first, last, phone, status in people:
        contacts[email] = emulator.add_contact(
            email,
            first_name=first,
            last_name=last,
            phone=phone,
            lists={newsletter: status, vip: 1} if status == 1 else {newsletter: status},
        )
    emulator.exclude_email("blocked@example.org")
    return {
        "lists": {"Newsletter": newsletter, "VIP customers": vip},
        "fields": fields,
        "contacts": contacts,
    }


def describe_demo_data(emulator: ActiveCampaignEmulator, ids: dict[str, dict[str, int]]) -> str:
    """The demo account's IDs as lines of text (what ``--demo-data`` prints)."""
    perstags = {field.id: field.perstag for field in emulator.fields}
    statuses = {0: "unconfirmed", 1: "subscribed", 2: "unsubscribed", 3: "bounced"}
    lines = ["Demo data:"]
    lines += [f"  list {i}: {name}" for name, i in ids["lists"].items()]
    lines += [
        f"  field {i}: {title} (personalization tag %{perstags.get(i, '?')}%)"
        for title, i in ids["fields"].items()
    ]
    newsletter = ids["lists"]["Newsletter"]
    members = emulator.list_members(newsletter)
    for email, i in ids["contacts"].items():
        held = members.get(email)
        status = "not a member" if held is None else statuses.get(held, str(held))
        lines.append(f"  contact {i}: {email} (Newsletter: {status})")
    lines.append("  excluded email: blocked@example.org")
    return "\n".join(lines) + "\n"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ac_segment_export.testing [serve]",
        description="Serve an offline ActiveCampaign v3 emulator on 127.0.0.1.",
        epilog="The other command, 'probe', checks a real account: see 'probe --help'.",
    )
    parser.add_argument("--port", type=int, default=8080, help="TCP port (0 picks a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    parser.add_argument("--api-key", default="test-key", help="the Api-Token to accept")
    parser.add_argument(
        "--time-scale", type=float, default=1.0, help="run emulated time this much faster"
    )
    parser.add_argument(
        "--no-limits", action="store_true", help="switch rate limits off (size limits stay)"
    )
    parser.add_argument("--demo-data", action="store_true", help="seed lists, fields, contacts")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault RNG")
    return parser


def _stop(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator server until Ctrl-C (or SIGTERM), or run the probe.

    The first argument may name a command: ``serve`` (the default, so ``--port 8080``
    alone serves) or ``probe``.

    Args:
        argv: Command-line arguments (``sys.argv[1:]`` when None).

    Returns:
        The process exit status.
    """
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["probe"]:
        from ._probe import main as probe_main  # noqa: PLC0415 - only the probe needs it

        return probe_main(arguments[1:])
    if arguments[:1] == ["serve"]:
        arguments = arguments[1:]
    args = _parser().parse_args(arguments)
    limits = EmulatorLimits.unlimited() if args.no_limits else EmulatorLimits()
    emulator = ActiveCampaignEmulator(
        args.api_key, limits=limits, time_scale=args.time_scale, seed=args.seed
    )
    demo = seed_demo_data(emulator) if args.demo_data else None
    signal.signal(signal.SIGTERM, _stop)
    try:
        with emulator.serve(args.port, host=args.host) as base_url:
            sys.stdout.write(f"{base_url}\n")
            sys.stdout.write(f"ActiveCampaign emulator serving {base_url}/api/3 (Ctrl-C stops)\n")
            if demo is not None:
                sys.stdout.write(describe_demo_data(emulator, demo))
            sys.stdout.flush()
            threading.Event().wait()
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
